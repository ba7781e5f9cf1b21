"""Headless Chromium driven through the DevTools protocol, for single-page apps.

`--dump-dom` returns when the page's virtual time budget is spent, which says nothing about
whether an app that fetches its data has shown it yet (and can hang when the first load
is slow). Here a test waits, in real time, until the page shows what it expects, then reads
the DOM and takes a screenshot (`wait_for` waits on any JavaScript expression instead):

    with Browser(tmp_path / "profile") as browser:
        browser.open(url)
        text = browser.wait_for_text(["run-a", "run-b"], timeout=90)
        dom = browser.dom()
        browser.screenshot(tmp_path / "page.png")
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from tests.e2e.browser import FLAGS, chromium


class JavaScriptError(RuntimeError):
    """An expression evaluated in the page threw."""


class Browser:
    """One headless Chromium with a fresh profile, one page, closed on exit. The page's
    console errors, warnings and uncaught exceptions are kept in `console`."""

    def __init__(self, profile: Path, width: int = 1400, height: int = 1800) -> None:
        self.profile = profile
        self.width, self.height = width, height
        self.console: list[str] = []
        self._ids = itertools.count(1)
        self._process: subprocess.Popen | None = None
        self._socket: Any = None

    def __enter__(self) -> Browser:
        self.profile.mkdir(parents=True, exist_ok=True)
        command = [chromium(), *FLAGS, f"--user-data-dir={self.profile}",
                   "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                   f"--window-size={self.width},{self.height}", "about:blank"]  # fmt: skip
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=os.setsid,
        )
        try:
            port = self._devtools_port(timeout=60)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                page = next(t for t in json.load(r) if t["type"] == "page")
            self._socket = websocket.create_connection(
                page["webSocketDebuggerUrl"], timeout=120, suppress_origin=True
            )
            for domain in ("Runtime", "Log"):  # their events carry the console
                self.send(f"{domain}.enable")
            self.send("Emulation.setDeviceMetricsOverride", width=self.width,
                      height=self.height, deviceScaleFactor=1, mobile=False)  # fmt: skip
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._socket is not None:
            with contextlib.suppress(Exception):
                self._socket.close()
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=30)

    def _devtools_port(self, timeout: float) -> int:
        """Chromium writes the port it chose into the profile's DevToolsActivePort."""
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self._process.returncode}")
            time.sleep(0.1)
        raise RuntimeError(f"chromium opened no DevTools port within {timeout:.0f} s")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Calls a DevTools method and returns its result; of the events that arrive
        meanwhile, console output is kept."""
        call_id = next(self._ids)
        self._socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._keep_console(message)

    def _keep_console(self, event: dict[str, Any]) -> None:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning"):
            args = (str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append(f"{params['type']}: {' '.join(args)}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.console.append(f"exception: {text}")
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            entry = params["entry"]
            self.console.append(f"{entry['level']}: {entry['text']} {entry.get('url', '')}")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of `expression` in the page (a Promise is awaited).

        Raises:
            JavaScriptError: It threw.
        """
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise JavaScriptError(f"{text} in: {expression[:200]}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float, what: str, interval: float = 0.5) -> Any:
        """Evaluates `expression` until it is truthy; returns its value.

        Raises:
            TimeoutError: Naming `what`, with the last value or error, after `timeout` s.
        """
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                last = self.evaluate(expression)
            except JavaScriptError as e:
                last = e
            else:
                if last:
                    return last
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:.0f} s for {what}; last: {last!r:.500}")
            time.sleep(interval)

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def wait_for_text(self, texts: list[str], timeout: float = 90.0) -> str:
        """The page's text once it holds every one of `texts`.

        Raises:
            TimeoutError: Naming what is still missing after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.evaluate("document.body ? document.body.innerText : ''") or ""
            if all(t in text for t in texts):
                return text
            time.sleep(0.5)
        missing = [t for t in texts if t not in text]
        raise TimeoutError(f"after {timeout:.0f} s the page still lacks {missing}: {text[:500]!r}")

    def dom(self) -> str:
        return self.evaluate("document.documentElement.outerHTML") or ""

    def screenshot(self, path: Path, clip: dict[str, float] | None = None) -> Path:
        """A PNG of the viewport, or of `clip` (x, y, width, height in CSS pixels)."""
        params: dict[str, Any] = {"format": "png"}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        data = self.send("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path
