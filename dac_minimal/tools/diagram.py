"""The codec's diagrams, drawn from the package's configs: nothing here is hand-drawn.

- ``draw_architecture`` (the README's picture): every stride, channel count and rate is read from
  a ``DACConfig``. The encoder runs along the top row, the residual vector quantizer sits at the
  turn, and the decoder runs back along the bottom row.
- ``draw_system`` (the preface's picture): the whole training system at a glance. The generator
  (encoder -> RVQ with its N_q codebooks -> decoder) on top, the tokens it emits, and below it what
  exists only in training: the discriminators (``DiscriminatorConfig``) and the loss terms with
  their weights (``LossWeights``).

Both follow their configs, so neither can drift from the model.

    python -m dac_minimal.tools.diagram --out chapters/figures/architecture.png [--preset 44khz]
"""

from __future__ import annotations

import argparse
import inspect
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dac_minimal.discriminator import DiscriminatorConfig
from dac_minimal.loss import LOSS_WEIGHTS, LossWeights, MultiScaleMelLoss
from dac_minimal.model import PRESETS, DACConfig
from dac_minimal.utils.files import atomic_path

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ENCODER_COLOUR = "#cfe2f3"
QUANTIZER_COLOUR = "#fce5cd"
DECODER_COLOUR = "#d9ead3"
IO_COLOUR = "#eeeeee"
DISCRIMINATOR_COLOUR = "#f4cccc"
LOSS_COLOUR = "#fff2cc"
TOKEN_COLOUR = "#ead1dc"
LINE_COLOUR = "#444444"
#: Box width in data units; boxes sit one unit apart, so arrows get the remaining 0.22.
BOX_WIDTH = 0.78


def _fmt_rate(hz: float) -> str:
    return f"{hz / 1000:g} kHz" if hz >= 1000 else f"{hz:g} Hz"


