"""Building blocks of the generator: Snake, weight-normalised convolutions, the residual unit.

These are the small pieces the encoder and decoder (``model.py``) are assembled from.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn.utils.parametrizations import weight_norm

#: Initial scale of each residual unit's branch relative to a variance-preserving one
#: (see ``init_weights``).
RESIDUAL_BRANCH_GAIN = 0.1

#: Added to alpha in 1/alpha so that a channel whose alpha reaches 0 stays finite.
SNAKE_EPS = 1e-9


def snake_unfused(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """The Snake activation, report eq. (1), as autograd sees it: ``x + (1/α) sin²(α x)``.

    Args:
        x: ``(B, C, T)`` activations.
        alpha: ``(1, C, 1)`` per-channel frequency α (positive in practice).

    Eq. (1) written with PyTorch's elementwise operators, each a pass over the activation, and
    autograd keeps their intermediates for the backward. ``snake`` is the same function in fewer
    passes; this one is the reference it is tested against (and the package's Snake before it).
    """
    return x + (alpha + SNAKE_EPS).reciprocal() * torch.sin(alpha * x).pow(2)


def snake_addcmul(x: torch.Tensor, alpha: torch.Tensor, inv_alpha: torch.Tensor) -> torch.Tensor:
    """Snake's forward with ``inv_alpha = 1/(α + ε)`` given: ``x + inv_alpha · sin²(α x)``.

    Shapes: x ``(B, C, T)``; alpha and inv_alpha ``(1, C, 1)``; returns ``(B, C, T)`` in the
    promoted dtype of x and α (float32 for a bfloat16 x and a float32 α, as under autocast).

    Four passes over the activation (α·x, then sin and square in place, then one ``addcmul``
    written over the same temporary) and one new tensor, the result. For inference: it writes
    with ``out=``, which autograd refuses; ``snake`` is the differentiable version.
    """
    t = _sin2(x, alpha)
    return torch.addcmul(x, inv_alpha, t, out=t)


def _sin2(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``sin²(α x)`` in a new tensor of the promoted dtype: three passes, one allocation."""
    t = torch.mul(x, alpha)
    return t.sin_().square_()


class _SnakeFunction(torch.autograd.Function):
    """``snake`` with a hand-written backward that keeps x and sin²(αx), not every intermediate.

    With ε = ``SNAKE_EPS`` and ``y = x + sin²(αx)/(α+ε)``:

    - ``∂y/∂x = 1 + sin(2αx) α/(α+ε)``, computed as ``1 + sin(2αx)``: off by at most 2ε|x|, far
      below float32's rounding of x;
    - ``∂y/∂α = x sin(2αx)/(α+ε) − sin²(αx)/(α+ε)²``, summed over every axis that α broadcasts
      along (B and T for ``(1, C, 1)``).

    The backward recomputes one sine, ``sin(2αx)``, and takes ``sin²(αx)`` from the forward.
    Getting it from ``y − x`` instead would save keeping a tensor (the output is kept by the
    convolution after every Snake anyway), but loses the low bits of a small ripple beside a
    large x: α's gradient would be off by about 2⁻²⁴/(α |x|) in float32 (3e-5 at α = 0.01).
    Recomputing it costs a cosine, the most expensive pass on a CPU. Measured candidates:
    ``benchmarks/snake_speed.py``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        sin2 = _sin2(x, alpha)
        ctx.save_for_backward(x, alpha, sin2)
        return torch.addcmul(x, (alpha + SNAKE_EPS).reciprocal(), sin2)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x, alpha, sin2 = ctx.saved_tensors
        inv_alpha = (alpha + SNAKE_EPS).reciprocal()
        s2 = torch.mul(x, 2 * alpha).sin_()  # sin(2αx)
        grad_x = torch.addcmul(grad, grad, s2) if ctx.needs_input_grad[0] else None
        grad_alpha = None
        if ctx.needs_input_grad[1]:
            # g · (x sin(2αx) − sin²(αx)/(α+ε)), written over the sine's buffer
            term = s2.mul_(x).addcmul_(sin2, inv_alpha, value=-1).mul_(grad)
            grad_alpha = term.sum_to_size(alpha.shape) * inv_alpha
        return grad_x, grad_alpha


def snake(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """The Snake activation, report eq. (1): ``snake(x) = x + (1/α) sin²(α x)``.

    Args:
        x: ``(B, C, T)`` activations.
        alpha: ``(1, C, 1)`` per-channel frequency α (positive in practice; any shape that
            broadcasts against x works, and its gradient is summed back to that shape).

    The identity term keeps gradients flowing like a ReLU's linear part; the ``sin²`` term adds a
    periodic component of period π/α, an inductive bias for periodic signals such as pitch.

    Computed in four passes over x forward and seven backward (``_SnakeFunction``: a
    hand-written backward that recomputes one sine and keeps x and sin²(αx)), where autograd
    through the operators of eq. (1) (``snake_unfused``) makes five passes forward and about
    eleven backward and keeps four tensors of x's size. Without gradients it is
    ``snake_addcmul``. Same function and gradients to float rounding (tested). Once
    differentiable: no gradient of a gradient through it.
    """
    if torch.is_grad_enabled() and (x.requires_grad or alpha.requires_grad):
        return _SnakeFunction.apply(x, alpha)
    return snake_addcmul(x, alpha, (alpha + SNAKE_EPS).reciprocal())


def _snake_closed_form(x: torch.Tensor, alpha: torch.Tensor, inv_alpha: torch.Tensor):
    """``snake_addcmul`` without writes into temporaries, for ``torch.compile`` to fuse."""
    return torch.addcmul(x, inv_alpha, torch.sin(alpha * x).square())


_compiled_snake = None


def compiled_snake():
    """Snake's closed form compiled once per process with dynamic shapes: ``(x, α, 1/(α+ε))``.

    One kernel for every C and T, and one for its backward when gradients are needed. The first
    call compiles (a C++ compiler on CPU, Triton on CUDA).
    """
    global _compiled_snake
    if _compiled_snake is None:
        _compiled_snake = torch.compile(_snake_closed_form, dynamic=True)
    return _compiled_snake


class Snake(nn.Module):
    """Snake with one learnable α per channel, initialised to 1. Input/output ``(B, C, T)``.

    Runs ``snake`` (fewer passes, a hand-written backward). ``fused = False`` runs
    ``snake_unfused`` instead (autograd through eq. (1)'s operators: the reference, for
    comparisons); ``compiled = True`` (see ``compile_snakes``) runs the closed form as one
    ``torch.compile``-fused kernel forward and one backward (a compilation per process first).
    Trainable either way; same function and gradients to float rounding.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))
        self.fused = True
        self.compiled = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.compiled:
            # A view, not the Parameter: torch.compile would specialise on a Parameter's shape.
            alpha = self.alpha.view(1, -1, 1)
            return compiled_snake()(x, alpha, (alpha + SNAKE_EPS).reciprocal())
        if self.fused:
            return snake(x, self.alpha)
        return snake_unfused(x, self.alpha)

    def extra_repr(self) -> str:
        kind = ", compiled" if self.compiled else ("" if self.fused else ", unfused")
        return f"channels={self.alpha.shape[1]}" + kind


