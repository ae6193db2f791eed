"""The evaluation command on a tiny model and a few generated clips.

Every number is recomputed independently.
"""

import math

import numpy as np
import pytest
import torch

from dac_minimal import DAC
from dac_minimal.data import generate_toy_corpus, toy_clip
from dac_minimal.evaluate import evaluation as E
from dac_minimal.evaluate import metrics as M
from dac_minimal.evaluate.baselines import ffmpeg_available

SECONDS = 0.3


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    generate_toy_corpus(root / "data", n_per_domain=2, seconds=SECONDS)
    torch.manual_seed(0)
    model = DAC.from_preset("tiny").eval()
    model.save(root / "tiny.pt")
    return root, model


@pytest.fixture(scope="module")
def result(setup):
    root, model = setup
    return E.evaluate(model, root / "data", n_quantizers=[1, 3, 9])


def test_rows_cover_every_domain_and_bitrate(result, setup):
    _, model = setup
    keys = [(r["domain"], r["system"], r["n_q"]) for r in result.rows]
    assert keys == [(d, "dac", k) for d in ("general", "music", "speech", "all") for k in (1, 3, 9)]
    for r in result.rows:
        assert r["kbps"] == pytest.approx(r["n_q"] * 44100 / 512 * 10 / 1000, rel=1e-9)
        assert r["clips"] == (6 if r["domain"] == "all" else 2)
        assert set(E.COLUMNS) <= set(r)
    assert len(result.per_clip) == 6 * 3


def test_per_clip_numbers_match_a_direct_computation(result, setup):
    """Encoding with n_quantizers=k directly (not one encode sliced) gives the same metrics."""
    root, model = setup
    clips = E.load_clips(root / "data", model.sample_rate)
    clip = next(c for c in clips if c.domain == "music" and c.name == "music_001")
    x = torch.from_numpy(clip.audio)[None, None]
    for k in (1, 3, 9):
        with torch.no_grad():
            y = model.decode(model.encode(x, n_quantizers=k).z, length=x.shape[-1])[0, 0].numpy()
        row = next(r for r in result.per_clip if r["clip"] == "music_001" and r["n_q"] == k)
        for name, f in (
            ("snr_db", M.snr_db),
            ("mse", M.mse),
            ("si_sdr_db", M.si_sdr_db),
            ("stft_distance", M.stft_distance),
            ("mfcc_distance", M.mfcc_distance),
        ):
            assert row[name] == pytest.approx(f(y, clip.audio), rel=1e-5, abs=1e-9), name
        assert row["mel_distance"] == pytest.approx(M.mel_distance(y, clip.audio), rel=1e-5)


def test_domain_rows_are_means_and_codebook_stats_cover_the_set(result, setup):
    root, model = setup
    clips = E.load_clips(root / "data", model.sample_rate)
    codes = {}
    with torch.no_grad():
        for c in clips:
            codes.setdefault(c.domain, []).append(
                model.encode(torch.from_numpy(c.audio)[None, None]).codes[0]
            )
    for r in result.rows:
        items = [
            p
            for p in result.per_clip
            if r["domain"] in (p["domain"], "all") and p["n_q"] == r["n_q"]
        ]
        for name in E.CLIP_METRICS:
            assert r[name] == pytest.approx(np.mean([p[name] for p in items]), rel=1e-9)
        pool = [c[: r["n_q"]] for d, cs in codes.items() if r["domain"] in (d, "all") for c in cs]
        assert r["codebook_utilization"] == pytest.approx(
            M.codebook_utilization(pool, 1024).mean, rel=1e-9
        )
        assert r["codebook_perplexity"] == pytest.approx(
            M.codebook_perplexity(pool, 1024).mean(), rel=1e-9
        )
    # the pooled set uses at least as many entries as any one domain
    by = {(r["domain"], r["n_q"]): r["codebook_utilization"] for r in result.rows}
    assert by[("all", 9)] >= max(by[(d, 9)] for d in ("general", "music", "speech"))


def test_in_memory_clips_and_mode_restored(setup):
    _, model = setup
    rng = np.random.default_rng(0)
    clips = {"noise": [(0.1 * rng.standard_normal(4096)).astype(np.float32)]}
    model.train()
    try:
        rows = E.evaluate_model(model, clips, [2])
        assert model.training  # put back as it was
    finally:
        model.eval()
    assert [(r["domain"], r["n_q"]) for r in rows] == [("noise", 2)]
    assert 0 < rows[0]["codebook_utilization"] <= 8 / 1024  # 8 frames can use at most 8 entries


def test_tables_round_trip_and_markdown(result, tmp_path):
    path = E.write_csv(tmp_path / "m.csv", result.rows)
    back = E.read_table(path)
    assert len(back) == len(result.rows)
    for a, b in zip(back, result.rows):
        for k, v in b.items():
            if isinstance(v, float) and math.isnan(v):
                assert math.isnan(a[k])
            else:
                assert a[k] == v
    md = E.markdown_table(result.rows).splitlines()
    assert md[0].startswith("| domain | system | n_q | kbps")
    assert len(md) == 2 + len(result.rows)
    assert "%" in md[2]  # utilization shown in percent


