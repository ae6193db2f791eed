"""Audio in and out: reading files, resampling, mono/stereo, and checking waveforms.

Everything the codec touches passes through here first, so that bad input fails early with a
message naming the problem (an unreadable file, NaN samples, a wrong rank) instead of a stack
trace from deep inside torch.

Conventions: waveforms are float32 in [-1, 1]; arrays are shaped ``(C, T)`` (channels, samples)
when read from files and ``(B, 1, T)`` when fed to the model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from dac_minimal.utils.files import atomic_path

#: File extensions the loaders look for when given a folder.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


def find_audio_files(root: str | os.PathLike) -> list[tuple[str, Path]]:
    """``(domain, path)`` for each audio file under ``root``, sorted by path.

    A file's domain is its top-level subfolder (``root``'s own name for files directly inside it).
    Hidden paths (``.cache``, ``.ipynb_checkpoints``, ...) are skipped. Raises ``ValueError`` when
    ``root`` is not a folder or holds no audio file.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"audio folder not found: {root}")
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if (
            path.is_file()
            and path.suffix.lower() in AUDIO_EXTENSIONS
            and not any(p.startswith(".") for p in rel.parts)
        ):
            found.append((rel.parts[0] if len(rel.parts) > 1 else root.name, path))
    if not found:
        raise ValueError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) under {root}")
    return found


def load_audio(path: str | os.PathLike, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 ``(C, T)``, optionally resampled to ``sample_rate`` Hz.

    Raises ``ValueError`` naming the file when it is missing, unreadable, empty or holds
    non-finite samples. Returns ``(audio, sample_rate)``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"audio file not found: {path}")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)  # (T, C)
    except Exception as err:  # soundfile raises several types for bad files
        raise ValueError(f"cannot read audio file {path}: {err}") from None
    audio = np.ascontiguousarray(data.T)
    if audio.shape[-1] == 0:
        raise ValueError(f"audio file {path} holds no samples")
    if not np.isfinite(audio).all():
        raise ValueError(f"audio file {path} holds NaN or infinite samples")
    if sample_rate is not None and sr != sample_rate:
        audio = resample(audio, sr, sample_rate)
        sr = sample_rate
    return audio, int(sr)


def save_audio(path: str | os.PathLike, audio: np.ndarray | torch.Tensor, sample_rate: int) -> Path:
    """Write ``audio`` shaped ``(T,)`` or ``(C, T)`` as 16-bit PCM WAV/FLAC, atomically.

    Samples are clipped to [-1, 1]. The format follows the extension (``.wav`` or ``.flac``).
    """
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().float().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise ValueError(f"save_audio expects (T,) or (C, T), got shape {tuple(audio.shape)}")
    path = Path(path)
    fmt = {".wav": "WAV", ".flac": "FLAC"}.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"save_audio writes .wav or .flac, not {path.suffix!r}")
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.clip(audio, -1.0, 1.0).T, sample_rate, subtype="PCM_16", format=fmt)
    return path


def resample(
    audio: np.ndarray | torch.Tensor, orig_sr: int, target_sr: int
) -> np.ndarray | torch.Tensor:
    """Resample along the last axis with a high-quality band-limited resampler (librosa/soxr).

    Accepts NumPy arrays or torch tensors of any leading shape and returns the same type.
    """
    if orig_sr <= 0 or target_sr <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_sr} -> {target_sr}")
    if orig_sr == target_sr:
        return audio
    import librosa  # imported lazily: numba start-up costs a second

    if isinstance(audio, torch.Tensor):
        out = librosa.resample(
            audio.detach().cpu().float().numpy(), orig_sr=orig_sr, target_sr=target_sr
        )
        return torch.from_numpy(np.ascontiguousarray(out)).to(audio.device)
    return librosa.resample(
        np.asarray(audio, dtype=np.float32), orig_sr=orig_sr, target_sr=target_sr
    )


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average the channels of a ``(C, T)`` array into ``(1, T)``."""
    return audio.mean(axis=0, keepdims=True)
