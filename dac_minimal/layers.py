"""Building blocks of the generator: Snake, weight-normalised convolutions, the residual unit.

These are the small pieces the encoder and decoder (``model.py``) are assembled from.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

#: Added to alpha in 1/alpha so that a channel whose alpha reaches 0 stays finite.
SNAKE_EPS = 1e-9


def snake(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """The Snake activation, report eq. (1): ``snake(x) = x + (1/α) sin²(α x)``.

    Args:
        x: ``(B, C, T)`` activations.
        alpha: ``(1, C, 1)`` per-channel frequency α (positive in practice).

    The identity term keeps gradients flowing like a ReLU's linear part; the ``sin²`` term adds a
    periodic component of period π/α, an inductive bias for periodic signals such as pitch.
    """
    return x + (alpha + SNAKE_EPS).reciprocal() * torch.sin(alpha * x).pow(2)


class Snake(nn.Module):
    """Snake with one learnable α per channel, initialised to 1. Input/output ``(B, C, T)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return snake(x, self.alpha)

    def extra_repr(self) -> str:
        return f"channels={self.alpha.shape[1]}"


def activation(name: str, channels: int) -> nn.Module:
    """The generator's nonlinearity by name: ``"snake"`` (DAC) or ``"leaky_relu"`` (the baseline it replaced)."""
    if name == "snake":
        return Snake(channels)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.1)
    raise ValueError(f"unknown activation {name!r}; choose 'snake' or 'leaky_relu'")


def WNConv1d(*args, **kwargs) -> nn.Conv1d:
    """``nn.Conv1d`` with weight normalisation: ``w = g · v / ‖v‖`` (per output channel).

    Weight norm decouples the length of each filter (g) from its direction (v), which keeps
    GAN training of deep convolutional generators stable.
    """
    return weight_norm(nn.Conv1d(*args, **kwargs))


def WNConvTranspose1d(*args, **kwargs) -> nn.ConvTranspose1d:
    """``nn.ConvTranspose1d`` with weight normalisation (the decoder's upsampling layers)."""
    return weight_norm(nn.ConvTranspose1d(*args, **kwargs))


class ResidualUnit(nn.Module):
    """Snake → WNConv1d(k=7, dilation d) → Snake → WNConv1d(k=1), plus the skip connection.

    Input and output ``(B, C, T)`` with the same T: padding ``3d`` keeps the length, so the
    centre crop of the skip path only matters for callers that pass unpadded convolutions.
    Dilations 1, 3, 9 in a block give a receptive field of 1 + 6·(1+3+9) = 79 samples.
    """

    def __init__(self, channels: int, dilation: int = 1, act: str = "snake"):
        super().__init__()
        self.block = nn.Sequential(
            activation(act, channels),
            WNConv1d(channels, channels, kernel_size=7, dilation=dilation, padding=3 * dilation),
            activation(act, channels),
            WNConv1d(channels, channels, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        crop = (x.shape[-1] - y.shape[-1]) // 2
        if crop > 0:
            x = x[..., crop:-crop]
        return x + y


def init_weights(module: nn.Module) -> None:
    """Truncated-normal (std 0.02) weights and zero bias for every Conv1d, as in the official model.

    Call through ``model.apply(init_weights)``. With weight norm we assign the drawn weight through
    the parametrization, which splits it into ``g = ‖w‖`` and ``v = w``, so the effective weight is
    exactly the drawn one. (With the legacy ``torch.nn.utils.weight_norm`` that the official code
    uses, writing to ``module.weight`` is overwritten by the next forward pre-hook, so there the
    effective initialisation is PyTorch's default.)
    """
    if isinstance(module, nn.Conv1d):
        param = module.parametrizations.weight if hasattr(module, "parametrizations") else None
        if param is not None:
            with torch.no_grad():
                weight = torch.empty_like(module.weight)
                nn.init.trunc_normal_(weight, std=0.02)
                module.weight = weight  # the parametrization splits it into g and v
        else:
            nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
