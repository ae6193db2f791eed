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
# # 3. Vector quantization and straight-through gradients
#
# The encoder turns each frame of audio into a latent vector $z_e$ of floats. A codec has to *send*
# something, and a vector of floats is not a few bits. **Vector quantization** (VQ) replaces $z_e$
# by the nearest of $K$ vectors in a learned **codebook** $e_0, \dots, e_{K-1}$ and sends only the
# index $k^\star$ of that entry: $\log_2 K$ bits. DAC uses $K = 1024$, so 10 bits per codebook per
# frame ([chapter 1](01_audio_and_tokens.ipynb) did the bitrate arithmetic). The idea is old; what
# makes it hard inside a neural network is that picking the nearest entry has no useful gradient,
# and that a codebook trained naively ends up using a handful of its entries. This chapter meets
# both problems and the fixes DAC uses, building each piece inline and checking by assertion that
# it equals `dac_minimal.quantize.VectorQuantize`.
#
# ## What you will learn
#
# - how a codebook turns a vector into an index, and why DAC looks entries up by cosine
#   similarity instead of Euclidean distance;
# - the codebook loss and the commitment loss of report eq. 3, and where each one sends its
#   gradient;
# - the straight-through estimator, which lets the reconstruction loss reach the encoder through
#   an `argmin`, checked with a gradient test;
# - how to measure codebook use: utilization, entropy and perplexity;
# - codebook collapse, watched in a small experiment, and the factorized, L2-normalised lookup
#   that cures it.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from book import sizes
from torch import nn

from dac_minimal.quantize import VectorQuantize

STEPS = sizes((400, 120))  # Adam steps per model in the collapse experiment (section 3.5)
torch.manual_seed(0)
torch.set_num_threads(1)

# %% [markdown]
# ## 3.1 Nearest-neighbour lookup
#
# Given a codebook $\{e_k\}_{k=0}^{K-1} \subset \mathbb{R}^d$, the quantizer maps $z_e$ to
#
# $$k^\star = \arg\min_k \lVert z_e - e_k \rVert_2^2, \qquad z_q = e_{k^\star}.$$
#
# For a batch of $N$ vectors the direct way builds an $(N, K, d)$ tensor of differences. Expanding
# the square avoids it: $\lVert z - e_k \rVert^2 = \lVert z \rVert^2 - 2\, z \cdot e_k +
# \lVert e_k \rVert^2$, one matrix product plus two norms. We write the fast form and check it
# against the direct one.


