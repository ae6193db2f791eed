"""Compressed audio files: the ``.dacm`` format, ``compress`` and ``decompress``.

``compress`` turns audio (any sample rate, any number of channels) into a ``CompressedAudio``: the
codes ``(C, n_q, S)`` plus what is needed to play them back. ``save``/``load`` write and read the
binary format specified in ``FORMAT.md``: a small header and the codes bit-packed at log2(K) = 10
bits, so a file is the nominal bitrate (n_q · 0.861 kbps at 44.1 kHz) plus 62 bytes. Reading never
runs code and any damage (wrong magic, truncation, a flipped bit: CRC32 over header and payload) is
a ``ValueError``.

The public entry points (``compress``, ``decompress``, ``CompressedAudio`` and its reader) check
their inputs through ``dac_minimal.utils.checks``; the bit packing and the chunked passes trust
them.

Long audio is encoded in chunks by ``dac_minimal.codec.chunked``.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from dac_minimal.codec.chunked import DEFAULT_CHUNK_SECONDS, decode_chunked, encode_chunked
from dac_minimal.codec.inference import fast_model
from dac_minimal.model import DAC
from dac_minimal.utils.audio import load_audio, resample
from dac_minimal.utils.checks import check_codes, check_n_quantizers, check_positive
from dac_minimal.utils.files import atomic_path

MAGIC = b"DACM"
VERSION = 1
#: Fixed header fields, little-endian; see FORMAT.md. A 4-byte CRC32 of the header follows them.
_FIELDS = struct.Struct("<4sHHIIIHHBBIQQQI")
HEADER_SIZE = _FIELDS.size + 4  # 62 bytes
#: Readers refuse longer headers (room for future fields, no unbounded reads).
MAX_HEADER_SIZE = 1024
FILE_SUFFIX = ".dacm"
#: ``CompressedAudio``'s integer fields and the widths (bits) of their header fields.
_FIELD_BITS = {
    "sample_rate": 32,
    "length": 64,
    "model_sample_rate": 32,
    "hop_length": 32,
    "chunk_frames": 32,
}


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Bit-pack non-negative integers ``< 2**bits`` MSB first, row by row; rows padded to bytes.

    ``codes`` is ``(rows, n)``; the result has ``rows · ceil(n · bits / 8)`` bytes. Temporary
    memory is one byte per bit (a loop over bit positions avoids an int64 copy per bit).
    """
    codes = codes.astype(np.uint16)
    bit_array = np.empty(
        codes.shape + (bits,), dtype=np.uint8
    )  # (rows, n, bits), most significant first
    for i in range(bits):
        bit_array[..., i] = (codes >> (bits - 1 - i)) & 1
    return np.packbits(bit_array.reshape(codes.shape[0], codes.shape[1] * bits), axis=1).tobytes()


def unpack_codes(data: bytes, rows: int, n: int, bits: int) -> np.ndarray:
    """Inverse of ``pack_codes``: ``(rows, n)`` int64 from ``rows`` padded rows of ``n`` values."""
    row_bytes = math.ceil(n * bits / 8)
    packed = np.frombuffer(data, dtype=np.uint8).reshape(rows, row_bytes)
    bit_array = np.unpackbits(packed, axis=1, count=n * bits).reshape(rows, n, bits)
    codes = np.zeros((rows, n), dtype=np.int64)
    for i in range(bits):
        codes |= bit_array[..., i].astype(np.int64) << (bits - 1 - i)
    return codes


