"""Classic codecs as baselines: Opus and MP3 round trips through the ``ffmpeg`` binary.

A neural codec's numbers mean little alone; the report compares DAC with Opus and MP3 at the same
bitrate. ``opus_roundtrip(x, sr, 8)`` encodes ``x`` with libopus at 8 kbps, decodes it, and
returns audio aligned sample for sample with ``x``, so every metric in
``dac_minimal.evaluate.metrics`` applies to it unchanged.

What happens on the way:

- **Opus** always runs at 48 kHz inside, so the audio is resampled to 48 kHz and back. The
  decoder drops the encoder's look-ahead (the "pre-skip" in the Ogg header) for us; at low bitrates
  Opus switches to its SILK speech mode, whose resampler adds a few more samples of delay, which
  we find by cross-correlation (within ``max_lag_ms``) and remove. libopus cannot go below about
  6 kbps: ask for less and you get ~6 kbps (``RoundTrip.kbps`` tells what you got).
- **MP3** (LAME, constant bitrate) supports only a few bitrates per sample rate, so low bitrates
  need a low internal sample rate (as LAME itself would choose): ``MP3_SAMPLE_RATES``. The
  encoder delay and padding are written into the LAME header and ffmpeg's decoder removes them.
- ``kbps`` is measured from the encoded packets (container headers excluded), not assumed.

ffmpeg is a system program, not a Python package: ``apt-get install ffmpeg`` (Debian/Ubuntu),
``brew install ffmpeg`` (macOS) or ``conda install -c conda-forge ffmpeg``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf
import torch

from dac_minimal.utils.audio import resample

#: MP3 internal sample rate for a requested bitrate: (kbps below which it applies, rate in Hz).
#: MPEG-2.5 (8-12 kHz) and MPEG-2 (16-24 kHz) allow 8-64 and 8-160 kbps, MPEG-1 (32-48 kHz)
#: 32-320 kbps.
MP3_SAMPLE_RATES: tuple[tuple[float, int], ...] = (
    (12, 8000),
    (20, 11025),
    (32, 16000),
    (48, 22050),
    (96, 32000),
)
OPUS_SAMPLE_RATE = 48000
CODECS = {"opus": ("libopus", "ogg"), "mp3": ("libmp3lame", "mp3")}


class RoundTrip(NamedTuple):
    """A decoded baseline: ``audio`` shaped like the input, its bitrate, the codec's own rate."""

    audio: np.ndarray
    kbps: float  #: payload bits per second of the encoded stream / 1000
    codec_sample_rate: int  #: the rate the codec ran at (48 kHz for Opus; see MP3_SAMPLE_RATES)


def ffmpeg_path() -> str | None:
    """The ``ffmpeg`` executable on PATH, or None."""
    return shutil.which("ffmpeg")


