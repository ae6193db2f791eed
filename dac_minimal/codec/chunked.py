"""Encoding and decoding long audio in chunks, with the same result as one whole-file pass.

The codec is fully convolutional, so an output frame depends on a bounded stretch of input: the
receptive field. We encode hop-aligned windows that extend ``margin`` frames past the chunk on both
sides (margin ≥ the encoder's receptive field) and keep only the chunk's frames; likewise for
decoding with the decoder's receptive field. Every kept frame then saw exactly the input it sees in
a whole-file pass, so chunked output equals whole-file output up to float rounding, whatever the
chunk length, and memory depends on the chunk length, not on the file's. (The official chunked mode
instead turns padding off and tiles windows, which makes the result depend on the window length.)

``compress`` and ``decompress`` check their inputs; these functions trust theirs (and
``DAC.encode``/``DAC.decode_codes`` check each window anyway).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dac_minimal.codec.convs import PolyphaseConvTranspose1d
from dac_minimal.model import DAC

DEFAULT_CHUNK_SECONDS = 5.0


def receptive_field(module: nn.Module) -> float:
    """How far (in the module's input steps) one output of a conv stack reaches, over all layers.

    For a stride-s, kernel-k, dilation-d conv at input spacing J the reach grows by (k−1)·d·J and
    J by s; a transposed conv sees at most ceil((k−1)/s) inputs per output and divides J by s.
    Residual skips and pointwise layers add nothing. ``modules()`` yields layers in forward order
    for our Sequential stacks. A prepared model's polyphase banks (``codec.convs``) count as the
    transposed convs they replace.
    The sum bounds both the left and the right reach, which is what the chunk margins need.
    """
    reach, spacing = 0.0, 1.0
    for m in module.modules():
        if isinstance(m, (nn.ConvTranspose1d, PolyphaseConvTranspose1d)):
            reach += math.ceil((m.kernel_size[0] - 1) / m.stride[0]) * spacing
            spacing /= m.stride[0]
        elif isinstance(m, nn.Conv1d):
            reach += (m.kernel_size[0] - 1) * m.dilation[0] * spacing
            spacing *= m.stride[0]
    return reach


def chunk_margins(model: DAC) -> tuple[int, int]:
    """Context frames ``(encode, decode)`` added on each side of a chunk (16 and 20 at 44.1 kHz)."""
    encode = math.ceil(receptive_field(model.encoder) / model.hop_length)
    decode = math.ceil(receptive_field(model.decoder))
    return encode, decode


def _windows(n_frames: int, chunk_frames: int, margin: int):
    """Yield ``(a, b, lo, hi)``: keep frames [a, b) of the window of frames [lo, hi)."""
    for a in range(0, n_frames, chunk_frames):
        b = min(a + chunk_frames, n_frames)
        yield a, b, max(a - margin, 0), min(b + margin, n_frames)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def encode_chunked(
    model: DAC,
    audio: torch.Tensor,
    n_quantizers: int | None = None,
    chunk_frames: int | None = None,
) -> torch.Tensor:
    """Codes ``(C, n_q, ceil(T / hop))`` int64 for audio ``(C, T)`` at the model's rate, by chunks.

    Channels are encoded as a batch. ``chunk_frames=None`` encodes the whole signal at once.
    Call under ``torch.inference_mode()`` with the model in eval mode (``compress`` does both).
    """
    hop = model.hop_length
    n_q = model.n_codebooks if n_quantizers is None else n_quantizers
    n_frames = math.ceil(audio.shape[-1] / hop)
    chunk_frames = n_frames if chunk_frames is None else chunk_frames
    margin = chunk_margins(model)[0]
    codes = torch.empty(audio.shape[0], n_q, n_frames, dtype=torch.long)
    for a, b, lo, hi in _windows(n_frames, chunk_frames, margin):
        # model.encode zero-pads the last window to a whole frame, as a whole-file pass does.
        window = audio[:, lo * hop : hi * hop].to(_device(model), torch.float32)
        out = model.encode(window[:, None], n_q).codes
        codes[:, :, a:b] = out[:, :, a - lo : b - lo].cpu()
    return codes


def decode_chunked(
    model: DAC, codes: torch.Tensor, chunk_frames: int | None = None
) -> torch.Tensor:
    """Audio ``(C, S · hop)`` float32 on the CPU from codes ``(C, k, S)``, chunk by chunk.

    See ``encode_chunked``.
    """
    hop = model.hop_length
    n_frames = codes.shape[-1]
    chunk_frames = n_frames if chunk_frames is None else chunk_frames
    margin = chunk_margins(model)[1]
    audio = torch.empty(codes.shape[0], n_frames * hop)
    for a, b, lo, hi in _windows(n_frames, chunk_frames, margin):
        y = model.decode_codes(codes[:, :, lo:hi].to(_device(model)))  # (C, 1, (hi − lo) · hop)
        audio[:, a * hop : b * hop] = y[:, 0, (a - lo) * hop : (b - lo) * hop].float().cpu()
    return audio
