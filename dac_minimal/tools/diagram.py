"""The codec's block diagram, drawn from a ``DACConfig`` (the README's architecture picture), and
the multi-band multi-scale STFT discriminator, drawn from a ``DiscriminatorConfig``.

Nothing here is hand-drawn: every stride, channel count and rate in the picture is read from the
config, so the figure cannot drift from the model. In the codec's diagram the encoder runs along
the top row, the residual vector quantizer sits at the turn, and the decoder runs back along the
bottom row. In the discriminator's, each STFT window size gets a row of its own.

    python -m dac_minimal.tools.diagram --out chapters/figures/architecture.png [--preset 44khz]
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dac_minimal.discriminator import DiscriminatorConfig
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
