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
# # 6. The discriminators
#
# A mel loss alone trains a codec that sounds muffled: an L1 distance between spectrograms rewards
# the *average* of all plausible outputs, and the average of many sharp high-frequency textures is a
# smooth, quiet one. DAC therefore adds an adversary. **Discriminators** $D$ look at real audio $x$
# and reconstructions $\hat x$ and learn to tell them apart; the generator $G$ is trained to fool
# them ([chapter 7](07_losses.ipynb) writes the losses). What a discriminator can notice depends on
# how it looks at the signal, so DAC uses two kinds, each a set of small sub-discriminators:
#
# - the **multi-period discriminator** (MPD, from HiFi-GAN) folds the waveform into a 2-D image by
#   a period $p \in \{2, 3, 5, 7, 11\}$ and looks down its columns, where periodic structure lives;
# - the **multi-band multi-scale complex STFT discriminator** (MRD) looks at the real and imaginary
#   STFT at three window sizes $W \in \{2048, 1024, 512\}$, split into five frequency bands with
#   **one conv stack per band**.
#
# Every sub-discriminator returns its list of **feature maps**, with its logits last: the logits
# feed the adversarial loss, the feature maps the feature-matching loss.
#
# ## What you will learn
#
# - why both discriminators first remove the DC offset and normalise the peak;
# - how folding by a period lets a 2-D conv compare samples exactly one period apart;
# - how the complex STFT discriminator splits each spectrogram into bands with a conv stack each,
#   and why a quiet high band needs weights of its own;
# - why DAC dropped MelGAN's multi-scale waveform discriminator;
# - how to predict every feature map's shape and every parameter by hand, and check them against
#   `dac_minimal.discriminator`.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from book import interact, sizes
from ipywidgets import IntSlider

from dac_minimal import BANDS, Discriminator, count_parameters
from dac_minimal.data import toy_clip
from dac_minimal.discriminator import DISCRIMINATOR_PRESETS, MPD, MRD, MSD, complex_stft
from dac_minimal.tools.diagram import draw_stft_discriminator

SECONDS = sizes((0.38, 0.1))  # 0.38 s is the length of DAC's training excerpts
SR = 44100
torch.manual_seed(0)
rng = np.random.default_rng(0)

# Full-band toy clips (clip index 0 of each domain is never band-limited).
clips = {
    d: torch.from_numpy(toy_clip(d, seconds=SECONDS, seed=0, index=0))[None, None]
    for d in ("speech", "music", "general")
}
x = clips["music"]  # (B, 1, T)
print({d: tuple(c.shape) for d, c in clips.items()})

# %% [markdown]
# ## 6.1 Before judging: remove DC, scale to a peak of 0.8
#
# Both discriminators first subtract the mean (the DC offset) of each clip and scale it to a peak of
# 0.8:
#
# $$x \leftarrow 0.8 \, \frac{x - \bar x}{\max_t |x_t - \bar x|}.$$
#
# The codec is then judged on the *shape* of its waveform, not on its level or on an offset that
# nobody hears.


# %%
def preprocess(x: torch.Tensor) -> torch.Tensor:
    centred = x - x.mean(dim=-1, keepdim=True)
    return 0.8 * centred / (centred.abs().amax(dim=-1, keepdim=True) + 1e-9)


torch.testing.assert_close(preprocess(x), Discriminator.preprocess(x))
shifted = 0.25 * x + 0.1  # quieter, with a DC offset
torch.testing.assert_close(preprocess(shifted), preprocess(x), atol=1e-6, rtol=0)
assert abs(preprocess(x).abs().max().item() - 0.8) < 1e-6

tiny_d = Discriminator.from_preset("tiny")
with torch.no_grad():
    same = [torch.allclose(a[-1], b[-1], atol=1e-5) for a, b in zip(tiny_d(x), tiny_d(shifted))]
assert all(same)
print(
    "a quieter copy with a DC offset gets the same logits from all", len(same), "sub-discriminators"
)

