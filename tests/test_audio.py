import shutil
import subprocess
import warnings

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


def _cut(path, keep):
    """Keep the first ``keep`` fraction of a file's bytes: an interrupted download or copy."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _noise(seconds, sr=44100):
    return 0.1 * np.random.default_rng(0).standard_normal(int(seconds * sr)).astype(np.float32)


def test_oga_files_are_audio(tmp_path):
    from dac_minimal.utils.audio import audio_extensions, list_audio

    sf.write(tmp_path / "bell.oga", _noise(0.5), 44100, format="OGG", subtype="VORBIS")
    (tmp_path / "notes.txt").write_text("not audio")
    assert ".oga" in audio_extensions()
    files, skipped = list_audio(tmp_path)
    assert files == [tmp_path / "bell.oga"]
    assert skipped == [(tmp_path / "notes.txt", "not audio")]
    audio, sr = load_audio(tmp_path / "bell.oga")
    assert audio.shape == (1, 22050) and sr == 44100


def test_an_over_declared_wav_warns_or_is_refused(tmp_path):
    from dac_minimal.utils.audio import TruncatedAudioWarning

    path = tmp_path / "x.wav"
    sf.write(path, _noise(3.0), 44100, subtype="PCM_16")
    _cut(path, 0.4)  # the header still declares 3 s
    with pytest.warns(TruncatedAudioWarning, match=r"read 1\.20 s of the 3\.00 s its header"):
        audio, _ = load_audio(path)
    assert audio.shape[-1] == pytest.approx(0.4 * 3 * 44100, abs=30)
    with pytest.raises(ValueError, match="truncated"):
        load_audio(path, strict=True)
    sf.write(tmp_path / "whole.wav", _noise(1.0), 44100, subtype="PCM_16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_audio(tmp_path / "whole.wav", strict=True)  # a whole file: no word


def test_an_ogg_stream_cut_off_mid_file_warns_or_is_refused(tmp_path):
    from dac_minimal.utils.audio import TruncatedAudioWarning

    path = tmp_path / "x.ogg"
    sf.write(path, _noise(3.0), 44100, format="OGG", subtype="VORBIS")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole, _ = load_audio(path, strict=True)
    _cut(path, 0.5)
    with pytest.warns(TruncatedAudioWarning, match="cut off"):
        audio, _ = load_audio(path)
    assert 0 < audio.shape[-1] < whole.shape[-1]
    with pytest.raises(ValueError, match="cut off"):
        load_audio(path, strict=True)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_m4a_is_decoded_through_ffmpeg(tmp_path, monkeypatch):
    from dac_minimal.utils import audio as A

    sf.write(tmp_path / "x.wav", _noise(1.0), 44100, subtype="PCM_16")
    cmd = ["ffmpeg", "-v", "error", "-i", str(tmp_path / "x.wav"), str(tmp_path / "x.m4a")]
    subprocess.run(cmd, check=True)
    audio, sr = load_audio(tmp_path / "x.m4a")
    assert sr == 44100 and audio.shape[0] == 1 and abs(audio.shape[1] - 44100) < 2048
    monkeypatch.setattr(A, "ffmpeg_path", lambda: None)
    assert A.skip_reason(tmp_path / "x.m4a") == "needs ffmpeg"
    with pytest.raises(ValueError, match="ffmpeg"):
        load_audio(tmp_path / "x.m4a")
