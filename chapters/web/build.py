"""Build the book's web edition: every notebook executed, rendered to static HTML.

    python chapters/web/build.py            # the reading size, into build/book/html
    python chapters/web/build.py --quick    # the test suite's smaller sizes, into build/book-quick
    python -m http.server -d build/book/html 8000   # then open http://127.0.0.1:8000

Runs Sphinx (configuration in ``chapters/web/conf.py``, contents in ``chapters/web/_toc.yml``) on
the preface, the chapters, the instructor's notebook and the solutions. Each notebook runs top to
bottom in a fresh kernel in its own folder, as in JupyterLab; the executed copies live in the build
folder's cache (``.jupyter_cache``), so a rebuild re-runs only the notebooks whose code changed
(``--fresh`` runs them all), and the committed notebooks keep no outputs. ``DAC_BOOK_WEB=1``
tells ``book.interact`` that no kernel will be behind the sliders. Prints the time, the number of
pages and the size of the book.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def folder_size(path: Path) -> int:
    """Bytes in the files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def pages_of(html: Path) -> list[Path]:
    """The book's pages in a built ``html`` folder (not the theme's fragments in ``_static``)."""
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts)


def build(out: Path, quick: bool = False, builder: str = "html") -> Path:
    """Run Sphinx into ``out / builder`` and return that folder; raises when a notebook fails.

    ``quick`` runs the notebooks at the sizes the test suite uses (``DAC_BOOK_SMOKE=1``); its
    cache must not be shared with the reading size's, since the outputs differ while the code does
    not, so give each its own ``out``.
    """
    env = dict(os.environ, DAC_BOOK_WEB="1")
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures become outputs
    if quick:
        env["DAC_BOOK_SMOKE"] = "1"
    else:
        env.pop("DAC_BOOK_SMOKE", None)
    html = out / builder
    cmd = [sys.executable, "-m", "sphinx", "-b", builder, "-c", str(HERE), str(ROOT), str(html)]
    cmd += ["-q", "-W", "--keep-going", "-d", str(out / "doctrees")]
    cmd += ["-D", f"nb_execution_cache_path={out / '.jupyter_cache'}"]
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    return html


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the test suite's sizes")
    parser.add_argument("--out", type=Path, help="default: build/book (build/book-quick)")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="execute every notebook again (the cache sees changes to a notebook's code, not to "
        "chapters/book.py, the package or the data)",
    )
    args = parser.parse_args()
    out = args.out or ROOT / "build" / ("book-quick" if args.quick else "book")
    if args.fresh:
        shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    try:
        html = build(out, args.quick)
    except subprocess.CalledProcessError as error:
        sys.exit(f"the book did not build (sphinx exit {error.returncode}): see the messages above")
    seconds = time.perf_counter() - start
    pages = len(pages_of(html))
    size = folder_size(html) / 1e6
    print(f"built {pages} pages, {size:.1f} MB, in {seconds:.0f} s: {html / 'index.html'}")


if __name__ == "__main__":
    main()
