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
# # Solutions: 6. The discriminators
#
# [← 6. The discriminators](../06_discriminators.ipynb)
#
# The chapter's helpers are repeated in the setup cell, so that this notebook runs on its own.

# %%
import math
import sys
import time

sys.path.insert(0, "..")

import numpy as np
import torch
import torch.nn.functional as F
from book import sizes

from dac_minimal import BANDS, Discriminator, DiscriminatorConfig, count_parameters
from dac_minimal.data import rotate_phase, toy_clip
from dac_minimal.discriminator import MRD, MSD, complex_stft

D_STEPS, SECONDS = sizes((30, 3), (0.1, 0.05))
SR = 44100
torch.set_num_threads(1)


def fold(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, 1, T) -> (B, 1, ceil(T/p), p), reflect-padding the end to a multiple of p."""
    pad = (-x.shape[-1]) % p
    if pad:
        x = F.pad(x, (0, pad), mode="reflect")
    return x.view(x.shape[0], 1, -1, p)


def band_bins(window: int, bands=BANDS) -> list[tuple[int, int]]:
    n_bins = window // 2 + 1
    return [(int(lo * n_bins), int(hi * n_bins)) for lo, hi in bands]


def muffle(clip: torch.Tensor, cutoff: float = 11025.0) -> torch.Tensor:
    """``clip`` with every frequency above ``cutoff`` removed."""
    spectrum = torch.fft.rfft(clip.double())
    spectrum[..., torch.fft.rfftfreq(clip.shape[-1], 1 / SR) > cutoff] = 0
    return torch.fft.irfft(spectrum, n=clip.shape[-1]).float()


# %% [markdown]
# ### Solution 6.1
#
# A tone of period 7 samples repeats exactly every 7 samples, so the fold by $p = 7$ puts equal
# values down each column: the columns do not vary.


# %%
def column_spread(sig: torch.Tensor, p: int) -> float:
    return fold(sig, p)[0, 0, :-1].std(dim=0).mean().item()  # the last row may be reflected padding


t = torch.arange(4410, dtype=torch.float64)
tone7 = torch.sin(2 * math.pi * t / 7 + 0.3).float()[None, None]
spreads = {p: column_spread(tone7, p) for p in (2, 3, 5, 7, 11)}
print("period 7 :", {p: round(s, 3) for p, s in spreads.items()})
assert min(spreads, key=spreads.get) == 7 and spreads[7] < 1e-4

tone14 = torch.sin(2 * math.pi * t / 14 + 0.3).float()[None, None]
print("period 14:", {p: round(column_spread(tone14, p), 3) for p in (2, 3, 5, 7, 11)})
repeat2 = {
    p: (fold(tone14, p)[0, 0, 2:-1] - fold(tone14, p)[0, 0, :-3]).abs().max().item()
    for p in (2, 3, 5, 7, 11)
}
assert repeat2[7] < 1e-5 and min(v for p, v in repeat2.items() if p != 7) > 0.1

# %% [markdown]
# Period 14: no MPD period folds it into constant rows (14 is not one of them), but $p = 7$ puts one
# cycle in two rows, so each column alternates between two values: row $r$ equals row $r + 2$. The
# $(5, 1)$ kernels see that; for $p$ = 2, 3, 5, 11 the rows never repeat this quickly.
#
# ### Solution 6.2
#
# The bins do not depend on the sample rate, their frequencies do: bin $b$ sits at $b f_s / W$.

# %%
sr24, window = 24000, 1024
bins24 = band_bins(window)
assert bins24 == MRD(window, channels=1).bands
edges = [(lo * sr24 / window, (hi - 1) * sr24 / window) for lo, hi in bins24]  # first, last bin
print("bands (Hz):", [f"{lo:.0f}-{hi:.0f}" for lo, hi in edges], f"; bin {sr24 / window:.1f} Hz")
assert sr24 / window < 100 / 2  # at least two bins between neighbouring 100 Hz harmonics

# %% [markdown]
# One bin is 23.4 Hz wide, so the harmonics of a 100 Hz voice, 100 Hz apart, fall about four bins
# apart: the lowest band resolves them.
#
# ### Solution 6.3
#
# An MPD has one feature map per conv before its output conv (the strided ones plus one), an MSD
# has 6, and an STFT discriminator has 5 per band.


# %%
def n_feature_maps(c: DiscriminatorConfig) -> int:
    mpd = len(c.periods) * (len(c.mpd_channels) + 1)
    return mpd + 6 * len(c.rates) + 5 * len(c.bands) * len(c.fft_sizes)


short = torch.from_numpy(toy_clip("general", seconds=0.05, seed=0))[None, None]
for overrides in ({"rates": (1, 2)}, {"bands": ((0.0, 1.0),)}):
    disc = Discriminator.from_preset("tiny", **overrides)
    with torch.no_grad():
        maps = sum(len(f) - 1 for f in disc(short))
    print(overrides, "->", maps, "feature maps")
    assert maps == n_feature_maps(disc.config)

# %% [markdown]
# ### Solution 6.4
#
# A phase rotation moves energy between the real and the imaginary part of every bin and leaves
# each bin's magnitude alone.

# %%
clip = toy_clip("music", seconds=0.38, seed=0).astype(np.float64)
rotated = torch.from_numpy(rotate_phase(clip, math.pi / 2)).float()[None, None]
original = torch.from_numpy(clip).float()[None, None]
a, b = complex_stft(original, 1024), complex_stft(rotated, 1024)
mag_a, mag_b = a.pow(2).sum(1).sqrt(), b.pow(2).sum(1).sqrt()
inner = slice(2, -2)  # the FFT-based rotation wraps around at the clip's edges
mag_change = ((mag_a - mag_b).abs()[:, inner].mean() / mag_a[:, inner].mean()).item()
complex_change = ((a - b).abs()[:, :, inner].mean() / a[:, :, inner].abs().mean()).item()
print(f"relative change: magnitude {mag_change:.1%}, real/imaginary {complex_change:.0%}")
assert mag_change < 0.1 and complex_change > 0.5

# %% [markdown]
# A magnitude-only discriminator could not tell these two clips apart; the complex one sees them as
# different inputs. (Whether they *sound* different is another matter: a constant phase rotation of
# every component is hard to hear, but a codec's phase errors vary with time and frequency.)
#
# ### Solution 6.5
#
# The MPDs fold the full-rate waveform, so all five see everything up to $f_s / 2$, the hiss
# included (whether their kernels pick it out is what training decides). An MSD scale at rate $r$
# sees up to $f_s / 2r$: 22.05 kHz at rate 1, 11.025 kHz at rate 2 and 5.5 kHz at rate 4, so only
# the full-rate scale can see it. In the STFT discriminator the band edges are the same in Hz for
# every window, and 12 to 16 kHz lies inside band 4 (about 11 to 16.5 kHz):

# %%
hiss = (12_000, 16_000)
msd_sees = [rate for rate in (1, 2, 4) if SR / 2 / rate > hiss[0]]
print("MSD scales that see the hiss:", msd_sees)
assert msd_sees == [1]
for window in (2048, 1024, 512):
    hz = [(lo * SR / window, (hi - 1) * SR / window) for lo, hi in band_bins(window)]
    seeing = [k + 1 for k, (lo, hi) in enumerate(hz) if lo < hiss[1] and hi > hiss[0]]
    print(f"W = {window}: band(s) {seeing}")
    assert seeing == [4]

# %% [markdown]
# ### Solution 6.6
#
# A way in that runs in seconds: leave the codec out and train the sub-discriminators alone on the
# task that matters most for DAC, telling real clips from muffled copies (everything above 11.025
# kHz removed). Each sub-discriminator is trained from scratch with AdamW (the official betas, ten
# times the official learning rate, so that a few dozen steps show something) and the least-squares
# loss of [chapter 7](../07_losses.ipynb), on the same batches, and then judged on clips it has not
# seen by its **margin**, the mean logit on real clips minus the mean logit on muffled ones (1 would
# be a perfect least-squares discriminator, 0 one that cannot tell).


# %%
def pair(domain: str, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A toy clip and its muffled copy, each preprocessed as the discriminators do, (1, T) each."""
    clip = torch.from_numpy(toy_clip(domain, seconds=SECONDS, seed=3, index=index))[None, None]
    return Discriminator.preprocess(clip)[0], Discriminator.preprocess(muffle(clip))[0]