# %%
def nearest_euclidean(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Indices (N,) of the nearest rows of ``codebook`` (K, d) to each row of ``z`` (N, d)."""
    dist = z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.t() + codebook.pow(2).sum(1)  # (N, K)
    return dist.argmin(dim=1)


points = torch.randn(4000, 2) * torch.tensor([1.5, 0.8])
book2d = torch.randn(12, 2)
codes_fast = nearest_euclidean(points, book2d)
# The direct way: all (N, K, d) differences, then the smallest squared length per row.
codes_direct = (points[:, None, :] - book2d[None, :, :]).pow(2).sum(-1).argmin(1)
assert torch.equal(codes_fast, codes_direct)

# %% [markdown]
# Each codebook entry owns a cell of space (a Voronoi cell): every point in it is sent as the same
# index. On the left below, colours are cells and black stars are codebook entries.
#
# DAC does not use this rule. It **L2-normalises** both sides first: $\hat z = z/\lVert z\rVert$,
# $\hat e_k = e_k / \lVert e_k\rVert$. For unit vectors $\lVert \hat z - \hat e_k\rVert^2 = 2 - 2\,
# \hat z\cdot\hat e_k$, so the nearest entry is the one with the largest **cosine similarity**.
# Only directions matter now; the cells become wedges around the origin (right).


# %%
def nearest_cosine(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Indices (N,) of the rows of ``codebook`` (K, d) most cosine-similar to each row of z."""
    return (F.normalize(z, dim=1) @ F.normalize(codebook, dim=1).t()).argmax(dim=1)


fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, rule, name in zip(
    axes, (nearest_euclidean, nearest_cosine), ("Euclidean", "cosine (L2-normalised)")
):
    ax.scatter(points[:, 0], points[:, 1], c=rule(points, book2d), cmap="tab20", s=3)
    ax.scatter(book2d[:, 0], book2d[:, 1], c="k", marker="*", s=120)
    ax.set(
        title=f"{name} lookup, K = {len(book2d)}", xlim=(-5, 5), ylim=(-3.5, 3.5), aspect="equal"
    )
plt.tight_layout()
plt.show()

# %% [markdown]
# Now the package. `VectorQuantize.nearest` takes the vectors to look up in the codec's layout
# `(B, d, L)` (batch, channels, frames), turns them into one vector per frame, and applies exactly
# the cosine rule. We give it the same vectors and the same codebook and ask for the same answer.

# %%
K, d = 64, 8
vq = VectorQuantize(input_dim=32, codebook_size=K, codebook_dim=d)
z_e = torch.randn(2, d, 50)  # (B, d, L): two items, 50 frames each
vectors = z_e.transpose(1, 2).reshape(-1, d)  # (B·L, d), frame by frame
ours = nearest_cosine(vectors, vq.codebook.weight.detach()).reshape(2, 50)
assert torch.equal(ours, vq.nearest(z_e))
euclid = nearest_euclidean(vectors, vq.codebook.weight.detach()).reshape(2, 50)
differ = (euclid != ours).float().mean()
print(
    f"cosine lookup == VectorQuantize.nearest on all {ours.numel()} frames; "
    f"Euclidean lookup would pick a different code for {differ:.0%} of them"
)

# %% [markdown]
# ## 3.2 Learning a codebook: the codebook and commitment losses
#
# The VQ-VAE objective, which DAC keeps (report §3.5, eq. 3), is
#
# $$L = -\log p(x \mid z_q(x)) + \lVert \mathrm{sg}[z_e(x)] - e \rVert_2^2
# + \beta\, \lVert z_e(x) - \mathrm{sg}[e] \rVert_2^2 .$$
#
# $\mathrm{sg}[\cdot]$ is the **stop-gradient**: the identity in the forward pass, zero derivative
# in the backward pass (`tensor.detach()` in PyTorch). The first term is the reconstruction (for
# DAC: the mel, adversarial and feature losses of [chapter 7](07_losses.ipynb)). The second, the
# **codebook loss**, moves the chosen entries $e = e_{k^\star}$ towards the encoder outputs and
# touches nothing else. The third, the **commitment loss** (weight $\beta = 0.25$), pulls the
# encoder towards the entries it picked, so that its outputs do not drift away from the codebook.
#
# A curiosity: the two terms have the same *value*; only the arrows of their gradients differ.
# The package looks up and computes both losses on a projection of the encoder output to $d = 8$
# dimensions (`in_proj`, a 1x1 convolution; section 3.6 says why), on un-normalised vectors, as a
# mean over channels and frames: one number per item, shape `(B,)`. Its code calls that projection
# `z_e` too. We rebuild the losses from the module's own parts and compare.

# %%
z = torch.randn(3, 32, 20)  # (B, C, L): a batch of encoder outputs, C = 32 here
out = vq(z)

z_e = vq.in_proj(z)  # (B, d, L) the projected latent
codes = nearest_cosine(z_e.transpose(1, 2).reshape(-1, d), vq.codebook.weight).reshape(3, 20)
e = vq.codebook.weight[codes].transpose(1, 2)  # (B, d, L) the chosen entries, un-normalised
codebook_loss = (z_e.detach() - e).pow(2).mean(dim=(1, 2))  # ‖sg[z_e] − e‖²
commitment_loss = (z_e - e.detach()).pow(2).mean(dim=(1, 2))  # ‖z_e − sg[e]‖²

assert torch.equal(codes[:, None], out.codes)
torch.testing.assert_close(codebook_loss, out.codebook_loss)
torch.testing.assert_close(commitment_loss, out.commitment_loss)
torch.testing.assert_close(codebook_loss, commitment_loss)  # same value ...
print("codebook loss per item:", codebook_loss.detach().numpy().round(3), "(== commitment loss)")

# %% [markdown]
# ... different gradients. We ask autograd where each loss sends its gradient: to the codebook, or
# to the encoder side (here `in_proj`, the layer that produced the projected $z_e$).


# %%
def grad_norms(loss: torch.Tensor) -> dict[str, float]:
    """L2 norm of d(loss)/d(parameters) for the codebook and for in_proj (0 where none flows)."""
    norms = {}
    # in_proj is weight-normalised: its trainable tensors are the direction v, the gain g, the bias.
    for name, params in (
        ("codebook", [vq.codebook.weight]),
        ("in_proj", list(vq.in_proj.parameters())),
    ):
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        total = sum(0.0 if g is None else g.pow(2).sum().item() for g in grads)
        norms[name] = round(total**0.5, 4)
    return norms


to_codebook = grad_norms(out.codebook_loss.sum())
to_encoder = grad_norms(out.commitment_loss.sum())
print(f"codebook loss    → gradient norms {to_codebook}")
print(f"commitment loss  → gradient norms {to_encoder}")
assert to_codebook["in_proj"] == 0.0 < to_codebook["codebook"]
assert to_encoder["codebook"] == 0.0 < to_encoder["in_proj"]

# %% [markdown]
# One more fact hides in the codebook gradient, and it matters in section 3.5: an entry that no
# vector picked gets **exactly zero** gradient. It never moves. If it starts in a bad place, it
# stays there forever.

# %%
(g_book,) = torch.autograd.grad(out.codebook_loss.sum(), vq.codebook.weight, retain_graph=True)
used = torch.zeros(K, dtype=torch.bool)
used[out.codes.flatten()] = True
assert torch.all(g_book[~used] == 0) and torch.all(g_book[used].abs().sum(1) > 0)
print(
    f"{int(used.sum())} of {K} entries were picked and receive a gradient; "
    f"the other {int((~used).sum())} get 0"
)

# %% [markdown]
# ## 3.3 The straight-through estimator
#
# The decoder sees $z_q = e_{k^\star(z_e)}$. As a function of $z_e$ this is piecewise constant:
# its derivative is zero almost everywhere (and undefined on cell borders). Back-propagating
# honestly, the encoder would never learn anything from the reconstruction loss. The VQ-VAE's fix
# is to *pretend* the quantizer is the identity in the backward pass:
#
# $$z_q = z_e + \mathrm{sg}[e - z_e].$$
#
# Forward: $z_e + e - z_e = e$. Backward: the $\mathrm{sg}$ term is a constant, so
# $\partial z_q / \partial z_e = I$ and the decoder's gradient $\partial L / \partial z_q$ is copied
# onto $z_e$ unchanged. The picture, in one dimension with five codes:

# %%
book1d = torch.tensor([[-2.0], [-0.8], [0.1], [1.0], [2.2]])
x1d = torch.linspace(-3, 3, 601)[:, None].requires_grad_()
q1d = book1d[nearest_euclidean(x1d, book1d)]
st1d = x1d + (q1d - x1d).detach()
(slope,) = torch.autograd.grad(st1d.sum(), x1d)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(x1d.detach(), st1d.detach(), label="forward: $z_q = e_{k^\\star}$")
axes[0].plot(x1d.detach(), x1d.detach(), "k:", lw=1, label="identity")
axes[0].set(xlabel="$z_e$", ylabel="$z_q$", title="forward pass: a staircase")
axes[0].legend(fontsize=8)
axes[1].plot(x1d.detach(), torch.zeros(601), label="true derivative (0 almost everywhere)")
axes[1].plot(x1d.detach(), slope, "--", label="straight-through derivative")
axes[1].set(
    xlabel="$z_e$",
    ylabel="$\\partial z_q / \\partial z_e$",
    title="backward pass",
    ylim=(-0.2, 1.3),
)
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()
assert torch.equal(slope, torch.ones_like(slope))

# %% [markdown]
# Now the gradient check, with a downstream "decoder" that is not linear, so that nothing works by
# accident. We claim:
#
# 1. the encoder side receives **exactly** the downstream gradient:
#    $\partial L/\partial z_e = \partial L/\partial z_q$;
# 2. the codebook receives **no** gradient from the reconstruction term, only from the codebook
#    loss, and that one in closed form is $\partial/\partial e_k \,\mathrm{mean}(e - z_e)^2 =
#    \frac{2}{n}\sum_{i:\,k^\star_i = k}(e_k - z_{e,i})$, with $n$ the number of elements averaged
#    over.

# %%
torch.manual_seed(1)
N = 256
z_e = torch.randn(N, d, requires_grad=True)  # leaf: stands in for the encoder's output
codebook = torch.randn(K, d, requires_grad=True)
decoder = nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, 4))
target = torch.randn(N, 4)

