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
# # Solutions: 2. Snake, a periodic activation
#
# [← 2. Snake, a periodic activation](../02_snake.ipynb)
#
# Worked solutions to the chapter's exercises. Try each exercise before you read its solution.

# %%
import math
import sys

sys.path.insert(0, "..")  # chapters/, for the book's helpers

import matplotlib.pyplot as plt
import torch
from book import sizes
from torch import nn

from dac_minimal.layers import Snake, snake

STEPS, SEEDS = sizes((400, 100), (2, 1))  # Solution 2.6: Adam steps per network, seeds per setting
torch.set_num_threads(1)  # tiny networks: one core avoids the overhead of parallel work


def snake_inline(x: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
    """Eq. (1) as the chapter wrote it, without the package's epsilon."""
    return x + torch.sin(alpha * x) ** 2 / alpha


# %% [markdown]
# ### Solution 2.1
#
# The ripple $\sin^2(\alpha x)/\alpha = (1 - \cos 2\alpha x) / (2\alpha)$ has period
# $\pi/\alpha$ and swings between 0 and $1/\alpha$. At $\alpha = 4$: period
# $\pi/4 \approx 0.785$, height $0.25$. A period of $2\pi$ needs $\pi/\alpha = 2\pi$, that is
# $\alpha = 1/2$.
#
# The best initial $\alpha$ of the chapter's sweep need not be $1/2$, because the first Snake never
# sees $x$ itself: it sees $w x + b$, the output of the first linear layer, whose weights start at
# random (uniform in $[-1, 1]$ for `nn.Linear(1, 64)`) and are trained. In $x$ the ripple of that
# channel has period $\pi / (\alpha |w|)$, so the network can tune each channel's frequency through
# $w$ as well as $\alpha$, and the second Snake sees sums of many channels. The initial $\alpha$
# sets where that search starts, not where it ends.

# %%
for a in (4.0, 0.5):
    period, height = math.pi / a, 1 / a
    x = torch.linspace(-10, 10, 2001, dtype=torch.float64)
    ripple = snake(x, torch.tensor(a, dtype=torch.float64)) - x
    shifted = snake(x + period, torch.tensor(a, dtype=torch.float64)) - (x + period)
    torch.testing.assert_close(shifted, ripple)  # the ripple repeats after pi / alpha
    assert abs(ripple.max().item() - height) < 1e-3 and ripple.min().item() > -1e-9
    print(f"α = {a}: period {period:.3f}, height {height:.3f}")

# %% [markdown]
# ### Solution 2.2
#
# Every Snake holds one $\alpha$ per channel. We build `DAC()` on PyTorch's `meta` device, which
# creates every parameter's shape without allocating or initialising it, and count:

# %%
from dac_minimal import DAC

with torch.device("meta"):
    model = DAC()
snakes = [m for m in model.modules() if isinstance(m, Snake)]
n_alpha = sum(s.alpha.numel() for s in snakes)
n_total = sum(p.numel() for p in model.parameters())
print(f"{len(snakes)} Snake layers hold {n_alpha:,} α of the model's {n_total:,} parameters")
print(f"that is {100 * n_alpha / n_total:.3f} % of the model")
assert n_alpha == sum(s.alpha.shape[1] for s in snakes)
assert n_alpha / n_total < 1e-3

# %% [markdown]
# A few tens of thousands of numbers, a small fraction of one percent of the model: the
# per-channel frequency is almost free in parameters. (It is not free in time: a sine per sample
# and channel, in every layer, is a real share of the model's compute; the package's
# `compile_snakes` fuses Snake into one kernel for that reason.)

# %% [markdown]
# ### Solution 2.3
#
# $1 + \sin(2\alpha x) = 0 \iff \sin(2\alpha x) = -1 \iff 2\alpha x = -\pi/2 + 2\pi k \iff
# x = (-\pi/4 + \pi k)/\alpha$ for any integer $k$: one flat point per period $\pi/\alpha$.
# There the derivative touches 0 and comes back up, so Snake stays monotone (non-decreasing)
# everywhere.

# %%
alpha_ex = torch.tensor(1.7, dtype=torch.float64)
k = torch.arange(-3, 4, dtype=torch.float64)
flat = ((-math.pi / 4 + math.pi * k) / alpha_ex).requires_grad_()
(grad_flat,) = torch.autograd.grad(snake(flat, alpha_ex).sum(), flat)
print("largest |derivative| at the flat points:", grad_flat.abs().max().item())
assert grad_flat.abs().max() < 1e-6
grid = torch.linspace(-10, 10, 100_001, dtype=torch.float64, requires_grad=True)
(grad_grid,) = torch.autograd.grad(snake(grid, alpha_ex).sum(), grid)
print("smallest derivative on the grid:", grad_grid.min().item())
assert grad_grid.min() >= -1e-9

# %% [markdown]
# ### Solution 2.4
#
# $|\operatorname{snake}_\alpha(x) - x| = \sin^2(\alpha x)/\alpha \le (\alpha x)^2/\alpha = \alpha
# x^2$, which goes to 0 as $\alpha \to 0$ for every fixed $x$. At $\alpha = 0$ exactly the package
# computes $\sin^2(0) \cdot 1/(0 + 10^{-9}) = 0$ and returns $x$; the bare formula computes $0/0$,
# which is `nan`.

# %%
xb = torch.linspace(-20, 20, 2001, dtype=torch.float64)
for a in (1e-1, 1e-2, 1e-3):
    gap = (snake(xb, torch.tensor(a, dtype=torch.float64)) - xb).abs()
    assert torch.all(gap <= a * xb**2 + 1e-12)
    print(f"α = {a:g}: max |snake(x) - x| on [-20, 20] = {gap.max():.3g} (bound {a * 400:.3g})")
zero = torch.zeros(1, 1, 1, dtype=torch.float64)
torch.testing.assert_close(snake(xb.view(1, 1, -1), zero), xb.view(1, 1, -1))
assert torch.isnan(snake_inline(xb[xb != 0], zero.flatten())).all()
print("α = 0: the package gives the identity; the bare formula gives nan")

# %% [markdown]
# ### Solution 2.5
#
# $\operatorname{snake}_\alpha(z) = z + (1 - \cos 2\alpha z) / (2\alpha)$. With $\alpha = 1/2$,
# $w = 1$ and $b = \pi/2$:
#
# $$\operatorname{snake}_{1/2}(x + \pi/2) = x + \pi/2 + 1 - \cos(x + \pi/2)
#   = x + \pi/2 + 1 + \sin x,$$
#
# so $\sin x = \operatorname{snake}_{1/2}(x + \pi/2) - x - (\pi/2 + 1)$: $v = 1$, $u = -1$,
# $c = -(\pi/2 + 1)$. It holds on the whole real line, far beyond any training range:

# %%
w, b, a, v, u, c = 1.0, math.pi / 2, 0.5, 1.0, -1.0, -(math.pi / 2 + 1)
xs_far = torch.linspace(-1000, 1000, 100_001, dtype=torch.float64)
y = v * snake(w * xs_far + b, torch.tensor(a, dtype=torch.float64)) + u * xs_far + c
print("max error on [-1000, 1000]:", (y - torch.sin(xs_far)).abs().max().item())
torch.testing.assert_close(y, torch.sin(xs_far), atol=1e-7, rtol=0)  # 1e-7: the package's ε

# %% [markdown]
# ### Solution 2.6
#
# A way in: the chapter's MLP and training loop, a sawtooth target of period $2\pi$, three initial
# values of $\alpha$, and each network trained twice, with $\alpha$ learned and with $\alpha$ frozen
# (`requires_grad_(False)`, and the frozen parameters left out of the optimizer). At the size below
# it runs in well under a minute; the table prints the extrapolation error of every run, one column
# per seed.


# %%
class PointwiseSnake(nn.Module):
    """The package's Snake on ``(N, C)`` activations, its α learned or frozen."""

    def __init__(self, channels: int, alpha_init: float, learn_alpha: bool):
        super().__init__()
        self.snake = Snake(channels)
        with torch.no_grad():
            self.snake.alpha.fill_(alpha_init)
        self.snake.alpha.requires_grad_(learn_alpha)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.snake(h.unsqueeze(-1)).squeeze(-1)


def make_mlp(alpha_init: float, learn_alpha: bool, width: int = 64) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(1, width),
        PointwiseSnake(width, alpha_init, learn_alpha),
        nn.Linear(width, width),
        PointwiseSnake(width, alpha_init, learn_alpha),
        nn.Linear(width, 1),
    )


