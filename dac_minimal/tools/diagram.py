"""The codec's diagrams, drawn from the package's configs and settings: nothing here is hand-drawn.

- ``draw_architecture`` (the README's picture): every stride, channel count and rate is read from
  a ``DACConfig``. The encoder runs along the top row, the residual vector quantizer sits at the
  turn, and the decoder runs back along the bottom row.
- ``draw_system`` (the preface's picture): the whole training system at a glance. The generator
  (encoder -> RVQ with its N_q codebooks -> decoder) on top, the tokens it emits, and below it what
  exists only in training: the discriminators (``DiscriminatorConfig``) and the loss terms with
  their weights (``LossWeights``).
- ``draw_training_step`` (chapter 8): one training iteration, the discriminator step first, then
  the generator step; every loss weight, loss formula and clipping threshold is read from
  ``LOSS_WEIGHTS`` and a ``TrainConfig``.
- ``draw_rvq`` (chapter 4): the residual vector quantizer's cascade, codebook by codebook, with
  the codes leaving as tokens and quantizer dropout's unused codebooks greyed.
- ``draw_stft_discriminator`` (chapter 6): the multi-band multi-scale STFT discriminator, one row
  per STFT window size, from a ``DiscriminatorConfig``.

All follow their configs, so none can drift from the model.

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
from dac_minimal.train import TrainConfig
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


#: The RVQ figure's rows: codes (tokens) on top, the cascade of codebooks, the sum at the bottom.
Y_CODES, Y_STAGES, Y_SUM = 3.0, 1.75, 0.35
#: Width of a codebook's box and the distance from one codebook's box to the next.
STAGE_WIDTH, STAGE_STEP = 1.15, 1.65
DROPPED_COLOUR = "#f3f3f3"
DROPPED_TEXT = "#999999"


def _shown_stages(n_codebooks: int, n_used: int) -> list[int | None]:
    """The codebooks (1-based) the RVQ figure draws, ``None`` marking an elided run ("⋯").

    Up to 10 codebooks are all drawn; of more, the first two, the last used one, the first
    dropped one and the last one are kept, so that the dropout boundary is always visible.
    """
    if n_codebooks <= 10:
        return list(range(1, n_codebooks + 1))
    keep = sorted({1, 2, n_used, min(n_used + 1, n_codebooks), n_codebooks})
    shown: list[int | None] = []
    for i in keep:
        if shown and i - shown[-1] > 1:
            shown.append(None)
        shown.append(i)
    return shown


def _grey_out(ax: Axes, patches: int, texts: int) -> None:
    """Draw the last ``patches`` shapes dashed and grey and the last ``texts`` labels grey: the
    parts of the figure that quantizer dropout skips."""
    from matplotlib.patches import FancyArrowPatch

    for patch in ax.patches[len(ax.patches) - patches :]:
        patch.set_linestyle("--")
        patch.set_edgecolor(DROPPED_TEXT)
        if isinstance(patch, FancyArrowPatch):  # its head too
            patch.set_facecolor(DROPPED_TEXT)
    for text in ax.texts[len(ax.texts) - texts :]:
        text.set_color(DROPPED_TEXT)


def _draw_stage(ax: Axes, x: float, i: int, used: bool, config: DACConfig) -> None:
    """Codebook ``i`` at ``x``: its box, its code c_i going up and (if used) ẑ_i going down."""
    d, k, c = config.codebook_dim, config.codebook_size, config.latent_dim
    label = f"codebook {i}\nproject {c} → {d}\nnearest $e_{{k^\\star}}$\nof K = {k}\nback {d} → {c}"
    _box(ax, x, Y_STAGES, label, QUANTIZER_COLOUR if used else DROPPED_COLOUR, STAGE_WIDTH, 1.3)
    _arrow(ax, (x, Y_STAGES + 0.65), (x, Y_CODES - 0.22))
    code = f"$c_{{{i}}} = k^\\star$" if used else f"$c_{{{i}}}$"
    _box(ax, x, Y_CODES, code, IO_COLOUR if used else DROPPED_COLOUR, 0.8, 0.44)
    if not used:
        _grey_out(ax, patches=3, texts=2)
        return
    from matplotlib.patches import Circle

    _arrow(ax, (x, Y_STAGES - 0.65), (x, Y_SUM + 0.15))
    ax.text(x + 0.06, (Y_STAGES + Y_SUM) / 2 - 0.2, f"$\\hat z_{{{i}}}$", fontsize=8)
    ax.add_patch(Circle((x, Y_SUM), 0.15, facecolor="white", edgecolor="#444444", lw=0.8))
    ax.text(x, Y_SUM, "+", ha="center", va="center", fontsize=9)


def _draw_cascade(ax: Axes, config: DACConfig, n_used: int) -> float:
    """z_e, the codebooks joined by their residuals, and the sum z_q; returns the right edge."""
    z_e = f"$z_e = r_1$\n(B, C, L)\nC = {config.latent_dim}"
    _box(ax, 0.0, Y_STAGES, z_e, IO_COLOUR, 0.9, 0.9)
    shown = _shown_stages(config.n_codebooks, n_used)
    x_prev, right_of_prev, sums = 0.0, 0.45, []
    for slot, i in enumerate(shown):
        x = 1.45 + STAGE_STEP * slot
        # An elided run ("⋯") is used when the codebook after it is.
        used = (shown[slot + 1] if i is None else i) <= n_used
        _arrow(ax, (right_of_prev, Y_STAGES), (x - STAGE_WIDTH / 2, Y_STAGES))
        middle = (right_of_prev + x - STAGE_WIDTH / 2) / 2
        label = "⋯" if i is None else f"$r_{{{i}}}$"
        if i is None:
            ax.text(x, Y_STAGES, label, ha="center", va="center", fontsize=14)
        else:
            ax.text(middle, Y_STAGES + 0.06, label, ha="center", va="bottom", fontsize=8)
        if not used:
            _grey_out(ax, patches=1, texts=1)
        if i is None:
            x_prev, right_of_prev = x, x + 0.3
            continue
        _draw_stage(ax, x, i, used, config)
        sums += [x] if used else []
        x_prev, right_of_prev = x, x + STAGE_WIDTH / 2
    x_out = x_prev + STAGE_STEP + 0.2
    for a, b in zip(sums, sums[1:] + [x_out - 0.75]):
        _arrow(ax, (a + 0.15, Y_SUM), (b - (0.15 if b in sums else 0.0), Y_SUM))
    total = (
        f"$z_q = \\hat z_1 + \\cdots + \\hat z_{{{n_used}}}$" if n_used > 1 else "$z_q = \\hat z_1$"
    )
    _box(ax, x_out, Y_SUM, total, IO_COLOUR, 1.5, 0.5)
    return x_out + 0.75


def _rvq_title(config: DACConfig, n_used: int) -> str:
    """Codebooks used of n_q, K, d, and what the codes cost: n · log2 K bits per frame."""
    bits = math.log2(config.codebook_size)
    kbps = config.sample_rate / config.hop_length * n_used * bits / 1000
    return (
        f"Residual VQ: the first n = {n_used} of $n_q$ = {config.n_codebooks} codebooks, "
        f"K = {config.codebook_size} entries of d = {config.codebook_dim} each: "
        f"{n_used} × {bits:g} = {n_used * bits:g} bits per frame, {kbps:.2f} kbps"
    )


def draw_rvq(config: DACConfig | None = None, n_used: int | None = None) -> Figure:
    """Draw the residual vector quantizer of ``config`` (default: the official 44.1 kHz model).

    Left to right: the encoder output ``z_e`` is the first residual r_1; codebook i projects its
    residual r_i from C to d dimensions, picks the nearest entry e_{k*} of its K, and projects it
    back (ẑ_i); r_{i+1} = r_i − ẑ_i goes on to codebook i + 1. Each codebook's index c_i = k*
    leaves upwards as a token; the ẑ_i meet in the sum ``z_q`` at the bottom. ``n_used`` (1..n_q,
    default all) shows quantizer dropout: codebooks after the first ``n_used`` are drawn greyed
    and dashed, they add nothing to z_q. The title gives the bits per frame and the bitrate.

    Returns a ``matplotlib.figure.Figure`` that is not registered with pyplot, as
    ``draw_architecture`` does.
    """
    if config is None:
        config = DACConfig()
    if not isinstance(config, DACConfig):
        raise ValueError(f"config must be a DACConfig or None, got {type(config).__name__}")
    n_used = config.n_codebooks if n_used is None else n_used
    if isinstance(n_used, bool) or not isinstance(n_used, int):
        raise ValueError(f"n_used must be an int, got {type(n_used).__name__}")
    if not 1 <= n_used <= config.n_codebooks:
        raise ValueError(f"n_used must be in 1..{config.n_codebooks}, got {n_used}")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.0, 3.6))  # the width is set from how far the cascade reaches
    ax = fig.add_axes((0.005, 0.0, 0.99, 0.88))
    ax.set_ylim(-0.1, 3.5)
    ax.set_axis_off()
    right = _draw_cascade(ax, config, n_used)
    ax.text(
        -0.45,
        Y_CODES + 0.36,
        "each codebook passes on what it missed: $r_{i+1} = r_i - \\hat z_i$",
        ha="left",
        va="bottom",
        fontsize=7.5,
    )
    if n_used < config.n_codebooks:
        ax.text(
            right - 0.05,
            Y_CODES + 0.36,
            "greyed: dropped for this item (quantizer dropout)",
            ha="right",
            va="bottom",
            fontsize=7.5,
            color=DROPPED_TEXT,
        )
    ax.set_xlim(-0.55, right + 0.05)
    fig.set_size_inches(0.78 * (right + 0.6), 3.6)
    fig.suptitle(_rvq_title(config, n_used), fontsize=9.5, y=0.97)
    return fig


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


G_COLOUR = ENCODER_COLOUR
D_COLOUR = DECODER_COLOUR
LOSS_COLOUR = QUANTIZER_COLOUR
UPDATE_COLOUR = "#d9d2e9"
STOP_COLOUR = "#f4cccc"
GRADIENT_COLOUR = "#cc0000"
#: ``discriminator_loss`` and ``generator_adversarial_loss`` of each GAN loss, in mathtext.
D_LOSS = {
    "lsgan": r"$\Sigma_k\,(1 - D_k(x))^2 + D_k(\mathrm{sg}[\hat x])^2$",
    "hinge": r"$\Sigma_k\,\max(0, 1 - D_k(x)) + \max(0, 1 + D_k(\mathrm{sg}[\hat x]))$",
    "bce": r"$\Sigma_k\,-\log\sigma(D_k(x)) - \log(1 - \sigma(D_k(\mathrm{sg}[\hat x])))$",
}
G_ADVERSARIAL = {
    "lsgan": r"$\Sigma_k\,(1 - D_k(\hat x))^2$",
    "hinge": r"$\Sigma_k\,-D_k(\hat x)$",
    "bce": r"$\Sigma_k\,-\log\sigma(D_k(\hat x))$",
}


def _gradient(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    label: str,
    where: tuple[float, float],
    rad: float = -0.35,
) -> None:
    """A dashed red arrow from a loss back to the weights its gradient reaches, labelled at
    ``where``; ``rad`` bends it (matplotlib's ``arc3``)."""
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=9,
            linewidth=1.1,
            linestyle="--",
            color=GRADIENT_COLOUR,
            connectionstyle=f"arc3,rad={rad}",
        )
    )
    ax.text(*where, label, ha="left", va="center", fontsize=7, color=GRADIENT_COLOUR)