def test_bad_arguments(setup, tmp_path):
    root, model = setup
    with pytest.raises(ValueError, match="1..9"):
        E.evaluate(model, root / "data", n_quantizers=[0])
    with pytest.raises(ValueError, match="1..9"):
        E.evaluate(model, root / "data", n_quantizers=[10])
    with pytest.raises(ValueError, match="unknown baseline"):
        E.evaluate(model, root / "data", baselines=["aac"])
    with pytest.raises(ValueError, match="not found"):
        E.evaluate(model, tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no audio files"):
        E.evaluate(model, tmp_path / "empty")
    with pytest.raises(ValueError, match="too short"):
        E.evaluate(model, {"x": [np.zeros(100, np.float32)]})


def test_command_line_writes_tables_and_figures(setup, tmp_path, capsys):
    root, model = setup
    out = tmp_path / "out"
    # files directly in --data form one domain named after the folder
    code = E.main(
        [
            "--weights",
            str(root / "tiny.pt"),
            "--data",
            str(root / "data" / "music"),
            "--out",
            str(out),
            "--n-quantizers",
            "2",
            "--clips",
            "1",
            "--figures",
            "1",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    rows = E.read_table(out / "metrics.csv")
    assert [(r["domain"], r["system"], r["n_q"], r["clips"]) for r in rows] == [
        ("music", "dac", 2, 1)
    ]
    assert (out / "metrics.md").read_text().count("\n| ") == 1 + len(rows)
    assert [r["clip"] for r in E.read_table(out / "per_clip.csv")] == ["music_000"]
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == [f"music_000_nq2_{kind}.png" for kind in ("mfcc", "spectrogram", "waveform")]
    assert all((out / "figures" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert "| music | dac | 2 |" in capsys.readouterr().out
    assert (
        E.main(
            [
                "--weights",
                str(tmp_path / "nope.pt"),
                "--data",
                str(root / "data"),
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "checkpoint not found" in capsys.readouterr().err


@pytest.mark.skipif(
    not ffmpeg_available("opus") or not ffmpeg_available("mp3"), reason="needs ffmpeg"
)
def test_baseline_rows_at_matching_bitrate(setup):
    root, model = setup
    rows = E.evaluate_model(
        model, root / "data", [9], baselines=["opus", "mp3"], clips_per_domain=1
    )
    systems = [(r["domain"], r["system"]) for r in rows]
    assert systems == [
        (d, s) for d in ("general", "music", "speech", "all") for s in ("dac", "mp3", "opus")
    ]
    for r in rows:
        if r["system"] != "dac":
            # near the model's 7.75 kbps, measured from the packets (MP3's priming frames weigh
            # on a 0.3 s clip)
            assert 4 < r["kbps"] < 16
            assert math.isnan(r["codebook_utilization"])
            assert np.isfinite(r["snr_db"]) and r["mel_distance"] > 0


def test_visqol_column(setup, monkeypatch):
    """The plumbing only: a stand-in scorer fills the column.

    ``visqol_score`` itself is tested in test_metrics.
    """
    _, model = setup
    clip = {
        "music": [toy_clip("music", seconds=0.2, seed=1), toy_clip("music", seconds=0.2, seed=2)]
    }
    monkeypatch.setattr(M, "visqol_available", lambda: True)
    monkeypatch.setattr(M, "visqol_score", lambda est, ref, sr: float(np.abs(ref).max()))
    rows = E.evaluate_model(model, clip, [9], visqol=True)
    assert rows[0]["visqol"] == pytest.approx(
        np.mean([np.abs(c).max() for c in clip["music"]]), rel=1e-6
    )
    assert "visqol" in E.markdown_table(rows).splitlines()[0]
    monkeypatch.setattr(M, "visqol_available", lambda: False)
    with pytest.raises(ImportError, match="pip install visqol-python"):
        E.evaluate_model(model, clip, [9], visqol=True)


def test_find_audio_takes_domains_from_subfolders(tmp_path):
    from dac_minimal.utils.audio import save_audio

    for rel in ("speech/a.wav", "speech/deep/b.flac", ".cache/c.wav", "d.wav"):
        save_audio(tmp_path / rel, np.zeros(16, np.float32), 16000)
    (tmp_path / "speech" / "notes.txt").write_text("not audio")
    found = [(d, p.relative_to(tmp_path).as_posix()) for d, p in E.find_audio_files(tmp_path)]
    assert found == [
        (tmp_path.name, "d.wav"),
        ("speech", "speech/a.wav"),
        ("speech", "speech/deep/b.flac"),
    ]
