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
# # 2. Snake, a periodic activation
#
# Audio is full of periodic structure: a sung note repeats every few milliseconds, a mains hum at
# 50 Hz lasts the whole clip. Earlier GAN vocoders and codecs put LeakyReLU between their
# convolutions, and a piecewise-linear network has no notion of "repeat". DAC replaces every one of
# those activations with **Snake** (Ziyin, Hartwig & Ueda, 2020; brought to audio by BigVGAN), an
# activation with an oscillation built in. The DAC paper (section 3.2) reports that the swap
# significantly improved audio fidelity, and points out that LeakyReLU networks have difficulty
# extrapolating periodic signals. In this chapter we watch that difficulty happen.
#
# ## What you will learn
#
# - The Snake formula (eq. 1 of the DAC paper), and how its one parameter $\alpha$ sets the period
#   and the height of a ripple riding on the identity.
# - Its two gradients, derived by hand and checked against autograd; why Snake is monotone.
# - Why DAC gives every channel its own learnable $\alpha$, and that our inline version is
#   `dac_minimal.layers.snake` and `Snake`.
# - The experiment behind it all: outside its training range a ReLU network goes straight, a Snake
#   network keeps oscillating.
# - How the initial $\alpha$ decides what the network can learn.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from book import interact, sizes
from ipywidgets import FloatLogSlider
from torch import nn

STEPS = sizes((500, 200))  # full-batch Adam steps per network in the experiment
torch.manual_seed(0)
torch.set_num_threads(1)  # tiny networks: one core avoids the overhead of parallel work

# %% [markdown]
# ## 2.1 The formula
#
# For an input $x$ and a frequency parameter $\alpha > 0$,
#
# $$\operatorname{snake}_\alpha(x) = x + \frac{1}{\alpha} \sin^2(\alpha x).
#   \qquad \text{(eq. 1 of the DAC paper)}$$
#
# Using $\sin^2 u = \tfrac{1}{2}(1 - \cos 2u)$, the second term is a cosine of period $\pi / \alpha$
# and height $1/\alpha$ riding on the identity:
#
# $$\operatorname{snake}_\alpha(x) = x + \frac{1 - \cos(2 \alpha x)}{2 \alpha}.$$
#
# So Snake is "the identity plus a ripple". Large $\alpha$: fast, small ripples. Small $\alpha$:
# slow, large ripples, and as $\alpha \to 0$ the ripple term behaves like $\alpha x^2 \to 0$, so
# Snake becomes the identity.


# %%
def snake_inline(x: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
    """Eq. (1): x + sin²(αx) / α, elementwise (α broadcasts)."""
    return x + torch.sin(alpha * x) ** 2 / alpha


x = torch.linspace(-6, 6, 1000)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for a in (0.5, 1.0, 2.0, 5.0):
    axes[0].plot(x, snake_inline(x, a), label=f"α = {a}")
axes[0].plot(x, x, "k:", lw=1, label="identity")
axes[0].set(xlabel="x", ylabel="snake$_α$(x)", title="Snake for several α")
axes[0].legend(fontsize=8)
axes[1].plot(x, torch.relu(x), label="ReLU")
axes[1].plot(x, nn.functional.leaky_relu(x, 0.1), "--", label="LeakyReLU(0.1)")
axes[1].plot(x, snake_inline(x, 1.0), label="Snake, α = 1")
axes[1].set(xlabel="x", title="against the piecewise-linear activations")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Move the slider to watch the period $\pi/\alpha$ and the ripple height $1/\alpha$ change
# together:


# %%
def show_snake(alpha: float = 1.0) -> None:
    xs = torch.linspace(-8, 8, 1000)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(xs, snake_inline(xs, alpha), label=f"snake, α = {alpha:.2f}")
    ax.plot(xs, xs, "k:", lw=1, label="identity")
    title = f"period π/α = {math.pi / alpha:.2f}, ripple height 1/α = {1 / alpha:.2f}"
    ax.set(xlabel="x", ylim=(-9, 12), title=title)
    ax.legend(loc="upper left", fontsize=8)
    plt.tight_layout()
    plt.show()


slider = FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05, description="α")
_ = interact(show_snake, alpha=slider)