k_star = nearest_euclidean(z_e.detach(), codebook.detach())
e = codebook[k_star]  # (N, d), differentiable w.r.t. the codebook
z_q = z_e + (e - z_e).detach()  # straight-through
z_q.retain_grad()
recon = F.mse_loss(decoder(z_q), target)
recon.backward()

assert torch.equal(z_e.grad, z_q.grad)  # claim 1, bit for bit
assert codebook.grad is None  # claim 2a: the reconstruction loss never reaches the codebook
torch.testing.assert_close(z_q, e)  # and the forward pass did use the codes (up to rounding)

codebook_loss = (z_e.detach() - e).pow(2).mean()
codebook_loss.backward()
expected = torch.zeros(K, d).index_add_(0, k_star, 2 * (e - z_e).detach() / e.numel())
torch.testing.assert_close(codebook.grad, expected)  # claim 2b: the codebook loss, closed form
print("straight-through: ∂L/∂z_e == ∂L/∂z_q, and only the codebook loss moves the codebook")

# %% [markdown]
# The package's `VectorQuantize.forward` wraps the same trick between its two projections:
# `out_proj(z_e + (e − z_e).detach())` with `z_e = in_proj(z)`. So in the backward pass the whole
# module must behave like the linear map `out_proj ∘ in_proj`, whatever code was picked. A
# vector-Jacobian product checks exactly that, for an arbitrary gradient arriving from downstream:

