# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py//py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. The encoder and the decoder
#
# [Chapters 3](03_vector_quantization.ipynb) and [4](04_residual_vq.ipynb) quantized a latent $z_e$
# with a residual stack of codebooks, but where does that latent come from, and how does it become
# sound again? A codec cannot afford a codebook lookup per sample: 44,100 lookups a second of 10
# bits each would be 441 kbps. So a convolutional **encoder** first trades time for channels,
# turning $f_s$ = 44,100 samples per second into one latent vector every $M = 512$ samples, and a
# convolutional **decoder** turns those frames back into a waveform. Everything the codebooks can
# ever say is bounded by what the encoder puts into a frame and what the decoder can make of it.
#
# ## What you will learn
#
# - how a strided convolution shrinks time by its stride $s$, and a transposed convolution grows it
#   back, exactly;
# - why residual units with dilations $\delta$ = 1, 3, 9 see far with few weights, and leave no
#   gaps;
# - what weight normalisation $w = g \, v / \lVert v \rVert$ does and what it costs in parameters;
# - how to compute the encoder's receptive field and its 76.65M-parameter budget by hand, and check
#   both against the package;
# - why a freshly initialised codec's codebooks collapse, and what the package's variance-preserving
#   initialisation changes.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from book import interact, sizes
from IPython.display import Audio, display
from ipywidgets import IntSlider
from torch import nn

from dac_minimal import DAC, DACConfig, ResidualUnit, WNConv1d, WNConvTranspose1d, count_parameters
from dac_minimal.data import toy_clip
from dac_minimal.layers import init_weights
from dac_minimal.model import Encoder
from dac_minimal.quantize import ResidualVectorQuantize
from dac_minimal.tools.diagram import draw_architecture

# Seconds of audio pushed through the full model (section 5.6) and, per clip, through the encoders
# of section 5.7: the full model is slow on a CPU, and short clips are enough to see shapes.
CLIP_SECONDS, PROBE_SECONDS = sizes((0.3, 0.12), (0.2, 0.12))
torch.manual_seed(0)
rng = np.random.default_rng(0)
SR = 44100
# %matplotlib inline

# %% [markdown]
# Here is the map we are working towards, drawn from the model's own configuration by
# `dac_minimal.tools.diagram.draw_architecture` (the official 44.1 kHz model):

# %%
draw_architecture()

# %% [markdown]
# ## 5.1 Strided convolutions: $T \to T/s$
#
# A 1-D convolution with kernel size $\kappa$, stride $s$, padding $P$ and dilation $\delta$ maps
# $N$ input samples to
#
# $$N_\text{out} = \left\lfloor \frac{N + 2P - \delta\,(\kappa-1) - 1}{s} \right\rfloor + 1 .$$
#
# Each encoder block ends with a convolution of kernel $\kappa = 2s$, stride $s$ and padding
# $P = \lceil s/2 \rceil$. For even $s$ that is $\lfloor (N + s - 2s - 1)/s \rfloor + 1 = N/s$
# whenever $s$ divides $N$: the block keeps one frame for every $s$ samples, and each frame looks at
# $2s$ samples, so neighbouring frames overlap by half. Let us write the formula and check it
# against PyTorch.