# %% [markdown]
# ## 2.2 Its gradients, by hand
#
# Training moves both the network's weights (through $\partial/\partial x$, passed back to earlier
# layers) and $\alpha$ itself (through $\partial/\partial\alpha$). Differentiating eq. 1 with
# $\frac{d}{du}\sin^2 u = 2 \sin u \cos u = \sin 2u$:
#
# $$\frac{\partial \operatorname{snake}_\alpha}{\partial x} = 1 + \sin(2\alpha x) \in [0, 2],$$
#
# $$\frac{\partial \operatorname{snake}_\alpha}{\partial \alpha}
#   = -\frac{\sin^2(\alpha x)}{\alpha^2} + \frac{x \sin(2\alpha x)}{\alpha}.$$
#
# Two things to notice in the first line. The derivative is never negative, so Snake is
# **monotone**: it never folds two inputs onto one output the way $\sin$ would. And it averages
# exactly 1 over a period, so gradients neither vanish (as on ReLU's left half) nor explode as they
# flow back through many layers. Autograd agrees with both formulas:


# %%
def dsnake_dx(x, alpha):
    return 1 + torch.sin(2 * alpha * x)


def dsnake_dalpha(x, alpha):
    return -(torch.sin(alpha * x) ** 2) / alpha**2 + x * torch.sin(2 * alpha * x) / alpha


xg = torch.linspace(-5, 5, 401, dtype=torch.float64, requires_grad=True)
for a in (0.3, 1.0, 4.0):
    alpha = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    grad_x, grad_alpha = torch.autograd.grad(snake_inline(xg, alpha).sum(), (xg, alpha))
    torch.testing.assert_close(grad_x, dsnake_dx(xg, alpha))
    # .sum() adds up the per-element α-gradients, because one α is shared by all elements
    torch.testing.assert_close(grad_alpha, dsnake_dalpha(xg, alpha).sum())
    assert grad_x.min() >= 0  # monotone
print("hand-derived gradients == autograd")

with torch.no_grad():
    xd = xg.detach()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    for a in (0.5, 1.0, 2.0):
        axes[0].plot(xd, dsnake_dx(xd, torch.tensor(a)), label=f"α = {a}")
        axes[1].plot(xd, dsnake_dalpha(xd, torch.tensor(a)), label=f"α = {a}")
    axes[0].set(xlabel="x", title="∂snake/∂x = 1 + sin(2αx): between 0 and 2")
    axes[1].set(xlabel="x", title="∂snake/∂α: grows with |x|")
    axes[0].legend(fontsize=8)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## 2.3 The package's Snake
#
# In DAC, Snake sits between 1-D convolutions whose activations have shape $(B, C, T)$: batch,
# channels, time. Each channel gets its **own learnable** $\alpha$, stored as a parameter of shape
# $(1, C, 1)$ so that it broadcasts over batch and time, and **initialised to 1**. Why one per
# channel? Different channels carry different features: one may follow a 100 Hz voice, another a
# 3 kHz formant, another a noise envelope. A single shared $\alpha$ would impose one ripple period
# on all of them; one per channel lets each channel learn the periodicity that suits it, and a
# channel that wants no ripple can push its $\alpha$ towards 0, where Snake is the identity.
# Initialising at 1 starts every channel with a moderate ripple (period $\pi$) on inputs of roughly
# unit scale.
#
# The package adds $\epsilon = 10^{-9}$ to $\alpha$ inside $1/\alpha$, so that a channel whose
# $\alpha$ reaches exactly 0 gives $x$ instead of $0/0$. Apart from that it is our formula:

# %%
from dac_minimal.layers import SNAKE_EPS, Snake, snake

B, C, T = 2, 5, 300
xs = torch.randn(B, C, T) * 3
alphas = torch.rand(1, C, 1) * 3 + 0.1  # one α per channel
torch.testing.assert_close(snake(xs, alphas), snake_inline(xs, alphas))

layer = Snake(C)
print(layer, "alpha shape", tuple(layer.alpha.shape))
assert layer.alpha.shape == (1, C, 1) and torch.all(layer.alpha == 1.0)  # DAC's initialisation
torch.testing.assert_close(layer(xs), snake_inline(xs, 1.0))
print("inline snake == dac_minimal.layers.snake == Snake(C) at initialisation; eps =", SNAKE_EPS)

# %% [markdown]
# A channel's $\alpha$ collects gradient from every batch item and time step of its channel. With
# $g$ the upstream gradient $\partial \mathcal{L} / \partial \operatorname{snake}(x)$,
#
# $$\frac{\partial \mathcal{L}}{\partial \alpha_c} = \sum_{b, t} g_{b,c,t} \,
#   \frac{\partial \operatorname{snake}_{\alpha_c}}{\partial \alpha}\Big|_{x_{b,c,t}}.$$
#
# We check that on the package's module, in float64:

