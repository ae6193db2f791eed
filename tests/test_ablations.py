"""Chapter 11's ablations: the trainer hook they need, the quantizer variants, and the experiment
machinery."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dac_minimal.evaluate.ablations as A
import dac_minimal.train as T
from dac_minimal import DAC, Discriminator
from dac_minimal.data import ensure_toy_corpus
from dac_minimal.loss import MultiScaleMelLoss


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return ensure_toy_corpus(
        tmp_path_factory.mktemp("toy"), n_per_domain=1, n_valid_per_domain=1, seconds=0.5
    )


def test_trainer_trains_the_model_discriminator_and_mel_loss_it_is_given(corpus, tmp_path):
    cfg = T.TrainConfig(
        preset="tiny",
        data=str(corpus.train),
        out=str(tmp_path),
        steps=1,
        batch_size=3,
        duration=0.05,
        val_duration=0.05,
        val_clips_per_domain=1,
        progress=False,
        tensorboard=False,
        device="cpu",
        gan_start=0,
    )
    model = DAC.from_preset("tiny", activation="leaky_relu")
    disc = Discriminator.from_preset("tiny", bands=((0.0, 1.0),))
    mel = MultiScaleMelLoss(n_mels=(64,) * 7)
    trainer = T.Trainer(cfg, model=model, discriminator=disc, mel_loss=mel)
    assert trainer.generator is model and trainer.discriminator is disc and trainer.mel is mel
    before_g = [p.detach().clone() for p in model.parameters()]
    before_d = [p.detach().clone() for p in disc.parameters()]
    step, batch = next(trainer.batches())
    trainer.train_step(step, batch)
    assert any(not torch.equal(a, b) for a, b in zip(before_g, model.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_d, disc.parameters()))
    # Without replacements the trainer still builds what the config describes.
    default = T.Trainer(T.TrainConfig(**{**cfg.__dict__, "out": str(tmp_path / "b")}))
    assert (
        default.generator.config.activation == "snake"
        and default.discriminator.config.bands != ((0.0, 1.0),)
    )
    assert default.mel.n_mels == (5, 10, 20, 40, 80, 160, 320)


# ---------------------------------------------------------------------------------------------
# Quantizer variants
# ---------------------------------------------------------------------------------------------


def test_plain_vq_picks_the_euclidean_nearest_entry_and_passes_gradients_straight_through():
    torch.manual_seed(0)
    vq = A.PlainVectorQuantize(input_dim=6, codebook_size=32)
    z = torch.randn(2, 6, 11, requires_grad=True)
    out = vq(z)
    # Independent computation: pairwise Euclidean distances by cdist.
    expected = torch.cdist(
        z.detach().transpose(1, 2), vq.codebook.weight.detach()[None].expand(2, -1, -1)
    ).argmin(-1)
    torch.testing.assert_close(out.codes[:, 0], expected, rtol=0, atol=0)
    torch.testing.assert_close(out.z_q, vq.codebook.weight[expected].transpose(1, 2))
    sq = (z - out.z_q).detach().pow(2).mean(dim=(1, 2))
    torch.testing.assert_close(out.commitment_loss, sq)
    torch.testing.assert_close(out.codebook_loss, sq)
    out.z_q.sum().backward()
    torch.testing.assert_close(z.grad, torch.ones_like(z))  # straight-through: identity gradient


def test_dead_code_reset_moves_exactly_the_unused_entries_onto_encoder_outputs():
    torch.manual_seed(0)
    vq = A.PlainVectorQuantize(input_dim=4, codebook_size=8, reset_every=2)
    with torch.no_grad():
        vq.codebook.weight.copy_(torch.arange(8.0)[:, None].expand(8, 4) * 10)  # entries far apart
    z = (
        torch.randn(1, 4, 5) * 0.1 + 10.0 * (torch.arange(5) % 2)[None, None]
    )  # near entries 0 and 1 only
    before = vq.codebook.weight.detach().clone()
    vq.train()
    vq(z)
    torch.testing.assert_close(vq.codebook.weight, before)  # first call: only counted
    vq(z)
    after = vq.codebook.weight.detach()
    torch.testing.assert_close(after[:2], before[:2])  # used entries untouched
    pool = z[0].t()  # (S, D): every reset entry must be one of these vectors
    for row in after[2:]:
        assert torch.isclose(pool, row).all(dim=1).any()
    assert vq.n_reset == 6
    vq.eval()  # no resets outside training
    vq(z * 0 + 100.0)
    torch.testing.assert_close(vq.codebook.weight, after)


def test_plain_residual_quantizer_is_a_drop_in_replacement_in_the_codec():
    torch.manual_seed(0)
    model = A.with_quantizer(DAC.from_preset("tiny"), "plain_reset").eval()
    assert isinstance(model.quantizer, A.PlainResidualVectorQuantize)
    assert model.quantizer.codebook_dim == model.config.latent_dim == 64
    x = torch.randn(2, 1, 2048) * 0.1
    enc = model.encode(x)
    assert enc.codes.shape == (2, 9, 4) and enc.latents.shape == (2, 9 * 64, 4)
    # Residual sum, as in ResidualVectorQuantize: the codes alone rebuild z_q ...
    torch.testing.assert_close(model.quantizer.from_codes(enc.codes), enc.z)
    # ... and so do the latents by nearest-neighbour lookup.
    z_q, codes = model.quantizer.from_latents(enc.latents)
    torch.testing.assert_close(codes, enc.codes)
    # (z + (e - z) and e differ in the last float bits; the decoder amplifies that a little)
    torch.testing.assert_close(
        model.decode_codes(enc.codes, length=2048), model(x).audio, rtol=0, atol=1e-4
    )
    assert model.encode(x, n_quantizers=3).codes.shape == (2, 3, 4)
    with pytest.raises(ValueError, match="quantizer kind"):
        A.with_quantizer(DAC.from_preset("tiny"), "lfq")


# ---------------------------------------------------------------------------------------------
# Measurements and machinery
# ---------------------------------------------------------------------------------------------


def test_band_log_spectral_distance_matches_librosa_and_is_zero_for_identical_signals():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((2, 1, 6000)).astype(np.float32)) * 0.1
    y = x + 0.05 * torch.from_numpy(rng.standard_normal((2, 1, 6000)).astype(np.float32))
    np.testing.assert_array_equal(A.band_log_spectral_distance(x, x), np.zeros(5))
    got = A.band_log_spectral_distance(y, x, bands=((0.0, 0.5), (0.5, 1.0)))

    def logmag(a):
        s = np.abs(
            librosa.stft(
                a[:, 0].numpy().astype(np.float64),
                n_fft=2048,
                hop_length=512,
                center=True,
                pad_mode="reflect",
            )
        )
        return np.log10(np.maximum(s, 1e-5))  # (N, 1025, frames)

    d = np.abs(logmag(y) - logmag(x))
    expected = [d[:, :512].mean(), d[:, 512:].mean()]
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    with pytest.raises(ValueError, match="shapes differ"):
        A.band_log_spectral_distance(x, x[..., :100])


def small(corpus, **kw) -> A.AblationConfig:
    base = dict(
        minutes=5.0,
        steps=1,
        batch_size=3,
        duration=0.05,
        eval_clips_per_domain=1,
        eval_seconds=0.1,
        data=str(corpus.train),
        valid_data=str(corpus.valid),
        threads=1,
    )
    return A.AblationConfig(**{**base, **kw})


def test_dropout_experiment_rows_are_well_formed_and_survive_the_csv(corpus, tmp_path):
    rows = A.run_experiment("dropout", small(corpus))
    assert [r["variant"] for r in rows] == [
        v for v in ("p=0.5", "p=0.0", "p=1.0") for _ in range(9)
    ]
    assert [r["n_q"] for r in rows] == list(range(1, 10)) * 3
    assert all(r["experiment"] == "dropout" and r["step"] == 1 and r["final"] == 1 for r in rows)
    for r in rows:
        assert (
            np.isfinite(r["mel_distance"])
            and r["mel_distance"] > 0
            and np.isfinite(r["stft_distance"])
        )
    full = [r for r in rows if r["n_q"] == 9]
    assert all(0 < r["utilization"] <= 1 and 1 <= r["perplexity"] <= 1024 for r in full)
    path = A.write_results(
        tmp_path / "dropout.csv", rows, "python -m dac_minimal.evaluate.ablations dropout"
    )
    back, command = A.read_results(path)
    assert command == "python -m dac_minimal.evaluate.ablations dropout"
    assert len(back) == len(rows)
    for a, b in zip(rows, back):
        for k, v in a.items():
            assert b[k] == pytest.approx(v) if not isinstance(v, str) else b[k] == v
        assert math.isnan(b["utilization"]) == ("utilization" not in a)


def test_the_gan_experiment_trains_both_discriminators_and_reports_band_errors(corpus):
    rows = A.run_experiment("mrd_bands", small(corpus))
    assert [r["variant"] for r in rows] == ["multiband", "single_band"]
    for r in rows:
        assert all(np.isfinite(r[f"band_{i}"]) and r[f"band_{i}"] > 0 for i in range(5))
    variants = {v.name: v for v in A.experiment_variants("mrd_bands")}
    assert variants["single_band"].discriminator().config.bands == ((0.0, 1.0),)
    assert all(v.gan for v in variants.values())


def test_cli_writes_the_command_and_rejects_bad_input(corpus, tmp_path):
    out = tmp_path / "mel.csv"
    args = [
        "mel_bins",
        "--minutes",
        "1",
        "--steps",
        "1",
        "--batch-size",
        "3",
        "--duration",
        "0.05",
        "--eval-clips-per-domain",
        "1",
        "--eval-seconds",
        "0.1",
        "--data",
        str(corpus.train),
        "--valid-data",
        str(corpus.valid),
        "--out",
        str(out),
    ]
    assert A.main(args) == 0
    rows, command = A.read_results(out)
    assert command == "python -m dac_minimal.evaluate.ablations " + " ".join(args)
    assert [r["variant"] for r in rows] == ["scaled", "fixed64"]
    assert all(np.isfinite(r["stft_hires"]) for r in rows)
    assert A.main(["mel_bins", "--minutes", "-1", "--out", str(out)]) == 1
    with pytest.raises(ValueError, match="unknown experiment"):
        A.experiment_variants("snake_oil")
    with pytest.raises(ValueError, match="not found"):
        A.read_results(tmp_path / "missing.csv")


def test_quantizers_alone_on_log_mel_frames_give_well_formed_statistics(corpus):
    rows = A.run_experiment("vq_features", small(corpus, steps=6))
    assert [(r["variant"], r["step"]) for r in rows] == [
        (k, s) for k in ("factorized", "plain", "plain_reset") for s in (5, 6)
    ]
    for r in rows:
        assert (
            0 < r["utilization"] <= 1 and 1 <= r["perplexity"] <= 1024 and r["relative_error"] > 0
        )
        assert r["perplexity"] >= 2 ** r["entropy_bits"] * (
            1 - 1e-9
        )  # Jensen: mean of 2^H >= 2^(mean H)
    assert [r.get("final") for r in rows] == [None, 1] * 3
    clips = torch.randn(2, 1, 4096) * 0.1
    frames = A.log_mel_frames(clips)
    assert frames.shape == (2, 64, 9) and bool(frames.ge(-5).all())
    with pytest.raises(ValueError, match="quantizer kind"):
        A.make_quantizer("lfq")


def test_only_the_revival_arm_of_the_quantizer_experiment_revives_codes(corpus, monkeypatch):
    variants = {v.name: v for v in A.experiment_variants("quantizer")}
    assert list(variants) == ["factorized", "plain", "plain_reset", "factorized_revive"]
    assert [v.revive for v in variants.values()] == [False, False, False, True]
    trainers = []
    original = A.Trainer.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        trainers.append(self)

    monkeypatch.setattr(A.Trainer, "__init__", spy)
    clips = A.heldout_clips(corpus.valid, 1, 0.1)
    for name in ("factorized", "factorized_revive"):
        A.train_variant(variants[name], small(corpus, steps=20), 60.0, clips)
    assert trainers[0].reviver is None  # the paper's quantizer, trained as the paper trains it
    assert trainers[1].reviver.n_revived > 0  # revival at step 20 moved the unused entries
