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
# # Solutions: 4. Residual vector quantization and quantizer dropout
#
# [← 4. Residual vector quantization and quantizer dropout](../04_residual_vq.ipynb)
#
# Exercises 4.2 to 4.5 use the chapter's latents of section 4.2 and the miniature of section 4.4;
# the next cell repeats them, so that this notebook runs on its own.

# %%
import sys

sys.path.insert(0, "..")

import math

import numpy as np
import torch
import torch.nn.functional as F
from book import sizes
from torch import nn

from dac_minimal import DAC
from dac_minimal.quantize import ResidualVectorQuantize

RVQ_STEPS, DROPOUT_STEPS = sizes((400, 100), (300, 60))  # Adam steps, as in sections 4.2, 4.4
torch.manual_seed(0)
torch.set_num_threads(1)

LATENT_DIM = 32
_g = torch.Generator().manual_seed(0)
_lift = torch.randn(8, LATENT_DIM, generator=_g)
_mix = torch.randn(LATENT_DIM, LATENT_DIM, generator=_g) / LATENT_DIM**0.5


def latents(count: int, gen: torch.Generator) -> torch.Tensor:
    return 2 * torch.tanh(torch.randn(count, 8, generator=gen) @ _lift / 2) @ _mix


held_out = latents(4096, torch.Generator().manual_seed(5))


def relative_error_db(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    return 10 * math.log10(((x - x_hat) ** 2).sum().item() / ((x - x.mean(0)) ** 2).sum().item())


class TinyRVQAutoencoder(nn.Module):
    def __init__(self, quantizer_dropout: float, n_codebooks: int = 9, codebook_size: int = 16):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(32, 128), nn.GELU(), nn.Linear(128, 32))
        self.quantizer = ResidualVectorQuantize(
            32, n_codebooks, codebook_size, 8, quantizer_dropout=quantizer_dropout
        )
        self.decoder = nn.Sequential(nn.Linear(32, 128), nn.GELU(), nn.Linear(128, 32))

    def forward(self, x: torch.Tensor, n_quantizers: int | None = None):
        out = self.quantizer(self.encoder(x)[:, :, None], n_quantizers)
        return self.decoder(out.z_q[:, :, 0]), out


def train_with_dropout(p: float, steps: int = DROPOUT_STEPS, seed: int = 2, **kwargs) -> list:
    """Section 4.4's training; the held-out error (dB) with n = 1..n_q codebooks."""
    torch.manual_seed(seed)
    model = TinyRVQAutoencoder(quantizer_dropout=p, **kwargs)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed + 1)
    for _ in range(steps):
        x = latents(256, gen)
        x_hat, out = model(x)
        loss = F.mse_loss(x_hat, x) + out.codebook_loss + 0.25 * out.commitment_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        n_codebooks = model.quantizer.n_codebooks
        return [
            relative_error_db(held_out, model(held_out, n)[0]) for n in range(1, n_codebooks + 1)
        ]


# %% [markdown]
# ### Solution 4.1
#
# A minute holds $\lceil 60 \cdot 44100 / 512 \rceil$ frames of 9 codes each. At 16 bits a code
# that is 1.6 times what 10 bits a code need, and the bit-packed size is exactly the nominal
# bitrate times the duration. (Chapter 10's `.dacm` file packs the codes this way.)

# %%
frames = math.ceil(60 * 44100 / 512)
stored = frames * 9 * 16 / 8 / 1000  # kB with uint16
packed = frames * 9 * 10 / 8 / 1000  # kB with 10 bits a code
print(
    f"{frames} frames: uint16 {stored:.1f} kB, bit-packed {packed:.1f} kB, "
    f"ratio {stored / packed:.1f}"
)
bitrate_kbps = DAC.from_preset("tiny").bitrate(9) / 1000
assert abs(stored / packed - 1.6) < 1e-12 and abs(packed * 8 / 60 - bitrate_kbps) < 0.01

# %% [markdown]
# ### Solution 4.2
#
# Train an RVQ as in section 4.2, then run its quantizers one by one, keeping every residual.

# %%
torch.manual_seed(0)
rvq = ResidualVectorQuantize(LATENT_DIM, n_codebooks=6, codebook_size=64, codebook_dim=8)
opt = torch.optim.Adam(rvq.parameters(), lr=3e-3)
gen = torch.Generator().manual_seed(1)
for _ in range(RVQ_STEPS):
    z = latents(256, gen)[:, :, None]
    out = rvq(z)
    loss = F.mse_loss(out.z_q, z) + out.codebook_loss + 0.25 * out.commitment_loss
    opt.zero_grad()
    loss.backward()
    opt.step()
rvq.eval()

with torch.no_grad():
    z_e = held_out[:, :, None]  # (4096, 32, 1)
    residual, norms = z_e, [z_e.norm().item()]  # r_1 = z_e
    for quantizer in rvq.quantizers:
        residual = residual - quantizer(residual).z_q  # r_{i+1} = r_i − ẑ_i
        norms.append(residual.norm().item())
    torch.testing.assert_close(z_e - rvq(z_e).z_q, residual, atol=1e-5, rtol=1e-5)
print("‖r_i‖ for i = 1..7:", np.round(norms, 1))
assert all(b < a for a, b in zip(norms, norms[1:]))

