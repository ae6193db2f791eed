"""Snake alone, ``x + (1/α) sin²(αx)``: the candidate implementations, forward and backward, on CPU.

    python benchmarks/snake_speed.py                              # training: forward + backward
    python benchmarks/snake_speed.py --inference                  # forward only, no autograd
    python benchmarks/snake_speed.py --shapes 6,64,16384 --variants unfused fused

Each variant runs on the same ``x (B, C, T)``, ``α (1, C, 1)`` (a leaf that wants its gradient) and
upstream gradient, for each ``--shapes`` entry: by default (6, 64, 16384), the 44.1 kHz encoder's
first Snakes on a batch of 6 x 0.37 s; (1, 1536, 4096), its decoder's first (widest) Snake on 47 s
of audio; and (1, 64, 441000), the encoder's first Snakes on 10 s. Variants:

- ``unfused``: autograd through eq. (1)'s operators (``layers.snake_unfused``, the package's Snake
  until 2026-12-08);
- ``fused``: ``layers.snake``, the hand-written ``torch.autograd.Function`` (four passes forward,
  seven backward; the backward recomputes one sine and keeps x and the forward's sin²(αx));
- ``fused-cos``: the same forward, but a backward that keeps only x and α and recomputes
  ``sin(2αx)`` and ``cos(2αx)`` (exact ``sin²`` for any α, one transcendental pass more);
- ``fused-y``: the same forward, but a backward that keeps x and the output and takes sin²(αx)
  from ``y − x`` (one tensor less to keep where the next layer keeps y, but imprecise at small α);
- ``script``: eq. (1) as a ``torch.jit.script`` function, as the official package fuses it
  (TorchScript fuses elementwise chains on CUDA; this CPU build cannot, ``torch._C._llvm_enabled``);
- ``compiled``: ``layers.compiled_snake`` (``torch.compile``, one kernel each way; its first call
  compiles, or loads inductor's on-disk cache from an earlier process).

``--inference`` times the forward alone under ``torch.inference_mode`` (``unfused``, ``fused``:
``snake_addcmul`` with a precomputed 1/α, as ``FusedSnake`` runs it, ``script``, ``compiled``).
Each variant's first call is printed apart, then checked against ``unfused`` (outputs and
gradients to 1e-5). The protocol (warm-up, alternated runs, median and spread, load average, no
ratio on a busy machine) is ``protocol.py``'s; times in milliseconds; threads default to 1.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from protocol import alternate, load_average, report

from dac_minimal.layers import SNAKE_EPS, compiled_snake, snake, snake_addcmul, snake_unfused


class _SnakeKeepingOnlyX(torch.autograd.Function):
    """The ``fused-cos`` candidate: saves x and α only and recomputes both sin and cos of 2αx."""

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x, alpha)
        return snake_addcmul(x, alpha, (alpha + SNAKE_EPS).reciprocal())

    @staticmethod
    def backward(ctx, grad):
        x, alpha = ctx.saved_tensors
        inv = (alpha + SNAKE_EPS).reciprocal()
        u = torch.mul(x, 2 * alpha)
        s2 = torch.sin(u)
        c2 = u.cos_()  # sin²(αx) = (1 − cos 2αx) / 2
        grad_x = torch.addcmul(grad, grad, s2)
        # g · (x sin(2αx) − (1 − cos 2αx) / (2(α+ε))), over the sine's buffer
        term = s2.mul_(x).addcmul_(c2.sub_(1), inv, value=0.5).mul_(grad)
        return grad_x, term.sum_to_size(alpha.shape) * inv


class _SnakeKeepingOutput(torch.autograd.Function):
    """The ``fused-y`` candidate: saves x, α and the output, and takes sin²(αx)/(α+ε) = y − x."""

    @staticmethod
    def forward(ctx, x, alpha):
        y = snake_addcmul(x, alpha, (alpha + SNAKE_EPS).reciprocal())
        ctx.save_for_backward(x, alpha, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, alpha, y = ctx.saved_tensors
        s2 = torch.mul(x, 2 * alpha).sin_()
        grad_x = torch.addcmul(grad, grad, s2)
        term = torch.mul(x, grad_x, out=s2).addcmul_(grad, y, value=-1)  # g · (x (1 + s2) − y)
        return grad_x, term.sum_to_size(alpha.shape) * (alpha + SNAKE_EPS).reciprocal()


def _closed_form(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``snake_unfused`` with ε written in: TorchScript cannot read the global ``SNAKE_EPS``."""
    return x + (alpha + 1e-9).reciprocal() * torch.sin(alpha * x).pow(2)