def compile_snakes(model: nn.Module, on: bool = True) -> int:
    """Switch every ``Snake`` in ``model`` to (or back from) its compiled kernel; returns how many.

    One small graph to compile instead of the whole model. Why it can pay: the Snakes' elementwise
    passes over large activations are a good part of a training step on a CPU, and the compiled
    kernel makes one pass each way where ``snake`` makes four forward and seven backward. Why
    it may not: compiling costs seconds to a minute per process, and a step that is bound by the
    host launching kernels gains little, since each call of a compiled function costs more host
    time than the eager ops it replaces. Measurements on CPU and GPU: ``benchmarks/README.md``
    (``benchmarks/snake_speed.py``, ``benchmarks/train_step_speed.py``).
    Weights, ``state_dict`` and results (to float rounding) are unchanged.
    """
    snakes = [m for m in model.modules() if isinstance(m, Snake)]
    for m in snakes:
        m.compiled = on
    return len(snakes)


#: The generator's nonlinearities by name: channels → module.
ACTIVATIONS = {
    "snake": Snake,  # DAC
    "leaky_relu": lambda channels: nn.LeakyReLU(0.1),  # the baseline it replaced
}


def activation(name: str, channels: int) -> nn.Module:
    """The generator's nonlinearity ``name`` (a key of ``ACTIVATIONS``) for ``channels`` channels.

    ``DACConfig`` checks the name; here an unknown one is a ``KeyError``.
    """
    return ACTIVATIONS[name](channels)


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
    """Variance-preserving init for every conv: truncated N(0, 1/fan_in) weights (at 2σ), zero bias.

    Call through ``model.apply(init_weights)``. The weight is assigned through the weight-norm
    parametrization, which splits it into ``g = ‖w‖`` and ``v = w``, so the effective weight is
    exactly the drawn one. ``fan_in`` is ``C_in·k`` for a conv and ``C_in·k/stride`` for a
    transposed conv (the number of weights that reach one output sample).

    Why not the official recipe? Its code asks for truncated N(0, 0.02²), but with the legacy
    ``torch.nn.utils.weight_norm`` the write to ``module.weight`` is overwritten by the next
    forward pre-hook, so the official model effectively starts from PyTorch's default init. Both
    shrink the input-dependent part of the signal layer by layer (at the codebooks' input about
    1e-6 with std 0.02, a few 1e-2 with the default init) below a constant offset that the biases
    add, so that all frames sit near one point and pick the same few codes; and since every Adam
    step moves each bias by about the learning rate, within ~100 steps the offset outgrows the
    signal and every frame picks the same code (measured on the tiny model: codebook utilization
    73 % → 0.1 %; chapter 5, section 5.7, measures both inits live).
    Variance-preserving weights keep the latent near the input's scale, so the codes stay
    spread while the encoder learns; residual branches start small so that the skip paths,
    not the branches, carry the signal at first.
    """
    if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
        k = module.kernel_size[0]
        if isinstance(module, nn.Conv1d):
            fan_in = module.in_channels // module.groups * k
        else:
            fan_in = module.in_channels * k / module.stride[0]
        std = fan_in**-0.5
        with torch.no_grad():
            weight = torch.empty_like(module.weight)
            nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)
            module.weight = weight  # through the weight-norm parametrization when there is one
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, ResidualUnit):
        # ``apply`` visits children first, so the branch's convs are already drawn: shrink the
        # branch's last conv so each unit starts close to the identity (as in "Fixup"/zero-init
        # residuals). Otherwise every unit adds a full-variance branch to its skip path and the
        # activations double block after block.
        last = module.block[-1]
        with torch.no_grad():
            last.parametrizations.weight.original0.mul_(RESIDUAL_BRANCH_GAIN)
