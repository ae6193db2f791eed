"""The codec's block diagram, drawn from a ``DACConfig`` (the README's architecture picture).

Nothing here is hand-drawn: every stride, channel count and rate in the picture is read from the
config, so the figure cannot drift from the model. The encoder runs along the top row, the
residual vector quantizer sits at the turn, and the decoder runs back along the bottom row.

    python -m dac_minimal.tools.diagram --out chapters/figures/architecture.png [--preset 44khz]
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dac_minimal.model import PRESETS, DACConfig
from dac_minimal.utils.files import atomic_path

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ENCODER_COLOUR = "#cfe2f3"
QUANTIZER_COLOUR = "#fce5cd"
DECODER_COLOUR = "#d9ead3"
IO_COLOUR = "#eeeeee"
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
    ax.text(x, y, text, ha="center", va="center", fontsize=7.2, linespacing=1.25)


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
