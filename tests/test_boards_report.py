"""`board export NAME -o report.html`: a self-contained page, read back from a real headless Chromium."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from monitor.boards import get_board, new_template_board, save_board
from monitor.boards.columns import forget_caches
from monitor.cli import main
from monitor.store import Store
from test_boards_compute import make_records

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium) "
                                                             "to render the report in a real browser")
STREAM = "my-team/weave/openai_logs"


@pytest.fixture(autouse=True)
def _fresh_caches():
    forget_caches()
    yield
    forget_caches()


@pytest.fixture
def db(db_path):
    st = Store(db_path)
    st.insert_records(make_records(300, stream=STREAM))
    save_board(st, new_template_board(st, STREAM, "Team board").updated(group_by="model"))
    st.close()
    return str(db_path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rendered_dom(path, tmp_path, fragment: str = "") -> str:
    """The DOM after Chromium loaded the page and ran its script (no network: nothing is served)."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
         "--dump-dom", f"file://{path}{fragment}"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


class Page(HTMLParser):
    """What a test reads from the DOM: data-stat values, attributes that could load something, rows."""

    def __init__(self, text: str):
        super().__init__()
        self.stats: dict[str, str] = {}
        self.urls: list[str] = []
        self.tags: dict[str, int] = {}
        self.rows = self.hidden_rows = 0
        self.csp = ""
        self.shown = None
        self._in_shown = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if "data-stat" in a:
            self.stats[a["data-stat"]] = a.get("data-value", "")
        for name in ("src", "href", "action", "srcset", "poster", "data", "xlink:href"):
            if a.get(name):
                self.urls.append(a[name])
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = a.get("content", "")
        if tag == "tr" and "data-row" in a:
            self.rows += 1
            self.hidden_rows += "hidden" in a
        self._in_shown = a.get("id") == "shown"

    def handle_data(self, data):
        if self._in_shown:
            self.shown = data
            self._in_shown = False


@needs_chromium
def test_report_numbers_equal_stats_in_a_real_browser(db, tmp_path, capsys):
    path = tmp_path / "report.html"
    code, out, err = run(capsys, "board", "export", "Team board", "-o", str(path), "--db", db)
    assert code == 0 and "300 records" in out, err
    code, out, _ = run(capsys, "stats", STREAM, "--json", "--db", db)
    stats = json.loads(out)

    page = Page(rendered_dom(path, tmp_path))
    num = lambda key: float(page.stats[key])
    assert int(num("requests")) == stats["requests"] == 300
    assert int(num("errors")) == stats["errors"]
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert int(num(key)) == stats[key], key
    assert num("cost_usd") == pytest.approx(stats["cost_usd"], rel=1e-9, abs=1e-10)
    for q in ("p50", "p95", "p99"):
        assert num(f"latency_ms.{q}") == pytest.approx(stats["latency_ms"][q], abs=0.001), q
    text = path.read_text()
    assert f"+{stats['unpriced_calls']} calls with unknown price" in text

    # every chart panel is an inline SVG; the requests table holds every call
    st = Store(db)
    charts = sum(p.kind == "timeseries" for p in get_board(st, "Team board").panels)
    st.close()
    assert charts >= 5 and page.tags.get("svg") == charts and page.rows == 300 and page.hidden_rows == 0
    # nothing can be loaded from anywhere: no URL attributes, a CSP that allows nothing else
    assert page.urls == [] and page.tags.get("link") is None and page.tags.get("img") is None
    assert page.csp.startswith("default-src 'none'") and "script-src 'sha256-" in page.csp
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", text, re.I)


@needs_chromium
def test_report_search_runs_in_the_browser_and_no_content_hides_text(db, tmp_path, capsys):
    path = tmp_path / "report.html"
    assert run(capsys, "board", "export", "Team board", "-o", str(path), "--db", db)[0] == 0
    st = Store(db)
    want = sum(1 for r in st.records(STREAM) if r.model == "gpt-4o-mini")
    st.close()
    page = Page(rendered_dom(path, tmp_path, "#q=gpt-4o-mini"))
    assert 0 < want < 300
    assert page.rows - page.hidden_rows == want and page.shown == f"{want:,}"   # the script ran, CSP allowed it

    numbers = tmp_path / "numbers.html"
    assert run(capsys, "board", "export", "Team board", "-o", str(numbers), "--no-content", "--db", db)[0] == 0
    text = numbers.read_text()
    assert "question 3" not in text and "answer" not in text and "Numbers only" in text
    assert Page(rendered_dom(numbers, tmp_path)).rows == 300


def test_report_refuses_the_store_and_existing_files(db, tmp_path, capsys):
    code, _, err = run(capsys, "board", "export", "Team board", "-o", db, "--format", "html", "--force", "--db", db)
    assert code == 2 and "store being read" in err
    existing = tmp_path / "r.html"
    existing.write_text("keep")
    code, _, err = run(capsys, "board", "export", "Team board", "-o", str(existing), "--db", db)
    assert code == 2 and existing.read_text() == "keep"


@needs_chromium
def test_the_page_requests_nothing_but_itself(db, tmp_path, capsys):
    """Served over HTTP, the browser fetches the page and nothing else (no script, style, font or image)."""
    import functools
    import http.server
    import threading

    site = tmp_path / "site"
    site.mkdir()
    assert run(capsys, "board", "export", "Team board", "-o", str(site / "report.html"), "--db", db)[0] == 0
    asked: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, fmt, *args):
            asked.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom",
             f"http://127.0.0.1:{server.server_address[1]}/report.html#q=gpt-4o"],
            capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0 and Page(proc.stdout).rows == 300
    assert [p for p in asked if p != "/favicon.ico"] == ["/report.html"], asked   # the browser's own favicon aside
