"""Inference speed: fold weight normalisation into plain convolutions and fuse Snake.

Training needs ``w = g · v / ‖v‖`` recomputed at every step; inference does not, so we compute
``w`` once and keep a plain ``Conv1d`` with that weight.

Snake ``x + (1/α) sin²(α x)`` is elementwise: on a CPU the decoder's Snakes on ``(B, 96, T)``
tensors cost a good share of its time, most of it in the sine. ``FusedSnake`` runs the package's
forward (``layers.snake_addcmul``: four passes, one new tensor) with 1/(α+ε) computed once, or,
with ``compile=True``, lets ``torch.compile`` turn it into a single fused loop (the first call
compiles, seconds when inductor's on-disk cache holds an earlier process's kernel, up to a minute
when it does not). Measurements: ``benchmarks/README.md``.

The result is the same function within float rounding (< 1e-4, tested) but no longer trainable, and
its ``state_dict`` has plain ``weight`` names: save a checkpoint before preparing, not after.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from dac_minimal.layers import SNAKE_EPS, Snake, compiled_snake, snake_addcmul


class FusedSnake(nn.Module):
    """Inference-only Snake: α ``(1, C, 1)`` frozen, its reciprocal precomputed; ``(B, C, T)``.

    The same forward as ``layers.snake`` without gradients (``snake_addcmul``), or its
    ``torch.compile``-fused kernel with ``compile=True``.
    """

    def __init__(self, alpha: torch.Tensor, compile: bool = False):
        super().__init__()
        alpha = alpha.detach().clone()
        self.register_buffer("alpha", alpha)
        self.register_buffer("inv_alpha", (alpha + SNAKE_EPS).reciprocal())
        self.kernel = compiled_snake() if compile else snake_addcmul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.kernel(x, self.alpha, self.inv_alpha)

    def extra_repr(self) -> str:
        return f"channels={self.alpha.shape[1]}, compiled={self.kernel is not snake_addcmul}"


def fold_weight_norm(model: nn.Module) -> int:
    """Replace every weight-norm parametrization by the plain weight it computes; returns how many.

    We do not call ``parametrize.remove_parametrizations``: it deletes the ``weight`` property from
    the module's parametrized class, and ``copy.deepcopy`` shares that class between a model and
    its copy, so folding a copy would break the original. Swapping this module back to its plain
    class and registering the computed weight touches nothing shared. A ``DAC`` has no other
    parametrizations than weight norm.
    """
    folded = 0
    for module in model.modules():
        if not parametrize.is_parametrized(module, "weight"):
            continue
        assert set(module.parametrizations.keys()) == {"weight"}, type(module).__name__
        weight = module.weight.detach().clone()  # g · v / ‖v‖, computed by the parametrization
        plain_class = parametrize.type_before_parametrizations(module)  # e.g. nn.Conv1d
        del module.parametrizations
        module.__class__ = plain_class
        module.weight = nn.Parameter(weight, requires_grad=False)
        folded += 1
    return folded


def fuse_snakes(model: nn.Module, compile: bool = False) -> int:
    """Swap every ``Snake`` for a ``FusedSnake`` with the same α; returns how many were swapped."""
    swaps = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if isinstance(child, Snake)
    ]
    for parent, name, child in swaps:
        setattr(parent, name, FusedSnake(child.alpha, compile).to(child.alpha.device))
    return len(swaps)


def prepare_for_inference(model: nn.Module, compile: bool = False) -> nn.Module:
    """Make ``model`` (a ``DAC``) faster for inference, in place, and return it.

    Sets eval mode, folds weight normalisation, fuses Snake (``compile=True``: with
    ``torch.compile``, which needs a C++ compiler on CPU), and turns off gradients. One-way: the
    model can no longer be trained, and ``DAC.save`` should be called before, not after.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(
            f"prepare_for_inference expects a torch module, got {type(model).__name__}"
        )
    model.eval()
    with torch.no_grad():
        fold_weight_norm(model)
        fuse_snakes(model, compile)
    model.requires_grad_(False)
    return model


__all__ = [
    "FusedSnake",
    "fold_weight_norm",
    "fuse_snakes",
    "prepare_for_inference",
    "snake_addcmul",
]