def _draw_d_step(ax: Axes, cfg: TrainConfig) -> None:
    """The left panel: ``Trainer.discriminator_step``, from the batch to D's update."""
    ax.text(0.2, 5.75, "1. Discriminator step", fontsize=9, weight="bold", va="bottom")
    _box(ax, 0.9, 4.9, "x\nreal batch\n(B, 1, T)", IO_COLOUR, width=1.2, height=0.8)
    _box(ax, 2.75, 4.9, "G: encoder → RVQ\n→ decoder\nx̂ = G(x)", G_COLOUR, width=1.7, height=0.8)
    stop = "sg[x̂] = x̂.detach()\nno gradient\nreaches G"
    _box(ax, 4.85, 4.9, stop, STOP_COLOUR, width=1.7, height=0.8)
    judge = "D judges [sg[x̂]; x]\nin one batch\n(every sub-discriminator k)"
    _box(ax, 2.75, 3.45, judge, D_COLOUR, width=2.3, height=0.8)
    _box(
        ax, 2.75, 2.05, "$\\mathcal{L}_D$ = " + D_LOSS[cfg.gan], LOSS_COLOUR, width=3.9, height=0.6
    )
    update = (
        f"backward: gradients for D's weights\nclip ‖∇‖ ≤ {cfg.grad_clip_d:g} → AdamW step on D"
    )
    _box(ax, 2.75, 0.75, update, UPDATE_COLOUR, width=3.3, height=0.75)
    _arrow(ax, (1.5, 4.9), (1.9, 4.9))
    _arrow(ax, (3.6, 4.9), (4.0, 4.9))
    _arrow(ax, (0.9, 4.5), (1.6, 3.75))
    _arrow(ax, (4.85, 4.5), (3.9, 3.75))
    _arrow(ax, (2.75, 3.05), (2.75, 2.35))
    _arrow(ax, (2.75, 1.75), (2.75, 1.125))
    _gradient(ax, (4.7, 1.95), (3.9, 3.3), "∇ into D", where=(4.5, 2.9))


