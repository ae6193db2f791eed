"""Tests for the toy corpus generator, the audio-folder loader and the offline paths of datasets.py.

Properties are checked against independent computations where possible: pitch by autocorrelation,
note partials against the equal-tempered grid, loudness by pyloudnorm's own meter, resampling and
mono mixing against the analytic signal.
"""

import hashlib
import io
import json
import math
import tarfile
import urllib.error
import warnings
import zipfile

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
import torch
from scipy import signal

from dac_minimal import data
from dac_minimal.data import (
    AudioDataWarning,
    AudioFolder,
    DataConfig,
    ensure_toy_corpus,
    generate_toy_corpus,
    highband_db,
    loudness,
    normalize_loudness,
    rotate_phase,
    toy_clip,
    validation_clips,
)
from dac_minimal.tools import datasets

SR = 44100


def write(path, audio, sr=SR):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(audio, dtype=np.float32).T, sr, subtype="PCM_16")
    return path


def noise(seconds, level=0.1, seed=0):
    return level * np.random.default_rng(seed).standard_normal(int(seconds * SR))


def lowpass(x, cutoff):
    sos = signal.butter(12, cutoff, fs=SR, output="sos")
    return signal.sosfiltfilt(sos, x)


def no_aug(**kw):
    return DataConfig(augment=False, **kw)