# %%
z = torch.randn(2, 32, 10, requires_grad=True)
out = vq(z)
downstream = out.z_q.tanh().pow(2).sum()  # any non-linear loss on the quantizer's output
g_out, g_in, g_book = torch.autograd.grad(
    downstream, [out.z_q, z, vq.codebook.weight], allow_unused=True
)
(g_identity,) = torch.autograd.grad(vq.out_proj(vq.in_proj(z)), z, grad_outputs=g_out)
torch.testing.assert_close(g_in, g_identity)  # the quantizer is invisible to the backward pass
assert g_book is None  # and the downstream loss does not reach the codebook
print("VectorQuantize backward == out_proj∘in_proj backward; the codebook gets no gradient")

# %% [markdown]
# ## 3.4 Measuring codebook use
#
# A codebook of $K$ entries can carry $\log_2 K$ bits per vector only if all entries are used, and
# equally often. Two numbers measure how close we are, over an evaluation set with code
# frequencies $p_k$:
#
# - **utilization**: the share of entries used at least once;
# - **entropy** $H = -\sum_k p_k \log_2 p_k$ in bits, at most $\log_2 K$. Its exponential $2^H$ is
#   the **perplexity**, "the number of equally used codes this is worth".
#
# The report measures 92.45 % utilization for the trained DAC (its Table 1).


# %%
def code_usage(codes: torch.Tensor, codebook_size: int) -> tuple[float, float]:
    """(utilization in [0, 1], entropy in bits) of integer ``codes`` (any shape) over K entries."""
    p = torch.bincount(codes.flatten(), minlength=codebook_size).double()
    p = p / p.sum()
    nz = p[p > 0]
    return (p > 0).double().mean().item(), -(nz * nz.log2()).sum().item()


all_equal = code_usage(torch.arange(256), 256)
skewed = code_usage(torch.tensor([0, 0, 0, 1]), 256)
print(f"256 codes, all used equally: utilization {all_equal[0]:.0%}, entropy {all_equal[1]} bits")
print(f"codes 0, 0, 0, 1 of 256: utilization {skewed[0]:.2%}, entropy {skewed[1]:.3f} bits")
assert all_equal == (1.0, 8.0)