def _box(
    ax: Axes,
    x: float,
    y: float,
    text: str,
    colour: str,
    width: float = BOX_WIDTH,
    height: float = 1.0,
    fontsize: float = 7.2,
) -> None:
    """A rounded box of ``width`` x ``height`` (data units) centred on (x, y), labelled ``text``."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=colour,
            edgecolor="#444444",
            linewidth=0.8,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, linespacing=1.25)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=8,
            linewidth=0.8,
            color="#444444",
            shrinkA=0,
            shrinkB=0,
        )
    )


def _row(ax: Axes, xs: Sequence[float], y: float, half_width: float = BOX_WIDTH / 2) -> None:
    """Arrows joining neighbouring boxes centred at ``xs`` on the row at height ``y``."""
    for a, b in zip(xs[:-1], xs[1:]):
        step = half_width if b > a else -half_width
        _arrow(ax, (a + step, y), (b - step, y))


#: Heights (data units) of the encoder's row and the decoder's row.
Y_TOP, Y_BOTTOM = 2.45, 0.75


def _draw_encoder(ax: Axes, config: DACConfig) -> list[int]:
    """The top row, left to right: input, first conv, one box per block, conv to the latent, z.

    Each block box gives its stride s, its channels C → 2C and the time resolution T / ∏s so far.
    Returns the boxes' x positions.
    """
    hop = config.hop_length
    dim = config.encoder_dim
    xs = list(range(len(config.encoder_rates) + 4))
    _box(ax, xs[0], Y_TOP, f"input x\n(B, 1, T)\n{_fmt_rate(config.sample_rate)}", IO_COLOUR)
    _box(ax, xs[1], Y_TOP, f"Conv k7\n1 → {dim}\nT", ENCODER_COLOUR)
    stride_product = 1
    for i, stride in enumerate(config.encoder_rates):
        stride_product *= stride
        label = f"Enc block {i + 1}\nstride {stride}\n{dim} → {2 * dim}\nT/{stride_product}"
        _box(ax, xs[2 + i], Y_TOP, label, ENCODER_COLOUR)
        dim *= 2
    latent = config.latent_dim
    _box(ax, xs[-2], Y_TOP, f"Snake +\nConv k3\n{dim} → {latent}\nT/{hop}", ENCODER_COLOUR)
    frames = f"{config.sample_rate / hop:.2f}\nframes/s"
    _box(ax, xs[-1], Y_TOP, f"latent z\nD = {latent}\n{frames}", IO_COLOUR)
    _row(ax, xs, Y_TOP)
    ax.text(
        xs[1] - BOX_WIDTH / 2,
        Y_TOP + 0.58,
        "encoder: residual units (dilations 1, 3, 9) + strided conv per block",
        ha="left",
        va="bottom",
        fontsize=7.5,
        color="#1c4587",
    )
    return xs


def _draw_quantizer(ax: Axes, config: DACConfig, x_z: float) -> float:
    """The residual vector quantizer at the turn, right of the latent box at ``x_z``.

    The box spans both rows and gives N_q codebooks of K entries (log2 K bits each) with
    d-dimensional lookups. Returns its x position.
    """
    x_q = x_z + 1.15
    _box(
        ax,
        x_q,
        (Y_TOP + Y_BOTTOM) / 2,
        f"RVQ\n$N_q$ = {config.n_codebooks}\ncodebooks\nK = {config.codebook_size}\n"
        f"({math.log2(config.codebook_size):g} bits each)\nd = {config.codebook_dim}",
        QUANTIZER_COLOUR,
        width=1.0,
        height=1.95,
    )
    _arrow(ax, (x_z + BOX_WIDTH / 2, Y_TOP), (x_q - 0.5, Y_TOP))
    return x_q


def _draw_decoder(ax: Axes, config: DACConfig, x_q: float) -> list[float]:
    """The bottom row, right to left from the quantizer at ``x_q``: first conv, blocks, output.

    Each block box gives its stride s, its channels C → C/2 and the time resolution it reaches.
    Returns the boxes' x positions.
    """
    hop = config.hop_length
    cdim = config.decoder_dim
    xs = [x_q - 1.15 - k for k in range(len(config.decoder_rates) + 3)]
    _arrow(ax, (x_q - 0.5, Y_BOTTOM), (xs[0] + BOX_WIDTH / 2, Y_BOTTOM))
    _box(ax, xs[0], Y_BOTTOM, f"Conv k7\n{config.latent_dim} → {cdim}\nT/{hop}", DECODER_COLOUR)
    remaining = hop
    for i, stride in enumerate(config.decoder_rates):
        remaining //= stride
        length = "T" if remaining == 1 else f"T/{remaining}"
        label = f"Dec block {i + 1}\nstride {stride}\n{cdim} → {cdim // 2}\n{length}"
        _box(ax, xs[1 + i], Y_BOTTOM, label, DECODER_COLOUR)
        cdim //= 2
    _box(ax, xs[-2], Y_BOTTOM, f"Snake +\nConv k7\n{cdim} → 1\ntanh", DECODER_COLOUR)
    output = f"output x̂\n(B, 1, T)\n{_fmt_rate(config.sample_rate)}"
    _box(ax, xs[-1], Y_BOTTOM, output, IO_COLOUR)
    _row(ax, xs, Y_BOTTOM)
    ax.text(
        xs[0] + BOX_WIDTH / 2,
        Y_BOTTOM - 0.58,
        "decoder: transposed conv + residual units (dilations 1, 3, 9) per block",
        ha="right",
        va="top",
        fontsize=7.5,
        color="#274e13",
    )
    return xs


def _title(config: DACConfig) -> str:
    """Sample rate, hop = ∏ strides, frame rate and bitrate (N_q × log2 K bits per frame)."""
    hop = config.hop_length
    frame_rate = config.sample_rate / hop
    bits = math.log2(config.codebook_size)
    bitrate = frame_rate * config.n_codebooks * bits
    strides = " × ".join(map(str, config.encoder_rates))
    return (
        f"DAC at {config.sample_rate} Hz: hop {hop} = {strides} samples, "
        f"{frame_rate:.2f} frames/s, "
        f"{config.n_codebooks} × {bits:g} bits → {bitrate / 1000:.2f} kbps"
    )


def draw_architecture(config: DACConfig | None = None) -> Figure:
    """Draw the codec described by ``config`` (default: the official 44.1 kHz model).

    Top row, left to right: input ``x (B, 1, T)``, the first conv (1 → C), one box per encoder
    block (stride s, C/2 → C channels, time resolution T / ∏s), Snake + conv to the latent D. At
    the right, the residual vector quantizer (N_q codebooks of K entries, d-dimensional lookups).
    Bottom row, right to left: the first decoder conv (D → C'), one box per decoder block (stride
    s, C → C/2), Snake + conv to one channel and tanh, output ``x̂ (B, 1, T)``. The title gives the
    sample rate, hop length, frame rate and bitrate.

    Returns a ``matplotlib.figure.Figure`` that is not registered with pyplot (no global state);
    show it in a notebook by making it a cell's last expression, or ``fig.savefig(path)``.
    """
    if config is None:
        config = DACConfig()
    if not isinstance(config, DACConfig):
        raise ValueError(f"config must be a DACConfig or None, got {type(config).__name__}")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.8, 3.8))  # the width is set at the end, from how far the rows reach
    ax = fig.add_axes((0.005, 0.0, 0.99, 0.86))
    ax.set_ylim(-0.05, 3.25)
    ax.set_axis_off()
    xs_enc = _draw_encoder(ax, config)
    x_q = _draw_quantizer(ax, config, xs_enc[-1])
    xs_dec = _draw_decoder(ax, config, x_q)
    left, right = min(xs_enc[0], xs_dec[-1]) - 0.55, x_q + 0.75
    ax.set_xlim(left, right)
    fig.set_size_inches(1.35 * (right - left), 3.8)
    fig.suptitle(_title(config), fontsize=9.5, y=0.97)
    return fig


# The whole system (the preface's figure), in data units: the generator's row in the middle, the
# tokens above its quantizer, the training-only row (losses, discriminators) at the bottom.
Y_GEN, Y_TOKENS, Y_TRAIN = 4.7, 6.5, 1.55
#: (centre x, width) of the generator's five boxes: x, encoder, RVQ, decoder, x̂.
GEN_BOXES = ((0.75, 1.2), (2.95, 2.4), (6.5, 2.8), (10.05, 2.4), (12.25, 1.2))
GEN_HEIGHT, RVQ_HEIGHT, TRAIN_HEIGHT = 1.2, 1.9, 2.3
#: (left, right) of the losses box and of the discriminators box on the bottom row.
LOSS_SPAN, DISC_SPAN = (0.15, 6.75), (7.35, 12.85)


def _strides(rates: Sequence[int]) -> str:
    return " × ".join(map(str, rates))


def _draw_codebooks(ax: Axes, n_codebooks: int, x: float, y: float, width: float) -> None:
    """One bar per codebook, numbered 1..N_q, side by side inside the RVQ box (12 at most)."""
    from matplotlib.patches import Rectangle

    n = n_codebooks
    shown = list(range(1, n + 1)) if n <= 12 else [*range(1, 11), None, n]
    step = (width - 0.3) / len(shown)
    for i, k in enumerate(shown):
        cx = x - (width - 0.3) / 2 + (i + 0.5) * step
        if k is None:
            ax.text(cx, y, "…", ha="center", va="center", fontsize=8)
            continue
        bar = Rectangle((cx - 0.38 * step, y - 0.28), 0.76 * step, 0.56, linewidth=0.5)
        bar.set(facecolor="#f6b26b", edgecolor=LINE_COLOUR)
        ax.add_patch(bar)
        ax.text(cx, y - 0.34, str(k), ha="center", va="top", fontsize=5.5)


def _draw_generator(ax: Axes, config: DACConfig) -> None:
    """The generator's row: x → encoder → RVQ (a bar per codebook) → decoder → x̂."""
    (x_in, w_io), (x_enc, w_enc), (x_q, w_q), (x_dec, w_dec), (x_out, _) = GEN_BOXES
    hop, latent, rate = config.hop_length, config.latent_dim, _fmt_rate(config.sample_rate)
    enc = f"encoder\nstrides {_strides(config.encoder_rates)}\nhop M = {hop}\n"
    dec = f"decoder\nstrides {_strides(config.decoder_rates)}\n"
    _box(ax, x_in, Y_GEN, f"input $x$\n(B, 1, T)\n{rate}", IO_COLOUR, w_io, GEN_HEIGHT, 8)
    enc += f"(B, 1, T) → (B, {latent}, L)"
    _box(ax, x_enc, Y_GEN, enc, ENCODER_COLOUR, w_enc, GEN_HEIGHT, 8)
    _box(ax, x_q, Y_GEN, "", QUANTIZER_COLOUR, w_q, RVQ_HEIGHT)
    ax.text(x_q, Y_GEN + 0.7, "residual vector quantizer", ha="center", va="center", fontsize=8)
    _draw_codebooks(ax, config.n_codebooks, x_q, Y_GEN + 0.12, w_q)
    sizes = f"K = {config.codebook_size}, d = {config.codebook_dim}"
    label = f"$n_q$ = {config.n_codebooks} codebooks, {sizes}"
    ax.text(x_q, Y_GEN - 0.72, label, ha="center", va="center", fontsize=7.5)
    dec += f"(B, {latent}, L) → (B, 1, T)"
    _box(ax, x_dec, Y_GEN, dec, DECODER_COLOUR, w_dec, GEN_HEIGHT, 8)
    _box(
        ax, x_out, Y_GEN, f"output $\\hat{{x}}$\n(B, 1, T)\n{rate}", IO_COLOUR, w_io, GEN_HEIGHT, 8
    )
    for (a, wa), (b, wb), name in zip(GEN_BOXES[:-1], GEN_BOXES[1:], ["", "$z_e$", "$z_q$", ""]):
        _arrow(ax, (a + wa / 2, Y_GEN), (b - wb / 2, Y_GEN))
        mid = (a + wa / 2 + b - wb / 2) / 2
        ax.text(mid, Y_GEN + 0.08, name, ha="center", va="bottom", fontsize=9)
    ax.text(
        x_in - w_io / 2,
        Y_GEN + RVQ_HEIGHT / 2 + 0.1,
        "generator G: all that runs to encode and decode",
        ha="left",
        va="bottom",
        fontsize=8.5,
        color="#1c4587",
    )