# %%
def conv_out_len(
    length: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of nn.Conv1d (PyTorch's documented formula)."""
    return (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


for stride in (2, 4, 8, 5):
    length = 40 * stride
    conv = nn.Conv1d(1, 1, kernel_size=2 * stride, stride=stride, padding=math.ceil(stride / 2))
    measured = conv(torch.zeros(1, 1, length)).shape[-1]
    predicted = conv_out_len(length, 2 * stride, stride, math.ceil(stride / 2))
    assert measured == predicted == length // stride
    print(f"stride {stride}: {length} samples -> {measured} frames")

# %% [markdown]
# Four blocks with strides $[2, 4, 8, 8]$ shrink time by $M = 2 \cdot 4 \cdot 8 \cdot 8 = 512$: the
# **hop**. At 44.1 kHz that is $f_s / M \approx 86.13$ frames per second, and with 9 codebooks of 10
# bits, the 7.75 kbps of [chapter 1](01_audio_and_tokens.ipynb).
#
# **Reading a paper critically.** The report says that "the encoder has 4 such layers, each
# downsampling the input audio waveform at a rate of [2, 4, 4, 8, 8]", and that the decoder "has 4
# such layers" with rates "[8, 8, 4, 4, 2]": four layers, five rates. The report's other numbers
# decide which part is the slip. Five blocks with those rates would give a hop of 2048 samples, a
# quarter of the frame rate and of the bitrate, while the report states 8 kbps throughout; four
# blocks with $[2, 4, 8, 8]$ give the 7.75 kbps (the "8 kbps") the report claims, and they also give
# the 22M/54M encoder/decoder split it states, which section 5.5 recomputes. The cell below does the
# arithmetic for both readings.

# %%
strides = (2, 4, 8, 8)
hop = math.prod(strides)
assert hop == 512
for name, rates in (
    ("four blocks [2, 4, 8, 8]", strides),
    ("five rates [2, 4, 4, 8, 8]", (2, 4, 4, 8, 8)),
):
    m = math.prod(rates)
    print(f"{name:27s}: hop {m:4d}, {SR / m:6.2f} frames/s, {SR / m * 9 * 10 / 1000:.2f} kbps")

# %% [markdown]
# A length that is not a multiple of 512 would lose its tail to the floor in the formula, so
# `DAC.preprocess` first right-pads the input with zeros to $\lceil T/M \rceil \cdot M$ samples.
# Turn the slider to follow an input through the encoder.


# %%
def encoder_lengths(length: int = 44100) -> None:
    padded = math.ceil(length / hop) * hop
    print(f"input {length} samples -> padded to {padded}")
    current = padded
    for stride in strides:
        nxt = conv_out_len(current, 2 * stride, stride, math.ceil(stride / 2))
        print(f"  stride {stride}: {current:6d} -> {nxt:6d}")
        current = nxt
    assert current == math.ceil(length / hop)
    print(f"{current} frames = ceil({length} / {hop})")


_ = interact(encoder_lengths, length=IntSlider(value=44100, min=1, max=3 * 44100, step=1))

# %% [markdown]
# ### Transposed convolutions: $L \to L \cdot s$
#
# The decoder runs the arithmetic backwards with **transposed convolutions** (each input frame
# "paints" a kernel-sized stretch of the output, $s$ samples apart):
#
# $$N_\text{out} = (N - 1)\,s - 2P + \delta\,(\kappa - 1) + P_\text{out} + 1 .$$
#
# With $\kappa = 2s$ and $P = s/2$ (even $s$): $(N-1)s - s + 2s - 1 + 1 = N s$ exactly. For an odd
# stride such as the 5 in the 16 and 24 kHz models, $P = \lceil s/2 \rceil$ gives one sample too
# few, which the package fixes with `output_padding` $P_\text{out} = 1$ (it adds no weights).


# %%
def conv_transpose_out_len(
    length: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    output_padding: int = 0,
) -> int:
    """Output length of nn.ConvTranspose1d."""
    return (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


for stride in (8, 4, 2, 5):
    frames = 10
    pad, out_pad = math.ceil(stride / 2), stride % 2
    up = nn.ConvTranspose1d(1, 1, 2 * stride, stride, padding=pad, output_padding=out_pad)
    measured = up(torch.zeros(1, 1, frames)).shape[-1]
    assert measured == conv_transpose_out_len(
        frames, 2 * stride, stride, pad, output_padding=out_pad
    )
    assert measured == frames * stride
    print(f"stride {stride}: {frames} frames -> {measured} samples")
assert conv_transpose_out_len(10, 10, 5, 3) == 49  # without output_padding: one short

# %% [markdown]
# ## 5.2 Residual units with dilations 1, 3, 9
#
# Before each downsampling (and after each upsampling) sit three **residual units**:
#
# $$y = x + \mathrm{Conv}_{1\times1}\big(\mathrm{Snake}(\mathrm{Conv}_{\kappa=7,\,\delta}
# (\mathrm{Snake}(x)))\big), \qquad \delta \in \{1, 3, 9\}.$$
#
# A kernel of 7 taps with **dilation** $\delta$ looks at samples $\delta$ apart, so it spans
# $6\delta + 1$ samples with only 7 weights per channel pair. Stacking $\delta = 1, 3, 9$ covers $1
# + 6(1 + 3 + 9) = 79$ samples, and because $3 = 1 \cdot 3$ and $9 = 3 \cdot 3$ the taps tile that
# span without leaving gaps. Padding $3\delta$ keeps the length, so the skip connection $x$ can be
# added unchanged.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for row, dil in enumerate((1, 3, 9)):
    taps = np.arange(-3, 4) * dil
    axes[0].stem(taps, np.full(7, 3 - row), basefmt=" ", label=f"δ = {dil}: spans {6 * dil + 1}")
axes[0].set(xlabel="offset (samples)", yticks=[], title="taps of a 7-tap kernel at dilation δ")
axes[0].legend(fontsize=8, loc="upper right")

# Which inputs can reach the centre output after the three units? Follow them back, unit by unit.
reach = np.zeros(121)
reach[60] = 1
for dil in (9, 3, 1):
    kernel = np.zeros(6 * dil + 1)
    kernel[::dil] = 1
    reach = np.convolve(reach, kernel, mode="same") > 0
offsets = np.arange(121) - 60
axes[1].bar(offsets, reach, width=1.0, color="tab:green")
axes[1].set(
    xlabel="input offset (samples)",
    yticks=[],
    title=f"three units reach {int(reach.sum())} samples",
)
plt.tight_layout()
plt.show()
assert reach.sum() == 79 and reach[offsets == -39].all() and not reach[offsets == -40].any()

# %% [markdown]
# The package's `ResidualUnit` is exactly this. We check two things: the length is kept, and the
# three units together reach 79 samples, by asking autograd which inputs the centre output depends
# on.

# %%
units = nn.Sequential(*(ResidualUnit(4, dilation=dil) for dil in (1, 3, 9)))
x = torch.randn(1, 4, 201, requires_grad=True)
y = units(x)
assert y.shape == x.shape
(grad,) = torch.autograd.grad(y[0, :, 100].sum(), x)
depends = grad.abs().sum(dim=1)[0] > 0
span = depends.nonzero().squeeze()
print(
    f"centre output depends on inputs {span.min().item()}..{span.max().item()}: "
    f"{depends.sum().item()} samples"
)
assert depends.sum() == 79 and span.min() == 100 - 39 and span.max() == 100 + 39

# %% [markdown]
# ## 5.3 Weight normalisation: $w = g \cdot v / \lVert v \rVert$
#
# Every convolution in the generator is **weight-normalised** (Salimans & Kingma, 2016). Instead of
# learning the kernel $w$ directly, each output channel learns a direction $v$ and a length $g$:
#
# $$w = g \, \frac{v}{\lVert v \rVert},$$
#
# where the norm runs over everything but the output channel (input channels and taps). The length
# of each filter is then one scalar that the optimiser moves on its own, which keeps deep GAN
# generators well conditioned. PyTorch stores $g$ as `original0` and $v$ as `original1`. Let us
# rebuild $w$ by hand.

# %%
conv = WNConv1d(4, 3, kernel_size=5)
g = conv.parametrizations.weight.original0  # (C_out, 1, 1)
v = conv.parametrizations.weight.original1  # (C_out, C_in, kernel)
w = g * v / v.norm(dim=(1, 2), keepdim=True)
torch.testing.assert_close(w, conv.weight)
print("g:", tuple(g.shape), " v:", tuple(v.shape), " w:", tuple(conv.weight.shape))

# Scaling v does not change w: only g sets the length of a filter.
with torch.no_grad():
    v.mul_(10.0)
torch.testing.assert_close(g * v / v.norm(dim=(1, 2), keepdim=True), conv.weight)
torch.testing.assert_close(conv.weight.norm(dim=(1, 2)), g.flatten())

# %% [markdown]
# Two details matter later. First, $g$ is a parameter too, so a weight-normalised conv with
# $C_\text{out}$ output channels has $C_\text{out}$ more parameters than a plain one (the official
# counts include them). Second, PyTorch normalises over dimension 0 of the stored weight, and a
# transposed convolution stores its weight as $(C_\text{in}, C_\text{out}, \kappa)$: there $g$ has
# one entry per **input** channel.

# %%
up = WNConvTranspose1d(16, 8, kernel_size=4, stride=2, padding=1)
g_up, v_up = up.parametrizations.weight.original0, up.parametrizations.weight.original1
assert g_up.shape == (16, 1, 1) and v_up.shape == (16, 8, 4)
torch.testing.assert_close(g_up * v_up / v_up.norm(dim=(1, 2), keepdim=True), up.weight)

# %% [markdown]
# ## 5.4 The receptive field of the encoder
#
# How many input samples does one latent frame $z_e[:, j]$ depend on? Walk through the layers
# keeping three numbers, all in input samples: the **jump** $J$ between neighbouring positions of
# the current layer, the **size** $R$ of what one position sees, and the **start** $o$ of what
# position 0 sees. A layer with kernel $\kappa$, dilation $\delta$, stride $s$ and padding $P$
# updates them as
#
# $$R \leftarrow R + \delta\,(\kappa-1)\,J, \quad o \leftarrow o - P\,J, \quad J \leftarrow s\,J .$$
#
# A residual unit counts as its 7-tap dilated conv (the $1\times1$ conv and the skip path add
# nothing).


# %%
def encoder_layers(rates=(2, 4, 8, 8)) -> list[tuple[str, int, int, int, int]]:
    """(name, kernel, stride, dilation, padding) of every layer that widens the view, in order."""
    layers = [("conv in", 7, 1, 1, 3)]
    for b, s in enumerate(rates, start=1):
        layers += [(f"block {b} res δ={dil}", 7, 1, dil, 3 * dil) for dil in (1, 3, 9)]
        layers.append((f"block {b} down /{s}", 2 * s, s, 1, math.ceil(s / 2)))
    layers.append(("conv out", 3, 1, 1, 1))
    return layers


def receptive_field(layers) -> list[tuple[str, int, int, int]]:
    """(name, jump J, size R, start o) after each layer, in input samples."""
    jump, size, start, rows = 1, 1, 0, []
    for name, kernel, s, dil, pad in layers:
        size += dil * (kernel - 1) * jump
        start -= pad * jump
        jump *= s
        rows.append((name, jump, size, start))
    return rows


rows = receptive_field(encoder_layers())
print(f"{'layer':22s} {'jump J':>7s} {'size R':>7s} {'ms':>7s}")
for name, jump, size, _ in rows:
    print(f"{name:22s} {jump:7d} {size:7d} {1000 * size / SR:7.1f}")
_, JUMP, RF, START = rows[-1]
assert JUMP == 512
print(
    f"one latent frame sees {RF} samples ({1000 * RF / SR:.0f} ms); frames are {JUMP} samples "
    f"({1000 * JUMP / SR:.1f} ms) apart, so each frame's view spans {RF / JUMP:.1f} hops"
)

# %% [markdown]
# Each frame summarises a neighbourhood many hops wide (the last line above). Most of that width is
# bought by the dilated units of the last block, which run at a jump of 64 samples.
#
# **Checking it.** The tiny preset has the same kernels, strides and dilations (only fewer
# channels), so it has the same receptive field. We take the gradient of one latent frame with
# respect to the input: it is nonzero exactly where the frame looks. We also perturb one input
# sample and see which frames change.

# %%
tiny = DAC.from_preset("tiny").eval()
n_frames = 40
x = (torch.randn(1, 1, n_frames * hop) * 0.1).requires_grad_()
frame = n_frames // 2
(grad,) = torch.autograd.grad(tiny.encoder(x)[0, :, frame].sum(), x)
support = grad[0, 0].nonzero().squeeze()
first, last = support.min().item(), support.max().item()
print(f"frame {frame} depends on samples {first}..{last}: {last - first + 1} samples")
assert last - first + 1 == RF
assert first == START + frame * JUMP and last == START + frame * JUMP + RF - 1

# Perturb one sample: the frames whose view contains it change, the others do not.
t0 = 10_000
with torch.no_grad():
    z_ref = tiny.encoder(x)
    x_pert = x.detach().clone()
    x_pert[0, 0, t0] += 1.0
    changed = (tiny.encoder(x_pert) - z_ref).abs().amax(dim=1)[0] > 0
expected = [j for j in range(n_frames) if START + j * JUMP <= t0 <= START + j * JUMP + RF - 1]
assert changed.nonzero().flatten().tolist() == expected
print(f"perturbing sample {t0} changes frames {expected}")

# The effective view: the narrowest centred window that holds 90 % of the gradient's mass.
mass = grad[0, 0, first : last + 1].abs()
centre = (first + last) // 2 - first
half = next(
    h
    for h in range(len(mass))
    if mass[max(centre - h, 0) : centre + h + 1].sum() >= 0.9 * mass.sum()
)
print(f"90 % of the gradient lies within ±{half} samples: {1000 * (2 * half + 1) / SR:.0f} ms")

fig, axes = plt.subplots(1, 2, figsize=(10, 3))
axes[0].semilogy(
    np.arange(first, last + 1) - frame * JUMP, grad[0, 0, first : last + 1].abs() + 1e-12, lw=0.5
)
axes[0].set(
    xlabel=f"input sample - {frame} x hop", ylabel="|dz / dx|", title="what one latent frame sees"
)
axes[1].bar(range(n_frames), changed.float(), color="tab:orange")
axes[1].set(xlabel="latent frame", yticks=[], title=f"frames changed by sample {t0}")
plt.tight_layout()
plt.show()

# %% [markdown]
# The left panel shows the **effective** receptive field: the gradient is largest near the centre
# and falls by orders of magnitude towards the edges, because the outer samples reach the frame
# through far fewer paths (only through the outermost taps of the widest dilated kernels). The frame
# can see its whole window, but at initialisation most of its sensitivity sits in the central part
# that the cell above measures.
#
# ## 5.5 The parameter budget, layer by layer
#
# A weight-normalised convolution with $C_\text{in}$ inputs, $C_\text{out}$ outputs and kernel
# $\kappa$ holds
#
# $$\underbrace{C_\text{in}\, C_\text{out}\, \kappa}_{v} + \underbrace{C_\text{out}}_{\text{bias}}
#   + \underbrace{C_\text{out}}_{g} \quad\text{parameters}$$
#
# ($g$ has $C_\text{in}$ entries for a transposed conv, as we saw). A Snake has one $\alpha$ per
# channel. That is all we need to count the whole model by hand.


# %%
def conv_params(c_in: int, c_out: int, kernel: int, transposed: bool = False) -> int:
    """Weights v, bias, and weight-norm gains g of one weight-normalised convolution."""
    return c_in * c_out * kernel + c_out + (c_in if transposed else c_out)


def residual_unit_params(c: int) -> int:
    """Two Snakes, the 7-tap conv and the 1x1 conv."""
    return 2 * c + conv_params(c, c, 7) + conv_params(c, c, 1)


def encoder_budget(cfg: DACConfig) -> dict[str, int]:
    dim = cfg.encoder_dim
    parts = {"enc conv in": conv_params(1, dim, 7)}
    for b, s in enumerate(cfg.encoder_rates, start=1):
        parts[f"enc block {b}"] = (
            3 * residual_unit_params(dim) + dim + conv_params(dim, 2 * dim, 2 * s)
        )
        dim *= 2
    parts["enc conv out"] = dim + conv_params(dim, cfg.latent_dim, 3)
    return parts


def quantizer_budget(cfg: DACConfig) -> dict[str, int]:
    """Per codebook: the 1x1 projections C -> d and d -> C, and the K x d codebook."""
    one = conv_params(cfg.latent_dim, cfg.codebook_dim, 1)
    one += conv_params(cfg.codebook_dim, cfg.latent_dim, 1)
    return {"quantizer": cfg.n_codebooks * (one + cfg.codebook_size * cfg.codebook_dim)}


def decoder_budget(cfg: DACConfig) -> dict[str, int]:
    dim = cfg.decoder_dim
    parts = {"dec conv in": conv_params(cfg.latent_dim, dim, 7)}
    for b, s in enumerate(cfg.decoder_rates, start=1):
        upsample = conv_params(dim, dim // 2, 2 * s, transposed=True)
        parts[f"dec block {b}"] = dim + upsample + 3 * residual_unit_params(dim // 2)
        dim //= 2
    parts["dec conv out"] = dim + conv_params(dim, 1, 7)
    return parts


cfg = DACConfig()
budget = {**encoder_budget(cfg), **quantizer_budget(cfg), **decoder_budget(cfg)}
enc_total = sum(encoder_budget(cfg).values())
dec_total = sum(decoder_budget(cfg).values())
q_total = budget["quantizer"]
total = sum(budget.values())
print(
    f"encoder {enc_total / 1e6:.2f}M, quantizer {q_total / 1e6:.2f}M, "
    f"decoder {dec_total / 1e6:.2f}M, total {total / 1e6:.2f}M"
)

# %% [markdown]
# Now the real thing: `DAC()` builds the official 44.1 kHz model. We compare every block of our hand
# count with `count_parameters` of the corresponding module, then the totals with the published
# ones.

# %%
torch.manual_seed(0)
model = DAC().eval()
modules = [
    model.encoder.block[0],
    *model.encoder.block[1:5],
    nn.ModuleList(model.encoder.block[5:]),
    model.quantizer,
    model.decoder.model[0],
    *model.decoder.model[1:5],
    nn.ModuleList(model.decoder.model[5:]),
]
for (name, counted), module in zip(budget.items(), modules):
    assert counted == count_parameters(module), name
assert enc_total == count_parameters(model.encoder) and dec_total == count_parameters(model.decoder)
assert q_total == count_parameters(model.quantizer) and total == count_parameters(model)
millions = tuple(round(n / 1e6, 2) for n in (enc_total, dec_total, q_total, total))
assert millions == (22.31, 54.10, 0.24, 76.65)

fig, ax = plt.subplots(figsize=(10, 3.5))
colours = ["tab:blue"] * 6 + ["tab:orange"] + ["tab:green"] * 6
ax.bar(range(len(budget)), np.array(list(budget.values())) / 1e6, color=colours)
ax.set_xticks(range(len(budget)), list(budget), rotation=45, ha="right", fontsize=8)
ax.set(
    ylabel="parameters (millions)",
    title=f"DAC 44.1 kHz: encoder {enc_total / 1e6:.2f}M, quantizer {q_total / 1e6:.2f}M, "
    f"decoder {dec_total / 1e6:.2f}M",
)
plt.tight_layout()
plt.show()

# %% [markdown]
# The budget is lopsided, and the formula says why: a conv's weights grow with $C_\text{in}
# C_\text{out}$, so the wide end of each network dominates. Encoder block 4 works at 512 → 1024
# channels and holds most of the encoder; decoder block 1 works at 1536 → 768 channels and holds
# most of the decoder. The decoder is the bigger half because it starts wider (1536 vs 1024
# channels): the designers spent more capacity on generating the waveform than on summarising it.
# The quantizer, nine codebooks of $1024 \times 8$ plus their projections, is a rounding error.
#
# ## 5.6 The full model on a clip
#
# Let us push a short music-like clip from the toy corpus through the untrained 44.1 kHz model. Its
# weights are random, so **the output is not a reconstruction**: expect quiet, noise-like sound.
# What we can check is the plumbing: shapes, frame count, the codes, and that the output has exactly
# the input's length.

# %%
clip = toy_clip("music", seconds=CLIP_SECONDS, seed=0)
x = torch.from_numpy(clip)[None, None]  # (B, 1, T)
with torch.no_grad():
    out = model(x)
T = x.shape[-1]
L = math.ceil(T / hop)
print(
    f"input {tuple(x.shape)} -> z {tuple(out.z.shape)} -> codes {tuple(out.codes.shape)} "
    f"-> audio {tuple(out.audio.shape)}"
)
assert out.z.shape == (1, 1024, L) and out.codes.shape == (1, 9, L)
assert out.audio.shape == x.shape and out.codes.dtype == torch.int64
print(f"bitrate with all {model.n_codebooks} codebooks: {model.bitrate() / 1000:.2f} kbps")
print(f"input rms {x.pow(2).mean().sqrt():.3f}, output rms {out.audio.pow(2).mean().sqrt():.3f}")


# %%
def show_pair(original: torch.Tensor, recon: torch.Tensor, title: str) -> None:
    """Waveforms and log spectrograms of an input and a model's output."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8))
    t = np.arange(original.shape[-1]) / SR
    axes[0].plot(t, original.flatten(), lw=0.5, label="input")
    axes[0].plot(t, recon.flatten(), lw=0.5, label="output", alpha=0.8)
    axes[0].set(xlabel="time (s)", title="waveforms")
    axes[0].legend(fontsize=8)
    for ax, sig, name in ((axes[1], original, "input"), (axes[2], recon, f"output ({title})")):
        ax.specgram(sig.flatten().numpy(), NFFT=512, Fs=SR, noverlap=384, cmap="magma", vmin=-160)
        ax.set(xlabel="time (s)", ylabel="Hz", title=name)
    plt.tight_layout()
    plt.show()


show_pair(x, out.audio, "untrained 44.1 kHz model")
display(Audio(x.flatten().numpy(), rate=SR), Audio(out.audio.flatten().numpy(), rate=SR))

# %% [markdown]
# The output's level has nothing to do with the input's (the two are printed above), and it has
# none of the input's harmonic lines: an untrained decoder does not know what audio looks like yet.
# [Chapter 7](07_losses.ipynb) supplies the losses that teach it, and chapter 8 uses them.
#
# ### The tiny preset
#
# The `tiny` preset keeps everything that sets the *shape* of the codec: rate, strides, kernels,
# dilations, 9 codebooks of 1024 entries, so the hop, frame rate, receptive field and bitrate are
# the same. Only the widths shrink (encoder 8 channels instead of 64, latent 64 instead of 1024,
# decoder 96 instead of 1536). Since parameters grow with the square of the width, that divides the
# model by about two orders of magnitude; the cell prints the ratio.

# %%
torch.manual_seed(0)
tiny = DAC.from_preset("tiny").eval()
tiny_cfg = tiny.config
tiny_budget = {**encoder_budget(tiny_cfg), **quantizer_budget(tiny_cfg), **decoder_budget(tiny_cfg)}
assert sum(tiny_budget.values()) == count_parameters(tiny)
assert tiny.hop_length == model.hop_length and tiny.bitrate() == model.bitrate()
assert receptive_field(encoder_layers(tiny_cfg.encoder_rates))[-1][2] == RF
ratio = count_parameters(model) / count_parameters(tiny)
print(f"tiny: {count_parameters(tiny):,} parameters ({ratio:.0f}x fewer)")

with torch.no_grad():
    out_tiny = tiny(x)
assert out_tiny.codes.shape == out.codes.shape and out_tiny.audio.shape == x.shape
show_pair(x, out_tiny.audio, "untrained tiny model")
display(Audio(out_tiny.audio.flatten().numpy(), rate=SR))

# %% [markdown]
# The untrained tiny model's output carries **tones at multiples of $44100/8 \approx 5.5$ kHz**
# (the horizontal lines). They are the signature of upsampling: after the second decoder block
# the signal runs at $T/8$, and the last two transposed convolutions paint their kernels on a grid
# of 8 output samples, so any pattern they leave repeats every 8 samples (the "checkerboard"
# artifact of transposed convolutions, Odena et al., 2016). Training must learn to hide that grid.
# Let us confirm where the strongest tone sits:

# %%
y = out_tiny.audio.flatten().numpy()
spectrum = np.abs(np.fft.rfft((y - y.mean()) * np.hanning(len(y))))
freqs = np.fft.rfftfreq(len(y), 1 / SR)
peak = freqs[np.argmax(spectrum)]
grid = SR / 8
print(f"strongest tone: {peak:.0f} Hz = {peak / grid:.2f} x {grid:.1f} Hz")
assert abs(peak / grid - round(peak / grid)) * grid < 20 and round(peak / grid) >= 1

# %% [markdown]
# And the map of the tiny codec, drawn from its configuration: the same strides, hop, frame rate and
# bitrate as the full model, with narrower boxes.

# %%
draw_architecture(tiny_cfg)

# %% [markdown]
# ## 5.7 Why a young codec's codebooks collapse, and the initialisation
#
# [Chapter 3](03_vector_quantization.ipynb) watched a codebook collapse: the entries that win the
# lookup early are the only ones the codebook loss moves, so they win even more, and the rest never
# move again. They are **dead codes**, and **utilization**, the share of entries in use, falls. A
# codec can be pushed into that spiral before it has learned anything, by the scale of what its
# freshly initialised encoder hands the codebooks.
#
# Codebook 1 does not look up $z_e$ itself but its projection to $d = 8$ dimensions,
# $\tilde z_t = W_\text{in}\, z_e[:, t] + b_\text{in}$, and compares only its *direction* with the
# entries (cosine lookup). Split what any layer outputs into two parts: the **variation**, what
# changes from frame to frame with the input, and the **offset**, the average over time, which every
# bias in the network adds to and which is nearly the same for every input. The lookup can tell two
# frames apart only through the variation. If the offset is much larger, every $\tilde z_t$ points
# nearly the same way, every frame picks one of a few entries, and only those few entries learn.
#
# So the question is: at initialisation, how large are the variation and the offset of $z_e$ and of
# $\tilde z$? We compare two ways to draw the weights of the same encoder and quantizer:
#
# - **PyTorch's default init**, what a `Conv1d` gets when nothing else is done: weights and biases
#   uniform, biases up to $1/\sqrt{\text{fan-in}}$. It is what the official model effectively starts
#   from (the `init_weights` docstring in `dac_minimal/layers.py` explains why its truncated-normal
#   recipe does not take effect under the weight normalisation it uses);
# - the package's **variance-preserving init**, `dac_minimal.layers.init_weights`: truncated normal
#   weights of variance $1/\text{fan-in}$, so that a conv keeps the scale of its input, zero biases,
#   and each residual branch started at a tenth of its scale so that the skip paths carry the signal
#   at first. `DAC` applies it to every conv.
#
# We measure both for the two configs, the tiny one and the official 44.1 kHz one, layer by layer
# through the encoder, on three toy clips (speech, music, general sound).

# %%
probe = torch.stack(
    [
        torch.from_numpy(toy_clip(d, seconds=PROBE_SECONDS, seed=1))
        for d in ("speech", "music", "general")
    ]
)[:, None]  # (B, 1, T)


def fresh_encoder_and_quantizer(cfg: DACConfig, variance_preserving: bool):
    """A fresh encoder and quantizer for ``cfg``: PyTorch's default init or the package's."""
    encoder = Encoder(cfg.encoder_dim, cfg.encoder_rates, cfg.latent_dim)
    quantizer = ResidualVectorQuantize(
        cfg.latent_dim, cfg.n_codebooks, cfg.codebook_size, cfg.codebook_dim
    )
    if variance_preserving:
        encoder.apply(init_weights)
        quantizer.apply(init_weights)
    return encoder.eval(), quantizer.eval()


def variation_and_offset(h: torch.Tensor) -> tuple[float, float]:
    """RMS of what changes over time (h minus its time average) and RMS of the time average."""
    offset = h.mean(dim=-1, keepdim=True)
    return (h - offset).pow(2).mean().sqrt().item(), offset.pow(2).mean().sqrt().item()


@torch.no_grad()
def probe_front(encoder, quantizer, x: torch.Tensor) -> dict:
    """Variation and offset after each top-level encoder layer, of z_e and of codebook 1's input."""
    trace, h = [], x
    for layer in encoder.block:
        h = layer(h)
        trace.append(variation_and_offset(h))
    z_tilde = quantizer.quantizers[0].in_proj(h)  # (B, d, L): what codebook 1 compares
    unit = F.normalize(z_tilde.transpose(1, 2).reshape(-1, z_tilde.shape[1]), dim=-1)
    n = len(unit)
    cosine = ((unit @ unit.T).sum() - n) / (n * (n - 1))  # mean over pairs of distinct frames
    codes = quantizer(h).codes  # (B, n_q, L)
    used = [c.unique().numel() for c in codes.transpose(0, 1).reshape(codes.shape[1], -1)]
    return dict(
        trace=trace,
        z_e=trace[-1],
        z_tilde=variation_and_offset(z_tilde),
        cosine=cosine.item(),
        used=used,
        frames=n,
        z=h,
    )


fronts, results = {}, {}
for preset, cfg_ in (("tiny", tiny_cfg), ("44khz", cfg)):
    for vp in (False, True):
        torch.manual_seed(0)
        if preset == "44khz" and vp:  # section 5.5's model, built by DAC() with init_weights
            fronts[preset, vp] = (model.encoder, model.quantizer)
        else:
            fronts[preset, vp] = fresh_encoder_and_quantizer(cfg_, vp)
        results[preset, vp] = probe_front(*fronts[preset, vp], probe)

print(f"input: {tuple(probe.shape)}, rms {probe.pow(2).mean().sqrt():.3f}")
print(
    f"{'config':6s} {'init':19s} {'z_e var':>8s} {'offset':>8s} {'z~ var':>8s} {'offset':>8s}"
    f" {'cos':>5s}  entries chosen by codebook 1 (of {results['tiny', True]['frames']} frames)"
)
for (preset, vp), r in results.items():
    print(
        f"{preset:6s} {'variance-preserving' if vp else 'PyTorch default':19s} "
        f"{r['z_e'][0]:8.1e} {r['z_e'][1]:8.1e} {r['z_tilde'][0]:8.1e} {r['z_tilde'][1]:8.1e} "
        f"{r['cosine']:5.2f}  {r['used'][0]}"
    )
for preset in ("tiny", "44khz"):
    default, vp = results[preset, False], results[preset, True]
    assert default["z_tilde"][1] > default["z_tilde"][0] and vp["z_tilde"][1] < vp["z_tilde"][0]
    assert vp["used"][0] > 2 * default["used"][0] and vp["cosine"] < default["cosine"]
    assert default["trace"][0][1] > default["trace"][0][0]  # the first conv's biases, section text
    assert vp["z_e"][0] > probe.pow(2).mean().sqrt() / 4  # the variation keeps its scale

# %% [markdown]
# Read the table row by row (`var` is the variation, `offset` the offset, `z~` is $\tilde z$, `cos`
# the mean cosine similarity between two different frames' $\tilde z$). Under the default init the
# offset is larger than the variation, both in $z_e$ and in what codebook 1 sees, so the frames'
# vectors point nearly the same way (a mean cosine close to 1) and codebook 1 chooses few distinct
# entries for all the frames. Under the variance-preserving init the offset is the smaller part, the
# frames point in unrelated directions (a mean cosine near 0), and codebook 1 chooses a different
# entry for most frames. The same holds for both configs: it is a property of the recipe, not of the
# width. The layer-by-layer trace shows where the offset comes from:

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
names = ["conv in"] + [f"block {b}" for b in range(1, 5)] + ["Snake", "conv out"]
for ax, preset in zip(axes, ("tiny", "44khz")):
    for vp, colour in ((False, "tab:red"), (True, "tab:blue")):
        trace = np.array(results[preset, vp]["trace"])
        label = "variance-preserving" if vp else "PyTorch default"
        ax.semilogy(trace[:, 0], color=colour, marker="o", label=f"{label}: variation")
        ax.semilogy(trace[:, 1], color=colour, marker="x", ls="--", label=f"{label}: offset")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set(title=f"{preset}: the encoder at initialisation")
axes[0].set_ylabel("RMS")
axes[0].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# Under the default init the very first conv already adds an offset larger than the variation (its
# biases are drawn as large as $1/\sqrt{\text{fan-in}}$, while the signal it convolves is quiet
# audio), and every later conv adds biases of its own. Under the variance-preserving init the biases
# start at zero and the only offset is the one Snake creates ($\sin^2$ is never negative, so it
# shifts the mean up a little); the variation keeps roughly the input's scale through all the
# blocks.
#
# **What happens in training.** Even where the variance-preserving init starts well, it has a
# margin, not a guarantee. Adam moves every parameter by about the learning rate per step at first,
# whatever the size of its gradient, so after $n$ steps a bias such as $b_\text{in}$ may have moved
# by up to $n \cdot \text{lr}$ in each coordinate, adding to the offset. The next cell adds such a
# drift along the direction of the existing offset to the tiny codec's $\tilde z$ and counts the
# entries codebook 1 still chooses, for the official learning rate $10^{-4}$.

# %%
LR = 1e-4
steps = np.unique(np.round(np.logspace(0, 4, 25)).astype(int))
chosen = {}
for vp in (False, True):
    vq = fronts["tiny", vp][1].quantizers[0]
    with torch.no_grad():
        z_tilde = vq.in_proj(results["tiny", vp]["z"])
        direction = torch.sign(z_tilde.mean(dim=(0, 2)))[None, :, None]
        chosen[vp] = [vq.nearest(z_tilde + n * LR * direction).unique().numel() for n in steps]

fig, ax = plt.subplots(figsize=(7, 3))
ax.semilogx(steps, chosen[False], color="tab:red", marker=".", label="PyTorch default")
ax.semilogx(steps, chosen[True], color="tab:blue", marker=".", label="variance-preserving")
ax.set(
    xlabel=f"Adam steps n (bias drift n x {LR:g} per coordinate)",
    ylabel="entries chosen",
    title=f"tiny codec, codebook 1, {results['tiny', True]['frames']} frames",
)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
margin = results["tiny", True]["z_tilde"][0] / LR
half = next((n for n, c in zip(steps, chosen[True]) if c < chosen[True][0] / 2), None)
print(f"variation of z~ / lr = {margin:.0f} steps; the count halves after about {half} steps")
assert chosen[True][0] > chosen[False][0] and chosen[True][-1] < chosen[True][0]

# %% [markdown]
# The default init is collapsed before the first step: its count is low at $n = 1$ and only falls
# from there. The variance-preserving init keeps its spread for as many steps as it takes the drift
# to reach the size of the variation (the ratio printed above, in steps), then collapses the same
# way. What saves it in a real run is that the encoder is learning during those steps: the
# reconstruction loss makes the variation of $z_e$ carry the input, and the codebook loss spreads
# the many entries that are being chosen across the data. The default init never gets that chance:
# with a handful of entries chosen from the start, the rest receive no gradient and stay dead
# (chapter 3's spiral), and utilization is low from step 0.
#
# The package therefore departs from the official code here (the README lists the initialisation
# among its departures): `DAC.__init__` applies `init_weights`, and codes are spread from the first
# step. Chapter 3's factorized, L2-normalised lookup, which both rows of the table already use, and
# the dead-code revival of the tiny CPU recipe (`dac_minimal.quantize.CodeReviver`, [chapter
# 8](08_training.ipynb)) are the other two defences; exercise 5.7 puts the three side by side in
# training.
#
# ## Key takeaways
#
# - A conv with kernel $2s$, stride $s$ and padding $\lceil s/2 \rceil$ maps $N$ samples to $N/s$
#   frames, and the matching transposed conv (with `output_padding` for odd $s$) maps them back:
#   four blocks with strides $[2, 4, 8, 8]$ give the hop $M = 512$ and 86.13 frames per second.
# - Residual units with dilations $\delta$ = 1, 3, 9 reach 79 samples without gaps; through the
#   four blocks, one latent frame sees thousands of samples, while most of its sensitivity sits near
#   its centre.
# - Weight normalisation $w = g\,v/\lVert v \rVert$ separates each filter's length from its
#   direction and adds one gain per output channel (per input channel for a transposed conv).
# - The 76.65M parameters follow from $C_\text{in} C_\text{out} \kappa$ per conv: the wide ends
#   dominate, and the decoder (54.10M) outweighs the encoder (22.31M); the tiny preset keeps every
#   shape and divides the widths.
# - Under PyTorch's default init the offset that biases add outweighs the frame-to-frame variation
#   of what the codebooks see, so every frame points the same way and most entries are dead from the
#   start; the variance-preserving init keeps the variation on top.
#
# ## Exercises
#
# ### Exercise 5.1 (★★) The 24 kHz model
#
# The 24 kHz model uses encoder strides $[2, 4, 5, 8]$. Using only `conv_out_len`,
# `receptive_field` and `encoder_layers` from this chapter, compute its hop, frame rate and
# receptive field (in samples and ms). Check the hop against `DACConfig` without building a model.
#
# [Solution](solutions/05_encoder_decoder.ipynb)
#
# ### Exercise 5.2 (★★) A narrower decoder
#
# Predict, with `decoder_budget`, how many parameters the decoder would have with
# `decoder_dim=1024` instead of 1536. Is it close to $(1024/1536)^2$ of the full decoder? Why not
# exactly? Verify your count against a real `dac_minimal.model.Decoder`.
#
# [Solution](solutions/05_encoder_decoder.ipynb)
#
# ### Exercise 5.3 (★★) The gradient of weight normalisation
#
# Weight normalisation makes the gradient with respect to $v$ orthogonal to $v$ (a change of $v$'s
# length cannot change $w$, so the loss cannot care about it). Show this numerically on a `WNConv1d`
# for a random loss, filter by filter.
#
# [Solution](solutions/05_encoder_decoder.ipynb)
#
# ### Exercise 5.4 (★★) Other dilations
#
# Replace the dilations 1, 3, 9 by 1, 2, 4 in `encoder_layers`. How much smaller is the receptive
# field? Which dilation pattern would leave **gaps** in a single residual stack (inputs inside the
# span that no path reaches)? Try 1, 9, 81 with the `reach` construction of section 5.2.
#
# [Solution](solutions/05_encoder_decoder.ipynb)
#
# ### Exercise 5.5 (★★) An offset the cosine cannot ignore
#
# A cosine lookup ignores the length of $\tilde z_t$. Why does it not ignore an offset shared by
# all frames? Model the frames as $\tilde z_t = \mu + \epsilon_t$ with $\epsilon_t$ Gaussian of
# variance $\sigma^2$ per coordinate in $d = 8$ dimensions, and estimate the mean cosine similarity
# between two frames as a function of $\lVert \mu \rVert / \sigma$. Check your estimate by
# simulation, and compare it with the mean cosines that section 5.7 printed.
#
# [Solution](solutions/05_encoder_decoder.ipynb)
#
# ### Exercise 5.6 (★★) The recipe the official code asks for
#
# The official code asks for truncated normal weights of standard deviation 0.02 and zero biases
# (the `init_weights` docstring explains why that request does not take effect there). Write that
# initialisation, apply it to a fresh tiny encoder and quantizer, and measure them with
# `probe_front`. How large is the variation of $\tilde z$, and how many Adam steps at a learning
# rate of $10^{-4}$ would a bias need to outgrow it?
#
# [Solution](solutions/05_encoder_decoder.ipynb)
#
# ### Exercise 5.7 (★★★) Open-ended: train from both initialisations
#
# Train the tiny codec for a few dozen steps from the default init and from the variance-preserving
# one (mel loss plus the two VQ losses is enough), and follow how many entries each codebook chooses
# on a fixed batch. Then vary what section 5.7 suggests matters: the learning rate, and dead-code
# revival with `dac_minimal.quantize.CodeReviver`.
#
# [Solution](solutions/05_encoder_decoder.ipynb)
#
# ## Further reading
#
# - [Salimans & Kingma, *Weight Normalization* (2016)](https://arxiv.org/abs/1602.07868): the
#   reparameterisation $w = g\,v/\lVert v \rVert$ of section 5.3, and why it speeds up training.
# - [Zeghidour et al., *SoundStream* (2021)](https://arxiv.org/abs/2107.03312): the convolutional
#   encoder and decoder, with strided blocks of dilated residual units, that DAC inherits.
# - [The official DAC code](https://github.com/descriptinc/descript-audio-codec): `dac/model/dac.py`
#   and `dac/nn/layers.py` hold the encoder, the decoder and their initialisation.

# %% [markdown]
# [← 4. Residual vector quantization](04_residual_vq.ipynb) · [Contents](00_preface.ipynb) ·
# [6. The discriminators →](06_discriminators.ipynb)