# %% [markdown]
# ## 3.5 Codebook collapse and its cure
#
# The experiment. The "encoder outputs" live in $\mathbb{R}^{64}$, but like real encoder outputs
# they are not a round cloud around the origin: they lie near a 16-dimensional subspace,
# off-centre. A tiny linear autoencoder (encoder `Linear(64, 64)`, decoder `Linear(64, 64)`) is
# trained to reconstruct them through a quantizer of $K = 256$ entries with the full eq. 3 loss,
# in two versions:
#
# - **plain VQ**: Euclidean lookup in the full 64-d latent. We even give it a fair start: the
#   codebook is drawn from a Gaussian with the same per-coordinate spread as the freshly
#   initialised encoder's outputs.
# - **the cure**: the package's `VectorQuantize(64, 256, codebook_dim=8)`: project to $d = 8$,
#   L2-normalise, look up by cosine, project back.

# %%
DIM = 64
g = torch.Generator().manual_seed(0)
basis = torch.randn(16, DIM, generator=g) / 4
data = torch.randn(16384, 16, generator=g) @ basis + 0.5 * torch.randn(DIM, generator=g)
data = data / data.std()
evaluation = data[:4096]


class PlainVQ(nn.Module):
    """Euclidean VQ in the full latent dimension, eq. 3 losses, the straight-through estimator."""

    def __init__(self, dim: int, codebook_size: int):
        super().__init__()
        self.codebook = nn.Embedding(codebook_size, dim)

    def forward(self, z_e: torch.Tensor):  # (N, dim) → z_q (N, dim), codes (N,), two losses
        codes = nearest_euclidean(z_e.detach(), self.codebook.weight.detach())
        e = self.codebook(codes)
        z_q = z_e + (e - z_e).detach()
        return z_q, codes, (z_e.detach() - e).pow(2).mean(), (z_e - e.detach()).pow(2).mean()


class PackageVQ(nn.Module):
    """The package's factorized, L2-normalised quantizer on (N, dim) vectors, as 1-frame items."""

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
    """Adam on eq. 3 (β = 0.25); every ``every`` steps, codebook use on the evaluation set.

    ``hook(model, x, codes)`` runs after each step (for experiments of your own)."""
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
    with torch.no_grad():  # the fair start: codebook spread like the encoder's outputs
        model.quantizer.codebook.weight.normal_(0.0, model.encoder(evaluation).std().item())
    return model


def cured_model(seed: int = 0) -> TinyAutoencoder:
    torch.manual_seed(seed)
    return TinyAutoencoder(PackageVQ(DIM, 256))


logs = {
    "plain VQ (64-d, Euclidean)": train(plain_model()),
    "factorized 8-d, L2-normalised": train(cured_model()),
}

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for name, log in logs.items():
    axes[0].plot(log["step"], 100 * np.array(log["utilization"]), label=name)
    axes[1].plot(log["step"], log["entropy"], label=name)
axes[0].set(
    xlabel="training step", ylabel="codebook utilization (%)", ylim=(0, 105), title="entries in use"
)
axes[1].axhline(math.log2(256), color="k", ls=":", lw=1, label="$\\log_2 K$ = 8 bits")
axes[1].set(
    xlabel="training step", ylabel="entropy (bits)", ylim=(0, 8.5), title="information per code"
)
axes[0].legend(fontsize=8)
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()
for name, log in logs.items():
    print(
        f"{name:30s} utilization {log['utilization'][0]:6.1%} at step 0, "
        f"{log['utilization'][-1]:6.1%} at step {log['step'][-1]}; "
        f"entropy {log['entropy'][-1]:.2f} bits (perplexity {2 ** log['entropy'][-1]:5.1f}); "
        f"recon MSE {np.mean(log['recon'][-20:]):.3f}"
    )
plain_log, cured_log = logs.values()
assert max(plain_log["utilization"][1:]) < plain_log["utilization"][0]  # it only loses entries
assert plain_log["utilization"][-1] < 0.5 < 0.9 < cured_log["utilization"][-1]
assert cured_log["entropy"][-1] > plain_log["entropy"][-1] + 1.0
assert np.mean(cured_log["recon"][-20:]) < np.mean(plain_log["recon"][-20:])

