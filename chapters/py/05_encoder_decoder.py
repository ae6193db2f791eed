# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. The encoder and the decoder
#
# Chapters 3 and 4 quantized a latent $z_e$ with a residual stack of codebooks. Where does that latent come
# from, and how does it become sound again? In DAC, a convolutional **encoder** turns 44,100 samples per
# second into 86.13 latent vectors per second (one every 512 samples), and a convolutional **decoder** turns
# them back. This chapter builds both from four small ideas:
#
# 1. **strided convolutions** shrink time by the stride $s$; **transposed convolutions** grow it back;
# 2. **residual units** with dilations 1, 3, 9 see far without many weights;
# 3. **weight normalisation** $w = g \cdot v / \lVert v \rVert$ on every convolution;
# 4. the **receptive field** and the **parameter budget** that follow from the choices above.
#
# At the end we assemble the full 76.65M-parameter model and run it on a clip, and then the tiny preset
# that the rest of the book trains. Here is the map we are working towards, drawn from the model's own
# configuration by `dac_minimal.tools.diagram.draw_architecture`:

# %%
import math
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Audio, display
from ipywidgets import IntSlider, interact
from torch import nn

from dac_minimal import DAC, DACConfig, ResidualUnit, WNConv1d, WNConvTranspose1d, count_parameters
from dac_minimal.data import toy_clip
from dac_minimal.tools.diagram import draw_architecture

SMOKE = os.environ.get("DAC_BOOK_SMOKE") == "1"
CLIP_SECONDS = (
    0.12 if SMOKE else 0.3
)  # the full model is slow on a CPU; a short clip is enough to see shapes
torch.manual_seed(0)
rng = np.random.default_rng(0)
SR = 44100
# %matplotlib inline

draw_architecture()  # the official 44.1 kHz configuration

# %% [markdown]
# ## 1. Strided convolutions: $T \to T/s$
#
# A 1-D convolution with kernel size $k$, stride $s$, padding $p$ and dilation $d$ maps $L$ input samples to
#
# $$L_\text{out} = \left\lfloor \frac{L + 2p - d\,(k-1) - 1}{s} \right\rfloor + 1 .$$
#
# Each encoder block ends with a convolution of kernel $k = 2s$, stride $s$ and padding $p = \lceil s/2 \rceil$.
# For even $s$ that is $\lfloor (L + s - 2s - 1)/s \rfloor + 1 = L/s$ whenever $s$ divides $L$: the block
# keeps one frame for every $s$ samples, and each frame looks at $2s$ samples, so neighbouring frames overlap
# by half. Let us write the formula and check it against PyTorch.


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
# Four blocks with strides $[2, 4, 8, 8]$ shrink time by $2 \cdot 4 \cdot 8 \cdot 8 = 512$: the **hop length**.
# At 44.1 kHz that is $44100 / 512 \approx 86.13$ frames per second. (The report prints the strides as
# "[2, 4, 4, 8, 8]"; a careful reader notices that five blocks would give a hop of 2048 and a latent of
# $64 \cdot 2^5 = 2048$ channels, not the 1024 the report also states. Reading a paper critically means
# checking that its numbers agree with each other.)

# %%
strides = (2, 4, 8, 8)
hop = math.prod(strides)
assert hop == 512 and math.prod((2, 4, 4, 8, 8)) == 2048 != 512
print(f"hop = {hop} samples, {SR / hop:.2f} frames per second")

