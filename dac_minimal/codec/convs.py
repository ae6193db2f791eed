"""Inference-only convolutions: transposed convolutions as a polyphase bank, channels-last layout.

Two rewrites that ``prepare_for_inference`` applies to a folded model (plain weights, no weight
norm). Both compute the same function as the layers they replace, to float rounding.

**Polyphase transposed convolution.** A ``ConvTranspose1d`` with stride s and kernel K scatters
each input sample into K output samples, s apart in phase. Output sample ``n`` (before the
padding crop, ``q = n + padding``) belongs to phase ``r = q mod s`` and only ever meets the taps
``k = r, r + s, r + 2s, …`` of the kernel. So phase r is an *ordinary* convolution of the input
with the sub-kernel ``w[..., r::s]`` reversed (a transposed conv runs its kernel backwards), and
the output is the s phases interleaved: y[q = j·s + r] = z_r[j]. Stacking the s sub-kernels as
output channels makes the whole layer one ``Conv1d`` with ``s · C_out`` outputs and
``ceil(K / s)`` taps (2 for the decoder's K = 2s): the same multiply-adds, done as one dense
matrix product, with no scatter and no zeros inserted.

**Channels-last layout.** The CPU convolution library (oneDNN) works in a layout where the
channels of one time step are adjacent in memory ("channels last", ``(B, T, C)`` order). A
``(B, C, T)`` tensor in the default layout is reordered into it and back around every
convolution; keeping the activations channels-last between layers skips those reorders, and the
elementwise layers in between (Snake, the residual sums) do not care about the layout. In that
layout the polyphase output ``(B, s·C_out, J)`` *is* the interleaved ``(B, C_out, J·s)`` signal,
byte for byte, so interleaving costs nothing. A ``(B, C, T)`` tensor stays a ``(B, C, T)``
tensor to every caller; only its strides change (``(C·T, 1, C)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, T)`` with the same values, laid out as ``(B, T, C)`` in memory."""
    return x.transpose(1, 2).contiguous().transpose(1, 2)


class ChannelsLastConv1d(nn.Conv1d):
    """A ``Conv1d`` that keeps its activations channels-last: input and output ``(B, C, T)``.

    Same weights and arguments as the ``nn.Conv1d`` it replaces (``from_conv``); the weight is
    stored channels-last too, so that the convolution needs no reorder of either operand.
    """

    @classmethod
    def from_conv(cls, conv: nn.Conv1d) -> ChannelsLastConv1d:
        assert conv.padding_mode == "zeros" and isinstance(conv.padding, tuple), conv
        new = cls.__new__(cls)
        new.__dict__.update(conv.__dict__)  # hyper-parameters, hooks, the parameter dicts
        new._parameters = dict(conv._parameters)
        new.weight = nn.Parameter(_channels_last(conv.weight.detach()), requires_grad=False)
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(
            x.unsqueeze(2),  # (B, C, 1, T): oneDNN's 1-d convolutions are 2-d ones of height 1
            self.weight.unsqueeze(2),
            self.bias,
            stride=(1, self.stride[0]),
            padding=(0, self.padding[0]),
            dilation=(1, self.dilation[0]),
            groups=self.groups,
        )
        return y.squeeze(2)


