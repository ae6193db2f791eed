"""The book: its notebooks' pairing, its chapter template and its voice.

Each chapter is ``chapters/NN_name.ipynb`` (what JupyterLab opens) paired with
``chapters/py/NN_name.py`` (py:percent, what is edited and reviewed); its worked solutions are
``chapters/solutions/NN_name.ipynb`` with ``chapters/solutions/py/NN_name.py``. nbval executes the
notebooks themselves (``pytest chapters --nbval-lax``); these tests read them.

The template, for every chapter from ``00_preface`` to the last:

- the first cell's title is ``# N. Title`` (N the file's number, without leading zeros);
- the first second-level heading is ``## What you will learn``; the last three are, in order,
  ``## Key takeaways`` (3 to 6 bullets), ``## Exercises`` and ``## Further reading`` (at least one
  web link);
- exercises are ``### Exercise N.k (★)`` headings, k = 1, 2, ..., difficulty ★, ★★ or ★★★, at
  least one of them marked open-ended, each linking to its solution, which the solutions
  notebook gives under ``### Solution N.k``;
- the chapter links to the previous and the next chapter (the preface to chapter 1 only, the last
  chapter back only).

The voice: reader-facing text (markdown, and the comments in code cells) says nothing about the
test suite, threads or the machines the book was written on (``FORBIDDEN`` lists the patterns),
and the quick size the test suite runs at is chosen in one line per chapter
(``STEPS, SECONDS = sizes((500, 200), (2.0, 1.0))``, ``chapters/book.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
NOTEBOOKS = sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((CHAPTERS / "solutions").glob("[0-9][0-9]_*.ipynb"))
INSTRUCTOR = sorted((CHAPTERS / "instructor").glob("*.ipynb"))  # the GPU training notebook
LAST_CHAPTER = 12

#: Talk that belongs in benchmarks/*/README.md or the test suite, not in the book.
FORBIDDEN = {
    r"\bCI\b": "the test suite",
    r"\bnbval\b": "the test suite",
    r"\bsmoke\b": "the test suite's quick size",
    r"DAC_BOOK_SMOKE": "the test suite's quick size",
    r"\bthreads?\b": "thread counts",
    r"\bbusy\b": "machine load",
    r"\bload average\b": "machine load",
    r"\bshared (CPU|machine)s?\b": "the machines the book was written on",
    r"\b(this|our) (project's )?machines?\b": "the machines the book was written on",
    r"\bH200\b": "a particular GPU's measurements",
    r"\bissue \d+\b": "project history",
    r"\bsession\b": "project history",
}
TITLE = re.compile(r"^# (\d+)\. \S")
EXERCISE = re.compile(r"^### Exercise (\d+)\.(\d+) \((★{1,3})\)(.*)$", re.M)
SOLUTION = re.compile(r"^### Solution (\d+)\.(\d+)\b", re.M)
H2 = re.compile(r"^## (.+?)\s*$", re.M)
WEB_LINK = re.compile(r"\]\(https?://[^)\s]+\)")


def number(path: Path) -> int:
    return int(path.name[:2])


def paired_source(notebook: Path) -> Path:
    return notebook.parent / "py" / notebook.with_suffix(".py").name


def markdown(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def code_lines(nb) -> list[str]:
    return [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines()]


def sections(text: str) -> dict[str, str]:
    """``{second-level heading: its text up to the next one}``."""
    heads = list(H2.finditer(text))
    ends = [h.start() for h in heads[1:]] + [len(text)]
    return {h.group(1): text[h.end() : end] for h, end in zip(heads, ends)}


def read(notebook: Path):
    return nbformat.read(notebook, as_version=4)


def test_the_book_has_a_preface_every_chapter_and_the_instructors_notebook():
    assert [number(n) for n in NOTEBOOKS] == list(range(LAST_CHAPTER + 1))
    assert NOTEBOOKS[0].name == "00_preface.ipynb"
    assert [n.name for n in SOLUTIONS] == [n.name for n in NOTEBOOKS]
    assert [n.name for n in INSTRUCTOR] == ["train_44khz.ipynb"]


@pytest.mark.parametrize(
    "notebook", NOTEBOOKS + SOLUTIONS + INSTRUCTOR, ids=lambda p: p.parent.name + "/" + p.stem
)
def test_notebook_is_paired_in_sync_and_without_outputs(notebook):
    source = paired_source(notebook)
    assert source.exists(), f"{notebook.name} has no py:percent twin: jupytext --sync {notebook}"
    nb = read(notebook)
    from_py = jupytext.read(source)
    assert [c.source for c in nb.cells] == [c.source for c in from_py.cells], (
        f"{notebook.name} is out of sync with {source}"
    )
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{notebook.name} has committed outputs"
            )
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_follows_the_template(notebook):
    nb, n = read(notebook), number(notebook)
    first = nb.cells[0]
    title = TITLE.match(first.source) if first.cell_type == "markdown" else None
    assert title and int(title.group(1)) == n, f"the first cell's title must be '# {n}. Title'"
    text = markdown(nb)
    heads = list(sections(text))
    assert heads and heads[0] == "What you will learn", "begin with '## What you will learn'"
    assert heads[-3:] == ["Key takeaways", "Exercises", "Further reading"], (
        f"end with Key takeaways, Exercises, Further reading (found {heads[-3:]})"
    )
    body = sections(text)
    bullets = re.findall(r"^[-*] \S", body["Key takeaways"], re.M)
    assert 3 <= len(bullets) <= 6, f"{len(bullets)} key takeaways (want 3-6)"
    assert WEB_LINK.search(body["Further reading"]), "further reading needs at least one link"
    for neighbour in (n - 1, n + 1):
        if 0 <= neighbour <= LAST_CHAPTER:
            assert re.search(rf"\]\({neighbour:02d}_\w+\.ipynb\)", text), (
                f"link to chapter {neighbour}"
            )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_are_graded_and_solved_apart(notebook):
    nb, n = read(notebook), number(notebook)
    text = markdown(nb)
    exercises = EXERCISE.findall(text)
    assert exercises, "no '### Exercise N.k (★)' headings"
    assert all(int(ch) == n for ch, *_ in exercises), "exercise numbers carry the chapter's"
    assert [int(k) for _, k, *_ in exercises] == list(range(1, len(exercises) + 1))
    assert any("open-ended" in rest.lower() for *_, rest in exercises), (
        "mark at least one exercise as open-ended"
    )
    blocks = re.split(r"^### Exercise ", text.split("\n## Further reading")[0], flags=re.M)[1:]
    for block in blocks:
        assert f"solutions/{notebook.name}" in block, (
            f"exercise {block.split()[0]} links to solutions/{notebook.name}"
        )
    solutions = CHAPTERS / "solutions" / notebook.name
    solved = {(int(a), int(b)) for a, b in SOLUTION.findall(markdown(read(solutions)))}
    wanted = {(int(a), int(b)) for a, b, *_ in exercises}
    assert wanted <= solved, f"no solution for {sorted(wanted - solved)} in {solutions.name}"
    code = "\n".join(code_lines(nb))
    assert not re.search(r"(?i)\bsolution\b", code), "solutions belong in solutions/, not here"


@pytest.mark.parametrize(
    "notebook", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.parent.name + "/" + p.stem
)
def test_reader_facing_text_is_free_of_infrastructure(notebook):
    nb = read(notebook)
    comments = [line.split("#", 1)[1] for line in code_lines(nb) if "#" in line]
    text = markdown(nb) + "\n" + "\n".join(comments)
    for pattern, what in FORBIDDEN.items():
        hit = re.search(rf"(?i){pattern}" if pattern != r"\bCI\b" else pattern, text)
        assert not hit, f"{notebook.name} talks about {what}: {hit.group(0)!r}"
    code = code_lines(nb)
    assert not [line for line in code if "SMOKE" in line or "QUICK" in line], (
        "choose sizes with book.sizes, not the switch itself"
    )
    assert sum("sizes(" in line for line in code) <= 1, "choose all sizes in one line"
