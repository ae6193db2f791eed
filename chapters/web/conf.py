"""Sphinx configuration of the book's web edition (built by ``chapters/web/build.py``).

Sphinx with MyST-NB and the Sphinx Book Theme (the stack Jupyter Book 1 is made of, without its
wrapper): MyST-NB executes each notebook with nbclient and renders its outputs (figures, tables,
printed numbers, audio players); the theme gives the sidebar, previous/next links and search;
sphinx-external-toc reads the table of contents from ``_toc.yml``. All of it is pure Python from
PyPI and needs no network at build time or in the browser: MathJax is served from the built book.
Why not Jupyter Book itself: version 2 (mystmd) runs on Node.js and fetches its site theme from the
network when it builds, and version 1 is this same stack behind a wrapper, now in maintenance.

The source folder is the repository root (so that the chapters' links to ``data/README.md`` and
``dac_minimal/codec/FORMAT.md`` become pages of the book); ``include_patterns`` picks the documents.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

project = "dac-minimal"
author = "the dac-minimal authors"
copyright = "the dac-minimal authors"
html_title = "Neural audio codecs from first principles"

extensions = ["myst_nb", "sphinx_external_toc"]
external_toc_path = "chapters/web/_toc.yml"  # relative to the source folder
external_toc_exclude_missing = False

include_patterns = [
    "chapters/[0-9][0-9]_*.ipynb",
    "chapters/solutions/[0-9][0-9]_*.ipynb",
    "chapters/instructor/*.ipynb",
    "data/README.md",
    "dac_minimal/codec/FORMAT.md",
]
exclude_patterns = [".*", "build", "runs", "data/real", "data/toy", "benchmarks", "tests", "**/py"]

# MyST: $...$ and $$...$$ math as in JupyterLab, and anchors for headings (tables are on already).
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# A solutions page goes from its title straight to "### Solution N.k", matching the exercises'
# level in the chapter; that is intended.
suppress_warnings = ["myst.header"]

# Execution. build.py points the cache into the build folder; a rebuild re-runs only the notebooks
# whose code changed. A failing cell fails the build.
nb_execution_mode = "cache"
nb_execution_timeout = 1200
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# Widgets: the notebooks' sliders need a kernel; in the web edition ``book.interact`` shows their
# default view instead, so no widget JavaScript (from a CDN) is loaded.
nb_ipywidgets_js = {}

html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "show_navbar_depth": 1,
    "use_download_button": False,
    "navigation_with_keys": True,
}
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
templates_path = ["_templates"]
html_favicon = "_static/favicon.svg"
html_context = {"default_mode": "auto"}  # light or dark as the reader's system prefers
html_additional_pages = {"index": "redirect.html"}  # index.html sends a visitor to the preface

# MathJax 3 from the sphinx-mathjax-offline package, copied into the book (the parts that render
# TeX as HTML, not its 24 MB of other outputs), so that math renders without a network.
mathjax_path = "mathjax/tex-chtml.js"
MATHJAX_PARTS = ["tex-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y"]


def copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("pip install sphinx-mathjax-offline (MathJax for the web edition)")
    source = Path(spec.origin).parent / "static" / "mathjax"
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)


def setup(app):
    app.connect("build-finished", copy_mathjax)
