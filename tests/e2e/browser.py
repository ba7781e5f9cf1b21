"""Open a page in Debian's headless Chromium: its rendered DOM, console output, screenshot."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

# No network, no extensions, no first-run work: the page must stand on its own.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
    # Every host name but loopback fails to resolve: nothing a page asks for leaves the
    # machine (a request to the internet fails at once instead of waiting on a timeout).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def chromium() -> str:
    """The browser's path; make test installs it (apt package `chromium`)."""
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError(
            "chromium is not installed: `make test` installs it (apt-get install chromium)"
        )
    return path


@dataclasses.dataclass
class Page:
    dom: str
    console: list[str]
    tables: dict[str, list[list[str]]]
    images: list[str]


class _Parser(HTMLParser):
    """Collects every <table id=...> as rows of cell texts, and every <img src>."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table":
            self._table = attributes.get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "img":
            self.images.append(attributes.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def open_page(path: Path, screenshot: Path, width: int = 1280, height: int = 4000) -> Page:
    """Renders `path`, saves a screenshot; returns the DOM, console lines, tables, images."""
    url = path.resolve().as_uri()
    dump = subprocess.run(
        [chromium(), *FLAGS, "--dump-dom", url], capture_output=True, text=True, timeout=120
    )
    if dump.returncode != 0:
        raise RuntimeError(f"chromium failed on {url}: {dump.stderr[-2000:]}")
    shot = subprocess.run(
        [chromium(), *FLAGS, f"--screenshot={screenshot}", f"--window-size={width},{height}", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if shot.returncode != 0 or not screenshot.exists():
        raise RuntimeError(f"chromium took no screenshot of {url}: {shot.stderr[-2000:]}")
    # Chromium logs every console message (log, warning, error, uncaught exception) as
    # INFO:CONSOLE on stderr.
    console = [
        line for line in (dump.stderr + shot.stderr).splitlines() if re.search(r":CONSOLE", line)
    ]
    parser = _Parser()
    parser.feed(dump.stdout)
    return Page(dump.stdout, console, parser.tables, parser.images)