domains = ("speech", "music", "general")
train_pairs = [pair(d, i) for d in domains for i in (0, 1, 2, 4, 5, 6)]  # index 3: band-limited
test_pairs = [pair(d, i) for d in domains for i in (8, 9)]


def stack(pairs):
    return torch.stack([r for r, _ in pairs]), torch.stack([f for _, f in pairs])


def logits(d, x: torch.Tensor) -> torch.Tensor:
    return d(x)[-1]


def train_discriminator(d, steps: int) -> tuple[float, float]:
    """Least-squares training on real vs muffled; returns (margin on unseen clips, s per step)."""
    opt = torch.optim.AdamW(d.parameters(), lr=1e-3, betas=(0.8, 0.99))
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        pick = torch.randperm(len(train_pairs), generator=gen)[:8].tolist()
        real, fake = stack([train_pairs[i] for i in pick])
        loss = (1 - logits(d, real)).pow(2).mean() + logits(d, fake).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    per_step = (time.perf_counter() - start) / max(steps, 1)
    real, fake = stack(test_pairs)
    with torch.no_grad():
        return (logits(d, real).mean() - logits(d, fake).mean()).item(), per_step


candidates = {
    "MSD rate 1": lambda: MSD(1),
    "MSD rate 2": lambda: MSD(2),
    "MSD rate 4": lambda: MSD(4),
    "STFT W=2048, one band": lambda: MRD(2048, bands=((0.0, 1.0),), channels=8),
    "STFT W=2048, five bands": lambda: MRD(2048, channels=8),
}
results = {}
for name, build in candidates.items():
    torch.manual_seed(0)
    d = build()
    margin, per_step = train_discriminator(d, D_STEPS)
    results[name] = (margin, per_step, count_parameters(d))