def _g_boxes(ax: Axes, cfg: TrainConfig, weights: LossWeights, ox: float) -> None:
    """The G step's boxes: its inputs, the two judgements and the five weighted loss terms."""
    w = weights
    _box(ax, ox + 0.65, 4.9, "x\n(the same batch)", IO_COLOUR, width=1.15, height=0.8)
    xhat = "x̂ = G(x), reused with\nits graph, and the\nRVQ's $z_e$ and entries e"
    _box(ax, ox + 3.05, 4.9, xhat, G_COLOUR, width=2.1, height=0.8)
    _box(ax, ox + 0.65, 3.45, "D(x): no graph,\na target", D_COLOUR, width=1.1, height=0.75)
    _box(ax, ox + 1.85, 3.45, f"mel\nlog-mel x̂ vs x\nλ = {w.mel:g}", LOSS_COLOUR, width=1.05)
    fake = "D(x̂): the updated D,\ngraph kept, weights\nnot trained here"
    _box(ax, ox + 3.3, 3.45, fake, D_COLOUR, width=1.6, height=0.75)
    vq = (
        f"codebook, λ = {w.codebook:g}\n‖sg[$z_e$] − e‖²\n"
        f"commitment, λ = {w.commitment:g}\n‖$z_e$ − sg[e]‖²"
    )
    _box(ax, ox + 4.85, 3.45, vq, LOSS_COLOUR, width=1.25, height=1.0)
    feature = f"feature matching\nD's features: D(x̂)\nvs D(x), λ = {w.feature:g}"
    _box(ax, ox + 1.0, 2.05, feature, LOSS_COLOUR, width=1.5, height=0.8)
    adversarial = f"adversarial\n{G_ADVERSARIAL[cfg.gan]}\nλ = {w.adversarial:g}"
    _box(ax, ox + 3.3, 2.05, adversarial, LOSS_COLOUR, width=1.5, height=0.8)


