"""Execute every chapter of the book top to bottom and print how long each takes.

    python benchmarks/time_chapters.py               # reading size (what a student runs)
    python benchmarks/time_chapters.py --solutions   # the solution notebooks too
    python benchmarks/time_chapters.py --smoke       # the test suite's size (DAC_BOOK_SMOKE=1)
    python benchmarks/time_chapters.py chapters/02_snake.ipynb

Bars (issue 18), on a 2-core CPU at reading size: each chapter <= 90 s except the training
chapter (08, <= 4 minutes), the whole book (chapters 00-12) <= 12 minutes. The load average is
printed before and after: times taken while other jobs share the CPU are no result. The executed
notebooks are thrown away: outputs are never committed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, timeout: int) -> float:
    """Seconds to execute the notebook top to bottom, as the test suite does (``pytest
    --nbval-lax`` in the notebook's folder, a fresh kernel; about a second of it is pytest's own
    start). nbval, not a bare ``nbclient`` run: the latter can stall on ``ipywidgets.interact``
    cells until its timeout (jupyter/nbclient#312). Raises when a cell fails."""
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider"]
    cmd += [f"--nbval-cell-timeout={timeout}", path.name]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=path.parent, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{path} failed:\n{done.stdout[-3000:]}")
    return seconds


#: Seconds at reading size on 2 CPU cores (issue 18): the training chapter has its own bar.
LIMIT, LIMITS, BOOK_LIMIT = 90.0, {"08_training": 240.0}, 720.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="default: every chapters/NN_*.ipynb"
    )
    parser.add_argument("--smoke", action="store_true", help="set DAC_BOOK_SMOKE=1 (quick size)")
    parser.add_argument("--solutions", action="store_true", help="also chapters/solutions/")
    parser.add_argument("--timeout", type=int, default=900, help="per-cell timeout in seconds")
    args = parser.parse_args()
    if args.smoke:
        os.environ["DAC_BOOK_SMOKE"] = "1"
    else:
        os.environ.pop("DAC_BOOK_SMOKE", None)
    chapters = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    solutions = sorted((ROOT / "chapters" / "solutions").glob("[0-9][0-9]_*.ipynb"))
    notebooks = args.notebooks or chapters + (solutions if args.solutions else [])
    book, over = 0.0, []
    size = "quick" if args.smoke else "reading"
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    print(f"{'notebook':52s} {'seconds':>8s}  ({size} size)")
    for nb in notebooks:
        seconds = run(nb, args.timeout)
        is_chapter = nb.parent.name == "chapters"
        book += seconds if is_chapter else 0.0
        limit = LIMITS.get(nb.stem, LIMIT)
        flag = "" if seconds <= limit or args.smoke else f"  > {limit:.0f} s"
        over += [nb.name] if flag else []
        name = nb.stem if is_chapter else f"{nb.parent.name}/{nb.stem}"
        print(f"{name:52s} {seconds:8.1f}{flag}", flush=True)
    flag = "" if book <= BOOK_LIMIT or args.smoke or args.notebooks else f"  > {BOOK_LIMIT:.0f} s"
    print(f"{'the chapters together':52s} {book:8.1f}{flag}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    sys.exit(1 if over or flag else 0)


if __name__ == "__main__":
    main()
