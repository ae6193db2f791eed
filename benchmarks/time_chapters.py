"""Execute every chapter of the book top to bottom and print how long each takes.

    python benchmarks/time_chapters.py            # reading size (what a student runs)
    python benchmarks/time_chapters.py --smoke    # CI size (DAC_BOOK_SMOKE=1)
    python benchmarks/time_chapters.py chapters/02_snake.ipynb

Bars (issue 4): each chapter <= 90 s on a 2-core CPU, chapters 1-7 together <= 8 minutes. The
executed notebooks are thrown away: outputs are never committed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="default: every chapters/NN_*.ipynb"
    )
    parser.add_argument("--smoke", action="store_true", help="set DAC_BOOK_SMOKE=1 (the CI size)")
    parser.add_argument("--timeout", type=int, default=900, help="per-cell timeout in seconds")
    parser.add_argument("--limit", type=float, default=90.0, help="per-chapter bar in seconds")
    args = parser.parse_args()
    if args.smoke:
        os.environ["DAC_BOOK_SMOKE"] = "1"
    else:
        os.environ.pop("DAC_BOOK_SMOKE", None)
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    total, over = 0.0, []
    size = "smoke" if args.smoke else "reading"
    print(f"{'chapter':40s} {'seconds':>8s}  ({size} size, {os.cpu_count()} CPUs)")
    for nb in notebooks:
        seconds = run(nb, args.timeout)
        total += seconds
        flag = "" if seconds <= args.limit else f"  > {args.limit:.0f} s"
        over += [nb.name] if flag else []
        print(f"{nb.stem:40s} {seconds:8.1f}{flag}", flush=True)
    print(f"{'total':40s} {total:8.1f}")
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
