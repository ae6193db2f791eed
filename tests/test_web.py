"""The web edition (``chapters/web/build.py``): built at the test suite's size, read in Chromium.

The build executes every notebook (``--quick`` sizes) and renders it with Sphinx; the pages are
served on the loopback address and each one is loaded in headless Chromium (Debian's ``chromium``
and ``chromium-driver``, driven by Selenium): no console errors, every image loaded, every audio
player with a source the browser can play, every internal link and anchor resolving, every formula
typeset by MathJax, and the search page finding a word. Skipped, saying why, where the browser,
its driver or the build's packages are missing (``.ci/run`` installs them).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import shutil
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "chapters" / "web"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

# chapters/web/build.py, loaded from its file: a plain ``import build`` could find PyPA's package.
_spec = importlib.util.spec_from_file_location("dac_book_web_build", WEB / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def test_contents_list_every_notebook():
    """``_toc.yml`` names each chapter, solution and instructor notebook once, in order."""
    toc = yaml.safe_load((WEB / "_toc.yml").read_text())
    listed = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    notebooks = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    notebooks += sorted((ROOT / "chapters" / "instructor").glob("*.ipynb"))
    notebooks += sorted((ROOT / "chapters" / "solutions").glob("[0-9][0-9]_*.ipynb"))
    expected = [str(p.relative_to(ROOT).with_suffix("")) for p in notebooks]
    assert [f for f in listed if f.startswith("chapters/")] == expected
    assert len(listed) == len(set(listed))


def test_interact_runs_once_on_the_web(monkeypatch):
    """Under ``DAC_BOOK_WEB`` the book's ``interact`` calls the function once at the sliders'
    starting values (also as a decorator) and names them; a kernel with a frontend gets widgets."""
    sys.path.insert(0, str(ROOT / "chapters"))
    try:
        import book
    finally:
        sys.path.remove(str(ROOT / "chapters"))
    import IPython.display
    from ipywidgets import FloatLogSlider, IntSlider

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj.data))
    monkeypatch.setattr(book, "WEB", True)
    calls = []
    book.interact(lambda n: calls.append(n), n=IntSlider(value=3, min=1, max=9))

    @book.interact(f=FloatLogSlider(value=100.0, base=10, min=1, max=3))
    def show(f):
        calls.append(f)

    assert calls == [3, 100.0]
    assert "n = 3" in shown[0] and "a slider (n from 1 to 9) changes it" in shown[0]
    assert "f = 100" in shown[1] and "f from 10 to 1000" in shown[1]
    monkeypatch.setattr(book, "WEB", False)
    assert book.interact(lambda n: calls.append(n), n=IntSlider(value=5)).widget is not None
    assert calls[-1] == 5  # ipywidgets calls it once to draw the first output


class _Page(HTMLParser):
    """The ids (anchors) and internal link targets of one HTML page."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_every_internal_link_resolves(built_book):
    """Each ``href`` without a scheme points to a file of the book, and its ``#anchor`` exists."""
    pages = {p: _parse(p) for p in build.pages_of(built_book)}
    broken = []
    for path, page in pages.items():
        for href in page.links:
            if urlsplit(href).scheme or href.startswith("//"):
                continue
            parts = urlsplit(href)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{path.relative_to(built_book)}: {href}")
            elif parts.fragment and target.suffix == ".html":
                ids = (pages.get(target) or _parse(target)).ids  # each page parsed once
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.relative_to(built_book)}: {href} (no such anchor)")
    assert not broken, "\n".join(broken[:40])
    assert len(pages) >= 30


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """The book built at the test suite's size into a temporary folder: its ``html/`` folder.

    ``DAC_BOOK_WEB_BUILT=build/book/html`` checks a book built before instead (any size)."""
    if os.environ.get("DAC_BOOK_WEB_BUILT"):
        return Path(os.environ["DAC_BOOK_WEB_BUILT"]).resolve()
    missing = [m for m in ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx_external_toc")]
    missing = [m for m in missing if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(
            f"the web edition's packages are missing ({', '.join(missing)}): pip install "
            "-e '.[web]'"
        )
    return build.build(tmp_path_factory.mktemp("book"), quick=True)


@pytest.fixture(scope="module")
def server(built_book):
    """The built book served on 127.0.0.1 (a free port) for the browser; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Selenium and Debian's chromedriver, logging the console."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "no chromium and chromedriver on PATH (Debian: apt install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-sync",
        "--disable-component-update",
        "--disable-dev-shm-usage",
        "--mute-audio",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


#: Run in the page: waits for MathJax, then for each audio element's metadata, and reports.
_INSPECT = """
const done = arguments[arguments.length - 1];
(async () => {
  if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  const audio = [...document.querySelectorAll('audio')];
  await Promise.all(audio.map(a => a.readyState >= 1 || a.error ? null : new Promise(r => {
    a.addEventListener('loadedmetadata', r, {once: true});
    a.addEventListener('error', r, {once: true});
    a.preload = 'metadata'; a.load();
    setTimeout(r, 10000);
  })));
  const images = [...document.images].filter(i => i.closest('article'));
  const math = [...document.querySelectorAll('article .math')];
  const short = s => s.slice(0, 80);
  done({
    images: images.length,
    broken_images: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => short(i.src)),
    audio: audio.length,
    silent_audio: audio.filter(a => a.error || !(a.duration > 0)).map(a => short(a.currentSrc)),
    math: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => short(m.textContent)),
    math_errors: document.querySelectorAll('mjx-merror').length,
    sidebar: document.querySelectorAll('nav.bd-links a').length,
    prev_next: document.querySelectorAll('.prev-next-area a').length,
  });
})();
"""


def test_every_page_in_a_browser(built_book, server, browser):
    """Every page loads without console errors; its figures, audio players and math work."""
    pages = [p.relative_to(built_book).as_posix() for p in build.pages_of(built_book)]
    toc = yaml.safe_load((WEB / "_toc.yml").read_text())
    entries = 1 + sum(len(part["chapters"]) for part in toc["parts"])
    problems, totals = [], {"images": 0, "audio": 0, "math": 0}
    for page in pages:
        browser.get(urljoin(server, page))
        report = browser.execute_async_script(_INSPECT)
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        for key in totals:
            totals[key] += report[key]
        bad = {k: report[k] for k in ("broken_images", "silent_audio", "untypeset") if report[k]}
        if errors or bad or report["math_errors"]:
            n_errors = report["math_errors"]
            problems.append(f"{page}: console {errors[:3]} {bad}, {n_errors} math errors")
        if page.startswith("chapters/") and report["sidebar"] != entries:
            problems.append(f"{page}: the sidebar lists {report['sidebar']} pages")
        if page.startswith("chapters/") and report["prev_next"] < 1:
            problems.append(f"{page}: no previous/next link")
    print(
        f"{len(pages)} pages, {totals['images']} images, {totals['audio']} audio players, "
        f"{totals['math']} formulas"
    )
    assert not problems, "\n".join(problems)
    assert totals["images"] >= 50 and totals["audio"] >= 10 and totals["math"] >= 100


def test_search_finds_a_word(server, browser):
    """The search page (Sphinx's index, in the browser) lists the chapters that say "codebook"."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(urljoin(server, "search.html?q=codebook"))
    WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements("css selector", "#search-results ul.search li")) >= 5
    )
    titles = [a.text for a in browser.find_elements("css selector", "#search-results li a")]
    assert any(re.match(r"\d+\. ", t) for t in titles), titles[:10]