@dataclass(eq=False)
class CompressedAudio:
    """Codes plus everything needed to turn them back into the original audio.

    - ``codes``: ``(C, n_q, S)`` int64, the first n_q codebooks of each of C channels, S frames.
    - ``sample_rate``, ``length``: the original signal's rate (Hz) and samples per channel.
    - ``model_sample_rate``, ``hop_length``, ``codebook_bits``: the codec they need (checked on
      decode).
    - ``chunk_frames``: frames per chunk of the file's payload (and of the encoding pass).
    """

    codes: torch.Tensor
    sample_rate: int
    length: int
    model_sample_rate: int
    hop_length: int
    codebook_bits: int = 10
    chunk_frames: int = 431  #: 5 s at 44.1 kHz

    def __post_init__(self) -> None:
        """Check every field against what the file format can hold (``ValueError`` naming it)."""
        check_positive(self.codebook_bits, "codebook_bits", integer=True, below=17)
        self.codes = c = check_codes(self.codes, 2**self.codebook_bits)  # (C, n_q, S) int64
        if c.shape[0] > 0xFFFF or c.shape[1] > 0xFFFF:
            raise ValueError(f"at most 65535 channels and codebooks, got {tuple(c.shape[:2])}")
        for name, bits in _FIELD_BITS.items():
            check_positive(getattr(self, name), name, integer=True, below=2**bits)
        # The frames must cover the signal: S = ceil(T' / hop) for the T' ≈ T · rate ratio
        # samples encoded.
        expected = self.length * self.model_sample_rate / (self.sample_rate * self.hop_length)
        if abs(self.n_frames - expected) > 2:
            raise ValueError(
                f"{self.n_frames} frames cannot hold {self.length} samples "
                f"(expected ~{expected:.0f})"
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompressedAudio):
            return NotImplemented
        return self.info() == other.info() and torch.equal(self.codes.cpu(), other.codes.cpu())

    @property
    def channels(self) -> int:
        return self.codes.shape[0]

    @property
    def n_quantizers(self) -> int:
        return self.codes.shape[1]

    @property
    def n_frames(self) -> int:
        return self.codes.shape[2]

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return self.length / self.sample_rate

    @property
    def bitrate(self) -> float:
        """Nominal bits per second of the codes: frame rate · channels · n_q · bits."""
        return (
            self.model_sample_rate
            / self.hop_length
            * self.channels
            * self.n_quantizers
            * self.codebook_bits
        )

    @property
    def nbytes(self) -> int:
        """Size of the file in bytes: the 62-byte header plus the packed codes.

        (At most 1 padding byte per chunk.)
        """
        n_full, rest, full_bytes = self._chunks()
        return (
            HEADER_SIZE
            + n_full * full_bytes
            + math.ceil(self.channels * self.n_quantizers * rest * self.codebook_bits / 8)
        )

    def _chunks(self) -> tuple[int, int, int]:
        """``(full chunks, frames in the last partial chunk, bytes per full chunk)``."""
        values = self.channels * self.n_quantizers
        return (
            self.n_frames // self.chunk_frames,
            self.n_frames % self.chunk_frames,
            math.ceil(values * self.chunk_frames * self.codebook_bits / 8),
        )

    def to_bytes(self) -> bytes:
        """The file's bytes: header, header CRC32, then the bit-packed chunks (see FORMAT.md)."""
        codes = self.codes.cpu().numpy()
        c, k, _ = codes.shape
        n_full, rest, _ = self._chunks()
        cf = self.chunk_frames
        full = (
            codes[:, :, : n_full * cf]
            .reshape(c, k, n_full, cf)
            .transpose(2, 0, 1, 3)
            .reshape(n_full, c * k * cf)
        )
        payload = pack_codes(full, self.codebook_bits)
        if rest:
            payload += pack_codes(codes[:, :, n_full * cf :].reshape(1, -1), self.codebook_bits)
        fields = _FIELDS.pack(
            MAGIC,
            VERSION,
            HEADER_SIZE,
            self.sample_rate,
            self.model_sample_rate,
            self.hop_length,
            c,
            k,
            self.codebook_bits,
            0,
            cf,
            self.length,
            self.n_frames,
            len(payload),
            zlib.crc32(payload),
        )
        return fields + struct.pack("<I", zlib.crc32(fields)) + payload

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "data") -> CompressedAudio:
        """Parse and verify a file's bytes; any problem is a ``ValueError`` naming it.

        In the order a reader meets them: the header (magic, version, size, CRC, field values),
        then the payload (size, CRC, the size the header's layout implies), then the codes.
        """
        h = _read_header(data, name)
        payload = _read_payload(data, h, name)
        return cls(
            torch.from_numpy(_unpack_payload(payload, h)),
            h.sample_rate,
            h.length,
            h.model_rate,
            h.hop,
            h.bits,
            h.chunk_frames,
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write the file atomically (whole or not at all). The conventional suffix is ``.dacm``."""
        path = Path(path)
        data = self.to_bytes()
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> CompressedAudio:
        """Read and verify a file written by ``save`` (``ValueError`` for anything else)."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"compressed file not found: {path}")
        with open(path, "rb") as f:
            head = f.read(HEADER_SIZE)
            if head[: len(MAGIC)] != MAGIC:  # do not read a large foreign file just to refuse it
                return cls.from_bytes(head, str(path))
            data = head + f.read()
        return cls.from_bytes(data, str(path))

    def info(self) -> dict:
        """A summary for people: shapes, rates, duration, bitrate and file size."""
        size = self.nbytes
        return {
            "channels": self.channels,
            "sample_rate": self.sample_rate,
            "length": self.length,
            "duration_s": round(self.duration, 3),
            "n_quantizers": self.n_quantizers,
            "frames": self.n_frames,
            "model_sample_rate": self.model_sample_rate,
            "hop_length": self.hop_length,
            "codebook_bits": self.codebook_bits,
            "chunk_frames": self.chunk_frames,
            "bitrate_kbps": round(self.bitrate / 1000, 3),
            "file_bytes": size,
            "file_kbps": round(size * 8 / self.duration / 1000, 3),
        }


class _Header(NamedTuple):
    """The fixed header fields of a ``.dacm`` file, in file order (see FORMAT.md)."""

    magic: bytes
    version: int
    header_size: int
    sample_rate: int
    model_rate: int
    hop: int
    channels: int
    n_q: int
    bits: int
    flags: int
    chunk_frames: int
    length: int
    n_frames: int
    payload_size: int
    payload_crc: int


def _read_header(data: bytes, name: str) -> _Header:
    """The header of ``data``, checked: magic, version, header size and CRC, non-zero fields."""
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise ValueError(
            f"{name} is not a dac-minimal compressed file (it does not start with {MAGIC!r})"
        )
    if len(data) < HEADER_SIZE:
        raise ValueError(
            f"{name} is truncated: {len(data)} bytes, shorter than the {HEADER_SIZE}-byte header"
        )
    h = _Header._make(_FIELDS.unpack_from(data))
    if h.version > VERSION:
        raise ValueError(
            f"{name} was written by a newer format version ({h.version}); "
            f"this reader knows {VERSION}"
        )
    if h.version < 1:
        raise ValueError(f"{name} has an invalid format version {h.version}")
    if not HEADER_SIZE <= h.header_size <= MAX_HEADER_SIZE:
        raise ValueError(
            f"{name} has an invalid header size {h.header_size} "
            f"(must be {HEADER_SIZE}..{MAX_HEADER_SIZE})"
        )
    if len(data) < h.header_size:
        raise ValueError(f"{name} is truncated inside its {h.header_size}-byte header")
    (header_crc,) = struct.unpack_from("<I", data, h.header_size - 4)
    if zlib.crc32(data[: h.header_size - 4]) != header_crc:
        raise ValueError(f"{name} is corrupt: header checksum mismatch")
    counts = (h.sample_rate, h.model_rate, h.hop, h.channels, h.n_q, h.bits, h.chunk_frames)
    if min(*counts, h.length, h.n_frames) < 1 or h.bits > 16:
        raise ValueError(
            f"{name} has an invalid header (a zero rate, size or count, or more than 16 bits)"
        )
    return h


def _payload_layout(h: _Header) -> tuple[int, int, int]:
    """``(full chunks, frames in the last partial chunk, bytes per full chunk)`` of a payload."""
    n_full, rest = divmod(h.n_frames, h.chunk_frames)
    return n_full, rest, math.ceil(h.channels * h.n_q * h.chunk_frames * h.bits / 8)


def _read_payload(data: bytes, h: _Header, name: str) -> bytes:
    """The payload after a checked header ``h``: its size, its CRC and its layout checked."""
    payload = data[h.header_size :]
    if len(payload) != h.payload_size:
        problem = "truncated" if len(payload) < h.payload_size else "followed by unexpected bytes"
        raise ValueError(
            f"{name} is {problem}: payload is {len(payload)} bytes, header says {h.payload_size}"
        )
    if zlib.crc32(payload) != h.payload_crc:
        raise ValueError(f"{name} is corrupt: payload checksum mismatch")
    n_full, rest, full_bytes = _payload_layout(h)
    expected = n_full * full_bytes + math.ceil(h.channels * h.n_q * rest * h.bits / 8)
    if expected != h.payload_size:
        raise ValueError(
            f"{name} has an inconsistent header: its layout needs {expected} payload bytes, "
            f"it says {h.payload_size}"
        )
    return payload


def _unpack_payload(payload: bytes, h: _Header) -> np.ndarray:
    """The codes ``(C, n_q, S)`` int64 of a checked payload: full chunks, then the partial one."""
    n_full, rest, full_bytes = _payload_layout(h)
    values = h.channels * h.n_q
    full = unpack_codes(payload[: n_full * full_bytes], n_full, values * h.chunk_frames, h.bits)
    codes = (
        full.reshape(n_full, h.channels, h.n_q, h.chunk_frames)
        .transpose(1, 2, 0, 3)
        .reshape(h.channels, h.n_q, -1)
    )
    if rest:
        last = unpack_codes(payload[n_full * full_bytes :], 1, values * rest, h.bits)
        codes = np.concatenate([codes, last.reshape(h.channels, h.n_q, rest)], axis=2)
    return np.ascontiguousarray(codes)


def _as_audio(
    audio: object, sample_rate: int | None, default_rate: int
) -> tuple[torch.Tensor, int]:
    """``audio`` (a path, or an array/tensor ``(T,)`` or ``(C, T)``) as a float32 ``(C, T)`` tensor.

    ``compress``'s audio boundary: ``ValueError`` for anything else, empty, or non-finite.
    """
    if isinstance(audio, (str, os.PathLike)):
        data, sr = load_audio(audio)
        if sample_rate is not None and sample_rate != sr:
            raise ValueError(
                f"sample_rate={sample_rate} was given but {audio} is at {sr} Hz; omit sample_rate"
            )
        return torch.from_numpy(data), sr
    if isinstance(audio, np.ndarray):
        if not np.issubdtype(audio.dtype, np.floating):
            raise ValueError(
                f"audio must hold floating-point samples in [-1, 1], got dtype {audio.dtype}"
            )
        audio = torch.from_numpy(np.ascontiguousarray(audio))
    if not isinstance(audio, torch.Tensor):
        raise ValueError(
            f"audio must be a path, a numpy array or a torch.Tensor, got {type(audio).__name__}"
        )
    if not audio.is_floating_point():
        raise ValueError(
            f"audio must hold floating-point samples in [-1, 1], got dtype {audio.dtype}"
        )
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise ValueError(f"audio must have shape (T,) or (C, T), got shape {tuple(audio.shape)}")
    if audio.shape[0] == 0 or audio.shape[1] == 0:
        raise ValueError(f"audio is empty: shape {tuple(audio.shape)}")
    if not torch.isfinite(audio).all():
        raise ValueError("audio holds NaN or infinite samples")
    sr = default_rate if sample_rate is None else sample_rate
    check_positive(sr, "sample_rate", integer=True)
    return audio.detach().cpu().float(), sr


def _chunk_frames(model: DAC, chunk_seconds: float | None, n_frames: int) -> int:
    if chunk_seconds is None:
        return max(n_frames, 1)
    check_positive(chunk_seconds, "chunk_seconds (or None for one pass)")
    return max(1, round(chunk_seconds * model.frame_rate))


def compress(
    model: DAC,
    audio: object,
    n_quantizers: int | None = None,
    *,
    sample_rate: int | None = None,
    chunk_seconds: float | None = DEFAULT_CHUNK_SECONDS,
    fast: bool = True,
) -> CompressedAudio:
    """Encode ``audio`` into a ``CompressedAudio``.

    Args:
        audio: a file path, or samples ``(T,)`` / ``(C, T)`` (numpy or torch) in [-1, 1].
        n_quantizers: codebooks to keep (1..N_q, default all): bitrate = n_q · frame rate · 10
            bits.
        sample_rate: the rate of array input (default: the model's). Other rates are resampled to
            the model's rate for encoding and back on decoding.
        chunk_seconds: length of the pieces the signal is encoded in (memory ∝ this, not the
            file's length); ``None`` encodes in one pass. The codes do not depend on it.
        fast: code long signals with a prepared copy of ``model`` (``inference.fast_model``:
            weight norm folded, Snake fused, convolutions rewritten, compiled for long inputs);
            ``model`` itself is not changed. ``False`` runs ``model`` as it is.

    Each argument is checked here (``ValueError`` naming it); ``encode_chunked`` trusts them.
    """
    signal, sr = _as_audio(audio, sample_rate, model.sample_rate)
    n_q = check_n_quantizers(n_quantizers, model.n_codebooks)
    length = signal.shape[-1]
    if sr != model.sample_rate:
        signal = resample(signal, sr, model.sample_rate)
    chunk_frames = _chunk_frames(model, chunk_seconds, model.n_frames(signal.shape[-1]))
    coder = fast_model(model, signal.shape[-1] / model.sample_rate) if fast else model
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            codes = encode_chunked(coder, signal, n_q, chunk_frames)
    finally:
        model.train(was_training)
    return CompressedAudio(
        codes,
        sr,
        length,
        model.sample_rate,
        model.hop_length,
        codebook_bits(model.config.codebook_size),
        chunk_frames,
    )


def decompress(
    model: DAC,
    compressed: CompressedAudio | str | os.PathLike,
    chunk_seconds: float | None = DEFAULT_CHUNK_SECONDS,
    fast: bool = True,
) -> torch.Tensor:
    """Decode a ``CompressedAudio`` (or a path to one) into audio ``(C, T)`` float32.

    The rate is the original one, ``compressed.sample_rate``; ``chunk_seconds`` bounds memory and
    ``fast`` picks the prepared copy as in ``compress``. Codes made by another codec (rate, hop,
    bits, too many codebooks) are a ``ValueError``.
    """
    if isinstance(compressed, (str, os.PathLike)):
        compressed = CompressedAudio.load(compressed)
    if not isinstance(compressed, CompressedAudio):
        raise ValueError(f"expected a CompressedAudio or a path, got {type(compressed).__name__}")
    c = compressed
    mismatches = [
        f"{what}: file {theirs}, model {ours}"
        for what, theirs, ours in (
            ("sample rate", c.model_sample_rate, model.sample_rate),
            ("hop length", c.hop_length, model.hop_length),
            ("codebook bits", c.codebook_bits, codebook_bits(model.config.codebook_size)),
        )
        if theirs != ours
    ]
    if c.n_quantizers > model.n_codebooks:
        mismatches.append(f"codebooks: file {c.n_quantizers}, model {model.n_codebooks}")
    if mismatches:
        raise ValueError(f"these codes were made by a different codec ({'; '.join(mismatches)})")
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            coder = fast_model(model, c.n_frames / model.frame_rate) if fast else model
            audio = decode_chunked(coder, c.codes, _chunk_frames(model, chunk_seconds, c.n_frames))
    finally:
        model.train(was_training)
    if c.sample_rate != model.sample_rate:
        # Keep the samples that cover the encoded signal (≈ T · ratio), then resample back to the
        # original rate.
        audio = resample(
            audio[:, : math.ceil(c.length * model.sample_rate / c.sample_rate)],
            model.sample_rate,
            c.sample_rate,
        )
    if audio.shape[-1] < c.length:  # resampling may round a sample short
        audio = torch.nn.functional.pad(audio, (0, c.length - audio.shape[-1]))
    return audio[:, : c.length].contiguous()


def codebook_bits(codebook_size: int) -> int:
    """Bits per code: ceil(log2 K), 10 for K = 1024."""
    return max(1, math.ceil(math.log2(codebook_size)))


__all__ = [
    "CompressedAudio",
    "FILE_SUFFIX",
    "compress",
    "decompress",
    "pack_codes",
    "unpack_codes",
]