def sawtooth(x: torch.Tensor) -> torch.Tensor:
    """Period 2π, rising from -1 to 1, then a jump: every harmonic of the fundamental."""
    return (x / math.pi + 1) % 2 - 1


x_train = torch.linspace(-2 * math.pi, 2 * math.pi, 512).unsqueeze(1)
x_extra = torch.cat(
    [torch.linspace(-4 * math.pi, -2 * math.pi, 256), torch.linspace(2 * math.pi, 4 * math.pi, 256)]
).unsqueeze(1)


def fit(target, alpha_init: float, learn_alpha: bool, seed: int):
    torch.manual_seed(seed)
    net = make_mlp(alpha_init, learn_alpha)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    y = target(x_train)
    for _ in range(STEPS):
        loss = nn.functional.mse_loss(net(x_train), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        extra = nn.functional.mse_loss(net(x_extra), target(x_extra)).item()
    return net, extra


alpha_inits = (0.5, 2.0, 5.0)
runs = {
    (a0, learn): [fit(sawtooth, a0, learn, seed) for seed in range(SEEDS)]
    for a0 in alpha_inits
    for learn in (True, False)
}
print(f"sawtooth, {STEPS} steps; extrapolation MSE per seed")
for (a0, learn), seeds in runs.items():
    errors = "  ".join(f"{e:.3f}" for _, e in seeds)
    print(f"initial α {a0:3.1f}, α {'learned' if learn else 'frozen '}: {errors}")
for (a0, learn), seeds in runs.items():
    for net, _ in seeds:
        alpha = net[1].snake.alpha
        assert alpha.requires_grad == learn
        if not learn:
            assert torch.all(alpha == a0)  # frozen means frozen

# %%
fig, ax = plt.subplots(figsize=(10, 3.5))
x_plot = torch.linspace(-4 * math.pi, 4 * math.pi, 1500).unsqueeze(1)
ax.axvspan(-2 * math.pi, 2 * math.pi, color="0.92", label="training range")
ax.plot(x_plot, sawtooth(x_plot), "k", lw=2, label="target")
with torch.no_grad():
    for learn, style in ((True, "-"), (False, "--")):
        net = runs[(alpha_inits[-1], learn)][0][0]
        label = f"initial α {alpha_inits[-1]}, α {'learned' if learn else 'frozen'}"
        ax.plot(x_plot, net(x_plot), style, lw=1.2, label=label)
ax.set(xlabel="x", ylabel="y", ylim=(-2, 2), title="A sawtooth, learned against frozen α (seed 0)")
ax.legend(loc="lower left", fontsize=8, ncol=2)
plt.tight_layout()
plt.show()

moved = {a0: runs[(a0, True)][0][0][1].snake.alpha.detach().flatten() for a0 in alpha_inits}
for a0, alpha in moved.items():
    print(f"initial α {a0}: learned first-layer α from {alpha.min():.2f} to {alpha.max():.2f}")

# %% [markdown]
# What to look for:
#
# - **The initial $\alpha$ against the target.** A sawtooth has every harmonic, and its jump needs
#   fast ripples to draw; compare the rows of each initial $\alpha$ with the chapter's smooth
#   target, where too large an $\alpha$ hurt.
# - **Learned against frozen, measured against the seeds.** Compare the gap between a learned and
#   a frozen row with the spread between the seeds of one row. A difference smaller than that
#   spread is not a finding yet; run more seeds (`SEEDS`) before you draw one.
# - **What learning does to $\alpha$.** The last lines print how far the learned $\alpha$ moved
#   from its start. A frozen $\alpha$ leaves the linear layers to do all the tuning (Solution 2.1);
#   look for runs in which a frozen network fails to fit even the training range.
#
# To extend it: the quasi-periodic target $\sin x + 0.5 \sin(\sqrt 2\, x)$, which no single
# period fits; more steps, or a learning rate for $\alpha$ of its own (a second parameter group
# in Adam); freezing $\alpha$ in the first layer only; or storing $\log \alpha$ instead of
# $\alpha$, as BigVGAN's implementation can, so that $\alpha$ cannot cross 0. The conclusion that
# matters for DAC is whether a learned, per-channel $\alpha$ starting at 1 is a safe default when
# one does not know the data's frequencies in advance.
