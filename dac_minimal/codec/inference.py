"""Inference speed: fold weight normalisation into plain convolutions and fuse Snake.

Training needs ``w = g · v / ‖v‖`` recomputed at every step; inference does not, so we compute
``w`` once and keep a plain ``Conv1d`` with that weight.

Snake ``x + (1/α) sin²(α x)`` is elementwise: on a CPU the decoder's Snakes on ``(B, 96, T)``
tensors cost a good share of its time, most of it in the sine. ``FusedSnake`` runs the package's
forward (``layers.snake_addcmul``: four passes, one new tensor) with 1/(α+ε) computed once, or,
with ``compile=True``, lets ``torch.compile`` turn it into a single fused loop (the first call
compiles, seconds when inductor's on-disk cache holds an earlier process's kernel, up to a minute
when it does not). Measurements: ``benchmarks/README.md``.

With ``fast_convs`` (the default) the convolutions are rewritten too (``codec.convs``): the
decoder's transposed convolutions become one ordinary convolution each (a polyphase bank), and
the encoder's and decoder's activations stay in the channels-last memory layout that the CPU
convolution library works in, instead of being reordered into it and back at every layer.

The result is the same function within float rounding (< 1e-4, tested) but no longer trainable, and
its ``state_dict`` has plain ``weight`` names: save a checkpoint before preparing, not after.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys

import torch
from torch import nn
from torch.nn.utils import parametrize

from dac_minimal.codec.convs import replace_children, rewrite_convolutions
from dac_minimal.layers import SNAKE_EPS, Snake, compiled_snake, snake_addcmul
from dac_minimal.model import DAC


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
    return replace_children(
        model,
        lambda m: FusedSnake(m.alpha, compile).to(m.alpha.device) if isinstance(m, Snake) else None,
    )


class Contiguous(nn.Module):
    """Hands its input on in the default memory layout: where channels-last activations end."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous()


def prepare_for_inference(
    model: nn.Module, compile: bool = False, fast_convs: bool = True
) -> nn.Module:
    """Make ``model`` (a ``DAC``) faster for inference, in place, and return it.

    Sets eval mode, folds weight normalisation, fuses Snake (``compile=True``: with
    ``torch.compile``, which needs a C++ compiler on CPU), rewrites the convolutions
    (``fast_convs``: polyphase transposed convolutions, channels-last activations in the encoder
    and decoder; see ``codec.convs``) and turns off gradients. One-way: the model can no longer
    be trained, and ``DAC.save`` should be called before, not after.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(
            f"prepare_for_inference expects a torch module, got {type(model).__name__}"
        )
    model.eval()
    with torch.no_grad():
        fold_weight_norm(model)
        fuse_snakes(model, compile)
        if fast_convs and isinstance(model, DAC):
            rewrite_convolutions(model.encoder, polyphase=True, channels_last=True)
            model.encoder.block.append(Contiguous())  # the quantizer gets the usual layout
            rewrite_convolutions(model.decoder, polyphase=True, channels_last=True)
    model.requires_grad_(False)
    return model


#: Seconds of audio from which compiling the Snakes (``compile=True``) repays its compile time on
#: a CPU: the break-even that ``benchmarks/inference_speed.py`` prints (``benchmarks/README.md``),
#: taken for a cold compile cache, which is what a user's first run has. The fast path compiles
#: from here on; shorter inputs run the prepared model uncompiled.
COMPILE_PAYS_FROM_SECONDS = 300.0

#: Seconds of audio from which preparing a copy of an unprepared model (``copy.deepcopy`` and
#: ``prepare_for_inference``) repays the copy, also printed by the benchmark.
PREPARE_PAYS_FROM_SECONDS = 5.0


def is_prepared(model: nn.Module) -> bool:
    """Whether ``prepare_for_inference`` has been applied (no weight norm, no trainable Snake)."""
    return not any(parametrize.is_parametrized(m) or isinstance(m, Snake) for m in model.modules())


def can_compile(device: torch.device | str) -> bool:
    """Whether the fast path may compile on ``device``: a CPU with a C++ compiler for inductor.

    Elsewhere (CUDA) the break-even has not been measured, so the fast path does not compile.
    """
    compiler = os.environ.get("CXX", "clang++" if sys.platform == "darwin" else "g++")
    return torch.device(device).type == "cpu" and shutil.which(compiler) is not None


def fast_model(model: nn.Module, seconds: float, compile: bool | None = None) -> nn.Module:
    """The model to code ``seconds`` of audio with on the fast path; ``model`` is left unchanged.

    An unprepared ``model`` is used as it is for inputs shorter than
    ``PREPARE_PAYS_FROM_SECONDS``, and otherwise replaced by a prepared copy, compiled when
    ``compile`` says so (``None``: from ``COMPILE_PAYS_FROM_SECONDS`` of audio on, where
    ``can_compile``). A model the caller prepared is used as it is, whatever its length.
    """
    if is_prepared(model) or seconds < PREPARE_PAYS_FROM_SECONDS:
        return model
    if compile is None:
        device = next(model.parameters()).device
        compile = seconds >= COMPILE_PAYS_FROM_SECONDS and can_compile(device)
    return prepare_for_inference(copy.deepcopy(model), compile=compile)


__all__ = [
    "COMPILE_PAYS_FROM_SECONDS",
    "PREPARE_PAYS_FROM_SECONDS",
    "FusedSnake",
    "can_compile",
    "fast_model",
    "is_prepared",
    "fold_weight_norm",
    "fuse_snakes",
    "prepare_for_inference",
    "snake_addcmul",
]