def _draw_tokens(ax: Axes, config: DACConfig) -> None:
    """Above the quantizer: the codes it emits, their shape and the bitrate they cost."""
    x_q = GEN_BOXES[2][0]
    bits = math.log2(config.codebook_size)
    frames = config.sample_rate / config.hop_length
    kbps = frames * config.n_codebooks * bits / 1000
    text = (
        f"codes $c$: (B, $n_q$, L) integers in 0 … {config.codebook_size - 1}\n"
        f"{frames:.2f} frames/s × {config.n_codebooks} codebooks × {bits:g} bits"
        f" = {kbps:.2f} kbps"
    )
    _box(ax, x_q, Y_TOKENS, text, TOKEN_COLOUR, 4.6, 0.8, 8)
    _arrow(ax, (x_q, Y_GEN + RVQ_HEIGHT / 2), (x_q, Y_TOKENS - 0.4))
    note = "to a file, a network stream,\nor a language model"
    ax.text(x_q + 2.45, Y_TOKENS, note, ha="left", va="center", fontsize=7.5, style="italic")


def _discriminator_parts(disc: DiscriminatorConfig) -> list[str]:
    """One label per kind of sub-discriminator in ``disc`` (the MSD only when it has rates)."""
    periods = ", ".join(map(str, disc.periods))
    parts = [f"multi-period (MPD)\nperiods {periods}\nwaveform folded to (T/p, p)"]
    if disc.rates:
        parts.append(f"multi-scale waveform\n(MSD)\nrates {', '.join(map(str, disc.rates))}")
    windows = ", ".join(map(str, disc.fft_sizes))
    bands = f"{len(disc.bands)} bands each" if len(disc.bands) > 1 else "one band (no split)"
    parts.append(f"multi-band multi-scale\ncomplex STFT (MRD)\nwindows {windows}\n{bands}")
    return parts