class PolyphaseConvTranspose1d(nn.Module):
    """``nn.ConvTranspose1d`` (groups 1, dilation 1) as one ordinary convolution and a reshape.

    Input ``(B, C_in, T)``, output ``(B, C_out, L)`` with L = (T − 1)·s − 2·padding + K +
    output_padding, as the transposed conv gives. ``stride``, ``kernel_size``, ``padding`` and
    ``output_padding`` keep the replaced layer's values (the chunked codec reads them).
    ``channels_last=True`` takes and gives channels-last tensors (the interleave is then a view).
    """

    def __init__(self, conv: nn.ConvTranspose1d, channels_last: bool = False):
        super().__init__()
        assert conv.groups == 1 and conv.dilation == (1,) and conv.padding_mode == "zeros", conv
        (s,), (k,) = conv.stride, conv.kernel_size
        self.stride, self.kernel_size = conv.stride, conv.kernel_size
        self.padding, self.output_padding = conv.padding, conv.output_padding
        self.out_channels, self.channels_last = conv.out_channels, channels_last
        taps = math.ceil(k / s)
        w = conv.weight.detach()  # (C_in, C_out, K)
        w = F.pad(w, (0, taps * s - k))  # taps beyond K are zero
        c_in, c_out = w.shape[:2]
        # bank[r·C_out + o, i, u] = w[i, o, r + s·(taps − 1 − u)]: phase r's taps, reversed.
        bank = w.view(c_in, c_out, taps, s).permute(3, 1, 0, 2).flip(-1)
        bank = bank.reshape(s * c_out, c_in, taps)
        self.weight = nn.Parameter(
            _channels_last(bank) if channels_last else bank.contiguous(), requires_grad=False
        )
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(c_out)
        self.bias = nn.Parameter(bias.repeat(s), requires_grad=False)  # bias[r·C_out + o]
        self.taps = taps
        # Phases j = 0 .. T + taps − 2 cover output positions q < (T + taps − 1)·s; the crop needs
        # q < padding + L, i.e. (this many) more input frames when output_padding reaches past.
        self.extra = max(0, math.ceil((k + self.output_padding[0] - self.padding[0]) / s) - taps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (s,), (k,), (p,), (op,) = self.stride, self.kernel_size, self.padding, self.output_padding
        b, _, t = x.shape
        if self.extra:
            x = F.pad(x, (0, self.extra))
        c = self.out_channels
        length = (t - 1) * s - 2 * p + k + op
        if self.channels_last:
            z = F.conv2d(
                x.unsqueeze(2), self.weight.unsqueeze(2), self.bias, padding=(0, self.taps - 1)
            )  # (B, s·C_out, 1, J), stored as (B, J, s, C_out): the interleaved signal
            j = z.shape[-1]
            y = z.permute(0, 2, 3, 1).reshape(b, j * s, c).transpose(1, 2)
        else:
            z = F.conv1d(x, self.weight, self.bias, padding=self.taps - 1)  # (B, s·C_out, J)
            j = z.shape[-1]
            y = z.view(b, s, c, j).permute(0, 2, 3, 1).reshape(b, c, j * s)
        return y[..., p : p + length]

    def extra_repr(self) -> str:
        return (
            f"out_channels={self.out_channels}, stride={self.stride[0]}, "
            f"kernel_size={self.kernel_size[0]}, padding={self.padding[0]}, "
            f"output_padding={self.output_padding[0]}, channels_last={self.channels_last}"
        )


def rewrite_convolutions(
    module: nn.Module, polyphase: bool = True, channels_last: bool = False
) -> int:
    """Swap, in place, ``module``'s plain ``ConvTranspose1d`` layers for polyphase banks and (with
    ``channels_last``) its ``Conv1d`` layers for channels-last ones; returns how many were swapped.

    Call on folded (weight-norm-free) layers only.
    """

    def rewrite(child: nn.Module) -> nn.Module | None:
        if type(child) is nn.ConvTranspose1d and polyphase:
            return PolyphaseConvTranspose1d(child, channels_last)
        if type(child) is nn.Conv1d and channels_last:
            return ChannelsLastConv1d.from_conv(child)
        return None

    return replace_children(module, rewrite)


def replace_children(module: nn.Module, replace: Callable[[nn.Module], nn.Module | None]) -> int:
    """Swap, in place, every submodule of ``module`` for which ``replace`` returns a module;
    returns how many. All replacements are made first, then set, so none is visited twice."""
    swaps = [
        (parent, name, new)
        for parent in module.modules()
        for name, child in parent.named_children()
        if (new := replace(child)) is not None
    ]
    for parent, name, new in swaps:
        setattr(parent, name, new)
    return len(swaps)
