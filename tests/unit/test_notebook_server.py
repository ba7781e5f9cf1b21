"""`python -m pipeline notebook` without a server: the working copy it serves, the command
it starts and its one-line errors. (The server, the notebook and its widgets run in a
real browser in tests/e2e/test_reports.py.)"""

from __future__ import annotations

import json

from pipeline import cli
from pipeline.reports import notebook


def test_working_copy_is_the_notebook_without_pairing_outputs_or_widget_state(tmp_path):
    source = json.loads(notebook.SOURCE.read_text())
    stray = json.loads(notebook.SOURCE.read_text())
    stray["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    code = next(c for c in stray["cells"] if c["cell_type"] == "code")
    code["outputs"], code["execution_count"] = [{"output_type": "stream", "text": "x"}], 3
    dirty = tmp_path / "dirty" / notebook.SOURCE.name
    dirty.parent.mkdir()
    dirty.write_text(json.dumps(stray))

    copy = json.loads(notebook.working_copy(tmp_path / "served", dirty).read_text())
    assert "jupytext" not in copy["metadata"] and "widgets" not in copy["metadata"]
    assert [c["source"] for c in copy["cells"]] == [c["source"] for c in source["cells"]]
    for cell in copy["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_server_is_nbclassic_on_loopback_with_a_token(tmp_path):
    command = notebook.server_command(tmp_path, 8123, "secret")
    assert command[1:3] == ["-m", "nbclassic"]
    assert {"--ip=127.0.0.1", "--port=8123", "--port-retries=0"} <= set(command)
    assert "--IdentityProvider.token=secret" in command
    assert notebook.port_free(notebook.free_port())


def test_cli_without_runs_says_so_in_one_line(tmp_path, capsys):
    code = cli.main(["notebook", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith("error: no ML Metadata store at ") and "run the pipeline first" in err