# %% [markdown]
# The identity $z_e - z_q = r_{n_q+1}$ is a telescoping sum: $z_q = \sum_i \hat z_i = \sum_i
# (r_i - r_{i+1}) = r_1 - r_{n_q+1}$. It holds for any quantizers, trained or not; training is
# what makes the residuals shrink.
#
# ### Solution 4.3
#
# With $p = 1$ every item draws its own $n$. Compare each item's $z_q$ with the prefix sums
# `from_codes(codes[:, :n])` for n = 1..6: exactly one of them matches.

# %%
torch.manual_seed(3)
dropper = ResidualVectorQuantize(32, n_codebooks=6, codebook_size=16, quantizer_dropout=1.0).train()
with torch.no_grad():
    out = dropper(latents(64, torch.Generator().manual_seed(7))[:, :, None])
    n_used = []
    for b in range(64):
        errors = [
            (dropper.from_codes(out.codes[b : b + 1, :n]) - out.z_q[b : b + 1]).abs().max().item()
            for n in range(1, 7)
        ]
        n_used.append(1 + int(np.argmin(errors)))
        assert min(errors) < 1e-4  # z_q of item b is exactly a prefix sum
print("items per n = 1..6:", np.bincount(n_used, minlength=7)[1:])
assert out.codes.shape == (64, 6, 1) and len(set(n_used)) > 3

# %% [markdown]
# ### Solution 4.4
#
# `_quantizers_per_item` gives every item $n_q$ codebooks, then redraws $n \sim \mathcal{U}\{1..
# n_q\}$ for the first $\lfloor p B \rfloor$ items of the batch (the official code does the
# same). It is the first random draw of the forward pass, so the same seed gives the same draw.
# Stage $i$ then counts for item $b$ when $i < n_b$ (0-based): its $\hat z_i$ is masked out of
# $z_q$ and out of both losses, but the residual passes on unmasked (what the later stages see
# does not depend on the mask; for a masked item they are themselves masked).


# %%
def dropout_inline(rvq: ResidualVectorQuantize, z_e: torch.Tensor, p: float):
    """Quantizer dropout by hand: (z_q, commitment loss, codebook loss, n per item)."""
    batch, n_q = z_e.shape[0], rvq.n_codebooks
    n = torch.full((batch,), n_q)
    n_drop = int(batch * p)
    n[:n_drop] = torch.randint(1, n_q + 1, (n_drop,))
    z_q, residual = torch.zeros_like(z_e), z_e
    commitment, codebook = z_e.new_zeros(()), z_e.new_zeros(())
    for i, quantizer in enumerate(rvq.quantizers):
        out = quantizer(residual)
        mask = (n > i).to(z_e.dtype)  # (B,)
        z_q = z_q + out.z_q * mask[:, None, None]
        residual = residual - out.z_q
        commitment = commitment + (out.commitment_loss * mask).mean()
        codebook = codebook + (out.codebook_loss * mask).mean()
    return z_q, commitment, codebook, n


rvq_drop = ResidualVectorQuantize(32, n_codebooks=9, codebook_size=16, quantizer_dropout=0.5)
rvq_drop.train()
z_e = latents(32, torch.Generator().manual_seed(8))[:, :, None]
with torch.no_grad():
    torch.manual_seed(11)
    theirs = rvq_drop(z_e)
    torch.manual_seed(11)
    z_q, commitment, codebook, n = dropout_inline(rvq_drop, z_e, p=0.5)
torch.testing.assert_close(z_q, theirs.z_q)
torch.testing.assert_close(commitment, theirs.commitment_loss)
torch.testing.assert_close(codebook, theirs.codebook_loss)
print("n per item:", n.tolist())
assert (n[16:] == 9).all() and (n[:16] < 9).any()  # only the first p·B items drop codebooks

# %% [markdown]
# ### Solution 4.5
#
# A way in: train the miniature twice, identical but for $p$, and read the error with 1, 4 and 9
# codebooks. The cell below does it briefly; lengthen `DROPOUT_STEPS` for a run worth reading.
# What to look for: the low bitrates should favour the larger $p$, the full bitrate the smaller;
# a good compromise loses little at both ends.

# %%
results = {p: train_with_dropout(p) for p in (0.25, 1.0)}
print("error (dB) with n =    1      4      9")
for p, curve in results.items():
    print(f"p = {p:4}:          {curve[0]:5.1f}  {curve[3]:5.1f}  {curve[8]:5.1f}")
assert all(len(curve) == 9 for curve in results.values())

# %% [markdown]
# To extend it:
#
# - add $p = 0$ and $p = 0.5$, and plot the error against $n$ for all four, as in section 4.4;
# - train for 1000 steps or more: do the two ends separate further, and does $p = 0.25$ approach
#   $p = 0$ at $n = 9$ while keeping most of $p = 1$'s advantage at $n = 1$?
# - repeat with three seeds (`train_with_dropout(p, seed=s)`) and plot the mean with error bars:
#   differences smaller than the spread between seeds are not findings;
# - make the codebooks larger (`codebook_size=64`, passed through `train_with_dropout`) and see
#   whether the trade-off shrinks when each codebook carries more bits.
#
# The report's Fig. 4 runs the same comparison on the full codec, with $p$ = 0, 0.5 and 1.

# %% [markdown]
# [← 4. Residual vector quantization and quantizer dropout](../04_residual_vq.ipynb)