# %% [markdown]
# A length that is not a multiple of 512 would lose its tail to the floor in the formula, so `DAC.preprocess`
# first right-pads the input with zeros to $\lceil T/512 \rceil \cdot 512$ samples. Turn the slider to follow
# an input through the encoder.


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
# ### Transposed convolutions: $S \to S \cdot s$
#
# The decoder runs the arithmetic backwards with **transposed convolutions** (each input frame "paints" a
# kernel-sized stretch of the output, $s$ samples apart):
#
# $$L_\text{out} = (L - 1)\,s - 2p + d\,(k - 1) + p_\text{out} + 1 .$$
#
# With $k = 2s$ and $p = s/2$ (even $s$): $(L-1)s - s + 2s - 1 + 1 = L s$ exactly. For an odd stride such as
# the 5 in the 16 and 24 kHz models, $p = \lceil s/2 \rceil$ gives one sample too few, which the package fixes
# with `output_padding` $p_\text{out} = 1$ (it adds no weights).


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
# ## 2. Residual units with dilations 1, 3, 9
#
# Before each downsampling (and after each upsampling) sit three **residual units**:
#
# $$y = x + \mathrm{Conv}_{1\times1}\big(\mathrm{Snake}(\mathrm{Conv}_{k=7,\,d}(\mathrm{Snake}(x)))\big),
# \qquad d \in \{1, 3, 9\}.$$
#
# A kernel of 7 taps with **dilation** $d$ looks at samples $d$ apart, so it spans $6d + 1$ samples with only 7
# weights per channel pair. Stacking $d = 1, 3, 9$ covers $1 + 6(1 + 3 + 9) = 79$ samples, and because
# $3 = 1 \cdot 3$ and $9 = 3 \cdot 3$ the taps tile that span without leaving gaps. Padding $3d$ keeps the
# length, so the skip connection $x$ can be added unchanged.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for row, d in enumerate((1, 3, 9)):
    taps = np.arange(-3, 4) * d
    axes[0].stem(taps, np.full(7, 3 - row), basefmt=" ", label=f"d = {d}: spans {6 * d + 1}")
axes[0].set(xlabel="offset (samples)", yticks=[], title="taps of a 7-tap kernel at dilation d")
axes[0].legend(fontsize=8, loc="upper right")

# Which inputs can reach the centre output after the three units? Follow them back one unit at a time.
reach = np.zeros(121)
reach[60] = 1
for d in (9, 3, 1):
    kernel = np.zeros(6 * d + 1)
    kernel[::d] = 1
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
# The package's `ResidualUnit` is exactly this. We check two things: the length is kept, and the three units
# together reach 79 samples, by asking autograd which inputs the centre output depends on.

# %%
units = nn.Sequential(*(ResidualUnit(4, dilation=d) for d in (1, 3, 9)))
x = torch.randn(1, 4, 201, requires_grad=True)
y = units(x)
assert y.shape == x.shape
(grad,) = torch.autograd.grad(y[0, :, 100].sum(), x)
depends = grad.abs().sum(dim=1)[0] > 0
span = depends.nonzero().squeeze()
print(
    f"centre output depends on inputs {span.min().item()}..{span.max().item()}: {depends.sum().item()} samples"
)
assert depends.sum() == 79 and span.min() == 100 - 39 and span.max() == 100 + 39

# %% [markdown]
# ## 3. Weight normalisation: $w = g \cdot v / \lVert v \rVert$
#
# Every convolution in the generator is **weight-normalised** (Salimans & Kingma, 2016). Instead of learning
# the kernel $w$ directly, each output channel learns a direction $v$ and a length $g$:
#
# $$w = g \, \frac{v}{\lVert v \rVert},$$
#
# where the norm runs over everything but the output channel (input channels and taps). The length of each
# filter is then one scalar that the optimiser moves on its own, which keeps deep GAN generators well
# conditioned. PyTorch stores $g$ as `original0` and $v$ as `original1`. Let us rebuild $w$ by hand.

# %%
conv = WNConv1d(4, 3, kernel_size=5)
g = conv.parametrizations.weight.original0  # (C_out, 1, 1)
v = conv.parametrizations.weight.original1  # (C_out, C_in, k)
w = g * v / v.norm(dim=(1, 2), keepdim=True)
torch.testing.assert_close(w, conv.weight)
print("g:", tuple(g.shape), " v:", tuple(v.shape), " w:", tuple(conv.weight.shape))

# Scaling v does not change w: only g sets the length of a filter.
with torch.no_grad():
    v.mul_(10.0)