def _draw_discriminators(ax: Axes, disc: DiscriminatorConfig) -> None:
    """The bottom right: D's sub-discriminators side by side, and the loss D itself lowers."""
    left, right = DISC_SPAN
    top = Y_TRAIN + TRAIN_HEIGHT / 2
    _box(ax, (left + right) / 2, Y_TRAIN, "", DISCRIMINATOR_COLOUR, right - left, TRAIN_HEIGHT)
    title = "discriminators D (training only): real $x$ or $\\hat{x}$?"
    ax.text(left + 0.15, top - 0.12, title, ha="left", va="top", fontsize=8)
    parts = _discriminator_parts(disc)
    width = (right - left - 0.2) / len(parts)
    for i, part in enumerate(parts):
        cx = left + 0.1 + (i + 0.5) * width
        _box(ax, cx, Y_TRAIN + 0.02, part, "#ffffff", width - 0.15, 1.3, 7.2)
    own = "D lowers $(1 - D(x))^2 + D(\\hat{x})^2$; each part returns logits and feature maps"
    ax.text(left + 0.15, top - TRAIN_HEIGHT + 0.12, own, ha="left", va="bottom", fontsize=7)


def _loss_rows(weights: LossWeights, windows: Sequence[int]) -> list[tuple[str, str, float]]:
    """(name, formula, λ) of each generator loss term, in the order the figure lists them."""
    return [
        (
            f"mel reconstruction ({len(windows)} windows, {min(windows)}–{max(windows)})",
            r"$\|\log\,\mathrm{mel}(\hat{x}) - \log\,\mathrm{mel}(x)\|_1$",
            weights.mel,
        ),
        ("adversarial (least squares)", r"$(1 - D(\hat{x}))^2$", weights.adversarial),
        ("feature matching", r"$\sum_l \|D_l(x) - D_l(\hat{x})\|_1$", weights.feature),
        ("codebook", r"$\|\mathrm{sg}[z_e] - e\|_2^2$", weights.codebook),
        ("commitment ($\\beta$)", r"$\|z_e - \mathrm{sg}[e]\|_2^2$", weights.commitment),
    ]