def _draw_g_step(ax: Axes, cfg: TrainConfig, weights: LossWeights, ox: float) -> None:
    """The right panel, from ``ox`` on: ``Trainer.generator_step`` and ``generator_losses``."""
    ax.text(ox - 0.1, 5.75, "2. Generator step", fontsize=9, weight="bold", va="bottom")
    _g_boxes(ax, cfg, weights, ox)
    for start, end in (
        ((0.65, 4.5), (0.65, 3.825)),  # x -> D(x)
        ((1.0, 4.5), (1.6, 3.95)),  # x -> mel
        ((2.3, 4.5), (2.1, 3.95)),  # x̂ -> mel
        ((3.3, 4.5), (3.3, 3.825)),  # x̂ -> D(x̂)
        ((4.1, 4.6), (4.5, 3.95)),  # the RVQ -> codebook and commitment
        ((0.65, 3.075), (0.8, 2.45)),  # D(x) -> feature matching
        ((2.9, 3.075), (1.6, 2.45)),  # D(x̂) -> feature matching
        ((3.3, 3.075), (3.3, 2.45)),  # D(x̂) -> adversarial
        ((1.0, 1.65), (1.3, 1.125)),  # the terms -> the total
        ((1.85, 2.95), (2.1, 1.125)),
        ((3.3, 1.65), (3.2, 1.125)),
        ((4.85, 2.95), (4.4, 1.125)),
    ):
        _arrow(ax, (ox + start[0], start[1]), (ox + end[0], end[1]))
    total = (
        "$\\mathcal{L}_G = \\Sigma_i\\, \\lambda_i \\ell_i$; backward(inputs = G's weights)\n"
        f"clip ‖∇‖ ≤ {cfg.grad_clip_g:g} → AdamW step on G; D is not updated"
    )
    _box(ax, ox + 2.75, 0.75, total, UPDATE_COLOUR, width=4.6, height=0.75)
    _gradient(
        ax, (ox + 5.05, 0.6), (ox + 4.15, 5.1), "∇ into G,\nthrough D", (ox + 5.55, 1.9), rad=0.5
    )