# %%
layer = Snake(C).double()
with torch.no_grad():
    layer.alpha.copy_(alphas.double())
x64 = xs.double()
upstream = torch.randn(B, C, T, dtype=torch.float64)  # g, from the layers above
(layer(x64) * upstream).sum().backward()
by_hand = (upstream * dsnake_dalpha(x64, layer.alpha.detach())).sum(dim=(0, 2), keepdim=True)
torch.testing.assert_close(layer.alpha.grad, by_hand)
print("alpha.grad", tuple(layer.alpha.grad.shape), "== sum over batch and time of g * ∂snake/∂α")

# %% [markdown]
# ## 2.4 Extrapolating a periodic signal
#
# Snake's authors motivate it with a simple observation: a ReLU network is piecewise linear, so far
# from its training data it *must* become a straight line, whatever the data looked like. A network
# built from Snake is "linear plus periodic" and can keep oscillating.
#
# We fit $y = \sin x + 0.3 \sin 3x$ (period $2\pi$) on $x \in [-2\pi, 2\pi]$, then evaluate it on
# $[-4\pi, -2\pi] \cup [2\pi, 4\pi]$, one further period on each side that the network never saw.
# The network is a tiny MLP, $1 \to 64 \to 64 \to 1$, trained full-batch with Adam for a few
# hundred steps; the only difference between the three runs is the activation. For Snake we use
# the package's `Snake` module: an MLP's hidden activations have shape $(N, C)$, so we view the
# $N$ points as a batch of sequences of length 1, $(N, C, 1)$.


# %%
class PointwiseSnake(nn.Module):
    """The package's Snake (one α per feature) applied to ``(N, C)`` MLP activations."""

    def __init__(self, channels: int, alpha_init: float = 1.0):
        super().__init__()
        self.snake = Snake(channels)
        with torch.no_grad():
            self.snake.alpha.fill_(alpha_init)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.snake(h.unsqueeze(-1)).squeeze(-1)


def make_mlp(act: str, width: int = 64, alpha_init: float = 1.0) -> nn.Sequential:
    def nonlinearity() -> nn.Module:
        if act == "snake":
            return PointwiseSnake(width, alpha_init)
        return nn.ReLU() if act == "relu" else nn.LeakyReLU(0.1)

    return nn.Sequential(
        nn.Linear(1, width),
        nonlinearity(),
        nn.Linear(width, width),
        nonlinearity(),
        nn.Linear(width, 1),
    )