# %% [markdown]
# ## 6.2 The multi-period discriminator: folding by a period
#
# A 1-D convolution compares neighbouring samples. To compare samples that are exactly $p$ apart,
# fold the waveform into a matrix of $\lceil T/p \rceil$ rows and $p$ columns (reflect-padding the
# end so that $p$ divides the length): column $j$ holds $x_j, x_{j+p}, x_{j+2p}, \dots$. A 2-D
# convolution with kernels of shape $(5, 1)$ then runs **down the columns**, comparing each sample
# with the samples one, two, ... periods away. The periods 2, 3, 5, 7, 11 are primes, so that the
# five folds share as little as possible.


# %%
def fold(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, 1, T) -> (B, 1, ceil(T/p), p)."""
    pad = (-x.shape[-1]) % p
    if pad:
        x = F.pad(x, (0, pad), mode="reflect")
    return x.view(x.shape[0], 1, -1, p)


for p in (2, 3, 5, 7, 11):
    for length in (p * 40, p * 40 + 1, 1000):
        sig = torch.randn(2, 1, length)
        assert torch.equal(fold(sig, p), MPD(p, channels=(1, 1, 1, 1)).fold(sig))
assert fold(torch.arange(10.0)[None, None], 4)[0, 0, :, 1].tolist() == [
    1.0,
    5.0,
    9.0,
]  # 9 then 8 (reflected)
print("inline fold == MPD.fold for every period and length")

# %% [markdown]
# What does a fold show? Take a signal that repeats every 7 samples (one random cycle, repeated,
# plus a little noise). Folded by $p = 7$, every column holds the same value over and over: the
# image has constant rows, structure a $(5, 1)$ kernel sees at once. Folded by $p = 5$ the cycle
# drifts across the columns and the image is a diagonal pattern.

# %%
cycle = rng.standard_normal(7)
periodic = torch.from_numpy(np.tile(cycle, 60) + 0.05 * rng.standard_normal(420)).float()[
    None, None
]
fig, axes = plt.subplots(1, 3, figsize=(10, 3.2), gridspec_kw={"width_ratios": [1.6, 1, 1]})
axes[0].plot(periodic.flatten()[:70], marker=".", lw=0.8)
axes[0].set(xlabel="sample", title="a signal with period 7 samples")
for ax, p in zip(axes[1:], (7, 5)):
    img = fold(periodic, p)[0, 0, :24].T  # first 24 rows, shown as (p, rows)
    ax.imshow(img, aspect="auto", cmap="coolwarm", interpolation="nearest")
    ax.set(
        xlabel="row (one period further per step)", ylabel="column j", title=f"folded by p = {p}"
    )
plt.tight_layout()
plt.show()

# How much does each column vary down its length? Near zero only when the fold matches the period.
spread = {p: fold(periodic, p)[0, 0, :-1].std(dim=0).mean().item() for p in (2, 3, 5, 7, 11)}
print({p: round(s, 3) for p, s in spread.items()})
assert min(spread, key=spread.get) == 7 and spread[7] < 0.1 < min(
    s for p, s in spread.items() if p != 7
)

# %% [markdown]
# Turn the knob: only folds by the period (7) or a multiple of it (14) line the cycle up in rows.


# %%
def show_fold(p: int = 7) -> None:
    fig, ax = plt.subplots(figsize=(6, 2.2))
    ax.imshow(
        fold(periodic, p)[0, 0, :40].T, aspect="auto", cmap="coolwarm", interpolation="nearest"
    )
    ax.set(xlabel="row", ylabel="column j", title=f"period-7 signal folded by p = {p}")
    plt.tight_layout()
    plt.show()


_ = interact(show_fold, p=IntSlider(value=7, min=2, max=16))

# %% [markdown]
# Each MPD is then a plain 2-D conv stack, weight-normalised, with LeakyReLU(0.1): four convs of
# kernel $(5, 1)$ and stride $(3, 1)$ widening the channels 1 → 32 → 128 → 512 → 1024 (the tiny
# preset: 8 → 16 → 32 → 64), one more $(5, 1)$ conv at stride 1, and an output conv $(3, 1)$ to one
# channel of logits. Stride 3 with padding 2 turns $H$ rows into $\lceil H/3 \rceil$; the $p$
# columns are never mixed.

# %% [markdown]
# ## 6.3 The complex STFT discriminator: three windows, five bands
#
# The second family looks at a **complex** short-time Fourier transform with window $W$ and hop
# $h = W/4$. Unlike a magnitude spectrogram, the real and imaginary parts (two input channels) keep
# the phase, so the discriminator can catch phase errors that a mel loss cannot. The padding is
# arranged so that a clip of $T$ samples gives exactly $\lceil T / h \rceil$ frames: reflect-pad
# $(W - h)/2$ on both sides (plus the remainder to a multiple of $h$ on the right), take a centred
# STFT, and drop two frames at each end.


# %%
def my_complex_stft(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, 1, T) -> (B, 2, ceil(T / h), W // 2 + 1): real and imaginary parts, h = W / 4."""
    hop = window // 4
    pad = (window - hop) // 2
    padded = F.pad(x, (pad, pad + (-x.shape[-1]) % hop), mode="reflect")[:, 0]
    spec = torch.stft(
        padded, window, hop, window=torch.hann_window(window), center=True, return_complex=True
    )
    spec = spec[..., 2:-2]  # (B, bins, frames)
    return torch.stack([spec.real, spec.imag], dim=1).transpose(2, 3)