# %% [markdown]
# The cell above prints the two runs side by side. The plain codebook loses entries from its very
# first steps and ends up using less than half of them: the 8 bits it is paid for carry far fewer
# (its perplexity is the number of equally used codes they are worth). The factorized, normalised
# one ends up using more than 90 % of its entries, and its reconstruction error is lower as well:
# more distinct codes in use means a finer quantization. (The assertions under the plot check each
# of these statements.)
#
# **Why does the plain one collapse?** Split each encoder output into the cloud's centre and the
# part that differs from input to input, $z_e = \mu + r$. The distance the lookup minimises becomes
#
# $$\lVert z_e - e_k\rVert^2 = \lVert z_e\rVert^2 + \underbrace{\lVert e_k\rVert^2 - 2\,\mu\cdot
# e_k}_{\text{same for every input}} - 2\, r\cdot e_k .$$
#
# The first term does not depend on $k$. The middle one is a fixed score of the entry alone, and in
# 64 dimensions it varies a lot from entry to entry. The last one, the only part that looks at the
# input, sees $e_k$ only through the 16 directions in which $r$ lives. So the few entries with the
# best fixed score win most of the lookups. They alone get a gradient (section 3.2), move
# towards the data and win even more; the others never move. The rich get richer. The first step
# of it is visible at initialisation:

