"""The book's own helpers: its paths, its codec and its two sizes (a module, not a notebook).

The notebooks run with ``cwd = chapters/`` and import it as ``from book import book_codec``
(the solution notebooks in ``chapters/solutions/`` put ``chapters/`` on ``sys.path`` first). The
paths are the repository's (this file's folder's parent), not the installed package's: the
library knows nothing of the book's ``runs/`` and ``benchmarks/`` folders.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from dac_minimal import DAC

if TYPE_CHECKING:
    from collections.abc import Callable

#: Set by the test suite (``DAC_BOOK_SMOKE=1``): every cell runs, on smaller sizes.
QUICK = os.environ.get("DAC_BOOK_SMOKE") == "1"
#: Set by the web edition's build (``chapters/web/build.py``): no kernel is behind the pages.
WEB = os.environ.get("DAC_BOOK_WEB") == "1"
#: The repository: ``chapters/`` and ``benchmarks/`` are in it.
ROOT = Path(__file__).resolve().parents[1]
#: Chapter 8's one-minute run saves its codec here (git-ignored).
BOOK_CODEC = ROOT / "runs" / "ch08" / "tiny.pt"
#: The tiny codec after 15 minutes of CPU training on real recordings (the Debian corpus) with the
#: CPU recipe, committed with the command that made it (``benchmarks/reference_curves/README.md``):
#: the codec chapters 9-12 measure.
REFERENCE_CODEC = ROOT / "benchmarks" / "reference_curves" / "tiny_15min.pt"


def sizes(*pairs: tuple):
    """The reading size of each ``(reading, quick)`` pair, or its quick size under the test suite.

    A chapter chooses all its sizes in one line of its setup cell, for example
    ``STEPS, SECONDS = sizes((500, 200), (2.0, 1.0))``; the quick sizes let an automatic check run
    every cell in a fraction of the time, and a reader never needs to think about them. One pair
    gives one value, several give a tuple.
    """
    chosen = tuple(quick if QUICK else reading for reading, quick in pairs)
    return chosen[0] if len(chosen) == 1 else chosen


def book_codec(stand_in_steps: int = 6, path: str | os.PathLike | None = None) -> tuple[DAC, str]:
    """The tiny codec the later chapters measure, in eval mode, and where it came from.

    ``path=None`` takes the first file that exists of ``REFERENCE_CODEC`` (15 minutes of CPU
    training, committed) and ``BOOK_CODEC`` (chapter 8's one-minute run); pass your own
    ``DAC.save`` file as ``path`` to measure it instead. When no file is there, a stand-in is
    trained for ``stand_in_steps`` steps on the toy corpus so that every cell still runs; the
    description says so, and the chapters print it: a stand-in is a bad codec.
    """
    candidates = [Path(path)] if path is not None else [REFERENCE_CODEC, BOOK_CODEC]
    names = {REFERENCE_CODEC: "the 15-minute reference model", BOOK_CODEC: "chapter 8's model"}
    for candidate in candidates:
        if candidate.is_file():
            return DAC.load(candidate).eval(), f"{names.get(candidate, 'the model')} ({candidate})"
    from dac_minimal.train import TrainConfig, Trainer  # on use: chapters 1-7 need no trainer

    run = Path(tempfile.mkdtemp(prefix="stand_in_")) / "run"
    cfg = TrainConfig(
        preset="tiny",
        out=str(run),
        steps=stand_in_steps,
        batch_size=6,
        log_every=stand_in_steps,
        val_every=0,
        sample_every=0,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
        threads=1,
    )
    model = Trainer(cfg).fit().generator.cpu().eval()
    missing = " or ".join(str(c) for c in candidates)
    return model, f"a stand-in trained for {stand_in_steps} steps ({missing} not found)"


def interact(function: Callable | None = None, /, **widgets):
    """``ipywidgets.interact``, which also works as a decorator; in the web edition, one call.

    In JupyterLab, ``interact(f, n=IntSlider(...))`` draws the sliders and calls ``f`` again each
    time one moves. A static web page has no kernel to call, so under ``WEB`` the function runs once
    at the values the sliders start at, under a line that names them; the page shows that output.
    """
    if function is None:
        return lambda f: interact(f, **widgets)
    if not WEB:
        import ipywidgets

        return ipywidgets.interact(function, **widgets)
    from IPython.display import Markdown, display

    values = {name: getattr(w, "value", w) for name, w in widgets.items()}
    shown = ", ".join(f"`{name} = {_format(value)}`" for name, value in values.items())
    ranges = ", ".join(_slider_range(name, w) for name, w in widgets.items())
    what = f"a slider ({ranges}) changes" if len(widgets) == 1 else f"sliders ({ranges}) change"
    display(Markdown(f"*Shown at {shown}; in JupyterLab, {what} it.*"))
    result = function(**values)
    if result is not None:
        display(result)
    return function


def _format(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _slider_range(name: str, widget) -> str:
    """``name from low to high`` for a slider (a log slider's ends are powers of its base)."""
    if not hasattr(widget, "min"):
        return name
    low, high = widget.min, widget.max
    if hasattr(widget, "base"):
        low, high = widget.base**low, widget.base**high
    return f"{name} from {_format(low)} to {_format(high)}"