def draw_training_step(
    cfg: TrainConfig | None = None, weights: LossWeights | None = None
) -> Figure:
    """One training iteration as ``Trainer.train_step`` runs it: the D step, then the G step.

    Left, ``discriminator_step``: ``x̂ = G(x)``; D judges ``[sg[x̂]; x]`` in one batch; its loss
    (``cfg.gan``'s formula); gradients for D only, clipped at ``cfg.grad_clip_d``; D's AdamW step.
    Right, ``generator_step``: the same ``x̂`` with its graph, judged again by the updated D (the
    real side without a graph, a target); the five terms with their weights ``λ`` (``weights``,
    default ``LOSS_WEIGHTS``); ``backward(inputs=G's weights)``: the gradient flows through D into
    G, D's weights get none and are not updated; clipped at ``cfg.grad_clip_g``; G's AdamW step.
    Dashed red arrows are gradients. ``cfg`` defaults to ``TrainConfig()``; with ``gan_start`` > 0
    a note says that before it there is no D step. Returns an unregistered ``Figure``, as
    ``draw_architecture`` does.
    """
    cfg = cfg if cfg is not None else TrainConfig()
    weights = weights if weights is not None else LOSS_WEIGHTS
    if not isinstance(cfg, TrainConfig) or not isinstance(weights, LossWeights):
        raise ValueError("cfg must be a TrainConfig and weights a LossWeights (or None)")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13.0, 5.6))
    ax = fig.add_axes((0.005, 0.0, 0.99, 0.93))
    ax.set_xlim(0.0, 12.9)
    ax.set_ylim(0.1, 6.2)
    ax.set_axis_off()
    _draw_d_step(ax, cfg)
    ax.plot([6.15, 6.15], [0.3, 6.0], color="#999999", linewidth=0.8, linestyle=":")
    _draw_g_step(ax, cfg, weights, ox=6.6)
    title = "One training iteration (Trainer.train_step): solid arrows forward, dashed gradients"
    if cfg.gan_start > 0:
        title += (
            f"\nbefore step gan_start = {cfg.gan_start}: no D step, and G learns from the mel, "
            "codebook and commitment losses alone"
        )
    fig.suptitle(title, fontsize=9.5, y=0.99, va="top")
    return fig


def _stack_width(width: int) -> int:
    """Frequency bins left after a band's conv stack: three convs of kernel 9, stride 2, padding 4
    (each maps w bins to ceil(w / 2)); the other two convs keep the width."""
    for _ in range(3):
        width = (width + 2 * 4 - 9) // 2 + 1
    return width


