"""The book's notebooks: each chapter is a py:percent + ipynb pair, in sync, without outputs.

(nbval executes the notebooks themselves: `pytest chapters --nbval-lax`.)
"""

from pathlib import Path

import jupytext
import nbformat
import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
SOURCES = sorted(CHAPTERS.glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_chapter_is_paired_in_sync_and_without_outputs(source):
    notebook = source.with_suffix(".ipynb")
    assert notebook.exists(), f"{source.name} has no paired notebook: run jupytext --sync {source}"
    nb = nbformat.read(notebook, as_version=4)
    from_py = jupytext.read(source)
    assert [c.source for c in nb.cells] == [c.source for c in from_py.cells], (
        f"{notebook.name} is out of sync"
    )
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{notebook.name} has committed outputs"
            )
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_book_has_chapters():
    assert SOURCES, "no chapters found"
