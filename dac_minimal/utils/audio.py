"""Audio in and out: reading files, resampling, mono/stereo, and checking waveforms.

Everything the codec touches passes through here first, so that bad input fails early with a
message naming the problem (an unreadable file, a truncated file, NaN samples, a wrong rank)
instead of a stack trace from deep inside torch, or worse, a silently shortened result.

Which files count as audio is asked of the libraries, not written by hand: the extensions of the
formats the installed libsndfile reads (``soundfile.available_formats()``, Ogg Opus only where
it is built in), plus a few container formats (``.m4a``, ``.aac``, ...) that are decoded through
the ``ffmpeg`` program when it is on PATH.

Conventions: waveforms are float32 in [-1, 1]; arrays are shaped ``(C, T)`` (channels, samples)
when read from files and ``(B, 1, T)`` when fed to the model.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from dac_minimal.utils.files import atomic_path

#: File extensions of each libsndfile format worth looking for in a folder (the formats without a
#: conventional extension, such as RAW, MAT and HTK, are left out: they would match other files).
SNDFILE_EXTENSIONS = {
    "WAV": (".wav", ".wave"),
    "WAVEX": (".wav",),
    "RF64": (".rf64",),
    "W64": (".w64",),
    "AIFF": (".aiff", ".aif", ".aifc"),
    "CAF": (".caf",),
    "AU": (".au", ".snd"),
    "FLAC": (".flac",),
    "OGG": (".ogg", ".oga"),
    "MP3": (".mp3",),
    "VOC": (".voc",),
    "IRCAM": (".sf",),
    "NIST": (".sph", ".nist"),
    "SD2": (".sd2",),
}
#: Containers libsndfile cannot open but ffmpeg decodes (``.opus`` joins them where libsndfile
#: lacks Opus).
FFMPEG_EXTENSIONS = (".m4a", ".aac", ".mp4", ".m4b", ".wma", ".webm", ".mka", ".ac3", ".amr")


class TruncatedAudioWarning(UserWarning):
    """A file holds fewer samples than its header (or its container) says: it was cut off."""


def ffmpeg_path() -> str | None:
    """The ``ffmpeg`` executable on PATH, or None."""
    return shutil.which("ffmpeg")


def _sndfile_extensions() -> tuple[str, ...]:
    formats = sf.available_formats()
    exts = [e for fmt, names in SNDFILE_EXTENSIONS.items() if fmt in formats for e in names]
    if "OGG" in formats and "OPUS" in sf.available_subtypes("OGG"):
        exts.append(".opus")
    return tuple(dict.fromkeys(exts))


#: What the installed libsndfile reads, found once at import.
SNDFILE_READS = _sndfile_extensions()


def ffmpeg_extensions() -> tuple[str, ...]:
    """Extensions read only through ffmpeg (whether or not it is installed right now)."""
    extra = () if ".opus" in SNDFILE_READS else (".opus",)
    return FFMPEG_EXTENSIONS + extra


def audio_extensions() -> tuple[str, ...]:
    """Every extension ``load_audio`` reads now: libsndfile's, and ffmpeg's when it is on PATH."""
    return SNDFILE_READS + (ffmpeg_extensions() if ffmpeg_path() else ())


#: File extensions the loaders look for when given a folder (as found at import).
AUDIO_EXTENSIONS = audio_extensions()


def skip_reason(path: str | os.PathLike, extensions: tuple[str, ...] | None = None) -> str | None:
    """Why ``path`` is not read as audio ("needs ffmpeg", "not audio"), or None when it is.

    ``extensions`` are the readable ones (default: ``audio_extensions()``).
    """
    suffix = Path(path).suffix.lower()
    if suffix in (extensions if extensions is not None else audio_extensions()):
        return None
    if suffix in ffmpeg_extensions():
        return "needs ffmpeg" if ffmpeg_path() is None else "read through ffmpeg only"
    return "not audio"


def list_audio(
    folder: str | os.PathLike, extensions: tuple[str, ...] | None = None
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The audio files under ``folder`` (recursive, sorted) and the other files with the reason.

    Hidden paths (``.cache``, ``.DS_Store``, ``._x.wav``, ...) are neither listed nor counted.
    Returns ``(files, skipped)`` with ``skipped`` a list of ``(path, reason)``.
    """
    folder = Path(folder)
    extensions = audio_extensions() if extensions is None else extensions  # one PATH lookup
    files, skipped = [], []
    for path in sorted(folder.rglob("*")):
        if any(p.startswith(".") for p in path.relative_to(folder).parts) or not path.is_file():
            continue
        reason = skip_reason(path, extensions)
        if reason is None:
            files.append(path)
        else:
            skipped.append((path, reason))
    return files, skipped


def describe_skipped(skipped: list[tuple[Path, str]]) -> str:
    """One line for files skipped by extension: "skipped 4 files: 3 .txt (not audio), 1 .m4a
    (needs ffmpeg)"; empty when nothing was skipped."""
    if not skipped:
        return ""
    counts = Counter((p.suffix.lower() or p.name, why) for p, why in skipped)
    parts = [f"{n} {ext} ({why})" for (ext, why), n in counts.most_common()]
    noun = "file" if len(skipped) == 1 else "files"
    return f"skipped {len(skipped)} {noun}: " + ", ".join(parts)


