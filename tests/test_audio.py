import numpy as np
import pytest
import soundfile as sf
import torch

from dac_minimal.utils.audio import load_audio, resample, save_audio, to_mono
from dac_minimal.utils.checks import check_waveform


def test_save_and_load_round_trip(tmp_path):
    t = np.arange(4410) / 44100
    audio = (
        np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 220 * t)]).astype(
            np.float32
        )
        * 0.5
    )
    path = save_audio(tmp_path / "a.wav", audio, 44100)
    back, sr = load_audio(path)
    assert sr == 44100 and back.shape == (2, 4410)
    np.testing.assert_allclose(back, audio, atol=1 / 2**15)
    assert to_mono(back).shape == (1, 4410)


def test_load_resamples(tmp_path):
    sf.write(tmp_path / "b.wav", np.zeros(48000, dtype=np.float32), 48000)
    audio, sr = load_audio(tmp_path / "b.wav", sample_rate=44100)
    assert sr == 44100 and audio.shape == (1, 44100)
    x = torch.randn(2, 1, 16000)
    assert resample(x, 16000, 44100).shape == (2, 1, 44100)


def test_unreadable_files_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_audio(tmp_path / "nope.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(ValueError, match="cannot read audio file"):
        load_audio(bad)
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 44100)
    with pytest.raises(ValueError, match="no samples"):
        load_audio(tmp_path / "empty.wav")
    with pytest.raises(ValueError, match=".wav or .flac"):
        save_audio(tmp_path / "x.mp3", np.zeros(10), 44100)


def test_check_waveform():
    check_waveform(torch.zeros(2, 1, 10))
    with pytest.raises(ValueError, match="torch.Tensor"):
        check_waveform(np.zeros((1, 1, 10)))
    with pytest.raises(ValueError, match="too short"):
        check_waveform(torch.zeros(1, 1, 10), min_length=11)
