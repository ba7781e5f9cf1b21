"""MLflow's UI (its tracking server) on a local store, on 127.0.0.1 only.

`python -m pipeline ui` runs `server_command` in the foreground until Ctrl-C; the tests
start the same command in the background.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pipeline.tracking import store

HOST = "127.0.0.1"
DEFAULT_PORT = 5000


def server_command(uri: str, root: Path, port: int = DEFAULT_PORT) -> list[str]:
    """`mlflow server` on the store at `uri`, bound to 127.0.0.1:`port`.

    One worker: a person's browser is the only client, and each worker costs seconds of
    start-up. Artifacts of experiments the UI creates go beside the pipeline's own
    (`<root>/mlflow-artifacts`), not into the current directory.
    """
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", uri,
        "--artifacts-destination", (Path(root).resolve() / store.ARTIFACTS_DIR).as_uri(),
        "--host", HOST,
        "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip


def server_env() -> dict[str, str]:
    """The server's environment: this one, with defaults for what it does not set.

    MLflow's usage telemetry off; its job execution (GenAI scoring and trace archival
    jobs, which nothing here uses) off too: the server starts faster without them, and
    stops at Ctrl-C instead of waiting for its job threads.
    """
    defaults = {"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return {**defaults, **os.environ}


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) == 0


def free_port() -> int:
    """A port nothing listens on now, chosen by the kernel."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Waits until `url`/health answers 200.

    Raises:
        RuntimeError: The server exited, or did not answer within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"mlflow server did not answer at {url} within {timeout:.0f} s")


def serve(uri: str, root: Path, port: int = DEFAULT_PORT) -> int:
    """Runs MLflow's UI on the store at `uri` until Ctrl-C; returns an exit code.

    A tracking server's URI needs no local UI (its own is at that address); a SQLite
    store that does not exist yet is an error (nothing was logged to it).
    """
    if store.is_server(uri):
        print(f"Runs are logged to the tracking server {uri}: open it in a browser.")
        return 0
    database = store.sqlite_file(uri)
    if database is not None and not database.is_file():
        print(
            f"error: no MLflow store at {database}: `python -m pipeline run` creates it",
            file=sys.stderr,
        )
        return 1
    if port_in_use(port):
        print(f"error: port {port} on {HOST} is in use: pass --port N", file=sys.stderr)
        return 1
    print(f"MLflow UI on {uri}: http://{HOST}:{port} (Ctrl-C stops it)", flush=True)
    try:
        return subprocess.run(server_command(uri, root, port), env=server_env()).returncode
    except KeyboardInterrupt:
        return 0
