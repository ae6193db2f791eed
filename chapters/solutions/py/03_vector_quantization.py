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
# # Solutions: 3. Vector quantization and straight-through gradients
#
# [← 3. Vector quantization and straight-through gradients](../03_vector_quantization.ipynb)
#
# The exercises build on the chapter's helpers: the two lookups of section 3.1, `code_usage` of
# section 3.4 and the collapse experiment of section 3.5. The next two cells repeat them, so that
# this notebook runs on its own.

# %%
import sys

sys.path.insert(0, "..")

import numpy as np
import torch
import torch.nn.functional as F
from book import sizes
from torch import nn

from dac_minimal.quantize import VectorQuantize

STEPS = sizes((400, 60))  # Adam steps per model in the collapse experiment of section 3.5
torch.manual_seed(0)
torch.set_num_threads(1)


# %%
def nearest_euclidean(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    dist = z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.t() + codebook.pow(2).sum(1)
    return dist.argmin(dim=1)


def nearest_cosine(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    return (F.normalize(z, dim=1) @ F.normalize(codebook, dim=1).t()).argmax(dim=1)


def code_usage(codes: torch.Tensor, codebook_size: int) -> tuple[float, float]:
    p = torch.bincount(codes.flatten(), minlength=codebook_size).double()
    p = p / p.sum()
    nz = p[p > 0]
    return (p > 0).double().mean().item(), -(nz * nz.log2()).sum().item()


DIM = 64
g = torch.Generator().manual_seed(0)
basis = torch.randn(16, DIM, generator=g) / 4
data = torch.randn(16384, 16, generator=g) @ basis + 0.5 * torch.randn(DIM, generator=g)
data = data / data.std()
evaluation = data[:4096]


class PlainVQ(nn.Module):
    def __init__(self, dim: int, codebook_size: int):
        super().__init__()
        self.codebook = nn.Embedding(codebook_size, dim)

    def forward(self, z_e: torch.Tensor):
        codes = nearest_euclidean(z_e.detach(), self.codebook.weight.detach())
        e = self.codebook(codes)
        z_q = z_e + (e - z_e).detach()
        return z_q, codes, (z_e.detach() - e).pow(2).mean(), (z_e - e.detach()).pow(2).mean()


class PackageVQ(nn.Module):
    def __init__(self, dim: int, codebook_size: int, codebook_dim: int = 8):
        super().__init__()
        self.vq = VectorQuantize(dim, codebook_size, codebook_dim)

    def forward(self, z_e: torch.Tensor):
        out = self.vq(z_e[:, :, None])
        return (
            out.z_q[:, :, 0],
            out.codes.flatten(),
            out.codebook_loss.mean(),
            out.commitment_loss.mean(),
        )


class TinyAutoencoder(nn.Module):
    def __init__(self, quantizer: nn.Module):
        super().__init__()
        self.encoder, self.quantizer = nn.Linear(DIM, DIM), quantizer
        self.decoder = nn.Linear(DIM, DIM)

    def forward(self, x: torch.Tensor):
        z_q, codes, codebook_loss, commitment_loss = self.quantizer(self.encoder(x))
        return self.decoder(z_q), codes, codebook_loss, commitment_loss


def train(
    model: TinyAutoencoder, steps: int = STEPS, every: int = 10, batch: int = 256, hook=None
) -> dict:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    log = {"step": [], "utilization": [], "entropy": [], "recon": []}
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            with torch.no_grad():
                _, codes, _, _ = model(evaluation)
            util, bits = code_usage(codes, 256)
            log["step"].append(step), log["utilization"].append(util), log["entropy"].append(bits)
        x = data[torch.randint(len(data), (batch,), generator=gen)]
        x_hat, codes, codebook_loss, commitment_loss = model(x)
        recon = F.mse_loss(x_hat, x)
        loss = recon + codebook_loss + 0.25 * commitment_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        log["recon"].append(recon.item())
        if hook is not None:
            hook(model, x, codes)
    return log


def plain_model(seed: int = 0) -> TinyAutoencoder:
    torch.manual_seed(seed)
    model = TinyAutoencoder(PlainVQ(DIM, 256))
    with torch.no_grad():
        model.quantizer.codebook.weight.normal_(0.0, model.encoder(evaluation).std().item())
    return model


plain_log = train(plain_model())
print(f"plain VQ, as in section 3.5: utilization {plain_log['utilization'][-1]:.1%}")

# %% [markdown]
# ### Solution 3.1
#
# With $m$ codes used equally, $p_k = 1/m$ for those $m$ and 0 for the rest, so utilization is
# $m/K$ and $H = -\sum_{k=1}^{m} \frac{1}{m} \log_2 \frac{1}{m} = \log_2 m$, hence $2^H = m$.
# Perplexity counts "equally used codes": a codebook whose perplexity is 20 carries as much
# information per vector as one with exactly 20 codes, used equally.

# %%
for m in (1, 3, 100):
    util, bits = code_usage(torch.arange(m).repeat(7), 256)
    assert util == m / 256 and abs(2**bits - m) < 1e-9
    print(f"m = {m:3d}: utilization {util:.3f}, perplexity {2**bits:.1f}")

# %% [markdown]
# ### Solution 3.2
#
# The codebook loss sends no gradient to `in_proj` and the commitment loss none to the codebook
# (section 3.2), so in `codebook_loss + β · commitment_loss` the codebook's gradient is the
# codebook loss's alone, whatever $\beta$, and the encoder side's is $\beta$ times the commitment
# loss's. Going from $\beta = 0.25$ to $\beta = 1$ multiplies the second by exactly 4:

# %%
vq = VectorQuantize(input_dim=32, codebook_size=64, codebook_dim=8)
out = vq(torch.randn(3, 32, 20))
params = [vq.codebook.weight, *vq.in_proj.parameters()]


def vq_grads(beta: float) -> list[torch.Tensor]:
    loss = (out.codebook_loss + beta * out.commitment_loss).sum()
    return torch.autograd.grad(loss, params, retain_graph=True)


(book_a, *proj_a), (book_b, *proj_b) = vq_grads(0.25), vq_grads(1.0)
torch.testing.assert_close(book_a, book_b)  # the codebook's pull does not depend on β
for a, b in zip(proj_a, proj_b):
    torch.testing.assert_close(b, 4 * a)  # the encoder's pull scales with β
print("β scales only the gradient that reaches in_proj (the encoder side)")

# %% [markdown]
# With $\beta = 0$ nothing ties the encoder to the codebook: only the reconstruction gradient,
# copied through the straight-through estimator, moves it. The codebook loss makes the entries
# chase the encoder outputs, but if the encoder moves faster than its entries follow, its outputs
# can drift away (the VQ-VAE paper notes they can grow without bound, since the latent space has
# no fixed scale), and the distance between $z_e$ and $z_q$, which the straight-through estimator
# ignores, grows. The commitment loss is the encoder's promise to stay near the codes it picks.

# %% [markdown]
# ### Solution 3.3
#
# Without the straight-through term, $z_q = e$ is computed from the codebook alone: the graph from
# the reconstruction loss reaches the decoder and the codebook, and stops there. `argmin` has no
# gradient, so nothing leads back to the encoder.

# %%
model = plain_model()
z_e = model.encoder(data[:64])
codes = nearest_euclidean(z_e.detach(), model.quantizer.codebook.weight.detach())
z_q = model.quantizer.codebook(codes)  # z_q = e: no straight-through
recon = F.mse_loss(model.decoder(z_q), data[:64])
g_enc, g_dec = torch.autograd.grad(
    recon, [model.encoder.weight, model.decoder.weight], allow_unused=True
)
assert g_enc is None and g_dec is not None and g_dec.abs().sum() > 0
print(f"without straight-through: encoder gradient None, decoder gradient norm {g_dec.norm():.4f}")

# %% [markdown]
# ### Solution 3.4
#
# The hook counts steps and, every 20, moves each entry no vector of the batch picked onto a
# random encoder output of that batch: onto a point where the data actually is, so that it can
# win a lookup and start receiving gradient.

# %%
restart_step = {"n": 0}


def restart_dead_codes(model: TinyAutoencoder, x: torch.Tensor, codes: torch.Tensor) -> None:
    restart_step["n"] += 1
    if restart_step["n"] % 20:
        return
    with torch.no_grad():
        dead = torch.ones(256, dtype=torch.bool)
        dead[codes] = False
        z_e = model.encoder(x)
        pick = torch.randint(len(z_e), (int(dead.sum()),))
        model.quantizer.codebook.weight[dead] = z_e[pick]


restart_log = train(plain_model(), hook=restart_dead_codes)
print(
    f"plain {plain_log['utilization'][-1]:.1%} → with restarts {restart_log['utilization'][-1]:.1%}"
)
assert restart_log["utilization"][-1] > plain_log["utilization"][-1] + 0.2

# %% [markdown]
# Restarts treat the symptom: entries keep dying and are revived. The factorized, normalised
# lookup of section 3.6 removes the cause; the package's `CodeReviver` adds restarts on top, for
# short training runs.
#
# ### Solution 3.5


# %%
class AblationVQ(nn.Module):
    """Linear projection to ``codebook_dim``, Euclidean or cosine lookup, eq. 3 losses."""

    def __init__(self, dim: int, codebook_dim: int, normalise: bool):
        super().__init__()
        self.normalise = normalise
        self.in_proj, self.out_proj = nn.Linear(dim, codebook_dim), nn.Linear(codebook_dim, dim)
        self.codebook = nn.Embedding(256, codebook_dim)

    def forward(self, z: torch.Tensor):
        z_e = self.in_proj(z)
        lookup = nearest_cosine if self.normalise else nearest_euclidean
        codes = lookup(z_e.detach(), self.codebook.weight.detach())
        e = self.codebook(codes)
        z_q = z_e + (e - z_e).detach()
        return (
            self.out_proj(z_q),
            codes,
            (z_e.detach() - e).pow(2).mean(),
            (z_e - e.detach()).pow(2).mean(),
        )


ablation = {}
for name, codebook_dim, normalise in (("8-d Euclidean", 8, False), ("64-d cosine", 64, True)):
    torch.manual_seed(0)
    log = train(TinyAutoencoder(AblationVQ(DIM, codebook_dim, normalise)))
    ablation[name] = log["utilization"][-1]
    print(f"{name:14s} utilization {ablation[name]:.1%}")
assert ablation["8-d Euclidean"] > ablation["64-d cosine"] + 0.3

# %% [markdown]
# On this toy problem the low lookup dimension is the cure: 8-d with plain Euclidean lookup keeps
# its entries in use, while normalising alone, in 64-d, still collapses. That matches section 3.5's
# story: the input-independent part of the contest lives in the 48 directions the data does not
# reach, and normalisation removes only the $\lVert e_k \rVert^2$ term of it, not the $\mu \cdot
# e_k$ term. Normalisation earns its place in the real codec for another reason (section 3.6).
#
# ### Solution 3.6
#
# A way in: the sweep in small, three values of $d$ with the package's quantizer. Look at three
# numbers per run: utilization (are the entries used?), entropy (are they used evenly?) and the
# reconstruction error (is the code good?). The cell below prints them and checks that $d = 8$
# beats both ends here on utilization and on reconstruction. Both ends lose for different reasons:
# at $d = 32$ the input-independent part of the contest (section 3.5) is back; at $d = 2$ the
# entries are 256 directions on a circle, and the learned projection of the data need not point
# in all of them.

# %%
sweep = {}
for codebook_dim in (2, 8, 32):
    torch.manual_seed(0)
    log = train(TinyAutoencoder(PackageVQ(DIM, 256, codebook_dim)))
    sweep[codebook_dim] = log
    print(
        f"d = {codebook_dim:2d}: utilization {log['utilization'][-1]:6.1%}, "
        f"entropy {log['entropy'][-1]:.2f} bits, recon MSE {np.mean(log['recon'][-20:]):.3f}"
    )
utilization = {dim: log["utilization"][-1] for dim, log in sweep.items()}
recon = {dim: np.mean(log["recon"][-20:]) for dim, log in sweep.items()}
assert utilization[8] > max(utilization[2], utilization[32])
assert recon[8] < min(recon[2], recon[32])

# %% [markdown]
# To extend it: run all of $d$ = 1, 2, 4, 8, 16, 32, 64 and plot the three numbers against $d$ on
# a log axis; then repeat with $K$ = 64 and 1024 (change the 256 in `PackageVQ` and `code_usage`),
# and with data on a 4- or 32-dimensional subspace instead of 16 (the first `randn(16, DIM)` and
# `randn(16384, 16)`). A good question to answer with the plots: does the best $d$ follow the
# data's dimension, or $\log_2 K$? Train longer (`steps=2000`) before trusting a small difference,
# and try two seeds.

# %% [markdown]
# [← 3. Vector quantization and straight-through gradients](../03_vector_quantization.ipynb)
