"""The header every benchmark table starts with: date, commit, machine, command."""

from __future__ import annotations

import re
import subprocess

from benchmarks import provenance
from pipeline.project import ROOT

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz
flags\t\t: fpu sse avx2 avx512f avx512dq

processor\t: 1
model name\t: Another CPU
"""


def test_cpu_model_reads_the_first_processor_and_notes_avx512(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO)
    assert provenance.cpu_model(cpuinfo) == "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz (AVX-512)"
    cpuinfo.write_text(CPUINFO.replace(" avx512f", ""))
    assert provenance.cpu_model(cpuinfo) == "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"


def test_header_names_the_date_commit_machine_and_command():
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lines = provenance.header(["/x/benchmarks/taxi_comparison.py", "--repeats", "2"]).splitlines()
    assert len(lines) == 3 and all(line.startswith("#") for line in lines)
    assert re.match(r"# \d{4}-\d\d-\d\d \d\d:\d\d UTC, commit ", lines[0])
    assert f"commit {head}" in lines[0]
    assert re.search(r", \d+ cores, \S", lines[0])
    assert "TFX 1.16" in lines[1]
    assert lines[2] == "# python -m benchmarks.taxi_comparison --repeats 2"