torch.testing.assert_close(g * v / v.norm(dim=(1, 2), keepdim=True), conv.weight)
torch.testing.assert_close(conv.weight.norm(dim=(1, 2)), g.flatten())

# %% [markdown]
# Two details matter later. First, $g$ is a parameter too, so a weight-normalised conv with $C_\text{out}$
# output channels has $C_\text{out}$ more parameters than a plain one (the official counts include them).
# Second, PyTorch normalises over dimension 0 of the stored weight, and a transposed convolution stores its
# weight as $(C_\text{in}, C_\text{out}, k)$: there $g$ has one entry per **input** channel.

# %%
up = WNConvTranspose1d(16, 8, kernel_size=4, stride=2, padding=1)
g_up, v_up = up.parametrizations.weight.original0, up.parametrizations.weight.original1
assert g_up.shape == (16, 1, 1) and v_up.shape == (16, 8, 4)
torch.testing.assert_close(g_up * v_up / v_up.norm(dim=(1, 2), keepdim=True), up.weight)

# %% [markdown]
# ## 4. The receptive field of the encoder
#
# How many input samples does one latent frame $z_e[:, j]$ depend on? Walk through the layers keeping three
# numbers, all in input samples: the **jump** $J$ between neighbouring positions of the current layer, the
# **size** $r$ of what one position sees, and the **start** $o$ of what position 0 sees. A layer with kernel
# $k$, dilation $d$, stride $s$ and padding $p$ updates them as
#
# $$r \leftarrow r + d\,(k-1)\,J, \qquad o \leftarrow o - p\,J, \qquad J \leftarrow s\,J .$$
#
# A residual unit counts as its 7-tap dilated conv (the $1\times1$ conv and the skip path add nothing).


# %%
def encoder_layers(rates=(2, 4, 8, 8)) -> list[tuple[str, int, int, int, int]]:
    """(name, kernel, stride, dilation, padding) of every layer that widens the view, in order."""
    layers = [("conv in", 7, 1, 1, 3)]
    for b, s in enumerate(rates, start=1):
        layers += [(f"block {b} res d={d}", 7, 1, d, 3 * d) for d in (1, 3, 9)]
        layers.append((f"block {b} down /{s}", 2 * s, s, 1, math.ceil(s / 2)))
    layers.append(("conv out", 3, 1, 1, 1))
    return layers


def receptive_field(layers) -> list[tuple[str, int, int, int]]:
    """(name, jump J, size r, start o) after each layer, in input samples."""
    jump, size, start, rows = 1, 1, 0, []
    for name, k, s, d, p in layers:
        size += d * (k - 1) * jump
        start -= p * jump
        jump *= s
        rows.append((name, jump, size, start))
    return rows


rows = receptive_field(encoder_layers())
print(f"{'layer':22s} {'jump J':>7s} {'size r':>7s} {'ms':>7s}")
for name, jump, size, _ in rows:
    print(f"{name:22s} {jump:7d} {size:7d} {1000 * size / SR:7.1f}")
_, JUMP, RF, START = rows[-1]
assert JUMP == 512 and RF == 7978

# %% [markdown]
# One latent frame sees $r = 7978$ samples, about 181 ms, while frames are only 512 samples (11.6 ms) apart:
# each frame summarises its neighbourhood, 15 frames' worth of audio. Most of that width is bought by the
# dilated units of the last block, which run at a jump of 64 samples.
#
# **Checking it.** The tiny preset has the same kernels, strides and dilations (only fewer channels), so it has
# the same receptive field. We take the gradient of one latent frame with respect to the input: it is nonzero
# exactly where the frame looks. We also perturb one input sample and see which frames change.

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
# The left panel shows the **effective** receptive field: the gradient is largest near the centre and falls by
# orders of magnitude towards the edges, because the outer samples reach the frame through far fewer paths
# (only through the outermost taps of the widest dilated kernels). The frame "sees" 181 ms but mostly listens
# to the middle 50 ms or so.
#
# ## 5. The parameter budget, layer by layer
#
# A weight-normalised convolution with $C_\text{in}$ inputs, $C_\text{out}$ outputs and kernel $k$ holds
#
# $$\underbrace{C_\text{in}\, C_\text{out}\, k}_{v} + \underbrace{C_\text{out}}_{\text{bias}}
#   + \underbrace{C_\text{out}}_{g} \quad\text{parameters}$$
#
# ($g$ has $C_\text{in}$ entries for a transposed conv, as we saw). A Snake has one $\alpha$ per channel. That is
# all we need to count the whole model by hand.