def _draw_stft_scale(ax: Axes, config: DiscriminatorConfig, window: int, sample_rate: int) -> None:
    """One STFT scale, left to right: input, complex STFT, one row per band (its bins and Hz, its
    own conv stack), the bands concatenated along frequency, the output conv and its logits."""
    hop, n_bins = window // 4, window // 2 + 1
    bands = [(int(lo * n_bins), int(hi * n_bins)) for lo, hi in config.bands]
    n = len(bands)
    ys = [(n - 1) / 2 - k for k in range(n)]  # band k's row, lowest band on top
    c = config.mrd_channels
    _box(ax, 0, 0, "input x\n(B, 1, T)", IO_COLOUR, height=0.8)
    stft = f"complex STFT\nW = {window}, h = {hop}\n(B, 2, T/{hop}, {n_bins})\nre + im"
    _box(ax, 1.1, 0, stft, QUANTIZER_COLOUR, width=0.95, height=1.2)
    _arrow(ax, (0.39, 0), (0.62, 0))
    widths = []
    for (lo, hi), y in zip(bands, ys):
        khz = f"{lo * sample_rate / window / 1000:.1f}-{(hi - 1) * sample_rate / window / 1000:.1f}"
        _box(ax, 2.5, y, f"bins {lo}-{hi - 1}\n{khz} kHz", IO_COLOUR, width=1.05, height=0.8)
        _arrow(ax, (1.58, 0), (1.97, y))
        widths.append(_stack_width(hi - lo))
        label = f"5 convs, C = {c}\n{hi - lo} → {widths[-1]} bins"
        _box(ax, 3.85, y, label, DECODER_COLOUR, width=1.15, height=0.8)
        _arrow(ax, (3.03, y), (3.27, y))
        _arrow(ax, (4.43, y), (4.92, 0))
    _box(ax, 5.35, 0, f"concat\nalong\nfrequency\n{sum(widths)} bins", ENCODER_COLOUR, 0.85, 1.2)
    _arrow(ax, (5.78, 0), (6.02, 0))
    logits = f"Conv (3, 3)\n{c} → 1\nlogits\n(B, 1, T/{hop}, {sum(widths)})"
    _box(ax, 6.5, 0, logits, ENCODER_COLOUR, width=0.95, height=1.2)
    ax.set_xlim(-0.5, 7.05)
    half = max(n, 3) / 2  # room for the 1.2-high boxes when there are few bands
    ax.set_ylim(-half - 0.05, half + 0.05)
    ax.set_axis_off()
    ms = 1000 * window / sample_rate
    ax.set_title(f"window W = {window} samples ({ms:.1f} ms), hop h = W/4", fontsize=8.5)


def draw_stft_discriminator(
    config: DiscriminatorConfig | None = None, sample_rate: int = 44100
) -> Figure:
    """Draw the multi-band multi-scale complex STFT discriminator of ``config`` (default: the
    official one), one row per window size W in ``config.fft_sizes``.

    Each row: the input ``x (B, 1, T)``; its complex STFT with hop W/4 as ``(B, 2, T/h, W/2 + 1)``
    (real and imaginary parts as two channels); the frequency bins split into the bands of
    ``config.bands`` (bins and Hz at ``sample_rate``); one conv stack of ``config.mrd_channels``
    channels per band, which halves the band's width three times; the bands' outputs concatenated
    along frequency; one output conv to the logits map.

    Returns a ``matplotlib.figure.Figure`` that is not registered with pyplot (no global state).
    """
    if config is None:
        config = DiscriminatorConfig()
    if not isinstance(config, DiscriminatorConfig):
        raise ValueError(
            f"config must be a DiscriminatorConfig or None, got {type(config).__name__}"
        )
    from matplotlib.figure import Figure

    n_rows, n_bands = len(config.fft_sizes), len(config.bands)
    row_height = 0.45 * max(n_bands, 3) + 0.35
    fig = Figure(figsize=(10.5, row_height * n_rows + 0.5))
    axes = fig.subplots(n_rows, 1, squeeze=False)[:, 0]
    for ax, window in zip(axes, config.fft_sizes):
        _draw_stft_scale(ax, config, window, sample_rate)
    fig.suptitle(
        f"Multi-band multi-scale STFT discriminator: windows W = "
        f"{', '.join(map(str, config.fft_sizes))}, {n_bands} bands each, one conv stack per band",
        fontsize=9.5,
    )
    fig.subplots_adjust(
        left=0.01, right=0.99, bottom=0.01, top=1 - 0.6 / fig.get_figheight(), hspace=0.25
    )
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
