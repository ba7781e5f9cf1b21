"""Run a notebook of `notebooks/` top to bottom on a real Jupyter kernel."""

from __future__ import annotations

import os

from pipeline.project import ROOT


def execute_notebook(notebook: str, env: dict[str, str]) -> tuple[str, set[str]]:
    """Runs `notebook` with `env` set (the run to analyse, see the notebook's first cell);
    returns the text of its outputs and their MIME types. Fails on any error output."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()  # fmt: skip
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    texts, types = [], set()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", output
            texts.append(output.get("text", ""))
            data = output.get("data", {})
            texts += [data.get("text/plain", ""), data.get("text/html", "")]
            types |= set(data)
    return "\n".join(texts), types
