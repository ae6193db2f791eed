"""Audio -> codec tokens: what a token language model (``lm.py``) trains on.

A language model over audio never sees a waveform. The codec's encoder turns each clip into
integer codes ``c`` shaped ``(n_q, S)`` (n_q codebooks, S = ceil(T / hop) frames, each code in
[0, K)), and the LM learns ``p(c)``. Encoding is the expensive half of the pipeline, so a corpus
is tokenized once: ``tokenize_folder`` encodes every file of a folder, ``save_tokens`` /
``load_tokens`` keep the result in a small file that loads without running code.

The codec must be in evaluation mode while tokenizing: in training mode quantizer dropout would
silently zero the finer codebooks of some clips. ``tokenize_audio`` switches to eval mode and
restores the previous mode afterwards. Long files are encoded in chunks (``codec.encode_chunked``),
which gives the whole-file codes with bounded memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dac_minimal.checkpoint import read_checkpoint
from dac_minimal.codec.dacm import DEFAULT_CHUNK_SECONDS, encode_chunked
from dac_minimal.model import DAC
from dac_minimal.utils.audio import find_audio_files, load_audio, to_mono
from dac_minimal.utils.checks import check_codes, check_waveform
from dac_minimal.utils.files import atomic_path

#: Format tag of a ``save_tokens`` file.
TOKENS_FORMAT = "dac-minimal-tokens/1"


@dataclass
class TokenizedClip:
    """One clip's codes: ``codes`` int64 ``(n_q, S)``, from ``num_samples`` samples of a file.

    ``domain`` is the file's subfolder and ``name`` its stem.
    """

    domain: str
    name: str
    codes: torch.Tensor
    num_samples: int


def tokenize_audio(
    model: DAC,
    audio: np.ndarray | torch.Tensor,
    n_quantizers: int | None = None,
    chunk_seconds: float | None = DEFAULT_CHUNK_SECONDS,
) -> torch.Tensor:
    """Mono audio ``(T,)`` at ``model.sample_rate`` -> codes int64 ``(n_q, ceil(T / hop))``, on CPU.

    ``n_quantizers``: keep the first n_q codebooks (default all N_q). ``chunk_seconds``: encode
    in chunks of about this length (``None``: the whole clip at once); the codes are the same.
    """
    if isinstance(audio, np.ndarray):
        audio = torch.from_numpy(np.ascontiguousarray(audio))
    if not isinstance(audio, torch.Tensor):
        raise ValueError(
            f"audio must be a NumPy array or torch.Tensor shaped (T,), got {type(audio).__name__}"
        )
    if audio.ndim != 1:
        raise ValueError(f"audio must be mono, shaped (T,), got shape {tuple(audio.shape)}")
    check_waveform(audio.view(1, 1, -1), "audio")  # float, T >= 1, finite
    if chunk_seconds is not None and not chunk_seconds > 0:
        raise ValueError(f"chunk_seconds must be > 0 or None, got {chunk_seconds}")
    chunk_frames = (
        None if chunk_seconds is None else max(1, round(chunk_seconds * model.frame_rate))
    )
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            codes = encode_chunked(
                model, audio.float()[None], n_quantizers, chunk_frames
            )  # (1, n_q, S)
    finally:
        model.train(was_training)
    return codes[0]


def tokenize_folder(
    model: DAC,
    root: str | os.PathLike,
    n_quantizers: int | None = None,
    max_seconds: float | None = None,
    chunk_seconds: float | None = DEFAULT_CHUNK_SECONDS,
) -> list[TokenizedClip]:
    """Encode every audio file under ``root`` (mixed to mono, resampled to the model's rate).

    ``max_seconds`` keeps only the start of each file. Unreadable files raise ``ValueError``
    naming the file (a corpus is tokenized once; a silent gap would go unnoticed).
    """
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0 or None, got {max_seconds}")
    clips = []
    for domain, path in find_audio_files(root):
        audio, _ = load_audio(path, model.sample_rate)
        audio = to_mono(audio)[0]
        if max_seconds is not None:
            audio = audio[: max(1, round(max_seconds * model.sample_rate))]
        codes = tokenize_audio(model, audio, n_quantizers, chunk_seconds)
        clips.append(TokenizedClip(domain, path.stem, codes, int(audio.shape[-1])))
    return clips


def save_tokens(
    path: str | os.PathLike,
    clips: list[TokenizedClip],
    sample_rate: int,
    hop_length: int,
    codebook_size: int,
) -> Path:
    """Write ``clips`` atomically: tensors and plain types only, so ``load_tokens`` runs no code."""
    if not clips:
        raise ValueError("no clips to save")
    for clip in clips:
        check_codes(clip.codes[None], codebook_size, name=f"clip {clip.domain}/{clip.name}: codes")
    data = {
        "format": TOKENS_FORMAT,
        "sample_rate": int(sample_rate),
        "hop_length": int(hop_length),
        "codebook_size": int(codebook_size),
        "clips": [
            {
                "domain": c.domain,
                "name": c.name,
                "num_samples": int(c.num_samples),
                "codes": c.codes.detach()
                .cpu()
                .to(torch.int16 if codebook_size <= 2**15 else torch.int64),
            }
            for c in clips
        ],
    }
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return Path(path)


def load_tokens(path: str | os.PathLike) -> tuple[list[TokenizedClip], dict]:
    """Read a ``save_tokens`` file -> ``(clips, info)``.

    ``info`` holds sample_rate, hop_length and codebook_size. Safe on untrusted files
    (``weights_only=True``); codes come back as int64 ``(n_q, S)``, checked to lie in [0, K).
    """
    try:
        data = read_checkpoint(path)
    except ValueError as err:
        raise ValueError(f"not a readable token file: {err}") from None
    if data.get("format") != TOKENS_FORMAT:
        raise ValueError(
            f"{path} is not a dac-minimal token file (expected format {TOKENS_FORMAT!r})"
        )
    info = {k: int(data[k]) for k in ("sample_rate", "hop_length", "codebook_size")}
    clips = []
    for c in data["clips"]:
        name = f"{path}: clip {c['domain']}/{c['name']}: codes"
        codes = check_codes(c["codes"][None], info["codebook_size"], name=name)[0]
        clips.append(TokenizedClip(c["domain"], c["name"], codes, int(c["num_samples"])))
    return clips, info