def target(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(x) + 0.3 * torch.sin(3 * x)


x_train = torch.linspace(-2 * math.pi, 2 * math.pi, 512).unsqueeze(1)  # (N, 1)
left = torch.linspace(-4 * math.pi, -2 * math.pi, 256)
right = torch.linspace(2 * math.pi, 4 * math.pi, 256)
x_extra = torch.cat([left, right]).unsqueeze(1)
x_plot = torch.linspace(-4 * math.pi, 4 * math.pi, 1500).unsqueeze(1)


def fit(act: str, alpha_init: float = 1.0, steps: int = STEPS, seed: int = 0):
    """Train one MLP full-batch; return it with its training MSE and its extrapolation MSE."""
    torch.manual_seed(seed)  # the same initial weights for every activation
    net = make_mlp(act, alpha_init=alpha_init)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    y_train = target(x_train)
    for _ in range(steps):
        loss = nn.functional.mse_loss(net(x_train), y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        train_mse = nn.functional.mse_loss(net(x_train), y_train).item()
        extra_mse = nn.functional.mse_loss(net(x_extra), target(x_extra)).item()
    return net, train_mse, extra_mse


results = {act: fit(act) for act in ("snake", "relu", "leaky_relu")}

# %%
fig, ax = plt.subplots(figsize=(10, 4))
ax.axvspan(-2 * math.pi, 2 * math.pi, color="0.92", label="training range")
ax.plot(x_plot, target(x_plot), "k", lw=2.5, label="target")
with torch.no_grad():
    for act, (net, _, extra) in results.items():
        ax.plot(x_plot, net(x_plot), lw=1.3, label=f"{act} (extrapolation MSE {extra:.2f})")
title = "Same MLP, three activations: only Snake keeps oscillating"
ax.set(xlabel="x", ylabel="y", ylim=(-2.5, 2.5), title=title)
ax.legend(loc="lower left", fontsize=8, ncol=2)
plt.tight_layout()
plt.show()

print(f"{'activation':12s} {'train MSE':>10s} {'extrapolation MSE':>18s}")
for act, (_, train_mse, extra_mse) in results.items():
    print(f"{act:12s} {train_mse:10.4f} {extra_mse:18.3f}")
print(f"(predicting 0 everywhere would give {target(x_extra).pow(2).mean().item():.3f})")
extra = {act: r[2] for act, r in results.items()}
assert min(extra, key=extra.get) == "snake"
assert extra["snake"] < 0.5 * min(extra["relu"], extra["leaky_relu"])

# %% [markdown]
# All three fit the training range. Outside it, ReLU and LeakyReLU continue along straight lines,
# as a piecewise-linear function must; compare their errors with the last line the cell prints,
# the error of a network that predicts 0 everywhere. The Snake network keeps going up and down
# with roughly the right period. Its error is not zero because a small error in its frequency
# accumulates, far from the data, into a drift of its phase.
#
# ## 2.5 The initial α
#
# $\alpha$ sets the ripple frequency the network starts from. Too small and Snake is nearly the
# identity, so the network is almost linear; too large and the ripples are so fast that the
# network fits the training points with wiggles that do not generalise. A good starting $\alpha$
# matches the frequencies one expects in the data. We retrain the Snake MLP from several initial
# values of $\alpha$ (still learnable):

# %%
alpha_inits = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
sweep = {a0: fit("snake", alpha_init=a0) for a0 in alpha_inits}
sweep_extra = [sweep[a0][2] for a0 in alpha_inits]

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
axes[0].loglog(alpha_inits, sweep_extra, "o-")
axes[0].axhline(extra["relu"], color="C1", ls="--", label="ReLU")
axes[0].set(
    xlabel="initial α", ylabel="extrapolation MSE", title="Too small or too large both hurt"
)
axes[0].legend(fontsize=8)
best = alpha_inits[int(np.argmin(sweep_extra))]
learned = sweep[best][0][1].snake.alpha.detach().flatten()
axes[1].hist(learned.numpy(), bins=20)
axes[1].axvline(best, color="k", ls=":", label="initial value")
axes[1].set(xlabel="learned α per channel", title=f"first Snake layer, initial α = {best}")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()
for a0, e in zip(alpha_inits, sweep_extra):
    print(f"initial α {a0:5.1f}: extrapolation MSE {e:.3f}")
print(
    f"best initial α {best}: after training, the first layer's α range from "
    f"{learned.min():.2f} to {learned.max():.2f}"
)
assert best not in (alpha_inits[0], alpha_inits[-1])  # the best is inside the range, not at an end
assert min(sweep_extra) < extra["relu"]

# %%
fig, ax = plt.subplots(figsize=(10, 3))
ax.axvspan(-2 * math.pi, 2 * math.pi, color="0.92", label="training range")
ax.plot(x_plot, target(x_plot), "k", lw=2.5, label="target")
with torch.no_grad():
    ax.plot(x_plot, results["snake"][0](x_plot), lw=1.3, label="Snake, initial α = 1")
    ax.plot(x_plot, sweep[best][0](x_plot), lw=1.3, label=f"Snake, initial α = {best}")
title = "With a well-chosen initial α the pattern continues"
ax.set(xlabel="x", ylabel="y", ylim=(-2, 2), title=title)
ax.legend(loc="lower left", fontsize=8, ncol=2)
plt.tight_layout()
plt.show()

# %% [markdown]
# The learned $\alpha$ values spread out from their common starting point (the cell before the
# last prints their range): each channel chose its own frequency, which is the reason $\alpha$ is
# a per-channel parameter. DAC keeps $\alpha = 1$ at initialisation; its convolutions then set the
# scale of what each Snake sees, and the per-channel $\alpha$ adapts from there. Snake appears
# throughout the encoder and decoder of [chapter 5](05_encoder_decoder.ipynb), before every
# convolution of every residual unit.

# %% [markdown]
# ## Key takeaways
#
# - $\operatorname{snake}_\alpha(x) = x + \sin^2(\alpha x)/\alpha$ is the identity plus a ripple
#   of period $\pi/\alpha$ and height $1/\alpha$; it is monotone, with
#   $\partial/\partial x = 1 + \sin 2\alpha x \in [0, 2]$.
# - DAC uses one learnable $\alpha$ per channel, shape $(1, C, 1)$, initialised to 1, with
#   $\epsilon = 10^{-9}$ in $1/\alpha$; each channel's gradient sums over batch and time.
# - Piecewise-linear activations must extrapolate linearly; Snake gives a network a periodic
#   inductive bias, which suits the pitches and rhythms of audio.
# - The initial $\alpha$ matters: too small and the network is nearly linear, too large and it
#   fits with wiggles that do not generalise.

# %% [markdown]
# ## Exercises
#
# ### Exercise 2.1 (★) Reading α
#
# A Snake channel has $\alpha = 4$. What are the period and the height of its ripple? Which
# $\alpha$ gives a ripple with the period $2\pi$ of section 2.4's target? Why does the best initial
# $\alpha$ of section 2.5 need not be that value? (Hint: what does the first linear layer do to
# $x$ before the first Snake sees it?)
#
# [Solution](solutions/02_snake.ipynb)
#
# ### Exercise 2.2 (★) What Snake costs in parameters
#
# Count the Snake layers of `DAC()` and the $\alpha$ parameters they hold, and compare with the
# model's total. What does a per-channel frequency cost, against what it buys?
#
# [Solution](solutions/02_snake.ipynb)
#
# ### Exercise 2.3 (★★) Where is Snake flat?
#
# Find all $x$ with $\partial \operatorname{snake}_\alpha / \partial x = 0$ in closed form, and
# check numerically for $\alpha = 1.7$ that autograd's derivative is 0 there and $\ge 0$
# everywhere on a fine grid.
#
# [Solution](solutions/02_snake.ipynb)
#
# ### Exercise 2.4 (★★) Snake tends to the identity
#
# Show that $|\operatorname{snake}_\alpha(x) - x| \le \alpha x^2$ (hint: $|\sin u| \le |u|$), so
# Snake tends to the identity as $\alpha \to 0$. Check the bound for
# $\alpha \in \{10^{-1}, 10^{-2}, 10^{-3}\}$, then check what the package returns for $\alpha = 0$
# exactly, and what the formula without $\epsilon$ would give.
#
# [Solution](solutions/02_snake.ipynb)
#
# ### Exercise 2.5 (★★) One Snake unit is a sine
#
# A ReLU network can only approximate $\sin x$, piece by piece. Show that one Snake unit plus a
# linear skip represents it **exactly** on the whole real line: find $w, b, \alpha$ and output
# weights $v, u, c$ such that $\sin x = v \cdot \operatorname{snake}_\alpha(w x + b) + u x + c$.
# (Hint: rewrite Snake with $\cos 2\alpha x$ and use $\sin x = -\cos(x + \pi/2)$.)
#
# [Solution](solutions/02_snake.ipynb)
#
# ### Exercise 2.6 (★★★) Open-ended: Snake with a learned or a fixed α on a harder target
#
# Section 2.4's target is one period of two harmonics. Make it harder: a sawtooth of period
# $2\pi$ (every harmonic, a jump each period), or $\sin x + 0.5 \sin(\sqrt 2\, x)$, which never
# repeats exactly. Fit the Snake MLP twice from each of several initial $\alpha$: once with
# $\alpha$ learned, once with $\alpha$ frozen at its initial value
# (`requires_grad_(False)` on every `alpha`). When does learning $\alpha$ help extrapolation, and
# when does a well-chosen fixed $\alpha$ do as well? Are the answers stable across seeds?
#
# [Solution](solutions/02_snake.ipynb)

# %% [markdown]
# ## Further reading
#
# - [Ziyin, Hartwig & Ueda, *Neural Networks Fail to Learn Periodic Functions and How to Fix It*
#   (2020)](https://arxiv.org/abs/2006.08195): the paper that proposes Snake, proves that ReLU and
#   tanh networks cannot extrapolate a periodic function, and studies the initial $\alpha$.
# - [Lee et al., *BigVGAN: A Universal Neural Vocoder with Large-Scale Training*
#   (2022)](https://arxiv.org/abs/2206.04658): brought Snake, with one $\alpha$ per channel, to
#   waveform generation; its [code](https://github.com/NVIDIA/BigVGAN) has a switch that freezes
#   $\alpha$.
# - [Kumar et al., *High-Fidelity Audio Compression with Improved RVQGAN*
#   (2023)](https://arxiv.org/abs/2306.06546): section 3.2 replaces LeakyReLU by Snake in the
#   codec; [chapter 11](11_reproducing_the_claims.ipynb) repeats the comparison in miniature.
# - [The official DAC code's
#   `layers.py`](https://github.com/descriptinc/descript-audio-codec/blob/main/dac/nn/layers.py):
#   the Snake that `dac_minimal.layers.Snake` reproduces, with the same $\epsilon$.

# %% [markdown]
# [← 1. Audio and tokens](01_audio_and_tokens.ipynb) · [Contents](00_preface.ipynb) ·
# [3. Vector quantization →](03_vector_quantization.ipynb)
