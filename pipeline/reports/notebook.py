"""The model notebook served by the classic notebook (nbclassic), where TFMA's widgets render.

TFMA 0.47's views (`tfma.view.render_slicing_metrics`, `render_plot`) are a classic
notebook extension on ipywidgets 7: JupyterLab 4 and Notebook 7 cannot load them. So
`python -m pipeline notebook` (`make notebook`) serves the model notebook with nbclassic on
127.0.0.1 and prints its URL with the token; the browser test starts the same server.

    server = start(root_dir, run_environment(metadata, name, spec_dir), port, token, log)
    server.url(notebook.name)   # http://127.0.0.1:<port>/nbclassic/notebooks/...?token=...
    server.stop()

The notebook is served as a working copy in `<output>/<set>/notebooks/`, written afresh from
notebooks/model_analysis.ipynb each time: running it there never puts outputs or widget
state into the committed notebook.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from pipeline.project import ROOT

HOST = "127.0.0.1"
DEFAULT_PORT = 8888
SOURCE = ROOT / "notebooks" / "model_analysis.ipynb"
# The classic notebook extensions TFMA's views need, as `make notebook-extensions` enables
# them in the venv: ipywidgets' manager, TFMA's views, and the shim that loads TFMA's
# bundle without RequireJS (notebooks/nbextensions/tfma_amd_shim/main.js says why).
EXTENSIONS = (
    "jupyter-js-widgets/extension",
    "tensorflow_model_analysis/extension",
    "tfma_amd_shim/main",
)
# The environment variables the notebook reads to choose its run (its first cell).
METADATA_VARIABLE = "PIPELINE_METADATA"
NAME_VARIABLE = "PIPELINE_NAME"
RUN_VARIABLE = "PIPELINE_RUN_ID"
SPEC_VARIABLE = "PIPELINE_SPEC"


def run_environment(
    metadata_path: Path, pipeline_name: str, spec_path: Path, run_id: str | None = None
) -> dict[str, str]:
    """The variables that point the notebook at a run (the latest when `run_id` is None)."""
    env = {
        METADATA_VARIABLE: str(Path(metadata_path).resolve()),
        NAME_VARIABLE: pipeline_name,
        SPEC_VARIABLE: str(Path(spec_path).resolve()),
    }
    if run_id:
        env[RUN_VARIABLE] = run_id
    return env


def missing_extensions() -> list[str]:
    """The `EXTENSIONS` that nbclassic would not load, per the Jupyter config it reads."""
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.services.config import ConfigManager

    paths = [str(Path(p) / "nbconfig") for p in jupyter_config_path()]
    loaded = ConfigManager(read_config_path=paths).get("notebook").get("load_extensions", {})
    return [name for name in EXTENSIONS if not loaded.get(name)]


def working_copy(directory: Path, source: Path = SOURCE) -> Path:
    """Writes `source` into `directory` as a plain notebook; returns its path.

    The copy loses its jupytext pairing (the committed .py stays the only source) and any
    output or widget state a stray run left in `source`.
    """
    notebook = json.loads(source.read_text(encoding="utf-8"))
    notebook["metadata"].pop("jupytext", None)
    notebook["metadata"].pop("widgets", None)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / source.name
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) != 0


def free_port() -> int:
    """A port nothing listens on now, chosen by the kernel."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_command(root_dir: Path, port: int, token: str) -> list[str]:
    """`jupyter nbclassic` on HOST:`port`, serving `root_dir`, with `token` as its password.

    Jupyter refuses to run as root unless told (containers and CI run as root). The page's
    banner urging a move to Notebook 7 is off: TFMA's views do not render there.
    """
    command = [
        sys.executable, "-m", "nbclassic",
        "--no-browser", f"--ip={HOST}", f"--port={port}", "--port-retries=0",
        f"--ServerApp.root_dir={root_dir}", f"--IdentityProvider.token={token}",
        "--NotebookApp.show_banner=False",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


@dataclasses.dataclass
class NotebookServer:
    """A running nbclassic server: its process (leading its own process group), port, token."""

    process: subprocess.Popen
    port: int
    token: str

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, notebook: str) -> str:
        """The URL that opens `notebook` (a path under the root) and logs in."""
        return f"{self.base_url}/nbclassic/notebooks/{notebook}?token={self.token}"

    def stop(self, timeout: float = 20.0) -> None:
        """Stops the server and its kernels: SIGTERM (it shuts its kernels down), then
        SIGKILL to its whole process group after `timeout` seconds."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


def start(
    root_dir: Path,
    env: dict[str, str],
    port: int,
    token: str,
    log: IO[str] | int = subprocess.DEVNULL,
    timeout: float = 120.0,
) -> NotebookServer:
    """Starts nbclassic in the background and waits until it answers.

    Args:
        root_dir: The folder it serves.
        env: Variables added to this process's environment (its kernels inherit them).
        port: The port on HOST.
        token: The token a browser must present.
        log: Where the server's output goes.
        timeout: Seconds to wait for its first answer.

    Raises:
        RuntimeError: The server exited, or did not answer within `timeout`.
    """
    process = subprocess.Popen(
        server_command(root_dir, port, token),
        env={**os.environ, **env},
        cwd=root_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=os.setsid,  # its kernels too: stop() ends the whole group
    )
    server = NotebookServer(process, port, token)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the notebook server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/api/status?token={token}", timeout=2):
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"the notebook server did not answer on port {port} in {timeout:.0f} s")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(
    root_dir: Path,
    env: dict[str, str],
    log_path: Path,
    port: int = DEFAULT_PORT,
    announce: str = "",
) -> int:
    """Serves the model notebook's working copy in `root_dir` until Ctrl-C.

    Prints `announce`, the notebook's URL with a fresh token and the server's log file.
    Returns an exit code: 1 when the extensions TFMA's views need are not enabled.
    """
    missing = missing_extensions()
    if missing:
        print(
            f"error: the classic notebook extensions {', '.join(missing)} are not enabled "
            "in this environment, so TFMA's views would stay blank: run `make notebook`",
            file=sys.stderr,
        )
        return 1
    if not port_free(port):
        port = free_port()
    notebook = working_copy(root_dir)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # The server leads its own process group (so that stop() can end its kernels with it):
    # a terminal's Ctrl-C reaches only this process, and SIGTERM or a closed terminal must
    # stop the server too, not leave it running.
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _interrupt)
    with log_path.open("a", encoding="utf-8") as log:
        server = start(root_dir, env, port, secrets.token_hex(24), log)
        try:
            if announce:
                print(announce)
            print(f"Open {server.url(notebook.name)}")
            print(f"(server log: {log_path}; Ctrl-C stops the server)", flush=True)
            server.process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    return 0