def variants(inference: bool) -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    """Name → ``f(x, alpha)`` of each candidate."""
    scripted = torch.jit.script(_closed_form)

    def compiled(x, alpha):
        return compiled_snake()(x, alpha, (alpha + SNAKE_EPS).reciprocal())

    if inference:
        return {
            "unfused": snake_unfused,
            "fused": lambda x, alpha: snake_addcmul(x, alpha, (alpha + SNAKE_EPS).reciprocal()),
            "script": scripted,
            "compiled": compiled,
        }
    return {
        "unfused": snake_unfused,
        "fused": snake,
        "fused-cos": _SnakeKeepingOnlyX.apply,
        "fused-y": _SnakeKeepingOutput.apply,
        "script": scripted,
        "compiled": compiled,
    }


def make_call(f, x, alpha, grad, inference: bool) -> Callable[[], None]:
    """One forward (and backward) of ``f`` as a call."""
    if inference:

        def forward() -> None:
            with torch.inference_mode():
                f(x, alpha)

        return forward

    def forward_backward() -> None:
        x.grad = alpha.grad = None
        f(x, alpha).backward(grad)

    return forward_backward


def check_agreement(fns: dict, x, alpha, grad, inference: bool) -> None:
    """Every variant gives the same output (and gradients) as ``unfused``, to float rounding."""
    results = {}
    for name, f in fns.items():
        x.grad = alpha.grad = None
        with torch.inference_mode(inference):
            y = f(x, alpha)
        if not inference:
            y.backward(grad)
        results[name] = [y.detach()] + ([] if inference else [x.grad, alpha.grad])
    for values in results.values():
        for value, expected in zip(values, results["unfused"]):
            torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-5 * expected.abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shapes", nargs="+", default=["6,64,16384", "1,1536,4096", "1,64,441000"])
    parser.add_argument("--variants", nargs="+", help="a subset of the variants, in this order")
    parser.add_argument("--inference", action="store_true", help="forward only, no autograd")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    fns = variants(args.inference)
    if args.variants:
        unknown = sorted(set(args.variants) - set(fns))
        if unknown:
            parser.error(f"unknown variants {unknown}; choose from {sorted(fns)}")
        fns = {name: fns[name] for name in args.variants}
    what = "forward (inference mode)" if args.inference else "forward + backward"
    print(f"Snake {what}, {args.threads} thread(s), torch {torch.__version__}", flush=True)
    for text in args.shapes:
        shape = tuple(int(n) for n in text.split(","))
        g = torch.Generator().manual_seed(0)
        x = (torch.randn(shape, generator=g) * 2).requires_grad_(not args.inference)
        alpha = (torch.rand(1, shape[1], 1, generator=g) + 0.5).requires_grad_(not args.inference)
        grad = torch.randn(shape, generator=g)
        calls = {name: make_call(f, x, alpha, grad, args.inference) for name, f in fns.items()}
        print(f"(B, C, T) = {shape}:", flush=True)
        for name, call in calls.items():  # TorchScript's profiling executor optimises later
            start = time.perf_counter()
            call()
            print(f"  {name}: first call {time.perf_counter() - start:.2f} s", flush=True)
        if "unfused" in fns:
            check_agreement(fns, x, alpha, grad, args.inference)
        load_before = load_average()
        timings = alternate(calls, runs=args.runs)
        for t in timings:
            t.warmup, t.runs = t.warmup * 1e3, [r * 1e3 for r in t.runs]
        report(timings, next(iter(fns)), args.threads, load_before, load_average(), unit="ms")


if __name__ == "__main__":
    main()
