"""Checks at the package's boundaries: one small function per kind of input, shared by all.

Public entry points (``DAC.encode``, ``DAC.decode_codes``, ``DAC.load``, the ``.dacm`` reader, the
command lines, the config constructors) call these and raise ``ValueError`` naming the problem;
the functions behind them trust their callers. Each checker returns nothing, or the input in the
one form the code behind it expects.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
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

    The NaN/inf scan reads a result back from the device: on a GPU that is a sync, which stalls the
    host until every queued kernel has run. The trainer runs its steps in this block and checks its
    losses and gradient norms instead (a non-finite input makes a non-finite loss).
    """
    token = _FINITE_CHECKS.set(False)
    try:
        yield
    finally:
        _FINITE_CHECKS.reset(token)


def check_waveform(x: torch.Tensor, name: str = "audio", min_length: int = 1) -> None:
    """Raise ``ValueError`` unless ``x`` is a finite float waveform ``(B, 1, T)``, T >= min_length.

    The finiteness scan is skipped inside ``skip_finite_checks()`` and while ``torch.compile``
    traces (a value read back from the tensor would split the compiled graph in two); the other
    checks always run.
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
    *,
    max_n_q: int | None = None,
) -> torch.Tensor:
    """Raise ``ValueError`` unless ``codes`` is a non-empty integer ``(B, n_q, S)`` array in [0, K).

    ``codebook_size`` is K. ``n_q`` asks for exactly that many codebooks, ``max_n_q`` for 1 to that
    many (a decoder can use any leading subset of its N_q codebooks); neither accepts any number.
    Returns the codes as an int64 tensor.
    """
    if isinstance(codes, np.ndarray):
        codes = torch.from_numpy(codes)
    if not isinstance(codes, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(codes).__name__}")
    if codes.dtype == torch.bool or codes.is_floating_point() or codes.is_complex():
        raise ValueError(f"{name} must hold integer codes, got dtype {codes.dtype}")
    if codes.dim() != 3:
        raise ValueError(f"{name} must be shaped (B, n_q, S), got {tuple(codes.shape)}")
    k = codes.shape[1]
    if n_q is not None and k != n_q:
        raise ValueError(f"{name} have {k} codebooks, expected n_q={n_q}")
    if max_n_q is not None and not 1 <= k <= max_n_q:
        raise ValueError(f"{name} hold {k} codebooks; this model has 1..{max_n_q}")
    if 0 in codes.shape:
        raise ValueError(
            f"{name} are empty: shape {tuple(codes.shape)} (no frames, codebooks or items)"
        )
    low, high = int(codes.min()), int(codes.max())
    if low < 0 or high >= codebook_size:
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


def check_positive(value: object, name: str, *, integer: bool = False, below: int | None = None):
    """Raise ``ValueError`` unless ``value`` is a number > 0 (with ``integer``: an int, not a bool),
    and less than ``below`` when given (the width of a file's header field, say)."""
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and value > 0
    if not ok or (below is not None and value >= below):
        what = "a positive int" if integer else "positive"
        bound = f" below {below}" if below is not None else ""
        raise ValueError(f"{name} must be {what}{bound}, got {value!r}")


def check_int(value: object, name: str, low: int = 0) -> None:
    """Raise ``ValueError`` unless ``value`` is an int >= ``low`` (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def check_choice(value: object, choices, what: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices`` (the names of presets, say)."""
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {sorted(choices)}")