# %%
def conv_params(c_in: int, c_out: int, k: int, transposed: bool = False) -> int:
    """Weights v, bias, and weight-norm gains g of one weight-normalised convolution."""
    return c_in * c_out * k + c_out + (c_in if transposed else c_out)


def residual_unit_params(c: int) -> int:
    return (
        2 * c + conv_params(c, c, 7) + conv_params(c, c, 1)
    )  # two Snakes, the 7-tap and the 1x1 conv


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
    # per codebook: in-projection D -> d, out-projection d -> D (both 1x1), the K x d codebook
    one = conv_params(cfg.latent_dim, cfg.codebook_dim, 1) + conv_params(
        cfg.codebook_dim, cfg.latent_dim, 1
    )
    return {"quantizer": cfg.n_codebooks * (one + cfg.codebook_size * cfg.codebook_dim)}


def decoder_budget(cfg: DACConfig) -> dict[str, int]:
    dim = cfg.decoder_dim
    parts = {"dec conv in": conv_params(cfg.latent_dim, dim, 7)}
    for b, s in enumerate(cfg.decoder_rates, start=1):
        parts[f"dec block {b}"] = (
            dim
            + conv_params(dim, dim // 2, 2 * s, transposed=True)
            + 3 * residual_unit_params(dim // 2)
        )
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
    f"encoder {enc_total / 1e6:.2f}M, quantizer {q_total / 1e6:.2f}M, decoder {dec_total / 1e6:.2f}M, "
    f"total {total / 1e6:.2f}M"
)

# %% [markdown]
# Now the real thing: `DAC()` builds the official 44.1 kHz model. We compare every block of our hand count with
# `count_parameters` of the corresponding module, then the totals with the published ones.

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
assert (
    round(enc_total / 1e6, 2),
    round(dec_total / 1e6, 2),
    round(q_total / 1e6, 2),
    round(total / 1e6, 2),
) == (22.31, 54.10, 0.24, 76.65)

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
# The budget is lopsided, and the formula says why: a conv's weights grow with $C_\text{in} C_\text{out}$, so
# the wide end of each network dominates. Encoder block 4 works at 512 → 1024 channels and holds most of the
# encoder; decoder block 1 works at 1536 → 768 channels and holds most of the decoder. The decoder is the
# bigger half (54M vs 22M) because it starts wider (1536 vs 1024 channels): the designers spent more capacity on
# generating the waveform than on summarising it. The quantizer, nine codebooks of $1024 \times 8$ plus their projections, is a rounding error.
#
# ## 6. The full model on a clip
#
# Let us push a short music-like clip from the toy corpus through the untrained 44.1 kHz model. Its weights are
# random, so **the output is not a reconstruction**: expect quiet, noise-like sound. What we can check is the
# plumbing: shapes, frame count, the codes, and that the output has exactly the input's length.

# %%
clip = toy_clip("music", seconds=CLIP_SECONDS, seed=0)
x = torch.from_numpy(clip)[None, None]  # (B, 1, T)
start = time.perf_counter()
with torch.no_grad():
    out = model(x)
elapsed = time.perf_counter() - start
T = x.shape[-1]
print(
    f"input {tuple(x.shape)} -> z {tuple(out.z.shape)} -> codes {tuple(out.codes.shape)} "
    f"-> audio {tuple(out.audio.shape)}  ({elapsed:.1f} s on this CPU)"
)
assert out.z.shape == (1, 1024, math.ceil(T / 512)) and out.codes.shape == (
    1,
    9,
    math.ceil(T / 512),
)
assert out.audio.shape == x.shape and out.codes.dtype == torch.int64
print(f"bitrate with all {model.n_codebooks} codebooks: {model.bitrate() / 1000:.2f} kbps")


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
# The output is much quieter and has none of the input's harmonic lines: an untrained decoder does not know
# what audio looks like yet. Chapter 7 supplies the losses that teach it, and the training chapters use them.
#
# ### The tiny preset
#
# The `tiny` preset keeps everything that sets the *shape* of the codec: rate, strides, kernels, dilations,
# 9 codebooks of 1024 entries, so the hop, frame rate, receptive field and bitrate are the same. Only the
# widths shrink (encoder 8 channels instead of 64, latent 64 instead of 1024, decoder 96 instead of 1536).
# Since parameters grow with the square of the width, that divides the model by about 120.

# %%
torch.manual_seed(0)
tiny = DAC.from_preset("tiny").eval()
tiny_cfg = tiny.config
tiny_budget = {**encoder_budget(tiny_cfg), **quantizer_budget(tiny_cfg), **decoder_budget(tiny_cfg)}
assert sum(tiny_budget.values()) == count_parameters(tiny)
assert tiny.hop_length == model.hop_length and tiny.bitrate() == model.bitrate()
assert receptive_field(encoder_layers(tiny_cfg.encoder_rates))[-1][2] == RF
print(
    f"tiny: {count_parameters(tiny):,} parameters ({count_parameters(model) / count_parameters(tiny):.0f}x fewer)"
)

start = time.perf_counter()
with torch.no_grad():
    out_tiny = tiny(x)
print(f"tiny forward on the same clip: {time.perf_counter() - start:.2f} s")
assert out_tiny.codes.shape == out.codes.shape and out_tiny.audio.shape == x.shape
show_pair(x, out_tiny.audio, "untrained tiny model")
display(Audio(out_tiny.audio.flatten().numpy(), rate=SR))

# %% [markdown]
# The untrained tiny model is nearly silent, a small DC offset plus faint **tones at multiples of
# $44100/8 \approx 5.5$ kHz** (the horizontal lines). They are the signature of upsampling: after the second
# decoder block the signal runs at $T/8$, and the last two transposed convolutions paint their kernels on a grid
# of 8 output samples, so any pattern they leave repeats every 8 samples (the "checkerboard" artifact of
# transposed convolutions, Odena et al., 2016). Training must learn to hide that grid. Let us confirm where the
# strongest tone sits:

# %%
y = out_tiny.audio.flatten().numpy()
spectrum = np.abs(np.fft.rfft((y - y.mean()) * np.hanning(len(y))))
freqs = np.fft.rfftfreq(len(y), 1 / SR)
peak = freqs[np.argmax(spectrum)]
grid = SR / 8
print(f"strongest tone: {peak:.0f} Hz = {peak / grid:.2f} x {grid:.1f} Hz")
assert abs(peak / grid - round(peak / grid)) * grid < 20 and round(peak / grid) >= 1

# %% [markdown]
# And the map of the tiny codec, drawn from its configuration: the same strides, hop, frame rate and bitrate as
# the full model, with narrower boxes.

# %%
draw_architecture(tiny_cfg)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** The 24 kHz model uses encoder strides $[2, 4, 5, 8]$. Using only `conv_out_len`,
# `receptive_field` and `encoder_layers` from this chapter, compute its hop length, frame rate and receptive
# field (in samples and ms). Check the hop against `DAC.from_preset("24khz")` without building it twice.

# %% jupyter={"source_hidden": true} tags=["solution"]
rates_24k = (2, 4, 5, 8)
length = 320 * 10
for s in rates_24k:
    length = conv_out_len(length, 2 * s, s, math.ceil(s / 2))
assert length == 10  # 3200 samples -> 10 frames: hop 320
rf_24k = receptive_field(encoder_layers(rates_24k))[-1]
print(
    f"24 kHz: hop {rf_24k[1]}, {24000 / rf_24k[1]:.0f} frames/s, receptive field {rf_24k[2]} samples "
    f"= {1000 * rf_24k[2] / 24000:.0f} ms"
)
assert (
    rf_24k[1] == 320
    and DACConfig(sample_rate=24000, encoder_rates=rates_24k, decoder_rates=(8, 5, 4, 2)).hop_length
    == 320
)

# %% [markdown]
# **Exercise 2.** Predict, with `decoder_budget`, how many parameters the decoder would have with
# `decoder_dim=1024` instead of 1536. Is it close to $(1024/1536)^2$ of 54.10M? Why not exactly? Verify your
# count against a real `Decoder`.

# %% jupyter={"source_hidden": true} tags=["solution"]
from dac_minimal.model import Decoder  # noqa: E402

small_cfg = DACConfig(decoder_dim=1024)
predicted = sum(decoder_budget(small_cfg).values())
print(
    f"decoder_dim 1024: {predicted / 1e6:.2f}M; quadratic guess {(1024 / 1536) ** 2 * dec_total / 1e6:.2f}M"
)
# Not exact: the first conv grows only linearly (its input is the fixed latent D = 1024), as do biases,
# gains and Snake alphas.
assert predicted == count_parameters(Decoder(1024, 1024, (8, 8, 4, 2)))

# %% [markdown]
# **Exercise 3.** Weight normalisation makes the gradient with respect to $v$ orthogonal to $v$ (a change of
# $v$'s length cannot change $w$, so the loss cannot care about it). Show this numerically on a `WNConv1d` for
# a random loss, filter by filter.

# %% jupyter={"source_hidden": true} tags=["solution"]
torch.manual_seed(1)
conv = WNConv1d(3, 5, kernel_size=7)
loss = conv(torch.randn(2, 3, 50)).pow(2).mean()
loss.backward()
v = conv.parametrizations.weight.original1
dots = (v.grad * v).sum(dim=(1, 2))  # one inner product per output channel
print("<dL/dv, v> per filter:", dots.detach().numpy())
torch.testing.assert_close(dots, torch.zeros_like(dots), atol=1e-7, rtol=0)
assert v.grad.abs().sum() > 0

# %% [markdown]
# **Exercise 4.** Replace the dilations 1, 3, 9 by 1, 2, 4 in `encoder_layers`. How much smaller is the
# receptive field? Which dilation pattern would leave **gaps** in a single residual stack (inputs inside the
# span that no path reaches)? Try 1, 9, 81 with the `reach` construction of section 2.


# %% jupyter={"source_hidden": true} tags=["solution"]
def encoder_layers_dil(rates, dilations):
    layers = [("conv in", 7, 1, 1, 3)]
    for s in rates:
        layers += [("res", 7, 1, d, 3 * d) for d in dilations]
        layers.append(("down", 2 * s, s, 1, math.ceil(s / 2)))
    return layers + [("conv out", 3, 1, 1, 1)]


rf_124 = receptive_field(encoder_layers_dil((2, 4, 8, 8), (1, 2, 4)))[-1][2]
assert receptive_field(encoder_layers_dil((2, 4, 8, 8), (1, 3, 9)))[-1][2] == RF
print(f"dilations 1,2,4: {rf_124} samples vs {RF} ({RF / rf_124:.1f}x smaller)")


def reach_of(dilations, width=2001):
    reach = np.zeros(width)
    reach[width // 2] = 1
    for d in dilations:
        kernel = np.zeros(6 * d + 1)
        kernel[::d] = 1
        reach = np.convolve(reach, kernel, mode="same") > 0
    return reach


for dils in ((1, 3, 9), (1, 9, 81)):
    r = reach_of(dils)
    idx = np.flatnonzero(r)
    gaps = (idx[-1] - idx[0] + 1) - len(idx)
    print(f"dilations {dils}: span {idx[-1] - idx[0] + 1}, reached {len(idx)}, gaps {gaps}")
    assert (gaps == 0) == (dils == (1, 3, 9))
