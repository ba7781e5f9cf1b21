"""Starts each emulated container step as a fork of one process that imported TFX once.

Run as a script by `vertex_emulator.ForkLauncher`. It imports the modules named in its
first argument (TensorFlow, TFX's entry point and executors: about 20 s of imports that
every step would otherwise repeat), then reads one JSON request per line on stdin:
    {"id": ..., "module": "tfx....kubeflow_v2_run_executor", "args": [...], "cwd": ..., "log": ...}
forks, and in the child runs `module` as `__main__` with `args` (what `python -m module
args...` runs), its stdout and stderr in `log`. It answers {"id": ..., "rc": ...} on stdout
when a child exits. Several children may run at once.

The child is a fresh process running TFX's own entry point; what it shares with the other
steps is only what the parent imported before forking, and a container image would have
those same modules.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import select
import sys
import traceback


def _child(request: dict) -> int:
    """Runs the request's module as `python -m` would; returns the exit code."""
    os.chdir(request["cwd"])
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.argv = [request["module"], *request["args"]]
    sys.path[0] = request["cwd"]  # `python -m` puts the working directory first
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as e:
        if e.code is None:
            return 0
        return e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def main() -> None:
    for module in json.loads(sys.argv[1]):
        importlib.import_module(module)
    answer = sys.stdout
    print(json.dumps({"ready": True}), file=answer, flush=True)
    running: dict[int, str] = {}
    pending = b""
    stdin = sys.stdin.fileno()
    open_input = True
    while open_input or running:
        if open_input and select.select([stdin], [], [], 0.1)[0]:
            chunk = os.read(stdin, 65536)
            open_input = bool(chunk)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                answer.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        code = _child(request)
                    finally:
                        sys.stdout.flush()
                        sys.stderr.flush()
                        os._exit(code)
                running[pid] = request["id"]
        elif not open_input:
            select.select([], [], [], 0.1)
        while running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            rc = os.waitstatus_to_exitcode(status)
            print(json.dumps({"id": running.pop(pid), "rc": rc}), file=answer, flush=True)


if __name__ == "__main__":
    main()