def batch(data, batch_size, config=None, seed=0):
    """``(audio (B, 1, T), folder)``: one balanced batch, drawn as the trainer draws it (item i
    from domain i mod n_domains)."""
    folder = data if isinstance(data, AudioFolder) else AudioFolder(data, config)
    rng = np.random.default_rng(seed)
    n = len(folder.domains)
    audio = [folder.draw(folder.domains[i % n], rng) for i in range(batch_size)]
    return torch.from_numpy(np.stack(audio))[:, None], folder


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A small toy corpus: 4 one-second clips per domain (clip 3 of each is band-limited)."""
    return ensure_toy_corpus(
        tmp_path_factory.mktemp("toy"), n_per_domain=4, n_valid_per_domain=2, seconds=1.0
    )


def test_toy_clip_is_determined_by_seed_domain_and_index():
    a = toy_clip("speech", 0.5, seed=3, index=1)
    assert a.dtype == np.float32 and a.shape == (22050,) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, toy_clip("speech", 0.5, seed=3, index=1))
    assert not np.allclose(a, toy_clip("speech", 0.5, seed=4, index=1))
    assert not np.allclose(a, toy_clip("speech", 0.5, seed=3, index=2))
    assert 0.2 < np.abs(a).max() <= 0.9
    with pytest.raises(ValueError, match="unknown toy domain"):
        toy_clip("birdsong")
    with pytest.raises(ValueError, match="positive"):
        toy_clip("music", seconds=0)


def autocorrelation_pitch(x, sr=SR):
    """Median f0 over the loud frames: the lag of the autocorrelation peak between 2 and 20 ms."""
    frame, estimates = 2048, []
    rms = [np.sqrt(np.mean(x[i : i + frame] ** 2)) for i in range(0, len(x) - frame, frame // 2)]
    for k, level in enumerate(rms):
        if level < 0.3 * max(rms):
            continue
        seg = x[k * frame // 2 : k * frame // 2 + frame] * np.hanning(frame)
        ac = np.fft.irfft(np.abs(np.fft.rfft(seg, 2 * frame)) ** 2)[:frame]
        lo, hi = int(sr / 500), int(sr / 50)
        estimates.append(sr / (lo + np.argmax(ac[lo:hi])))
    return float(np.median(estimates))


def test_speech_has_a_voice_pitch_that_varies_between_speakers():
    pitches = [
        autocorrelation_pitch(toy_clip("speech", 1.5, seed=s).astype(float)) for s in range(5)
    ]
    assert all(75 <= p <= 280 for p in pitches), pitches
    assert max(pitches) - min(pitches) > 20, pitches


def semitone_deviation_of_peaks(x, n_peaks=10):
    """Distance (semitones) of the strongest spectral peaks (100 Hz-2 kHz) to the A440 tempered
    grid."""
    spec = 20 * np.log10(np.abs(np.fft.rfft(x * np.hanning(len(x)))) + 1e-12)
    peaks, _ = signal.find_peaks(spec, prominence=20)
    freqs = peaks * SR / len(x)
    peaks = peaks[(freqs > 100) & (freqs < 2000)]
    top = peaks[np.argsort(spec[peaks])[::-1][:n_peaks]]
    a, b, c = spec[top - 1], spec[top], spec[top + 1]
    f = (top + 0.5 * (a - c) / (a - 2 * b + c)) * SR / len(x)  # parabolic interpolation
    midi = 69 + 12 * np.log2(f / 440)
    return np.abs(midi - np.round(midi))


def test_music_partials_sit_on_the_note_grid_and_noise_does_not():
    for seed in range(3):
        dev = semitone_deviation_of_peaks(toy_clip("music", 2.0, seed=seed).astype(float))
        assert len(dev) == 10 and np.all(dev < 0.15), dev
    # Control: the same statistic on a noise texture with an impact is far off the grid.
    dev = semitone_deviation_of_peaks(toy_clip("general", 2.0, seed=1).astype(float))
    assert np.mean(dev) > 0.15


def energy_above(x, cutoff):
    power = np.abs(np.fft.rfft(x)) ** 2
    return power[np.fft.rfftfreq(len(x), 1 / SR) > cutoff].sum() / power.sum()


def test_general_reaches_nyquist_and_band_limited_clips_do_not():
    full = [
        energy_above(toy_clip("general", 1.0, seed=0, index=i).astype(float), 16000)
        for i in range(3)
    ]
    assert max(full) > 0.01, full
    assert all(f > 1e-5 for f in full)
    for domain in data.DOMAINS:  # every 4th clip is band-limited at 12 kHz or below
        limited = toy_clip(domain, 1.0, seed=0, index=3).astype(float)
        assert energy_above(limited, 12100) < 1e-9


def test_highband_db_separates_full_band_from_band_limited():
    white = noise(1.0)
    assert highband_db(white, SR) == pytest.approx(10 * np.log10((22050 - 16000) / 22050), abs=0.5)
    assert highband_db(lowpass(white, 8000), SR) < -80
    assert highband_db(white, 32000) == -math.inf  # Nyquist 16 kHz: cannot be full band
    assert highband_db(np.zeros(4096), SR) == -math.inf


def test_generate_writes_the_layout_and_ensure_reuses_it(tmp_path):
    paths = generate_toy_corpus(tmp_path / "c", n_per_domain=2, seconds=0.25, seed=5)
    assert sorted(p.relative_to(tmp_path / "c").as_posix() for p in paths) == sorted(
        f"{d}/{d}_{i:03d}.wav" for d in data.DOMAINS for i in range(2)
    )
    audio, sr = sf.read(paths[0], dtype="float32")
    assert sr == SR
    np.testing.assert_allclose(audio, toy_clip("speech", 0.25, seed=5, index=0), atol=1 / 2**15)

    splits = ensure_toy_corpus(tmp_path / "toy", n_per_domain=2, n_valid_per_domain=1, seconds=0.25)
    assert (
        len(list(splits.train.rglob("*.wav"))) == 6 and len(list(splits.valid.rglob("*.wav"))) == 3
    )
    train0, _ = sf.read(splits.train / "music" / "music_000.wav")
    valid0, _ = sf.read(splits.valid / "music" / "music_000.wav")
    assert not np.allclose(train0, valid0)  # held-out clips come from another seed
    stamp = {p: p.stat().st_mtime_ns for p in splits.train.rglob("*.wav")}
    ensure_toy_corpus(tmp_path / "toy", n_per_domain=2, n_valid_per_domain=1, seconds=0.25)
    assert stamp == {
        p: p.stat().st_mtime_ns for p in splits.train.rglob("*.wav")
    }  # not regenerated
    (splits.train / "speech" / "speech_001.wav").unlink()
    ensure_toy_corpus(tmp_path / "toy", n_per_domain=1, n_valid_per_domain=1, seconds=0.25)
    assert sorted(p.name for p in splits.train.rglob("*.wav")) == [
        "general_000.wav",
        "music_000.wav",
        "speech_000.wav",
    ]
    assert json.loads((splits.train / data.MANIFEST_NAME).read_text())["n_per_domain"] == 1


def test_the_toy_corpus_lives_in_the_data_folder_not_the_repository(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.toy_root() == tmp_path / "home" / ".cache" / "dac_minimal" / "data" / "toy"
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "d"))
    assert data.toy_root() == tmp_path / "d" / "toy"
    splits = ensure_toy_corpus(n_per_domain=1, n_valid_per_domain=1, seconds=0.1)
    assert splits.train == tmp_path / "d" / "toy" / "train"
    assert (splits.valid / "speech" / "speech_000.wav").is_file()
    data.main(["--n-per-domain", "1", "--n-valid-per-domain", "1", "--seconds", "0.1"])
    assert (tmp_path / "d" / "toy" / "train" / data.MANIFEST_NAME).is_file()


def test_cli_writes_train_and_valid(tmp_path, capsys):
    data.main(
        [
            "--out",
            str(tmp_path / "t"),
            "--n-per-domain",
            "1",
            "--n-valid-per-domain",
            "1",
            "--seconds",
            "0.2",
        ]
    )
    assert "6 files" in capsys.readouterr().out
    assert (tmp_path / "t" / "valid" / "general" / "general_000.wav").is_file()


def test_draws_are_shaped_and_reproducible(toy):
    folder = AudioFolder(toy.train)
    assert folder.domains == ["general", "music", "speech"]
    x, _ = batch(folder, 6, seed=1)
    assert x.shape == (6, 1, round(0.38 * SR)) and x.dtype == torch.float32
    assert torch.isfinite(x).all()
    assert torch.equal(x, batch(folder, 6, seed=1)[0])
    assert not torch.allclose(x, batch(folder, 6, seed=2)[0])
    assert AudioFolder(toy.train, domains=["speech", "music"]).domains == ["speech", "music"]


def test_each_item_comes_from_its_domain(toy):
    folder = AudioFolder(toy.train, no_aug(loudness_db=None))
    rng = np.random.default_rng(0)
    for domain in folder.domains:
        for _ in range(5):
            assert folder.choose(domain, rng).path.parent.name == domain


def test_toy_band_limited_clips_are_detected_and_full_band_preferred(toy):
    folder = AudioFolder(toy.train, DataConfig(fullband_prob=1.0))
    for domain, items in folder.items.items():
        flags = {it.path.name: it.fullband for it in items}
        assert flags == {f"{domain}_{i:03d}.wav": i != 3 for i in range(4)}
    rng = np.random.default_rng(0)
    assert all(folder.choose("music", rng).fullband for _ in range(50))
    folder.config = DataConfig(fullband_prob=0.0)
    assert not all(folder.choose("music", rng).fullband for _ in range(50))


def test_a_folder_is_analysed_once_until_a_file_changes(tmp_path, monkeypatch):
    """A second loader on the same folder reads no file again; a rewritten file is read anew."""
    corpus = ensure_toy_corpus(tmp_path, n_per_domain=2, n_valid_per_domain=1, seconds=1.0)
    reads = []
    analyse = data._analyse_uncached
    monkeypatch.setattr(
        data, "_analyse_uncached", lambda path, *a: reads.append(path) or analyse(path, *a)
    )
    first = AudioFolder(corpus.train)
    n_files = len(reads)
    second = AudioFolder(corpus.train)
    assert n_files == 6 and len(reads) == n_files
    assert [it.highband_db for it in second.items["music"]] == [
        it.highband_db for it in first.items["music"]
    ]
    changed = second.items["music"][0].path
    sf.write(changed, np.zeros(44_100, dtype=np.float32), 44_100)  # now silent
    with pytest.warns(data.AudioDataWarning, match="silent"):
        third = AudioFolder(corpus.train)
    assert reads[n_files:] == [changed] and len(third.items["music"]) == 1


def test_loudness_is_normalised_to_the_target(tmp_path):
    write(tmp_path / "a" / "quiet.wav", noise(3.0, level=0.003, seed=1))
    t = np.arange(3 * SR) / SR
    write(
        tmp_path / "a" / "loud.wav",
        0.5 * np.sin(2 * np.pi * 300 * t) + noise(3.0, level=0.05, seed=2),
    )
    meter = pyloudnorm.Meter(SR)  # the standard 400 ms blocks: excerpts of 1 s are measured as is
    for target in (-24.0, -18.0):
        x, _ = batch(tmp_path / "a", 4, no_aug(duration=1.0, loudness_db=target))
        for clip in x[:, 0].double().numpy():
            assert meter.integrated_loudness(clip) == pytest.approx(target, abs=0.5)
    # The official 0.38 s excerpts are shorter than one BS.1770 block: measured with a 0.375 s
    # block.
    x, _ = batch(tmp_path / "a", 4, DataConfig())
    short_meter = pyloudnorm.Meter(SR, block_size=0.375)
    for clip in x[:, 0].double().numpy():
        assert short_meter.integrated_loudness(clip) == pytest.approx(-24.0, abs=0.5)


def test_loudness_handles_silence_and_short_audio_without_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert loudness(np.zeros(SR), SR) == -math.inf
        np.testing.assert_array_equal(normalize_loudness(np.zeros(100), SR, -24.0), np.zeros(100))
        assert math.isfinite(loudness(noise(0.05), SR))
    clicks = np.zeros(SR)
    clicks[::4410] = 0.5  # a huge crest factor: the target would clip, so the peak limit wins
    assert np.abs(normalize_loudness(clicks, SR, -6.0, max_peak=0.9)).max() == pytest.approx(0.9)


def test_silent_excerpts_stay_finite(tmp_path):
    burst = np.concatenate([noise(1.5), np.zeros(2 * SR)])
    write(tmp_path / "s" / "mostly_silence.wav", burst)
    folder = AudioFolder(tmp_path / "s", DataConfig(salient_tries=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        x, _ = batch(folder, 8)
    assert torch.isfinite(x).all()
    assert (x.abs().amax(dim=-1) == 0).any()  # some excerpts were silent and left silent
    x, _ = batch(tmp_path / "s", 8, DataConfig(salient_tries=20))
    assert (x.abs().amax(dim=-1) > 0).all()  # redrawing finds the burst


def test_bad_files_are_skipped_with_one_warning_for_the_folder(tmp_path):
    root = tmp_path / "d"
    write(root / "speech" / "good.wav", noise(1.0))
    write(root / "music" / "good.flac", noise(1.0, seed=1))
    (root / "speech" / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage" * 4)
    (root / "speech" / "empty.wav").write_bytes(b"")
    write(root / "music" / "silent.wav", np.zeros(SR))
    write(root / "music" / "short.wav", noise(0.1))
    (root / "music" / "notes.txt").write_text("not audio, not counted")
    with pytest.warns(AudioDataWarning) as record:
        folder = AudioFolder(root)
    assert len(record) == 1
    message = str(record[0].message)
    assert f"skipping 4 of 6 files in {root}: 2 cannot be read (e.g. corrupt.wav, empty.wav)" in (
        message
    )
    assert "1 too short (< 0.38 s, e.g. short.wav)" in message and "silent.wav" in message
    assert folder.n_skipped == 4
    assert {p.name for p in folder.skipped} == {
        "corrupt.wav",
        "empty.wav",
        "silent.wav",
        "short.wav",
    }
    assert "silent" in folder.skipped[root / "music" / "silent.wav"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning for the same files, however many batches
        for seed in range(3):
            assert torch.isfinite(batch(folder, 4, seed=seed)[0]).all()


def test_a_folder_of_short_clips_warns_once_with_counts_and_examples(tmp_path):
    root = tmp_path / "voices"
    for i in range(40):
        write(root / f"clip_{i:02d}.wav", noise(0.1 if i < 30 else 0.5, seed=i))
    (root / "bad.wav").write_bytes(b"nonsense")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        folder = AudioFolder(root)
    lines = [str(w.message) for w in record if issubclass(w.category, AudioDataWarning)]
    assert lines == [
        f"skipping 31 of 41 files in {root}: 30 too short (< 0.38 s, e.g. clip_00.wav, "
        "clip_01.wav, clip_02.wav, ...), 1 cannot be read (e.g. bad.wav)"
    ]
    assert len(folder) == 10


def test_ffmpeg_only_formats_are_reported_not_read(tmp_path):
    write(tmp_path / "a" / "x.wav", noise(1.0))
    (tmp_path / "a" / "y.m4a").write_bytes(b"not decoded by the trainer")
    with pytest.warns(AudioDataWarning, match=r"1 needs conversion \(e.g. y.m4a\)"):
        folder = AudioFolder(tmp_path / "a")
    assert len(folder) == 1


def test_oga_files_are_read(tmp_path):
    sf.write(tmp_path / "bell.oga", noise(1.0), SR, format="OGG", subtype="VORBIS")
    folder = AudioFolder(tmp_path)
    assert [it.path.name for it in folder.items[tmp_path.name]] == ["bell.oga"]


def test_a_file_that_breaks_during_training_is_skipped_once(tmp_path):
    root = tmp_path / "d"
    write(root / "a.wav", noise(1.0))
    write(root / "b.wav", noise(1.0, seed=1))
    folder = AudioFolder(root, DataConfig())
    (root / "b.wav").write_bytes(b"broken")  # e.g. a network drive going away
    with pytest.warns(AudioDataWarning, match="b.wav") as record:
        for seed in range(3):
            x, _ = batch(folder, 8, seed=seed)
    assert len(record) == 1 and folder.n_skipped == 1 and torch.isfinite(x).all()
    (root / "a.wav").write_bytes(b"broken too")
    with pytest.warns(AudioDataWarning), pytest.raises(RuntimeError, match="every file of domain"):
        batch(folder, 8)


def test_data_problems_raise_before_the_first_batch(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        AudioFolder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no audio files"):
        AudioFolder(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.wav").write_bytes(b"nonsense")
    (tmp_path / "bad" / "y.flac").write_bytes(b"")
    with (
        pytest.warns(AudioDataWarning),
        pytest.raises(ValueError, match="no usable audio file.*2 cannot be read"),
    ):
        AudioFolder(tmp_path / "bad")
    write(tmp_path / "short" / "x.wav", noise(0.2))
    write(tmp_path / "short" / "y.wav", noise(0.3))
    with (
        pytest.warns(AudioDataWarning),
        pytest.raises(ValueError, match="shorter than the excerpt"),
    ):
        AudioFolder(tmp_path / "short")
    write(tmp_path / "dom" / "speech" / "ok.wav", noise(1.0))
    write(tmp_path / "dom" / "music" / "quiet.wav", np.zeros(SR))
    with (
        pytest.warns(AudioDataWarning),
        pytest.raises(ValueError, match=r"\['music'\].*no usable file"),
    ):
        AudioFolder(tmp_path / "dom")
    with pytest.raises(ValueError, match="hold no audio"):
        AudioFolder(tmp_path / "dom", domains=["speech", "general"])
    write(tmp_path / "splits" / "train" / "speech" / "a.wav", noise(1.0))
    with pytest.raises(ValueError, match="split folders.*train"):
        AudioFolder(tmp_path / "splits")
    with pytest.raises(ValueError, match="duration"):
        DataConfig(duration=0)
    with pytest.raises(ValueError, match="probability"):
        DataConfig(fullband_prob=1.5)


def test_48khz_files_are_resampled(tmp_path):
    t = np.arange(2 * 48000) / 48000
    write(tmp_path / "r" / "sine48k.wav", 0.5 * np.sin(2 * np.pi * 1000 * t), sr=48000)
    folder = AudioFolder(tmp_path / "r", no_aug(loudness_db=None))
    (item,) = folder.items["r"]
    assert item.sample_rate == 48000 and item.num_samples == 2 * SR
    x, _ = folder.fixed_clips(n_per_domain=1, duration=0.5, candidates=1)  # the window at 0 s
    expected = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(round(0.5 * SR)) / SR)
    assert x.shape == (1, 1, round(0.5 * SR))
    np.testing.assert_allclose(x[0, 0, 200:-200].numpy(), expected[200:-200], atol=2e-3)


def test_stereo_is_mixed_to_mono(tmp_path):
    t = np.arange(SR) / SR
    left, right = 0.6 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 660 * t)
    write(tmp_path / "st" / "stereo.wav", np.stack([left, right]))
    x, _ = AudioFolder(tmp_path / "st", no_aug(loudness_db=None)).fixed_clips(
        1, duration=0.5, candidates=1
    )
    np.testing.assert_allclose(x[0, 0].numpy(), ((left + right) / 2)[: round(0.5 * SR)], atol=1e-4)


def test_augmentation_changes_the_waveform_not_the_spectrum(tmp_path):
    t = np.arange(4096) / SR
    x = np.cos(2 * np.pi * 43 * SR / 4096 * t)  # whole number of periods: the FFT sees no edges
    np.testing.assert_allclose(
        rotate_phase(x, np.pi / 2), np.sin(2 * np.pi * 43 * SR / 4096 * t), atol=1e-9
    )
    np.testing.assert_allclose(rotate_phase(x, np.pi), -x, atol=1e-9)
    write(tmp_path / "g" / "n.wav", noise(2.0))
    plain = AudioFolder(tmp_path / "g", no_aug(loudness_db=None))
    aug = AudioFolder(
        tmp_path / "g", DataConfig(loudness_db=None, phase_prob=1.0, polarity_prob=0.0)
    )
    item = plain.items["g"][0]
    a = plain.excerpt(item, 1000, np.random.default_rng(0))
    b = aug.excerpt(item, 1000, np.random.default_rng(0))
    assert np.abs(np.corrcoef(a, b)[0, 1]) < 0.99  # a different waveform ...
    spec_a, spec_b = (np.abs(np.fft.rfft(v * np.hanning(len(v)))) for v in (a, b))
    assert np.sum((spec_a - spec_b) ** 2) / np.sum(spec_a**2) < 0.05  # ... with the same spectrum


def test_validation_clips_are_fixed(toy):
    x, d = validation_clips(toy.valid, n_per_domain=2, duration=0.5)
    assert x.shape == (6, 1, round(0.5 * SR)) and d.tolist() == [0, 0, 1, 1, 2, 2]
    y, _ = validation_clips(toy.valid, n_per_domain=2, duration=0.5)
    assert torch.equal(x, y)
    meter = pyloudnorm.Meter(SR)
    assert meter.integrated_loudness(x[0, 0].double().numpy()) == pytest.approx(-24, abs=0.5)
    with pytest.raises(ValueError, match="long enough"):
        validation_clips(toy.valid, duration=5.0)


def test_daps_and_vctk_layouts(tmp_path):
    src = tmp_path / "extracted"
    for name in (
        "f1_script1_clean.wav",
        "f10_script2_clean.wav",
        "m10_script1_clean.wav",
        "m3_script5_clean.wav",
    ):
        write(src / "daps" / "clean" / name, noise(0.5))
    write(src / "daps" / "produced" / "f1_script1_produced.wav", noise(0.5))
    (src / "daps" / "clean" / "._f1_script1_clean.wav").write_bytes(b"macOS junk")
    assert datasets.layout_daps(src, tmp_path / "out") == 4
    train = sorted(p.name for p in (tmp_path / "out" / "train" / "speech" / "daps").iterdir())
    valid = sorted(p.name for p in (tmp_path / "out" / "valid" / "speech" / "daps").iterdir())
    assert train == ["f1_script1_clean.wav", "m3_script5_clean.wav"]
    assert valid == ["f10_script2_clean.wav", "m10_script1_clean.wav"]

    for spk in ("p225", "p226"):
        for mic in ("mic1", "mic2"):
            write(
                src / "vctk" / "wav48_silence_trimmed" / spk / f"{spk}_001_{mic}.flac",
                noise(0.5),
                sr=48000,
            )
    assert datasets.layout_vctk(src / "vctk", tmp_path / "out") == 2
    assert (
        tmp_path / "out" / "train" / "speech" / "vctk" / "p226" / "p226_001_mic1.flac"
    ).is_file()
    folder = AudioFolder(tmp_path / "out" / "train", DataConfig())
    assert folder.domains == ["speech"] and len(folder) == 4
    with pytest.raises(ValueError, match="no MUSDB18 files"):
        datasets.layout_musdb(src, tmp_path / "out")


def test_musdb_conversion_explains_a_missing_ffmpeg(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.shutil, "which", lambda name: None)
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "Song.stem.mp4").write_bytes(b"")
    with pytest.raises(RuntimeError, match="ffmpeg.*musdb"):
        datasets.layout_musdb(tmp_path, tmp_path / "out")


class FakeResponse(io.BytesIO):
    def __init__(self, body, status=200, content_type="application/octet-stream"):
        super().__init__(body)
        self.status = status
        self.headers = {"Content-Type": content_type, "Content-Length": str(len(body))}


def fake_source(body):
    return datasets.Source(
        name="Fake",
        url="https://example.invalid/fake.zip",
        filename="fake.zip",
        homepage="https://example.invalid",
        license="none",
        size="11 B",
        md5=hashlib.md5(body).hexdigest(),
    )


def test_download_failure_says_what_to_fetch_and_where(tmp_path, monkeypatch):
    def offline(request, timeout=None):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", offline)
    source = datasets.SOURCES["daps"]
    with pytest.raises(datasets.DownloadError) as err:
        datasets.download(source, tmp_path)
    message = str(err.value)
    assert (
        "daps.tar.gz" in message
        and str(tmp_path / "daps.tar.gz") in message
        and source.homepage in message
    )
    with pytest.raises(datasets.DownloadError, match="musdb18.zip"):
        datasets.prepare(tmp_path / "out", ["musdb18"], cache_dir=tmp_path)

    monkeypatch.setattr(
        datasets.urllib.request,
        "urlopen",
        lambda request, timeout=None: FakeResponse(
            b"<html>log in</html>", content_type="text/html"
        ),
    )
    with pytest.raises(datasets.DownloadError, match="web page instead of the file"):
        datasets.download(source, tmp_path)


def test_download_resumes_and_verifies(tmp_path, monkeypatch):
    body = b"hello world"
    source = fake_source(body)
    (tmp_path / "fake.zip.part").write_bytes(body[:6])
    seen = {}

    def server(request, timeout=None):
        seen["range"] = request.get_header("Range")
        start = int(seen["range"].split("=")[1].rstrip("-"))
        return FakeResponse(body[start:], status=206)

    monkeypatch.setattr(datasets.urllib.request, "urlopen", server)
    path = datasets.download(source, tmp_path)
    assert seen["range"] == "bytes=6-" and path.read_bytes() == body
    assert not (tmp_path / "fake.zip.part").exists()
    assert datasets.download(source, tmp_path) == path  # cached: no second request needed

    monkeypatch.setattr(
        datasets.urllib.request,
        "urlopen",
        lambda request, timeout=None: FakeResponse(b"garbage!!!!"),
    )
    with pytest.raises(datasets.DownloadError, match="failed its check"):
        datasets.download(fake_source(b"something else"), tmp_path / "other")
    assert not (tmp_path / "other" / "fake.zip.part").exists()


def test_extract_unpacks_once_and_refuses_escaping_members(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("top/clean/x.txt", "x")
    out = datasets.extract(archive, tmp_path / "ex")
    assert (out / "top" / "clean" / "x.txt").read_text() == "x"
    (out / "top" / "clean" / "x.txt").unlink()
    datasets.extract(archive, tmp_path / "ex")  # the marker says it is done
    assert not (out / "top" / "clean" / "x.txt").exists()

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tf:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"!"))
    with pytest.raises(ValueError, match="evil.tar.gz"):
        datasets.extract(evil, tmp_path / "ex2")
    assert not (tmp_path / "escaped.txt").exists()


def test_ensure_toy_split_generates_one_folder_once(tmp_path):
    folder = data.ensure_toy_split(tmp_path / "test", 2, seconds=0.3, seed=5)
    files = sorted(folder.rglob("*.wav"))
    assert len(files) == 6 and {f.parent.name for f in files} == {"speech", "music", "general"}
    audio, sr = sf.read(folder / "speech" / "speech_001.wav", dtype="float32")
    np.testing.assert_allclose(audio, toy_clip("speech", 0.3, seed=5, index=1), atol=1 / 32768)
    stamps = [f.stat().st_mtime_ns for f in files]
    assert data.ensure_toy_split(tmp_path / "test", 2, seconds=0.3, seed=5) == folder
    assert [f.stat().st_mtime_ns for f in files] == stamps  # complete and current: not rewritten