xp = Discriminator.preprocess(x)
for window in (2048, 1024, 512):
    ours = my_complex_stft(xp, window)
    torch.testing.assert_close(ours, complex_stft(xp, window))
    assert ours.shape == (1, 2, math.ceil(x.shape[-1] / (window // 4)), window // 2 + 1)
    print(f"window {window}: {tuple(ours.shape)}  (B, re/im, frames, bins)")

# %% [markdown]
# The $W/2 + 1$ frequency bins are split into five **bands** at the fractions
# $[0, 0.1, 0.25, 0.5, 0.75, 1]$ of the bins, and each band gets **its own** conv stack. Bin $b$ of
# a window $W$ sits at $b \cdot f_s / W$ Hz, so the edges are the same in Hz for every window (the
# cell below prints them) while the number of bins per band, the frequency resolution, changes with
# $W$. The bands are not equal in Hz: the lowest one, where speech and music keep most of their
# energy and where pitch lives, is the narrowest.


# %%
def band_bins(window: int, bands=BANDS) -> list[tuple[int, int]]:
    n_bins = window // 2 + 1
    return [(int(lo * n_bins), int(hi * n_bins)) for lo, hi in bands]


fig, ax = plt.subplots(figsize=(10, 2.8))
colours = plt.cm.viridis(np.linspace(0.1, 0.9, len(BANDS)))
for row, window in enumerate((2048, 1024, 512)):
    bins = band_bins(window)
    assert bins == MRD(window, channels=1).bands
    assert bins[0][0] == 0 and bins[-1][1] == window // 2 + 1  # every bin is in exactly one band
    for k, (lo, hi) in enumerate(bins):
        hz_lo, hz_hi = lo * SR / window, hi * SR / window
        ax.broken_barh(
            [(hz_lo, hz_hi - hz_lo)], (row - 0.35, 0.7), color=colours[k], edgecolor="white"
        )
        ax.text(
            (hz_lo + hz_hi) / 2,
            row,
            f"{hi - lo}",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if k < 3 else "black",
        )
ax.set_yticks(range(3), [f"W = {w}\n({SR / w:.1f} Hz/bin)" for w in (2048, 1024, 512)], fontsize=8)
ax.set(
    xlabel="frequency (Hz)",
    xlim=(0, SR / 2 + 200),
    title="which bins each band sees (numbers: bins per band)",
)
plt.tight_layout()
plt.show()

for window in (2048, 1024, 512):
    edges = ", ".join(
        f"{lo * SR / window:.0f}-{(hi - 1) * SR / window:.0f}" for lo, hi in band_bins(window)
    )
    print(f"W = {window}: first-last bin of each band (Hz) {edges}")

# %% [markdown]
# Each band stack (32 channels; 8 in the tiny preset) is: a conv $(3, 9)$ from the 2 input
# channels, three convs $(3, 9)$ with stride $(1, 2)$ that halve the frequency axis, and a conv
# $(3, 3)$. The band outputs are concatenated along frequency and one conv $(3, 3)$ gives the
# logits. The whole discriminator, one row per window size, drawn from its configuration by
# `dac_minimal.tools.diagram.draw_stft_discriminator` (every number in it is read from the config):

# %%
draw_stft_discriminator(DISCRIMINATOR_PRESETS["44khz"])

# %% [markdown]
# ## 6.4 Output and feature-map shapes
#
# Every output length follows from the conv length formula of [chapter 5](05_encoder_decoder.ipynb)
# applied per axis. We predict all of them inline and compare with a forward pass of the tiny
# discriminator (same shapes as the official one, except for the channel counts).


# %%
def mpd_shapes(T: int, p: int, channels) -> list[tuple[int, int, int]]:
    """(C, rows, p) of each MPD feature map; stride 3, kernel 5, padding 2: H rows -> ceil(H/3)."""
    rows, shapes = math.ceil(T / p), []
    for c in channels:
        rows = (rows + 2 * 2 - 5) // 3 + 1
        shapes.append((c, rows, p))
    return shapes + [(channels[-1], rows, p), (1, rows, p)]


def mrd_shapes(T: int, window: int, channels: int) -> list[tuple[int, int, int]]:
    """(C, frames, bins) of each MRD feature map, band by band, then the logits."""
    frames, shapes, widths = math.ceil(T / (window // 4)), [], []
    for lo, hi in band_bins(window):
        width = hi - lo
        shapes.append((channels, frames, width))
        for _ in range(3):
            width = (width + 2 * 4 - 9) // 2 + 1  # kernel 9, stride 2, padding 4
            shapes.append((channels, frames, width))
        shapes.append((channels, frames, width))
        widths.append(width)
    return shapes + [(1, frames, sum(widths))]


cfg = tiny_d.config
T = x.shape[-1]
with torch.no_grad():
    outputs = tiny_d(x)
names = [f"MPD p={p}" for p in cfg.periods] + [f"MRD W={w}" for w in cfg.fft_sizes]
predicted = [mpd_shapes(T, p, cfg.mpd_channels) for p in cfg.periods] + [
    mrd_shapes(T, w, cfg.mrd_channels) for w in cfg.fft_sizes
]
print(f"input: {T} samples ({SECONDS} s)")
print(f"{'branch':10s} {'maps':>4s}  first feature map -> ... -> logits (C, H, W)")
for name, fmaps, pred in zip(names, outputs, predicted):
    assert [tuple(f.shape[1:]) for f in fmaps] == pred, name
    shown = " ".join(str(tuple(f.shape[1:])) for f in fmaps[:5])
    print(f"{name:10s} {len(fmaps) - 1:4d}  {shown} ... logits {tuple(fmaps[-1].shape[1:])}")
n_maps = sum(len(f) - 1 for f in outputs)
assert n_maps == 5 * 5 + 3 * 25
print(
    f"{len(outputs)} sub-discriminators, {n_maps} feature maps for feature matching, "
    f"{len(outputs)} logit maps"
)

# %% [markdown]
# Note the shapes of the logits: the discriminators do not output one number per clip but a **map**
# of verdicts, one per (row, column) of an MPD fold and one per (frame, frequency patch) of an MRD.
# Each verdict judges a local patch of the signal, which gives the generator a dense, local training
# signal.
#
# ## 6.5 Why one conv stack per band?
#
# Natural audio is loud at low frequencies and quiet at high ones. Let us measure the mean power of
# the (pre-processed) STFT in each band for our three toy domains.


# %%
def band_power(clip: torch.Tensor, window: int = 2048) -> np.ndarray:
    spec = complex_stft(Discriminator.preprocess(clip), window)
    power = spec.pow(2).sum(dim=1)[0]  # (frames, bins)
    return np.array([power[:, lo:hi].mean().item() for lo, hi in band_bins(window)])


powers = {d: band_power(c) for d, c in clips.items()}
fig, ax = plt.subplots(figsize=(8, 3))
width = 0.27
for i, (d, pw) in enumerate(powers.items()):
    ax.bar(np.arange(5) + (i - 1) * width, 10 * np.log10(pw / pw[0]), width, label=d)
edges_hz = [
    f"{lo * SR / 2048 / 1000:.1f}-{hi * SR / 2048 / 1000:.1f} kHz" for lo, hi in band_bins(2048)
]
ax.set_xticks(range(5), edges_hz, fontsize=8)
ax.set(ylabel="mean power vs band 1 (dB)", title="STFT power per band (window 2048)")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
for d, pw in powers.items():
    print(f"{d:8s} top band is {10 * np.log10(pw[0] / pw[-1]):.0f} dB below the lowest band")
assert all(pw[-1] < pw[0] / 10 for pw in powers.values())  # at least 10 dB quieter in every domain

# %% [markdown]
# In every domain the top band is far quieter than the lowest (the cell prints by how much, in dB;
# 10 dB is a factor of 10 in power). Now think of a **single** conv stack sliding over all
# frequencies. Its kernels are shared, so the gradient that shapes them is a sum over all frequency
# positions, and the loud low bins dominate that sum; its feature maps, averaged in the
# feature-matching loss, are dominated by the same bins. A flaw that lives only above 11 kHz (the
# classic "muffled" codec) barely registers. With **one stack per band**, the top band's kernels are
# shaped by the top band alone, at whatever level it has: with AdamW, whose steps are normalised per
# parameter, a quiet band's stack learns as fast as a loud one's.
#
# We can see the first half of this at initialisation. Take a clip and a muffled copy (everything
# above 11.025 kHz removed), and measure how much each feature map changes, relative to its size, in
# a single full-range stack and in the top-band stack of a multi-band discriminator with the same
# width.


# %%
def muffle(clip: torch.Tensor, cutoff: float = 11025.0) -> torch.Tensor:
    spectrum = torch.fft.rfft(clip.double())
    spectrum[..., torch.fft.rfftfreq(clip.shape[-1], 1 / SR) > cutoff] = 0
    return torch.fft.irfft(spectrum, n=clip.shape[-1]).float()


def relative_change(maps_a, maps_b) -> list[float]:
    return [((a - b).abs().mean() / b.abs().mean()).item() for a, b in zip(maps_a, maps_b)]


def real_and_muffled(clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The clip and its muffled copy, both scaled as the discriminator scales the original, so
    that only the missing highs differ."""
    centred = clip - clip.mean()
    scale = 0.8 / centred.abs().max()
    return centred * scale, (muffle(clip) - clip.mean()) * scale


torch.manual_seed(0)
single = MRD(2048, bands=((0.0, 1.0),), channels=8)
torch.manual_seed(0)
multi = MRD(2048, channels=8)
changes = {}
for d in ("music", "general"):
    real, fake = real_and_muffled(clips[d])
    with torch.no_grad():
        changes[d] = (
            relative_change(single(fake)[:-1], single(real)[:-1]),
            relative_change(multi(fake)[20:25], multi(real)[20:25]),  # band 5: maps 20..24
            relative_change(multi(fake)[0:5], multi(real)[0:5]),
        )  # band 1: maps 0..4

fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
for ax, (d, (one, top, _)) in zip(axes, changes.items()):
    layers = np.arange(1, 6)
    ax.bar(layers - 0.2, one, 0.4, label="single full-range stack")
    ax.bar(layers + 0.2, top, 0.4, label="top-band stack (16.5-22 kHz)")
    ax.set(xlabel="layer", title=f"{d}: feature change when the highs are removed")
axes[0].set_ylabel("mean |f(muffled) - f(x)| / mean |f(x)|")
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()
for d, (one, top, low) in changes.items():
    print(
        f"{d}: single stack {np.mean(one):.1%}, top-band stack {np.mean(top):.1%}, "
        f"lowest-band stack {np.mean(low):.1%}"
    )
    assert np.mean(top) > 2 * np.mean(one) and np.mean(low) < 0.1 * np.mean(one)

# %% [markdown]
# The same defect moves the single stack's features by a fraction of what it does to the top-band
# stack's, and hardly touches the lowest band's stack (only through the window's spectral leakage):
# each band's features report on that band. [Chapter 7](07_losses.ipynb) uses exactly these feature
# maps in the feature-matching loss.
#
# ## 6.6 Why DAC dropped the multi-scale waveform discriminator
#
# MelGAN introduced the **multi-scale waveform discriminator** (MSD): three identical 1-D conv
# stacks (grouped convs with kernels of 41 taps and stride 4) that judge the waveform at $f_s$,
# $f_s/2$ and $f_s/4$, each scale average-pooled from the one before. HiFi-GAN kept it beside its
# new MPD. The report explains, in its section on discriminator design, why DAC moved on: with the
# MSD and the MPD, "the spectrograms of the generated audio can still appear blurry and exhibit
# over-smoothing artifacts at high frequencies". UnivNet's multi-resolution spectrogram
# discriminator was proposed to fix those artifacts, BigVGAN found that it also reduces pitch and
# periodicity artifacts and replaced HiFi-GAN's MSD with it, and DAC follows BigVGAN, with a complex
# STFT (to keep the phase) split into bands (for the high frequencies). Its configuration lists only
# the MPD and the complex STFT discriminator. The package keeps the MSD as an option,
# `DiscriminatorConfig(rates=(1, 2, 4))`, off by default.
#
# Two things we can check. First, what can each waveform scale see at all? The scale at rate $r$
# runs at $f_s / r$, so nothing above $f_s / 2r$ reaches it:

# %%
for rate in (1, 2, 4):
    nyquist = SR / 2 / rate
    blind = [
        f"{lo * SR / 2000:.1f}-{hi * SR / 2000:.1f}" for lo, hi in BANDS if lo * SR / 2 >= nyquist
    ]
    print(
        f"MSD at rate {rate}: runs at {SR / rate / 1000:.2f} kHz, "
        f"sees up to {nyquist / 1000:.2f} kHz; "
        f"STFT bands above that (kHz): {', '.join(blind) or 'none'}"
    )

# %% [markdown]
# The two downsampled scales look only at frequencies that the MPD and the STFT discriminator's
# lower bands already see, and they are blind to the upper bands where a muffled codec fails. Only
# the full-rate scale can hear the highs, and it hears them mixed into one waveform with the loud
# lows, like the single full-range stack of section 6.5. Second, then, the experiment of section 6.5
# again: how much does each MSD scale's feature maps change, at initialisation, when everything
# above 11.025 kHz is removed, next to the STFT discriminator's top-band stack?

# %%
msds = {}
for rate in (1, 2, 4):
    torch.manual_seed(0)
    msds[rate] = MSD(rate)
msd_change = {}
for d in ("music", "general"):
    real, fake = real_and_muffled(clips[d])
    with torch.no_grad():
        msd_change[d] = {
            r: np.mean(relative_change(m(fake)[:-1], m(real)[:-1])) for r, m in msds.items()
        }

fig, ax = plt.subplots(figsize=(8, 3))
labels = ["MSD rate 1", "MSD rate 2", "MSD rate 4", "STFT single stack", "STFT top band"]
for i, d in enumerate(msd_change):
    one, top, _ = changes[d]
    values = [*msd_change[d].values(), np.mean(one), np.mean(top)]
    ax.bar(np.arange(5) + (i - 0.5) * 0.4, values, 0.4, label=d)
    print(f"{d:8s}", "  ".join(f"{name} {v:.1%}" for name, v in zip(labels, values)))
    assert max(msd_change[d].values()) < np.mean(top) / 3
    assert msd_change[d][4] < msd_change[d][2] < msd_change[d][1]
ax.set_xticks(range(5), labels, fontsize=8)
ax.set(yscale="log", ylabel="mean relative feature change", title="who notices missing highs?")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
n_msd = count_parameters(msds[1])
n_stft = sum(count_parameters(MRD(w)) for w in DISCRIMINATOR_PRESETS["44khz"].fft_sizes)
print(
    f"one MSD scale: {n_msd / 1e6:.2f}M parameters (MelGAN's widths, 16 to 1024 channels), "
    f"{n_msd / n_stft:.1f}x the official STFT discriminator's {n_stft / 1e6:.2f}M"
)

# %% [markdown]
# The top-band stack's features move many times more than any waveform scale's, and the scales
# notice less the further they are downsampled (the first two printed lines). A discriminator whose
# features do not change when the highs go missing cannot teach the generator to put them back. The
# MSD is also not cheap: each scale alone has several times the parameters of the official model's
# whole STFT discriminator (the last line above). So DAC spends its discriminator on the MPD, for
# periodicity, and on the banded complex STFT, for the spectrum and its phase. Exercise 6.6 puts the
# MSD back and asks what it adds.

# %% [markdown]
# ## 6.7 How big are they?
#
# A weight-normalised `Conv2d` holds $C_\text{in} C_\text{out} \kappa_h \kappa_w$ weights $v$,
# $C_\text{out}$ biases and $C_\text{out}$ gains $g$. Counting stack by stack:


# %%
def conv2d_params(c_in: int, c_out: int, kh: int, kw: int) -> int:
    return c_in * c_out * kh * kw + 2 * c_out  # v, bias, g


def mpd_params(channels) -> int:
    chans = [1, *channels]
    strided = sum(conv2d_params(i, o, 5, 1) for i, o in zip(chans[:-1], chans[1:]))
    return strided + conv2d_params(chans[-1], chans[-1], 5, 1) + conv2d_params(chans[-1], 1, 3, 1)


def mrd_params(channels: int, n_bands: int = len(BANDS)) -> int:
    c = channels
    stack = conv2d_params(2, c, 3, 9) + 3 * conv2d_params(c, c, 3, 9) + conv2d_params(c, c, 3, 3)
    return n_bands * stack + conv2d_params(c, 1, 3, 3)


table = {}
for preset, dcfg in DISCRIMINATOR_PRESETS.items():
    disc = Discriminator(dcfg)
    mpd = len(dcfg.periods) * mpd_params(dcfg.mpd_channels)
    mrd = len(dcfg.fft_sizes) * mrd_params(dcfg.mrd_channels, len(dcfg.bands))
    assert mpd == sum(count_parameters(m) for m in disc.discriminators if isinstance(m, MPD))
    assert mpd + mrd == count_parameters(disc)
    table[preset] = (mpd, mrd)
    print(
        f"{preset:6s}: MPD {mpd / 1e6:7.3f}M  STFT {mrd / 1e6:6.3f}M  "
        f"total {(mpd + mrd) / 1e6:7.3f}M"
    )
official, tiny_counts = sum(table["44khz"]), sum(table["tiny"])
print(
    f"the official discriminator is {official / tiny_counts:.0f}x the tiny one; "
    f"{table['44khz'][0] / official:.0%} of it is the MPD's 1024-channel convs"
)
assert round(official / 1e6, 1) == 42.5 and tiny_counts < 300_000

# %% [markdown]
# The official discriminator is more than half the size of the codec it trains (the cell prints
# the share), and almost all of it is the MPD, whose last convs carry $1024 \times 1024 \times 5$
# weights each, once per period. The STFT discriminator is small by comparison (its stacks are 32
# channels wide), even though it runs 15 of them. The tiny preset shrinks the MPD widths to
# 8 → 16 → 32 → 64 and the STFT stacks to 8 channels, so the book can train it on a CPU.
#
# ## Key takeaways
#
# - Both discriminators judge the clip with its DC offset removed and its peak scaled to 0.8, and
#   every sub-discriminator returns its feature maps (for feature matching) with a map of local
#   verdicts, its logits, last (for the adversarial loss).
# - The MPD folds the waveform by a prime period $p$ into $\lceil T/p \rceil \times p$, so its
#   $(5, 1)$ kernels compare samples exactly one, two, ... periods apart.
# - The complex STFT discriminator sees real and imaginary parts (the phase) at windows
#   $W$ = 2048, 1024, 512 with hop $h = W/4$, each split into five bands with a conv stack of their
#   own, so the quiet high bands are judged by weights that only they shape.
# - DAC dropped MelGAN's multi-scale waveform discriminator: its downsampled scales cannot see the
#   high frequencies at all, and its full-rate scale hears them buried under the loud lows.
# - Every shape and parameter follows from the conv arithmetic; the official discriminator holds
#   42.5M parameters, nearly all in the MPD.
#
# ## Exercises
#
# ### Exercise 6.1 (★★) Tones and periods
#
# A pure tone at $f_s / 7 = 6300$ Hz has a period of exactly 7 samples. Which MPD period folds it
# into constant rows? And a tone at $f_s / 14$? Check with `fold` by measuring how much the columns
# vary.
#
# [Solution](solutions/06_discriminators.ipynb)
#
# ### Exercise 6.2 (★) The bands at 24 kHz
#
# The official 24 kHz model uses the same discriminator windows. Compute the band edges in Hz at
# $f_s$ = 24 kHz for the 1024-sample window, and the width of one bin. Does the lowest band still
# resolve the harmonics of a 100 Hz voice?
#
# [Solution](solutions/06_discriminators.ipynb)
#
# ### Exercise 6.3 (★★) Counting feature maps
#
# Write a function that predicts the number of feature maps (not counting logits) that a
# `DiscriminatorConfig` produces, including the optional waveform MSD (`rates`; 6 conv layers each).
# Check it on the tiny preset with `rates=(1, 2)` and with the band split turned off
# (`bands=((0.0, 1.0),)`).
#
# [Solution](solutions/06_discriminators.ipynb)
#
# ### Exercise 6.4 (★★) Why complex and not magnitude
#
# Rotate the phase of every frequency component of a clip by 90° (`dac_minimal.data.rotate_phase`).
# Show that the STFT magnitudes barely change while the real and imaginary parts that the STFT
# discriminator sees change completely.
#
# [Solution](solutions/06_discriminators.ipynb)
#
# ### Exercise 6.5 (★) Who can hear a hiss at 14 kHz?
#
# A codec adds a faint hiss between 12 and 16 kHz. Which of the sub-discriminators can see it at
# all: each MPD, each MSD scale (rates 1, 2, 4), and which band of each STFT window? Answer first
# from the sampling rates and band edges, then check with `band_bins`.
#
# [Solution](solutions/06_discriminators.ipynb)
#
# ### Exercise 6.6 (★★★) Open-ended: add the waveform discriminator back and compare
#
# Put the MSD back (`Discriminator.from_preset("tiny", rates=(1, 2, 4))`) and find out what it adds
# to the MPD and the STFT discriminator: for instance, how fast each sub-discriminator learns to
# tell real clips from muffled ones, or how a codec trained with and without it sounds and scores,
# and at what cost per training step.
#
# [Solution](solutions/06_discriminators.ipynb)
#
# ## Further reading
#
# - [Kumar et al., *MelGAN* (2019)](https://arxiv.org/abs/1910.06711): the multi-scale waveform
#   discriminator, window-based verdicts and the feature-matching loss.
# - [Kong et al., *HiFi-GAN* (2020)](https://arxiv.org/abs/2010.05646): the multi-period
#   discriminator, and why periodic structure needs a view of its own.
# - [Jang et al., *UnivNet* (2021)](https://arxiv.org/abs/2106.07889): the multi-resolution
#   spectrogram discriminator that the STFT discriminator grew from.
# - [Kumar et al., *High-Fidelity Audio Compression with Improved RVQGAN*
#   (2023)](https://arxiv.org/abs/2306.06546): the DAC paper, with the banded complex STFT
#   discriminator and its ablations.
# - [The official DAC code](https://github.com/descriptinc/descript-audio-codec):
#   `dac/model/discriminator.py` holds the MPD, the MSD and the banded STFT discriminator.

# %% [markdown]
# [← 5. The encoder and the decoder](05_encoder_decoder.ipynb) · [Contents](00_preface.ipynb) ·
# [7. Losses →](07_losses.ipynb)
