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
