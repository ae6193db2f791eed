"""Checks at the package's boundaries: one small function per kind of input, shared by all.

Public entry points (``DAC.encode``, ``DAC.decode_codes``, ``DAC.load``, the ``.dacm`` reader, the
command lines, the config constructors) call these and raise ``ValueError`` naming the problem;
the functions behind them trust their callers. Each checker returns nothing, or the input in the
one form the code behind it expects.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import numpy as np
import torch

#: Shortest waveform every loss and metric accepts: the 2048-sample STFT windows reflect-pad by
#: half a window, which needs more samples than the pad.
MIN_SAMPLES = 2048 // 2 + 1


#: ``torch.compiler.is_compiling`` (torch >= 2.3) or its older home.
_is_compiling = getattr(torch.compiler, "is_compiling", None) or (
    lambda: torch._dynamo.is_compiling()
)
_FINITE_CHECKS: contextvars.ContextVar[bool] = contextvars.ContextVar("finite_checks", default=True)


@contextlib.contextmanager
def skip_finite_checks() -> Iterator[None]:
    """Inside this block ``check_waveform`` checks types and shapes only, not the samples' values.

    The NaN/inf scan reads a result back from the device: on a GPU that is a sync, which stalls the host
    until every queued kernel has run. The trainer runs its steps in this block and checks its losses and
    gradient norms instead (a non-finite input makes a non-finite loss).
    """
    token = _FINITE_CHECKS.set(False)
    try:
        yield
    finally:
        _FINITE_CHECKS.reset(token)


def check_waveform(x: torch.Tensor, name: str = "audio", min_length: int = 1) -> None:
    """Raise ``ValueError`` unless ``x`` is a finite float waveform shaped ``(B, 1, T)``, T >= min_length.

    The finiteness scan is skipped inside ``skip_finite_checks()`` and while ``torch.compile`` traces
    (a value read back from the tensor would split the compiled graph in two); the other checks always run.
    """
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor shaped (B, 1, T), got {type(x).__name__}")
    if x.ndim != 3:
        hint = " (add dimensions with x[None, None] or x.unsqueeze(1))" if x.ndim < 3 else ""
        raise ValueError(
            f"{name} must have shape (B, 1, T), got rank {x.ndim} shape {tuple(x.shape)}{hint}"
        )
    if x.shape[1] != 1:
        raise ValueError(
            f"{name} must be mono with shape (B, 1, T), got {x.shape[1]} channels; "
            "encode stereo one channel at a time (fold channels into the batch)"
        )
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point waveform, got dtype {x.dtype}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} has an empty batch")
    if x.shape[-1] < min_length:
        raise ValueError(f"{name} is too short: {x.shape[-1]} samples, need at least {min_length}")
    if _is_compiling() or not _FINITE_CHECKS.get():
        return
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} holds NaN or infinite samples")


def check_codes(
    codes: torch.Tensor | np.ndarray,
    codebook_size: int,
    n_q: int | None = None,
    name: str = "codes",
) -> torch.Tensor:
    """Raise ``ValueError`` unless ``codes`` is an integer ``(B, n_q, S)`` array with values in [0, K).

    ``n_q=None`` accepts any number of codebooks; ``codebook_size`` is K. Returns the codes as an
    int64 tensor.
    """
    if isinstance(codes, np.ndarray):
        codes = torch.from_numpy(codes)
    if not isinstance(codes, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(codes).__name__}")
    if codes.dtype == torch.bool or codes.is_floating_point() or codes.is_complex():
        raise ValueError(f"{name} must hold integer codes, got dtype {codes.dtype}")
    if codes.dim() != 3:
        raise ValueError(f"{name} must be shaped (B, n_q, S), got {tuple(codes.shape)}")
    if n_q is not None and codes.shape[1] != n_q:
        raise ValueError(f"{name} have {codes.shape[1]} codebooks, expected n_q={n_q}")
    if codes.numel() and (codes.min() < 0 or codes.max() >= codebook_size):
        low, high = int(codes.min()), int(codes.max())
        raise ValueError(f"{name} must lie in [0, {codebook_size}), got values in [{low}, {high}]")
    return codes.long()


def check_n_quantizers(n_quantizers: int | None, n_codebooks: int) -> int:
    """``n_quantizers`` as an int in 1..N_q (``None`` means all N_q = ``n_codebooks``)."""
    if n_quantizers is None:
        return n_codebooks
    if isinstance(n_quantizers, bool) or not isinstance(n_quantizers, int):
        raise ValueError(f"n_quantizers must be an int in 1..{n_codebooks}, got {n_quantizers!r}")
    if not 1 <= n_quantizers <= n_codebooks:
        raise ValueError(f"n_quantizers must be in 1..{n_codebooks}, got {n_quantizers}")
    return n_quantizers