def find_audio_files(root: str | os.PathLike) -> list[tuple[str, Path]]:
    """``(domain, path)`` for each audio file under ``root``, sorted by path.

    A file's domain is its top-level subfolder (``root``'s own name for files directly inside it).
    Hidden paths (``.cache``, ``.ipynb_checkpoints``, ...) and files that are not audio are
    skipped (``list_audio`` says which and why). Raises ``ValueError`` when ``root`` is not a
    folder or holds no audio file.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"audio folder not found: {root}")
    files, _ = list_audio(root)
    if not files:
        raise ValueError(f"no audio files ({', '.join(audio_extensions())}) under {root}")
    return [
        (path.relative_to(root).parts[0] if path.parent != root else root.name, path)
        for path in files
    ]


def _wav_declared_frames(path: Path) -> int | None:
    """Frames the ``data`` chunk of a RIFF/WAVE header declares, or None (not a WAV, or a
    streamed WAV whose writer left the size unknown: 0 or 0xFFFFFFFF)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"fmt ":
                fmt = f.read(size)
                block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else None
                f.seek(size % 2, os.SEEK_CUR)
            elif name == b"data":
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                f.seek(size + size % 2, os.SEEK_CUR)


def _ogg_is_cut(path: Path) -> bool:
    """True when an Ogg file does not end with a whole page flagged end-of-stream (RFC 3533).

    A stream that was cut off (an interrupted download or copy) ends mid-page, or after a page
    that is not the last one.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(size - 65_536 - 282, 0))  # a page is at most 27 + 255 + 255 * 255 bytes
        tail = f.read()
    start = tail.rfind(b"OggS")
    if start < 0 or len(tail) - start < 27:
        return True
    n_segments = tail[start + 26]
    table = tail[start + 27 : start + 27 + n_segments]
    page_size = 27 + n_segments + sum(table)
    complete = len(table) == n_segments and len(tail) - start >= page_size
    return not (complete and tail[start + 5] & 0x04)


def _read_sndfile(path: Path) -> tuple[np.ndarray, int, int, str | None]:
    """Read with libsndfile in blocks: ``(audio (T, C), rate, frames declared, read error)``.

    A read error after the first block keeps what was read (the caller reports the truncation);
    one before it raises ``ValueError``.
    """
    blocks, error = [], None
    try:
        with sf.SoundFile(str(path)) as f:
            sr, declared, channels = f.samplerate, f.frames, f.channels
            while True:
                try:
                    block = f.read(1 << 18, dtype="float32", always_2d=True)
                except Exception as err:  # libsndfile raises several types mid-stream
                    if not blocks:
                        raise
                    error = str(err)
                    break
                if len(block) == 0:
                    break
                blocks.append(block)
    except Exception as err:  # soundfile raises several types for bad files
        raise ValueError(f"cannot read audio file {path}: {err}") from None
    data = np.concatenate(blocks) if blocks else np.zeros((0, channels), np.float32)
    wav_frames = _wav_declared_frames(path)
    return data, sr, max(declared, wav_frames or 0), error


def _read_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    """Decode with the ffmpeg program into a temporary float WAV: ``(audio (T, C), rate)``."""
    exe = ffmpeg_path()
    if exe is None:
        raise ValueError(
            f"cannot read audio file {path}: {path.suffix} files are decoded by ffmpeg, which is "
            "not on PATH (install it, or convert the file to FLAC)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "decoded.wav"
        cmd = [
            exe,
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-vn",
            "-c:a",
            "pcm_f32le",
            str(wav),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wav.is_file():
            detail = done.stderr.strip().splitlines()[-1:] or ["ffmpeg failed"]
            raise ValueError(f"cannot read audio file {path}: {detail[0]}")
        data, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    return data, sr


def truncation(path: Path, read: int, declared: int, sr: int, error: str | None) -> str | None:
    """What is missing from a file of which ``read`` frames were read, or None when it is whole.

    Compares against the ``declared`` frames (a WAV's header, libsndfile's count) and, for Ogg,
    checks that the stream ends with its end-of-stream page.
    """
    got = f"read {read / sr:.2f} s"
    if error is not None:
        return f"{path}: {got} of the {declared / sr:.2f} s declared before a read error ({error})"
    if read < declared:
        return (
            f"{path}: {got} of the {declared / sr:.2f} s its header declares; the file is truncated"
        )
    if path.suffix.lower() in (".ogg", ".oga", ".opus") and _ogg_is_cut(path):
        return (
            f"{path}: {got}, then the Ogg stream stops without its last page; the file is cut off"
        )
    return None


def load_audio(
    path: str | os.PathLike, sample_rate: int | None = None, *, strict: bool = False
) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 ``(C, T)``, optionally resampled to ``sample_rate`` Hz.

    Formats libsndfile cannot open (``.m4a``, ``.aac``, ...) are decoded through ffmpeg. A file
    that holds fewer samples than its header declares, or an Ogg stream cut off mid-file, gives a
    ``TruncatedAudioWarning`` saying how much was read (the audio read is returned), or a
    ``ValueError`` when ``strict``. Raises ``ValueError`` naming the file when it is missing,
    unreadable, empty or holds non-finite samples. Returns ``(audio, sample_rate)``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"audio file not found: {path}")
    if path.suffix.lower() in ffmpeg_extensions():
        data, sr = _read_ffmpeg(path)
    else:
        data, sr, declared, error = _read_sndfile(path)
        problem = truncation(path, len(data), declared, sr, error) if len(data) else None
        if problem and strict:
            raise ValueError(problem)
        if problem:
            warnings.warn(problem, TruncatedAudioWarning, stacklevel=2)
    audio = np.ascontiguousarray(data.T)  # (C, T)
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
