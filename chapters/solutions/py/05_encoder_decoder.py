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
# # Solutions: 5. The encoder and the decoder
#
# [← 5. The encoder and the decoder](../05_encoder_decoder.ipynb)
#
# The chapter's helpers are repeated in the setup cell, so that this notebook runs on its own.

# %%
import math
import sys
import unittest.mock

sys.path.insert(0, "..")

import numpy as np
import torch
import torch.nn.functional as F
from book import sizes
from torch import nn

import dac_minimal.model
from dac_minimal import DAC, DACConfig, WNConv1d, count_parameters
from dac_minimal.data import toy_clip
from dac_minimal.layers import init_weights
from dac_minimal.loss import MultiScaleMelLoss
from dac_minimal.model import Decoder, Encoder
from dac_minimal.quantize import CodeReviver, ResidualVectorQuantize

TRAIN_STEPS, SECONDS = sizes((30, 3), (0.1, 0.05))
SR = 44100
torch.set_num_threads(1)


def conv_out_len(length, kernel, stride=1, padding=0, dilation=1):
    return (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def encoder_layers(rates=(2, 4, 8, 8), dilations=(1, 3, 9)):
    """(name, kernel, stride, dilation, padding) of every layer that widens the view."""
    layers = [("conv in", 7, 1, 1, 3)]
    for s in rates:
        layers += [("res", 7, 1, dil, 3 * dil) for dil in dilations]
        layers.append(("down", 2 * s, s, 1, math.ceil(s / 2)))
    return layers + [("conv out", 3, 1, 1, 1)]


def receptive_field(layers):
    """(name, jump J, size R, start o) after each layer, in input samples."""
    jump, size, start, rows = 1, 1, 0, []
    for name, kernel, s, dil, pad in layers:
        size += dil * (kernel - 1) * jump
        start -= pad * jump
        jump *= s
        rows.append((name, jump, size, start))
    return rows


def conv_params(c_in, c_out, kernel, transposed=False):
    return c_in * c_out * kernel + c_out + (c_in if transposed else c_out)


def residual_unit_params(c):
    return 2 * c + conv_params(c, c, 7) + conv_params(c, c, 1)


def decoder_budget(cfg):
    dim = cfg.decoder_dim
    parts = {"dec conv in": conv_params(cfg.latent_dim, dim, 7)}
    for b, s in enumerate(cfg.decoder_rates, start=1):
        upsample = conv_params(dim, dim // 2, 2 * s, transposed=True)
        parts[f"dec block {b}"] = dim + upsample + 3 * residual_unit_params(dim // 2)
        dim //= 2
    parts["dec conv out"] = dim + conv_params(dim, 1, 7)
    return parts


def variation_and_offset(h):
    offset = h.mean(dim=-1, keepdim=True)
    return (h - offset).pow(2).mean().sqrt().item(), offset.pow(2).mean().sqrt().item()


def mean_cosine(vectors):
    """Mean cosine similarity over pairs of distinct rows of ``vectors`` (N, d)."""
    unit = F.normalize(vectors, dim=-1)
    n = len(unit)
    return (((unit @ unit.T).sum() - n) / (n * (n - 1))).item()


@torch.no_grad()
def probe_front(encoder, quantizer, x):
    """Variation and offset of codebook 1's input, the mean cosine, the entries codebook 1 picks."""
    z_tilde = quantizer.quantizers[0].in_proj(encoder(x))  # (B, d, L)
    flat = z_tilde.transpose(1, 2).reshape(-1, z_tilde.shape[1])
    codes = quantizer.quantizers[0].nearest(z_tilde)
    return dict(
        z_tilde=variation_and_offset(z_tilde),
        cosine=mean_cosine(flat),
        used=codes.unique().numel(),
        frames=len(flat),
    )


def fresh_encoder_and_quantizer(cfg, init=None):
    """A fresh encoder and quantizer for ``cfg``; ``init`` is applied to both when given."""
    encoder = Encoder(cfg.encoder_dim, cfg.encoder_rates, cfg.latent_dim)
    quantizer = ResidualVectorQuantize(
        cfg.latent_dim, cfg.n_codebooks, cfg.codebook_size, cfg.codebook_dim
    )
    if init is not None:
        encoder.apply(init)
        quantizer.apply(init)
    return encoder.eval(), quantizer.eval()


probe = torch.stack(
    [torch.from_numpy(toy_clip(d, seconds=0.3, seed=1)) for d in ("speech", "music", "general")]
)[:, None]
TINY = DACConfig(encoder_dim=8, latent_dim=64, decoder_dim=96)

# %% [markdown]
# ### Solution 5.1
#
# Run a length that the hop divides through the four strided convs: 3200 samples come out as 10
# frames, so the hop is 320. The receptive field walk gives the jump (the hop again) and the size.

# %%
rates_24k = (2, 4, 5, 8)
length = 320 * 10
for s in rates_24k:
    length = conv_out_len(length, 2 * s, s, math.ceil(s / 2))
assert length == 10  # 3200 samples -> 10 frames: hop 320
_, jump_24k, rf_24k, _ = receptive_field(encoder_layers(rates_24k))[-1]
print(
    f"24 kHz: hop {jump_24k}, {24000 / jump_24k:.0f} frames/s, receptive field {rf_24k} samples "
    f"= {1000 * rf_24k / 24000:.0f} ms"
)
cfg_24k = DACConfig(sample_rate=24000, encoder_rates=rates_24k, decoder_rates=(8, 5, 4, 2))
assert jump_24k == 320 == cfg_24k.hop_length

# %% [markdown]
# The 24 kHz model's frames see fewer samples than the 44.1 kHz model's (the stride 5 replaces an 8
# in the last blocks, where the dilated units buy most of the width), but at a lower sample rate
# each sample lasts longer; the cell prints the result in milliseconds.
#
# ### Solution 5.2

# %%
full = sum(decoder_budget(DACConfig()).values())
small_cfg = DACConfig(decoder_dim=1024)
predicted = sum(decoder_budget(small_cfg).values())
guess = (1024 / 1536) ** 2 * full
print(f"decoder_dim 1024: {predicted / 1e6:.2f}M; quadratic guess {guess / 1e6:.2f}M")
assert predicted == count_parameters(Decoder(1024, 1024, (8, 8, 4, 2)))
assert predicted > guess

# %% [markdown]
# Close, but above the quadratic guess: the first conv's input is the fixed latent ($C$ = 1024
# channels), so it grows only linearly with the decoder's width, as do the biases, the gains $g$
# and Snake's $\alpha$.
#
# ### Solution 5.3
#
# $w = g\,v/\lVert v\rVert$ does not change when $v$ is scaled, so the derivative of the loss along
# $v$ itself is zero: $\langle \partial \ell / \partial v, v\rangle = 0$ for each filter.

# %%
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
# ### Solution 5.4


# %%
def reach_of(dilations, width=2001):
    """Which offsets can reach the centre through one stack of 7-tap units with ``dilations``."""
    reach = np.zeros(width)
    reach[width // 2] = 1
    for dil in dilations:
        kernel = np.zeros(6 * dil + 1)
        kernel[::dil] = 1
        reach = np.convolve(reach, kernel, mode="same") > 0
    return reach


rf = receptive_field(encoder_layers())[-1][2]
rf_124 = receptive_field(encoder_layers(dilations=(1, 2, 4)))[-1][2]
print(f"dilations 1, 2, 4: {rf_124} samples vs {rf} ({rf / rf_124:.1f}x smaller)")
for dils in ((1, 3, 9), (1, 9, 81)):
    idx = np.flatnonzero(reach_of(dils))
    gaps = (idx[-1] - idx[0] + 1) - len(idx)
    print(f"dilations {dils}: span {idx[-1] - idx[0] + 1}, reached {len(idx)}, gaps {gaps}")
    assert (gaps == 0) == (dils == (1, 3, 9))

# %% [markdown]
# A 7-tap unit at dilation $\delta$ reaches offsets $-3\delta \dots 3\delta$ in steps of
# $\delta$. With $1, 3, 9$ the units before it already fill every offset in $-4 \dots 4$ (and then
# $-13 \dots 13$), wider than the next dilation's step, so no offset is skipped. With $1, 9, 81$ the
# first unit fills only $-3 \dots 3$, less than the step 9 of the next one: offsets such as 4 or 5
# are never reached.
#
# ### Solution 5.5
#
# Normalising divides each vector by its own length. That removes a *scale* common to all frames,
# but an offset $\mu$ shared by all frames is a common *direction*: after normalisation every frame
# still points towards $\mu$, plus a little. For $\tilde z_t = \mu + \epsilon_t$ with
# $\epsilon_t \sim \mathcal N(0, \sigma^2 I_d)$, two frames have
# $\tilde z_s \cdot \tilde z_t \approx \lVert\mu\rVert^2$ on average, and each has squared length
# about $\lVert\mu\rVert^2 + d\sigma^2$, so
#
# $$\mathbb E[\cos] \approx \frac{\rho^2}{\rho^2 + d}, \qquad \rho = \lVert\mu\rVert / \sigma .$$
#
# In the chapter's terms the offset's RMS per coordinate is $o = \lVert\mu\rVert/\sqrt d$ and the
# variation's is $\sigma$, so $\mathbb E[\cos] \approx (o/\sigma)^2 / ((o/\sigma)^2 + 1)$: the
# cosine approaches 1 as soon as the offset outgrows the variation.

# %%
d, n = 8, 1000
gen = torch.Generator().manual_seed(0)
for rho in (0.0, 1.0, 2.0, 4.0, 8.0, 16.0):
    mu = torch.randn(d, generator=gen)
    mu = rho * mu / mu.norm()
    frames = mu + torch.randn(n, d, generator=gen)
    simulated, predicted = mean_cosine(frames), rho**2 / (rho**2 + d)
    print(f"rho = {rho:4.1f}: simulated {simulated:.3f}, predicted {predicted:.3f}")
    assert abs(simulated - predicted) < 0.08

for name, init in (("PyTorch default", None), ("variance-preserving", init_weights)):
    torch.manual_seed(0)
    r = probe_front(*fresh_encoder_and_quantizer(TINY, init), probe)
    ratio = r["z_tilde"][1] / r["z_tilde"][0]
    print(
        f"tiny, {name:19s}: offset / variation {ratio:.2f}, predicted cosine "
        f"{ratio**2 / (ratio**2 + 1):.2f}, measured {r['cosine']:.2f}"
    )
    assert abs(r["cosine"] - ratio**2 / (ratio**2 + 1)) < 0.15

# %% [markdown]
# The estimate treats the variation as isotropic noise, which the real $\tilde z$ is not, yet it
# predicts the measured cosines of section 5.7 closely: the ratio of offset to variation is what
# decides whether the frames can be told apart.
#
# ### Solution 5.6
#
# Write the weight through the weight-norm parametrization, as `init_weights` does, so that the
# effective weight is exactly the drawn one.


# %%
def official_recipe(module: nn.Module) -> None:
    """Truncated normal weights of standard deviation 0.02 (at 2σ) and zero biases, every conv."""
    if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
        with torch.no_grad():
            weight = torch.empty_like(module.weight)
            nn.init.trunc_normal_(weight, std=0.02, a=-0.04, b=0.04)
            module.weight = weight
            nn.init.zeros_(module.bias)


LR = 1e-4
margins = {}
for name, init in (("std 0.02", official_recipe), ("variance-preserving", init_weights)):
    torch.manual_seed(0)
    r = probe_front(*fresh_encoder_and_quantizer(TINY, init), probe)
    margins[name] = r["z_tilde"][0] / LR
    print(
        f"{name:19s}: variation of z~ {r['z_tilde'][0]:.1e}, offset {r['z_tilde'][1]:.1e}, "
        f"{r['used']} entries for {r['frames']} frames; a bias outgrows the variation after "
        f"about {margins[name]:.2g} Adam steps"
    )
assert margins["std 0.02"] < margins["variance-preserving"] / 100

# %% [markdown]
# With zero biases the codes can even be spread at initialisation (the cosine lookup ignores how
# small the vectors are), but the signal has shrunk by orders of magnitude through the layers,
# since a conv with weights of standard deviation 0.02 and a fan-in of a few dozen multiplies its
# input's scale by far less than 1. The margin is then below one Adam step: the first update of
# $b_\text{in}$ already outgrows the variation, and the codes collapse at once.
#
# ### Solution 5.7
#
# A way in: the same tiny codec twice, once built with `init_weights` switched off (so every conv
# keeps PyTorch's default init), trained with the official optimiser on the mel loss and the two VQ
# losses, on a small fixed batch of toy clips. Every few steps we count the entries codebook 1
# chooses on the chapter's probe batch, and the mean over the nine codebooks.


# %%
def tiny_codec(variance_preserving: bool) -> DAC:
    torch.manual_seed(0)
    if variance_preserving:
        return DAC.from_preset("tiny")
    with unittest.mock.patch.object(dac_minimal.model, "init_weights", lambda module: None):
        return DAC.from_preset("tiny")


@torch.no_grad()
def entries_in_use(model: DAC) -> tuple[int, float]:
    model.eval()
    codes = model.encode(probe).codes  # (B, n_q, L)
    used = [c.unique().numel() for c in codes.transpose(0, 1).reshape(codes.shape[1], -1)]
    model.train()
    return used[0], float(np.mean(used))


def train(model: DAC, steps: int, lr: float = 1e-4, revive_every: int = 0) -> list:
    clips = [
        toy_clip(d, seconds=SECONDS, seed=2, index=i) for d in ("speech", "music") for i in (0, 1)
    ]
    batch = torch.stack([torch.from_numpy(c) for c in clips])[:, None]
    mel = MultiScaleMelLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.8, 0.99))
    reviver = CodeReviver(model.quantizer, every=revive_every) if revive_every else None
    log = [(0, *entries_in_use(model))]
    model.train()
    for step in range(1, steps + 1):
        out = model(batch)
        loss = 15 * mel(out.audio, batch) + out.codebook_loss + 0.25 * out.commitment_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if reviver is not None:
            reviver.update(out.codes, out.latents)
        if step % max(steps // 5, 1) == 0 or step == steps:
            log.append((step, *entries_in_use(model)))
    return log


logs = {name: train(tiny_codec(vp), TRAIN_STEPS) for name, vp in (("default", False), ("VP", True))}
print("entries chosen by codebook 1 on the probe batch, and the mean over the 9 codebooks")
for name, log in logs.items():
    print(f"{name:8s}", "  ".join(f"step {s}: {c1} (mean {cm:.0f})" for s, c1, cm in log))
assert logs["VP"][0][1] > logs["default"][0][1]  # the difference at step 0, as in section 5.7

# %% [markdown]
# What to look for: at step 0 the default init chooses a handful of entries and the
# variance-preserving one many (the same contrast as section 5.7); then whether the default's count
# ever recovers, and whether the variance-preserving one's holds. How to go further:
#
# - raise the learning rate to the tiny CPU recipe's $10^{-3}$ (`train(..., lr=1e-3)`): the biases
#   drift ten times faster, and section 5.7's margin is used up in a tenth of the steps;
# - add dead-code revival, `train(..., revive_every=10)`, and see whether it rescues the default
#   init or only the variance-preserving one;
# - train longer and on more data with the real loop, `python -m dac_minimal.train --preset tiny`
#   (chapter 8), and read its utilization logs.
