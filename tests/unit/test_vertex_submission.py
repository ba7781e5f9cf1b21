"""Submitting and scheduling on Vertex AI, through the CLI.

MOCK AT THE API BOUNDARY: Vertex AI cannot be reached from here (no network, no GCP
project). `FakeAiplatform` stands in for the `google.cloud.aiplatform` module only; the
pipeline is really compiled, the CLI really parses its options, and the test asserts the
exact arguments each SDK call receives.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from google.cloud import aiplatform as real_aiplatform

from pipeline import cli
from tests.unit.test_cloud_config import EXAMPLE


class FakeAiplatform:
    """Records calls made to the parts of `google.cloud.aiplatform` the CLI uses."""

    def __init__(self, existing_schedules: int = 0, runs: int = 0) -> None:
        fake = self
        self.calls: list[tuple[str, dict[str, Any]]] = []

        class Schedule:
            def __init__(self, name: str) -> None:
                self.resource_name = name

            @staticmethod
            def list(**kwargs: Any) -> list[Schedule]:
                fake.calls.append(("PipelineJobSchedule.list", kwargs))
                return [Schedule(f"projects/p/schedules/{i}") for i in range(existing_schedules)]

            def update(self, **kwargs: Any) -> None:
                fake.calls.append(("PipelineJobSchedule.update", kwargs))

            def delete(self) -> None:
                fake.calls.append(("PipelineJobSchedule.delete", {"name": self.resource_name}))

        class Job:
            def __init__(self, **kwargs: Any) -> None:
                fake.calls.append(("PipelineJob", kwargs))
                self.resource_name = "projects/p/pipelineJobs/new"

            def submit(self, **kwargs: Any) -> None:
                fake.calls.append(("PipelineJob.submit", kwargs))

            def create_schedule(self, **kwargs: Any) -> Schedule:
                fake.calls.append(("PipelineJob.create_schedule", kwargs))
                return Schedule("projects/p/schedules/new")

            @staticmethod
            def list(**kwargs: Any) -> list[Any]:
                fake.calls.append(("PipelineJob.list", kwargs))
                return [
                    type("Run", (), {"resource_name": f"run-{i}", "state": "PIPELINE_STATE_SUCCEEDED",
                                     "create_time": f"2026-11-2{i}"})()
                    for i in range(runs)
                ]  # fmt: skip

        self.PipelineJob = Job
        self.PipelineJobSchedule = Schedule

    def init(self, **kwargs: Any) -> None:
        self.calls.append(("init", kwargs))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for call, kwargs in self.calls if call == name]


def _real_parameters(function: Any) -> set[str]:
    return set(inspect.signature(function).parameters) - {"self", "cls"}


@pytest.fixture
def build_dir(tmp_path):
    return tmp_path / "build"


def _cli(build_dir, *args: str, fake: FakeAiplatform | None = None) -> int:
    argv = [*args, "--cloud-config", str(EXAMPLE), "--build-dir", str(build_dir)]
    return cli.main(argv, aiplatform=fake)


def test_submit_passes_the_compiled_template_and_this_runs_parameters(build_dir):
    fake = FakeAiplatform()
    assert _cli(build_dir, "submit", "--train-steps", "300", fake=fake) == 0
    template = build_dir / "pipeline.json"
    assert fake.calls == [
        ("init", {"project": "my-gcp-project", "location": "us-central1"}),
        ("PipelineJob", {
            "display_name": "census-income-pipeline",
            "template_path": str(template),
            "pipeline_root": "gs://my-tfx-bucket/pipelines/census",
            "parameter_values": {"train_args": '{"numSteps": 300, "splits": ["train"]}'},
            "enable_caching": True,
            "project": "my-gcp-project",
            "location": "us-central1",
        }),
        ("PipelineJob.submit", {"service_account": "tfx-pipeline@my-gcp-project.iam.gserviceaccount.com"}),
    ]  # fmt: skip
    assert json.loads(template.read_text())["displayName"] == "census-income-pipeline"
    # The fake only accepts what the real SDK accepts.
    assert set(fake.named("PipelineJob")[0]) <= _real_parameters(
        real_aiplatform.PipelineJob.__init__
    )
    assert set(fake.named("PipelineJob.submit")[0]) <= _real_parameters(
        real_aiplatform.PipelineJob.submit
    )


def test_dry_run_prints_the_calls_and_makes_none(build_dir, capsys):
    fake = FakeAiplatform()
    assert _cli(build_dir, "submit", "--dry-run", "--no-cache", fake=fake) == 0
    assert fake.calls == []
    out = capsys.readouterr().out
    assert "Dry run" in out and "aiplatform.PipelineJob(" in out
    assert "enable_caching=False" in out and "template_path=" in out
    assert "parameter_values={}" in out  # the compiled defaults apply


def test_schedule_is_created_with_the_configured_cron(build_dir):
    fake = FakeAiplatform(existing_schedules=0)
    assert _cli(build_dir, "schedule", fake=fake) == 0
    assert fake.named("PipelineJobSchedule.list") == [
        {"filter": 'display_name="census-income-pipeline-schedule"', "order_by": "create_time desc"}
    ]
    assert fake.named("PipelineJob.create_schedule") == [
        {
            "display_name": "census-income-pipeline-schedule",
            "cron": "TZ=Europe/Paris 0 3 * * 1",
            "max_concurrent_run_count": 1,
            "service_account": "tfx-pipeline@my-gcp-project.iam.gserviceaccount.com",
        }
    ]
    assert fake.named("PipelineJob")[0]["template_path"] == str(build_dir / "pipeline.json")
    assert set(fake.named("PipelineJob.create_schedule")[0]) <= _real_parameters(
        real_aiplatform.PipelineJob.create_schedule
    )


def test_existing_schedule_is_updated_not_duplicated(build_dir):
    fake = FakeAiplatform(existing_schedules=1)
    assert _cli(build_dir, "schedule", fake=fake) == 0
    assert fake.named("PipelineJobSchedule.update") == [
        {"cron": "TZ=Europe/Paris 0 3 * * 1", "max_concurrent_run_count": 1}
    ]
    assert fake.named("PipelineJob.create_schedule") == []
    assert set(fake.named("PipelineJobSchedule.update")[0]) <= _real_parameters(
        real_aiplatform.PipelineJobSchedule.update
    )


def test_replace_deletes_and_recreates_the_schedule(build_dir):
    fake = FakeAiplatform(existing_schedules=1)
    assert _cli(build_dir, "schedule", "--replace", fake=fake) == 0
    names = [call for call, _ in fake.calls]
    assert names.index("PipelineJobSchedule.delete") < names.index("PipelineJob.create_schedule")
    assert fake.named("PipelineJobSchedule.update") == []


def test_runs_lists_recent_runs_of_this_pipeline(build_dir, capsys):
    fake = FakeAiplatform(runs=3)
    assert _cli(build_dir, "runs", "--limit", "2", fake=fake) == 0
    assert fake.named("PipelineJob.list") == [
        {"filter": 'display_name="census-income-pipeline"', "order_by": "create_time desc"}
    ]
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "PIPELINE_STATE_SUCCEEDED" in lines[0] and "run-0" in lines[0]


def test_bad_cloud_config_exits_2_naming_the_key(tmp_path, capsys):
    bad = tmp_path / "vertex.yaml"
    bad.write_text(EXAMPLE.read_text().replace("gs://my-tfx-bucket/pipelines/census", "/tmp/root"))
    fake = FakeAiplatform()
    code = cli.main(["submit", "--cloud-config", str(bad), "--build-dir", str(tmp_path)], fake)
    assert code == 2 and fake.calls == []
    assert "key 'pipeline_root': expected a Cloud Storage path" in capsys.readouterr().err


def test_runs_without_credentials_says_how_to_authenticate(
    build_dir, tmp_path, monkeypatch, capsys
):
    # The real SDK, on a machine with no Google Cloud credentials at all.
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")  # not on a Google Cloud machine
    assert _cli(build_dir, "runs") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: no usable Google Cloud credentials")
    assert "gcloud auth application-default login" in err