def _draw_losses(ax: Axes, weights: LossWeights, windows: Sequence[int]) -> None:
    """The bottom left: each generator loss term, its formula and its weight λ."""
    left, right = LOSS_SPAN
    top = Y_TRAIN + TRAIN_HEIGHT / 2
    _box(ax, (left + right) / 2, Y_TRAIN, "", LOSS_COLOUR, right - left, TRAIN_HEIGHT)
    title = "losses G lowers (training only): $\\sum_i \\lambda_i \\ell_i$"
    ax.text(left + 0.15, top - 0.12, title, ha="left", va="top", fontsize=8)
    for i, (name, formula, weight) in enumerate(_loss_rows(weights, windows)):
        y = top - 0.62 - 0.36 * i
        ax.text(left + 0.15, y, name, ha="left", va="center", fontsize=7.2)
        ax.text(left + 3.25, y, formula, ha="left", va="center", fontsize=7.6)
        ax.text(right - 0.15, y, f"λ = {weight:g}", ha="right", va="center", fontsize=7.2)


def _draw_wiring(ax: Axes) -> None:
    """What training feeds where: x and x̂ into D; D's and the RVQ's outputs into the losses."""
    (x_in, _), _, (x_q, _), _, (x_out, _) = GEN_BOXES
    low, top = Y_GEN - GEN_HEIGHT / 2, Y_TRAIN + TRAIN_HEIGHT / 2
    bus, x_real = 3.25, DISC_SPAN[0] + 0.6
    ax.plot([x_in, x_in, x_real], [low, bus, bus], color=LINE_COLOUR, linewidth=0.8)
    _arrow(ax, (x_real, bus), (x_real, top))
    ax.text(x_in + 0.1, bus + 0.05, "real $x$", ha="left", va="bottom", fontsize=8)
    _arrow(ax, (x_out, low), (x_out, top))
    ax.text(x_out - 0.08, (low + top) / 2, "$\\hat{x}$", ha="right", va="center", fontsize=9)
    x_vq = x_q - 0.3
    _arrow(ax, (x_vq, Y_GEN - RVQ_HEIGHT / 2), (x_vq, top))
    ax.text(x_vq + 0.08, 2.95, "$z_e$, $e$", ha="left", va="center", fontsize=8)
    _arrow(ax, (DISC_SPAN[0], Y_TRAIN), (LOSS_SPAN[1], Y_TRAIN))
    middle = (DISC_SPAN[0] + LOSS_SPAN[1]) / 2
    ax.text(middle, Y_TRAIN + 0.08, "logits,\nmaps", ha="center", va="bottom", fontsize=6.5)