@lru_cache(maxsize=1)
def _encoders() -> frozenset[str]:
    exe = ffmpeg_path()
    if exe is None:
        return frozenset()
    out = subprocess.run(
        [exe, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
    ).stdout
    return frozenset(
        line.split()[1]
        for line in out.splitlines()
        if len(line.split()) > 1 and line.startswith(" A")
    )


def ffmpeg_available(codec: str | None = None) -> bool:
    """True when ``ffmpeg`` is on PATH (and, if ``codec`` is "opus" or "mp3", has that encoder)."""
    if ffmpeg_path() is None:
        return False
    return codec is None or CODECS[_check_codec(codec)][0] in _encoders()


def _check_codec(codec: str) -> str:
    if codec not in CODECS:
        raise ValueError(f"unknown baseline codec {codec!r}; choose from {sorted(CODECS)}")
    return codec


def _require(codec: str) -> str:
    exe = ffmpeg_path()
    if exe is None:
        raise RuntimeError(
            "the Opus/MP3 baselines need the ffmpeg program, which is not on PATH: install it with "
            "`apt-get install ffmpeg` (Debian/Ubuntu), `brew install ffmpeg` "
            "or `conda install -c conda-forge ffmpeg`"
        )
    if CODECS[codec][0] not in _encoders():
        raise RuntimeError(
            f"this ffmpeg has no {CODECS[codec][0]} encoder, needed for the {codec} baseline"
        )
    return exe


def _run(cmd: list[str], what: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg failed to {what}: {result.stderr.strip()[-500:]}")


def _payload_kbps(path: Path, seconds: float) -> float:
    """Bitrate of the audio packets alone (no container headers), via ffprobe when present."""
    probe = shutil.which("ffprobe")
    if probe is None:
        return path.stat().st_size * 8 / seconds / 1000
    out = subprocess.run(
        [
            probe,
            "-v",
            "error",
            "-select_streams",
            "a",
            "-show_entries",
            "packet=size",
            "-of",
            "default=nw=1:nk=1",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return sum(int(s) for s in out.split() if s.isdigit()) * 8 / seconds / 1000


def estimate_lag(reference: np.ndarray, delayed: np.ndarray, max_lag: int) -> int:
    """The lag ``d`` (samples, |d| ≤ max_lag) maximising ``Σ_t ref[t] · delayed[t + d]``.

    Computed by FFT cross-correlation. Positive when ``delayed`` lags behind ``reference``.
    Inputs ``(C, T)`` or ``(T,)``; channels are summed.
    """
    ref, dly = np.atleast_2d(reference).sum(axis=0), np.atleast_2d(delayed).sum(axis=0)
    n = len(ref) + len(dly)
    corr = np.fft.irfft(np.fft.rfft(dly, n) * np.conj(np.fft.rfft(ref, n)), n)
    lags = np.arange(-max_lag, max_lag + 1)
    return int(lags[np.argmax(corr[lags])])


def _shift(x: np.ndarray, lag: int, length: int) -> np.ndarray:
    """``x[..., lag : lag + length]``, zero-padded where that runs outside ``x``."""
    out = np.zeros((*x.shape[:-1], length), dtype=x.dtype)
    start, stop = max(lag, 0), min(lag + length, x.shape[-1])
    if stop > start:
        out[..., start - lag : stop - lag] = x[..., start:stop]
    return out


def mp3_sample_rate(bitrate_kbps: float, sample_rate: int) -> int:
    """The MP3 internal sample rate for ``bitrate_kbps``, never above the input's rate."""
    for below, rate in MP3_SAMPLE_RATES:
        if bitrate_kbps < below:
            return min(rate, sample_rate)
    return min(44100, sample_rate) if sample_rate <= 44100 else 48000


def _check_input(audio: np.ndarray | torch.Tensor, sample_rate: int, bitrate_kbps: float):
    """``audio`` as float32 ``(T,)`` or ``(C, T)``, T > 0, finite; a ``ValueError`` otherwise.

    Local to the baselines (their input is NumPy audio, not a ``(B, 1, T)`` tensor); it belongs
    in ``dac_minimal.utils.checks`` beside ``check_waveform`` once another module needs it.
    """
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().float().numpy()
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(
            f"audio must be shaped (T,) or (C, T) with T > 0, got shape {tuple(x.shape)}"
        )
    if not np.isfinite(x).all():
        raise ValueError("audio holds NaN or infinite samples")
    if not (bitrate_kbps > 0 and np.isfinite(bitrate_kbps)):
        raise ValueError(f"bitrate_kbps must be a positive number, got {bitrate_kbps}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    return x


def _ffmpeg_roundtrip(
    exe: str, x: np.ndarray, rate: int, codec: str, bitrate_kbps: float
) -> tuple[np.ndarray, float]:
    """Encode ``x (C, T)`` at ``rate`` Hz with ffmpeg and decode it: ``(decoded (C, T'), kbps)``.

    ``T'`` may differ from T by the codec's delay and padding; kbps is the measured payload rate.
    """
    encoder, container = CODECS[codec]
    with tempfile.TemporaryDirectory(prefix="dac_baseline_") as tmp:
        src, enc, dec = Path(tmp) / "in.wav", Path(tmp) / f"enc.{container}", Path(tmp) / "out.wav"
        sf.write(str(src), x.T, rate, subtype="FLOAT")
        base = [exe, "-hide_banner", "-nostdin", "-y", "-i"]
        bits = str(round(bitrate_kbps * 1000))
        _run(
            [*base, str(src), "-c:a", encoder, "-b:a", bits, str(enc)],
            f"encode {codec} at {bitrate_kbps} kbps",
        )
        _run([*base, str(enc), "-c:a", "pcm_f32le", "-ar", str(rate), str(dec)], f"decode {codec}")
        kbps = _payload_kbps(enc, x.shape[-1] / rate)
        decoded, _ = sf.read(str(dec), dtype="float32", always_2d=True)
    return decoded.T, kbps


def codec_roundtrip(
    audio: np.ndarray | torch.Tensor,
    sample_rate: int,
    codec: str,
    bitrate_kbps: float,
    max_lag_ms: float = 2.5,
) -> RoundTrip:
    """``audio`` ``(T,)`` or ``(C, T)`` through ``codec`` ("opus" or "mp3") at ``bitrate_kbps``.

    Encodes and decodes it, and returns it resampled to ``sample_rate``, delay-compensated (the
    lag within ``max_lag_ms`` that best aligns it) and trimmed to the input's shape. Raises
    ``RuntimeError`` when ffmpeg (or its encoder) is missing, ``ValueError`` for bad input.
    """
    _check_codec(codec)
    x = _check_input(audio, sample_rate, bitrate_kbps)
    exe = _require(codec)
    rate = OPUS_SAMPLE_RATE if codec == "opus" else mp3_sample_rate(bitrate_kbps, sample_rate)
    inner = np.atleast_2d(resample(x, sample_rate, rate))  # (C, T') at the codec's rate
    decoded, kbps = _ffmpeg_roundtrip(exe, inner, rate, codec, bitrate_kbps)  # (C, T'')
    lag = estimate_lag(inner, decoded, max(1, round(max_lag_ms * rate / 1000)))
    aligned = _shift(decoded, lag, inner.shape[-1])
    out = np.asarray(resample(aligned, rate, sample_rate), dtype=np.float32)
    out = _shift(out, 0, x.shape[-1])  # resampling can be off by a sample
    return RoundTrip(out.reshape(x.shape), float(kbps), rate)


def opus_roundtrip(
    audio: np.ndarray | torch.Tensor, sample_rate: int, bitrate_kbps: float
) -> np.ndarray:
    """``audio`` ``(T,)``/``(C, T)`` through libopus at ``bitrate_kbps`` and back (≥ ~6 kbps)."""
    return codec_roundtrip(audio, sample_rate, "opus", bitrate_kbps).audio


def mp3_roundtrip(
    audio: np.ndarray | torch.Tensor, sample_rate: int, bitrate_kbps: float
) -> np.ndarray:
    """``audio`` ``(T,)``/``(C, T)`` through LAME MP3 at ``bitrate_kbps`` (≥ 8 kbps) and back."""
    return codec_roundtrip(audio, sample_rate, "mp3", bitrate_kbps).audio


__all__ = [
    "CODECS",
    "MP3_SAMPLE_RATES",
    "OPUS_SAMPLE_RATE",
    "RoundTrip",
    "codec_roundtrip",
    "estimate_lag",
    "ffmpeg_available",
    "ffmpeg_path",
    "mp3_roundtrip",
    "mp3_sample_rate",
    "opus_roundtrip",
]
