"""Opus and MP3 round trips through ffmpeg: aligned, trimmed, at the bitrate asked for.

Skipped without ffmpeg.
"""

import numpy as np
import pytest

from dac_minimal.data import toy_clip
from dac_minimal.evaluate import baselines as B
from dac_minimal.evaluate import metrics as M

SR = 44100
needs_ffmpeg = pytest.mark.skipif(
    not B.ffmpeg_available(), reason="ffmpeg is not installed (apt-get install ffmpeg)"
)


@pytest.fixture(scope="module")
def clip():
    return toy_clip("music", seconds=0.5, seed=3)  # (T,) float32


def test_estimate_lag_and_shift_undo_a_known_delay():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(2000)
    delayed = np.concatenate([np.zeros(37), x])[:2000]  # x late by 37 samples
    assert B.estimate_lag(x, delayed, max_lag=100) == 37
    assert B.estimate_lag(delayed, x, max_lag=100) == -37
    aligned = B._shift(delayed, 37, 2000)
    np.testing.assert_array_equal(aligned[:1963], x[:1963])
    np.testing.assert_array_equal(aligned[1963:], 0.0)  # what ran past the end is zero-padded


def test_mp3_sample_rate_follows_the_bitrate():
    assert B.mp3_sample_rate(8, SR) == 8000
    assert B.mp3_sample_rate(24, SR) == 16000
    assert B.mp3_sample_rate(128, SR) == 44100
    assert B.mp3_sample_rate(8, 6000) == 6000  # never above the input rate


def test_missing_ffmpeg_is_a_clear_error(monkeypatch, clip):
    monkeypatch.setattr(B.shutil, "which", lambda name: None)
    assert not B.ffmpeg_available() and not B.ffmpeg_available("opus")
    with pytest.raises(RuntimeError, match="apt-get install ffmpeg"):
        B.opus_roundtrip(clip, SR, 8)


def test_bad_input(clip):
    with pytest.raises(ValueError, match="unknown baseline codec"):
        B.codec_roundtrip(clip, SR, "aac", 8)
    with pytest.raises(ValueError, match="NaN"):
        B.mp3_roundtrip(np.full(100, np.nan, dtype=np.float32), SR, 8)
    with pytest.raises(ValueError, match="bitrate"):
        B.mp3_roundtrip(clip, SR, 0)
    with pytest.raises(ValueError, match="shaped"):
        B.mp3_roundtrip(np.zeros((1, 1, 10), np.float32), SR, 8)


@needs_ffmpeg
@pytest.mark.parametrize(
    "codec, kbps, codec_rate", [("opus", 24, 48000), ("mp3", 24, 16000), ("opus", 6, 48000)]
)
def test_round_trip_is_aligned_trimmed_and_at_the_bitrate(clip, codec, kbps, codec_rate):
    out = B.codec_roundtrip(clip, SR, codec, kbps)
    assert out.audio.shape == clip.shape and out.audio.dtype == np.float32
    assert out.codec_sample_rate == codec_rate
    assert out.kbps == pytest.approx(
        kbps, rel=0.35
    )  # measured from the packets: near what was asked
    # aligned: no lag left between input and output, and the error is well below the signal
    assert B.estimate_lag(clip, out.audio, max_lag=200) == 0
    assert M.snr_db(out.audio, clip) > 3.0
    assert M.snr_db(out.audio, clip) > M.snr_db(np.roll(out.audio, 5), clip) + 1.0


@needs_ffmpeg
def test_more_bits_sound_better_and_stereo_keeps_its_shape(clip):
    low, high = B.opus_roundtrip(clip, SR, 8), B.opus_roundtrip(clip, SR, 64)
    assert M.mel_distance(high, clip) < M.mel_distance(low, clip)
    stereo = np.stack([clip, 0.5 * clip])
    out = B.mp3_roundtrip(stereo, SR, 64)
    assert out.shape == stereo.shape
    assert M.snr_db(out, stereo).shape == (2,)