def _checked(value: object, kind: type, name: str) -> object:
    """``value``, or ``kind()`` for None; ``ValueError`` for anything that is not a ``kind``."""
    value = kind() if value is None else value
    if not isinstance(value, kind):
        raise ValueError(f"{name} must be a {kind.__name__} or None, got {type(value).__name__}")
    return value


def draw_system(
    config: DACConfig | None = None,
    discriminator: DiscriminatorConfig | None = None,
    weights: LossWeights | None = None,
) -> Figure:
    """Draw the whole system: the generator, its tokens, the discriminators and the losses.

    Middle row, left to right: ``x (B, 1, T)``, the encoder (its strides, hop M), the residual
    vector quantizer (one bar per codebook, N_q of K entries in d dimensions), the decoder and
    ``x̂``. Above the quantizer: the codes ``(B, n_q, L)`` and their bitrate. Bottom row, what
    exists only in training: the generator's loss terms with their weights (``weights``, default
    ``LOSS_WEIGHTS``; the mel windows are ``MultiScaleMelLoss``'s) and the sub-discriminators of
    ``discriminator`` (default: the official 44.1 kHz ones). ``ValueError`` for a wrong type.

    Returns a ``matplotlib.figure.Figure`` not registered with pyplot, like ``draw_architecture``.
    """
    config = _checked(config, DACConfig, "config")
    discriminator = _checked(discriminator, DiscriminatorConfig, "discriminator")
    weights = LOSS_WEIGHTS if weights is None else _checked(weights, LossWeights, "weights")
    windows = inspect.signature(MultiScaleMelLoss).parameters["window_lengths"].default
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.6, 6.6))
    ax = fig.add_axes((0.005, 0.0, 0.99, 0.93))
    ax.set_xlim(0.0, 13.0)
    ax.set_ylim(0.3, 7.05)
    ax.set_axis_off()
    _draw_generator(ax, config)
    _draw_tokens(ax, config)
    _draw_losses(ax, weights, windows)
    _draw_discriminators(ax, discriminator)
    _draw_wiring(ax)
    fig.suptitle(_title(config), fontsize=10, y=0.985)
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dac_minimal.tools.diagram",
        description="Draw the codec's block diagram from a preset config.",
    )
    parser.add_argument(
        "--out", default="chapters/figures/architecture.png", help="PNG file to write"
    )
    parser.add_argument("--preset", default="44khz", choices=sorted(PRESETS))
    parser.add_argument("--dpi", type=int, default=110)
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")  # headless: no display needed to write a PNG
    fig = draw_architecture(PRESETS[args.preset])
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, dpi=args.dpi, format="png")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
