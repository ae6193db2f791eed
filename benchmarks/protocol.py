"""A timing protocol that cannot flatter one variant: warm up, alternate, repeat, check the load.

Every speed benchmark here times its variants with ``alternate``: one warm-up call each, then
``runs`` rounds in which every variant runs once (A B C, A B C, ...), so that a burst of load from
another process lands on all variants alike instead of on whichever ran at that moment. Results are
the median and the spread (min to max) of the timed runs. ``report`` prints the load average before
and after, and refuses to print ratios when the load before the run exceeded the threads the
benchmark uses: on a busy machine the ratio says more about the neighbours than about the code.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Timing:
    """One variant's timed runs, in seconds; ``warmup`` is the first (untimed-for-ratio) call."""

    name: str
    warmup: float
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.runs), max(self.runs)


def load_average() -> float:
    """The 1-minute load average (0.0 where the system does not report one)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(variants: dict[str, Callable[[], object]], runs: int = 3) -> list[Timing]:
    """Time each variant: one warm-up call each, then ``runs`` rounds of one call per variant."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    timings = [Timing(name, _timed(fn), []) for name, fn in variants.items()]
    for _ in range(runs):
        for timing, fn in zip(timings, variants.values()):
            timing.runs.append(_timed(fn))
    return timings


def ratio_refusal(load_before: float, threads: int) -> str | None:
    """Why no ratio may be printed (the machine was busier than the benchmark's threads), or
    None."""
    if load_before > threads:
        return (
            f"load average {load_before:.1f} before the run exceeds the {threads} thread(s) "
            "timed: other processes competed for the cores, so no ratio is printed (rerun on a "
            "quiet machine)"
        )
    return None


def report(
    timings: list[Timing],
    reference: str,
    threads: int,
    load_before: float,
    load_after: float,
    unit: str = "s",
) -> dict[str, float] | None:
    """Print median, spread and warm-up per variant, then ``reference``'s median over each one's.

    Returns ``{name: speed-up over reference}``, or None when ``ratio_refusal`` refuses.
    """
    print(f"  load average {load_before:.1f} before, {load_after:.1f} after ({threads} threads)")
    for t in timings:
        low, high = t.spread
        print(
            f"  {t.name:48s} median {t.median:8.3f} {unit} (min {low:.3f}, max {high:.3f}, "
            f"{len(t.runs)} runs; warm-up {t.warmup:.2f} {unit})"
        )
    refusal = ratio_refusal(load_before, threads)
    if refusal:
        print(f"  no ratios: {refusal}")
        return None
    base = next(t for t in timings if t.name == reference).median
    ratios = {t.name: base / t.median for t in timings}
    for name, ratio in ratios.items():
        print(f"  speed-up of {name:48s} over {reference}: {ratio:5.2f}x")
    return ratios