# %%
with torch.no_grad():
    fresh = plain_model()
    z_fresh = fresh.encoder(evaluation)
    first_codes = fresh.quantizer(z_fresh)[1]
    book = fresh.quantizer.codebook.weight
    fixed_score = book.pow(2).sum(1) - 2 * book @ z_fresh.mean(0)  # ‖e_k‖² − 2 μ·e_k
    best = fixed_score.argsort()[: 256 // 10]  # the 10 % of entries with the best fixed score
    share = torch.isin(first_codes, best).float().mean().item()
print(
    f"at initialisation, the 10 % of entries with the best input-independent score win {share:.0%} "
    "of all assignments"
)
assert share > 0.4

# %% [markdown]
# ## 3.6 Why the cure works
#
# Two changes, each attacking one part of that story (Yu et al., "Vector-quantized image modeling
# with improved VQGAN", 2022):
#
# - **L2 normalisation** removes $\lVert e_k\rVert^2$ from the contest: every entry sits on the
#   unit sphere, so no entry wins merely by being short, and the winner depends on direction only.
# - **the projection to $d = 8$** shrinks the lookup space to fewer dimensions than the data varies
#   in: the input-dependent part $r$ now reaches every direction of every entry, and 256 directions
#   cover an 8-d sphere densely. In 64-d, 48 of each entry's 64 coordinates were invisible to the
#   input and only added input-independent noise to the contest. The learned `in_proj` can also
#   turn the data's directions towards the codes.
#
# Exercise 3.5 pulls the two effects apart on this toy problem. In the real codec normalisation
# has a second job: the encoder's output scale drifts during training, and a lookup that ignores
# lengths keeps the same codes valid while it does (Yu et al. report that both changes help).
#
# DAC does this in every one of its 9 quantizers: a 1x1 convolution from $C = 1024$ channels to
# $d = 8$, a cosine lookup among $K = 1024$ entries, a 1x1 convolution back to 1024. That is what
# the report's 92 % utilization measures. [Chapter 4](04_residual_vq.ipynb) chains nine of these
# quantizers into a cascade.

# %% [markdown]
# ## Key takeaways
#
# - A codebook of $K$ entries sends a vector as the index $k^\star$ of its nearest entry:
#   $\log_2 K$ bits, 10 for DAC's $K = 1024$. DAC finds the nearest entry by cosine similarity,
#   after L2-normalising both sides.
# - The codebook loss $\lVert \mathrm{sg}[z_e] - e\rVert^2$ moves only the chosen entries; the
#   commitment loss $\beta \lVert z_e - \mathrm{sg}[e]\rVert^2$ ($\beta = 0.25$) moves only the
#   encoder. Same value, different gradients.
# - The straight-through estimator $z_q = z_e + \mathrm{sg}[e - z_e]$ uses the code in the forward
#   pass and copies the decoder's gradient onto $z_e$ in the backward pass, as if quantization were
#   the identity.
# - An entry that is never picked gets no gradient and never moves; a plain codebook therefore
#   collapses onto a few entries. Utilization and entropy (or perplexity) measure it.
# - Looking up in a low-dimensional projection ($d = 8$) with L2-normalised vectors keeps nearly
#   all entries in use; `VectorQuantize` is that quantizer.

# %% [markdown]
# ## Exercises
#
# ### Exercise 3.1 (★) Perplexity as a count
#
# Show that if exactly $m$ of $K$ codes are used, equally often, then utilization is $m/K$ and
# perplexity $2^H$ is exactly $m$. Check it with `code_usage` for $m = 1, 3, 100$.
#
# [Solution](solutions/03_vector_quantization.ipynb)
#
# ### Exercise 3.2 (★) Same value, different pull
#
# The codebook loss and the commitment loss have the same value. Show with autograd that in the
# sum `codebook_loss + β · commitment_loss` the weight $\beta$ scales the gradient that reaches the
# encoder side (`in_proj`) and leaves the codebook's gradient unchanged. What keeps the encoder's
# outputs near the codebook when $\beta = 0$?
#
# [Solution](solutions/03_vector_quantization.ipynb)
#
# ### Exercise 3.3 (★★) Without the straight-through estimator
#
# Remove the straight-through estimator from the plain VQ (use $z_q = e$, i.e.
# `z_q = self.codebook(codes)`) and show that the encoder then receives no gradient at all from
# the reconstruction loss, while the decoder still does.
#
# [Solution](solutions/03_vector_quantization.ipynb)
#
# ### Exercise 3.4 (★★★) Restarting dead codes
#
# A classic alternative cure (Jukebox, EnCodec): keep the plain 64-d Euclidean VQ, but every 20
# steps **restart dead codes**: replace each entry that no vector of the current batch picked with
# a random encoder output from that batch. Use the `hook` argument of `train` and show that
# utilization ends clearly above the plain VQ's. (The package's `CodeReviver` is a careful version
# of this idea.)
#
# [Solution](solutions/03_vector_quantization.ipynb)
#
# ### Exercise 3.5 (★★★) Which half of the cure does the work?
#
# Write a quantizer with a plain `Linear` projection in and out, a codebook of dimension
# `codebook_dim`, and a switch between Euclidean and cosine lookup. Train (a) 8-d with Euclidean
# lookup and (b) 64-d with cosine lookup, and compare their utilizations with section 3.5's.
#
# [Solution](solutions/03_vector_quantization.ipynb)
#
# ### Exercise 3.6 (★★★) Open-ended: how low can the lookup dimension go?
#
# DAC looks up in $d = 8$ dimensions. Sweep $d$ (1, 2, 4, 8, 16, 32, 64) for
# `VectorQuantize(64, 256, codebook_dim=d)` in section 3.5's experiment and plot utilization,
# entropy and reconstruction error against $d$. Where is the sweet spot, and does it move when you
# change $K$ or the dimension of the subspace the data lives in (16 here)?
#
# [Solution](solutions/03_vector_quantization.ipynb)

# %% [markdown]
# ## Further reading
#
# - van den Oord et al.,
#   [Neural Discrete Representation Learning](https://arxiv.org/abs/1711.00937) (VQ-VAE, 2017):
#   the codebook and commitment losses and the straight-through estimator of sections 3.2 and 3.3.
# - Yu et al., [Vector-quantized Image Modeling with
#   Improved VQGAN](https://arxiv.org/abs/2110.04627) (2021): factorized, L2-normalised codes, the
#   cure of sections 3.5 and 3.6.
# - Kumar et al., [High-Fidelity Audio Compression with
#   Improved RVQGAN](https://arxiv.org/abs/2306.06546) (DAC, 2023): why codebook use matters for a
#   codec, and the utilization its quantizer reaches.
# - The official quantizer, [`dac/nn/quantize.py`][official-vq] in
#   [descript-audio-codec](https://github.com/descriptinc/descript-audio-codec): the code that
#   `dac_minimal.quantize` reproduces, to compare line by line.
#
# [official-vq]: https://github.com/descriptinc/descript-audio-codec/blob/main/dac/nn/quantize.py

# %% [markdown]
# [← 2. Snake](02_snake.ipynb) · [Contents](00_preface.ipynb) ·
# [4. Residual vector quantization →](04_residual_vq.ipynb)