base = results["STFT W=2048, five bands"][1]
print(
    f"after {D_STEPS} steps on {len(train_pairs)} clips, judged on {len(test_pairs)} unseen ones:"
)
for name, (margin, per_step, n) in results.items():
    print(
        f"{name:24s} margin {margin:+.3f}   {n / 1e6:6.3f}M parameters   "
        f"{per_step / base:4.1f}x the time per step"
    )

# %% [markdown]
# What to look for: which sub-discriminators find the missing highs at all, and how fast; whether
# the downsampled MSD scales learn anything (they cannot see above 11.025 kHz, so only side effects
# of the muffling, such as the level change after peak normalisation, are left to them); what the
# full-rate MSD costs per step next to a banded STFT discriminator of the tiny width. The margins
# move from run to run at this size: more steps and more clips make them trustworthy.
#
# How to go further:
#
# - replace the muffling by other codec flaws: a little noise in one band, a phase error
#   (`dac_minimal.data.rotate_phase`), a periodic click every few hundred samples, and see which
#   sub-discriminator notices each;
# - train the tiny codec with the MSD added, through the package's trainer, which takes a
#   ready-built discriminator: `Trainer(TrainConfig(preset="tiny", gan_start=0, steps=...),
#   discriminator=Discriminator.from_preset("tiny", rates=(1, 2, 4))).fit()` (`dac_minimal.train`),
#   next to the same run without it, and compare the two with `python -m dac_minimal.evaluate` (mel
#   distance, the high band) and by ear; chapter 8 shows the loop and chapter 9 the metrics.
