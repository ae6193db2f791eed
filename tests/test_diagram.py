import math
import re

import pytest

from dac_minimal import DACConfig
from dac_minimal.model import PRESETS
from dac_minimal.tools.diagram import draw_architecture, main


def _texts(fig) -> str:
    """Every string drawn on the figure (suptitle and axes texts), joined by newlines."""
    parts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        parts += [t.get_text() for t in ax.texts]
    return "\n".join(parts)


@pytest.mark.parametrize("preset", ["44khz", "tiny", "24khz"])
def test_figure_shows_the_strides_channels_and_rates_of_the_config(preset):
    cfg = PRESETS[preset]
    text = _texts(draw_architecture(cfg))
    # Channels and strides, recomputed here independently of the drawing code.
    enc_in = [cfg.encoder_dim * 2**i for i in range(len(cfg.encoder_rates) + 1)]
    for stride, c_in, c_out in zip(cfg.encoder_rates, enc_in[:-1], enc_in[1:]):
        assert re.search(rf"stride {stride}\n{c_in} → {c_out}\n", text), (stride, c_in, c_out)
    dec = [cfg.decoder_dim // 2**i for i in range(len(cfg.decoder_rates) + 1)]
    for stride, c_in, c_out in zip(cfg.decoder_rates, dec[:-1], dec[1:]):
        assert re.search(rf"stride {stride}\n{c_in} → {c_out}\n", text), (stride, c_in, c_out)
    assert f"1 → {cfg.encoder_dim}" in text and f"{dec[-1]} → 1" in text
    assert f"D = {cfg.latent_dim}" in text
    assert (
        f"= {cfg.n_codebooks}" in text
        and f"K = {cfg.codebook_size}" in text
        and f"d = {cfg.codebook_dim}" in text
    )
    hop = math.prod(cfg.encoder_rates)
    assert f"hop {hop} = " in text and f"T/{hop}" in text
    assert f"{cfg.sample_rate / hop:.2f} frames/s" in text
    kbps = cfg.sample_rate / hop * cfg.n_codebooks * math.log2(cfg.codebook_size) / 1000
    assert f"{kbps:.2f} kbps" in text


def test_default_is_the_official_model():
    text = _texts(draw_architecture())
    assert "2 × 4 × 8 × 8" in text and "7.75 kbps" in text and "86.13 frames/s" in text
    assert "512 → 1024" in text and "1536 → 768" in text and "192 → 96" in text


def test_a_different_config_changes_the_figure():
    text = _texts(
        draw_architecture(
            DACConfig(
                encoder_dim=16,
                encoder_rates=(4, 4),
                decoder_rates=(4, 4),
                decoder_dim=64,
                n_codebooks=3,
            )
        )
    )
    assert "hop 16 = 4 × 4" in text and "16 → 32" in text and "64 → 32" in text
    assert "512" not in text


def test_bad_config_is_a_value_error():
    with pytest.raises(ValueError, match="DACConfig"):
        draw_architecture("44khz")


def test_cli_writes_a_small_png(tmp_path):
    out = tmp_path / "figs" / "arch.png"
    main(["--out", str(out), "--preset", "tiny"])
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and 5_000 < len(data) < 150_000


def test_unequal_block_counts_fit_in_the_picture():
    cfg = DACConfig(
        encoder_dim=8, encoder_rates=(2, 2, 2, 2, 2, 2), decoder_rates=(8, 8), decoder_dim=32
    )
    fig = draw_architecture(cfg)
    ax = fig.axes[0]
    left, right = ax.get_xlim()
    xs = [t.get_position()[0] for t in ax.texts]
    assert left < min(xs) and max(xs) < right
    text = _texts(fig)
    assert "Enc block 6" in text and "Dec block 2" in text and "Dec block 3" not in text


def test_system_figure_follows_the_codec_discriminator_and_loss_configs():
    from dac_minimal import LOSS_WEIGHTS, DiscriminatorConfig, LossWeights
    from dac_minimal.tools.diagram import draw_system

    text = _texts(draw_system())
    assert "2 × 4 × 8 × 8" in text and "8 × 8 × 4 × 2" in text and "hop M = 512" in text
    assert "$n_q$ = 9 codebooks, K = 1024, d = 8" in text and "7.75 kbps" in text
    assert "periods 2, 3, 5, 7, 11" in text and "windows 2048, 1024, 512" in text
    assert "5 bands each" in text and "MSD" not in text
    assert "7 windows, 32–2048" in text
    for weight in (LOSS_WEIGHTS.mel, LOSS_WEIGHTS.feature, LOSS_WEIGHTS.commitment):
        assert f"λ = {weight:g}" in text
    for term in ("mel reconstruction", "adversarial", "feature matching", "codebook", "commitment"):
        assert term in text
    other = _texts(
        draw_system(
            PRESETS["16khz"],
            DiscriminatorConfig(periods=(2, 3), rates=(1, 2), bands=((0.0, 1.0),)),
            LossWeights(mel=45.0),
        )
    )
    assert "$n_q$ = 12 codebooks" in other and "2 × 4 × 5 × 8" in other
    assert "periods 2, 3\n" in other and "MSD" in other and "rates 1, 2" in other
    assert "one band (no split)" in other and "λ = 45" in other and "λ = 15" not in other
    many = draw_system(PRESETS["24khz"])  # 32 codebooks: 11 bars drawn, then "…"
    labels = [t.get_text() for t in many.axes[0].texts]
    assert "…" in labels and "32" in labels and "11" not in labels
    with pytest.raises(ValueError, match="DiscriminatorConfig"):
        draw_system(discriminator="44khz")
    with pytest.raises(ValueError, match="LossWeights"):
        draw_system(weights={"mel": 15.0})


def test_training_step_shows_the_two_steps_as_the_trainer_runs_them():
    from dac_minimal.loss import LOSS_WEIGHTS, LossWeights
    from dac_minimal.tools.diagram import draw_training_step
    from dac_minimal.train import TrainConfig

    text = _texts(draw_training_step())
    assert "1. Discriminator step" in text and "2. Generator step" in text
    assert "sg[x̂] = x̂.detach()" in text and "no gradient" in text  # D's loss does not reach G
    assert "D is not updated" in text and "backward(inputs = G's weights)" in text
    cfg = TrainConfig()
    assert f"‖∇‖ ≤ {cfg.grad_clip_d:g} → AdamW step on D" in text
    assert f"‖∇‖ ≤ {cfg.grad_clip_g:g} → AdamW step on G" in text
    for name in ("mel", "feature", "adversarial", "codebook", "commitment"):
        assert f"λ = {getattr(LOSS_WEIGHTS, name):g}" in text, name
    assert f"gan_start = {cfg.gan_start}" in text  # the tiny recipe's warm-up is noted
    assert r"(1 - D_k(x))^2" in text  # least squares, the default GAN loss

    other = _texts(
        draw_training_step(
            TrainConfig(preset="44khz", gan="hinge", grad_clip_d=3.0),
            LossWeights(mel=7.0, feature=0.5),
        )
    )
    assert r"\max(0, 1 - D_k(x))" in other and "λ = 7" in other and "λ = 0.5" in other
    assert "‖∇‖ ≤ 3 → AdamW step on D" in other and "gan_start" not in other  # official: no warm-up
    with pytest.raises(ValueError, match="TrainConfig"):
        draw_training_step("tiny")


@pytest.mark.parametrize("preset", ["44khz", "tiny"])
def test_stft_discriminator_figure_matches_the_real_discriminator(preset):
    import torch

    from dac_minimal.discriminator import DISCRIMINATOR_PRESETS, MRD
    from dac_minimal.tools.diagram import draw_stft_discriminator

    cfg = DISCRIMINATOR_PRESETS[preset]
    fig = draw_stft_discriminator(cfg)
    assert len(fig.axes) == len(cfg.fft_sizes)
    for ax, window in zip(fig.axes, cfg.fft_sizes):
        text = "\n".join(t.get_text() for t in ax.texts)
        assert f"W = {window}, h = {window // 4}" in text
        mrd = MRD(window, cfg.bands, channels=1)
        with torch.no_grad():
            fmaps = mrd(torch.randn(1, 1, 4 * window))
        for k, (lo, hi) in enumerate(mrd.bands):  # each band's stack ends at map 5k + 4
            assert f"bins {lo}-{hi - 1}\n" in text
            assert f"{hi - lo} → {fmaps[5 * k + 4].shape[-1]} bins" in text
        assert f"{fmaps[-1].shape[-1]})" in text and f"{cfg.mrd_channels} → 1" in text


def test_stft_discriminator_figure_follows_its_config():
    from dac_minimal import DiscriminatorConfig
    from dac_minimal.tools.diagram import draw_stft_discriminator

    fig = draw_stft_discriminator(DiscriminatorConfig(fft_sizes=(256,), bands=((0.0, 1.0),)))
    assert len(fig.axes) == 1
    text = _texts(fig)
    assert "bins 0-128" in text and "129 → 17 bins" in text and "2048" not in text
    with pytest.raises(ValueError, match="DiscriminatorConfig"):
        draw_stft_discriminator("44khz")


# --- draw_rvq: the residual cascade of chapter 4 ----------------------------------------------


def test_rvq_figure_draws_every_codebook_its_code_and_the_bitrate_of_the_config():
    from dac_minimal.tools.diagram import draw_rvq

    cfg = PRESETS["44khz"]
    text = _texts(draw_rvq(cfg))
    for i in range(1, cfg.n_codebooks + 1):
        assert f"codebook {i}\n" in text and f"$c_{{{i}}}" in text and f"$r_{{{i}}}$" in text
    assert f"codebook {cfg.n_codebooks + 1}" not in text and "dropped" not in text
    assert f"project {cfg.latent_dim} → {cfg.codebook_dim}" in text
    assert f"K = {cfg.codebook_size}" in text and "$z_e = r_1$" in text
    assert f"\\hat z_{{{cfg.n_codebooks}}}$" in text  # z_q sums all of them
    assert "90 bits per frame, 7.75 kbps" in text


def test_rvq_figure_shows_quantizer_dropout_and_elides_long_cascades():
    from dac_minimal.tools.diagram import draw_rvq

    fig = draw_rvq(n_used=4)
    text = _texts(fig)
    assert "first n = 4 of" in text and "40 bits per frame, 3.45 kbps" in text
    assert "dropped" in text and "z_q = \\hat z_1 + \\cdots + \\hat z_{4}$" in text
    greyed = {t.get_text().split("\n")[0] for t in fig.axes[0].texts if t.get_color() != "black"}
    assert {f"codebook {i}" for i in range(5, 10)} <= greyed
    assert not {f"codebook {i}" for i in range(1, 5)} & greyed
    # 32 codebooks: the first two, the dropout boundary and the last are drawn, the rest elided.
    text = _texts(draw_rvq(PRESETS["24khz"], n_used=8))
    shown = set(re.findall(r"codebook (\d+)\n", text))
    assert shown == {"1", "2", "8", "9", "32"} and text.count("⋯") == 2


@pytest.mark.parametrize("n_used", [0, 10, 2.5, True])
def test_rvq_figure_rejects_a_bad_number_of_codebooks(n_used):
    from dac_minimal.tools.diagram import draw_rvq

    with pytest.raises(ValueError, match="n_used"):
        draw_rvq(n_used=n_used)
