"""Runs a compiled `pipeline.json` task by task, as Vertex AI Pipelines runs it.

EMULATED (Vertex AI itself cannot be reached from here):
- the orchestration: tasks start when the tasks they depend on succeeded; a failed task's
  dependents never start, the other branches finish (Vertex's default failure policy);
  no caching; each container task gets the `ExecutorInput` Vertex builds from the compiled
  spec (its parameters, the runtime parameters, its upstream tasks' output artifacts,
  output artifacts named like Vertex's under <root>/<project number>/<run id>/<task>_<id>/),
  and a `preCacheCheck` hook (ExampleGen's driver) runs first, its output metadata passed
  on to the main container (api/v2alpha1/pipeline_spec.proto, `Lifecycle`);
- Vertex ML Metadata, as far as resolver tasks read it: every output artifact of a
  succeeded task is recorded LIVE in the pipeline's and the run's contexts with its output
  metadata, and each resolver task is answered by evaluating its compiled filter
  (`MetadataStore.query`; a clause it does not know fails the run), scoped to the
  pipeline's context when the filter names none, newest first;
- Cloud Storage (`gcs_gateway`), and the container image (its Dockerfile `ENV` lines).

REAL: the compiled `pipeline.json` (`python -m pipeline compile`'s code), TFX's container
entry point and ExampleGen driver, run as `python -m <module> <compiled args>` in their
own processes (`ForkLauncher` forks them from a process that imported TFX once;
`FreshLauncher` starts a new interpreter each time), every executor (TFX's and the
project's), Beam, and the gs:// clients of TensorFlow and Beam.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from tests.e2e.gcs_gateway import GcsGateway

PROJECT_NUMBER = "123456789012"
REGION = "us-central1"
_ARTIFACT_IDS = itertools.count(1001)
# A resolver filter reads its task's input artifacts through this placeholder.
_INPUT_METADATA = re.compile(r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\.metadata\['([^']+)'\]\}\}")
_CLAUSES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r'schema_title="([^"]*)"'), lambda a, m: a.schema_title == m[1]),
    (re.compile(r"state=(\w+)"), lambda a, m: a.state == m[1]),
    (re.compile(r'name="([^"]*)"'), lambda a, m: a.name == m[1]),
    (re.compile(r'uri="([^"]*)"'), lambda a, m: a.uri == m[1]),
    (re.compile(r'in_context\("([^"]*)"\)'), lambda a, m: m[1] in a.contexts),
    (
        re.compile(r"metadata\.(\w+)\.number_value=(\S+)"),
        lambda a, m: (
            isinstance(a.metadata.get(m[1]), (int, float))
            and float(a.metadata[m[1]]) == float(m[2])
        ),
    ),
    (
        re.compile(r'metadata\.(\w+)\.string_value="([^"]*)"'),
        lambda a, m: a.metadata.get(m[1]) == m[2],
    ),
]


def schema_title(artifact_type: dict[str, Any]) -> str:
    """The schema title of a compiled artifact type (`schemaTitle`, or an instance schema's
    `title:` line)."""
    if "schemaTitle" in artifact_type:
        return artifact_type["schemaTitle"]
    found = re.search(r"^title:\s*(\S+)", artifact_type.get("instanceSchema", ""), re.M)
    return found[1] if found else "tfx.Artifact"


@dataclasses.dataclass
class StoredArtifact:
    """One artifact as Vertex ML Metadata holds it."""

    name: str
    artifact_type: dict[str, Any]
    uri: str
    metadata: dict[str, Any]
    contexts: list[str]
    task: str
    output_key: str
    state: str = "LIVE"
    created: int = dataclasses.field(default_factory=lambda: next(_ARTIFACT_IDS))

    @property
    def schema_title(self) -> str:
        return schema_title(self.artifact_type)

    def runtime(self) -> dict[str, Any]:
        """The `RuntimeArtifact` JSON a task receives."""
        return {
            "name": self.name,
            "type": self.artifact_type,
            "uri": self.uri,
            "metadata": self.metadata,
        }


class MetadataStore:
    """The part of Vertex ML Metadata that resolver tasks query."""

    def __init__(self) -> None:
        self.artifacts: list[StoredArtifact] = []

    def record(self, artifact: StoredArtifact) -> None:
        self.artifacts.append(artifact)

    def query(self, filter_: str, limit: int, pipeline_context: str) -> list[StoredArtifact]:
        """The artifacts matching a compiled filter, newest first, at most `limit`.

        Without an `in_context` clause the query is scoped to the pipeline's context, as
        Vertex AI scopes it (api/v2alpha1/pipeline_spec.proto, ResolverSpec).

        Raises:
            ValueError: A clause this emulation does not know (the run then fails).
        """
        predicates = []
        for clause in (c.strip() for c in filter_.split(" AND ")):
            for pattern, predicate in _CLAUSES:
                match = pattern.fullmatch(clause)
                if match:
                    predicates.append((predicate, match))
                    break
            else:
                raise ValueError(f"filter clause not emulated: {clause!r} in {filter_!r}")
        if "in_context(" not in filter_:
            predicates.append((lambda a, m: pipeline_context in a.contexts, None))
        found = [a for a in self.artifacts if all(p(a, m) for p, m in predicates)]
        found.sort(key=lambda a: a.created, reverse=True)
        return found[: limit or 1]

    def produced_by(self, task: str, key: str, run: str) -> list[StoredArtifact]:
        """The `key` outputs of `task` in run `run`."""
        return [a for a in self.artifacts if a.task == task and a.output_key == key
                and run in a.contexts]  # fmt: skip


def image_env(dockerfile: Path) -> dict[str, str]:
    """The `ENV` variables a Dockerfile sets (`ENV A=1 \\ B=2` form)."""
    text = dockerfile.read_text().replace("\\\n", " ")
    env = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for item in shlex.split(line[4:]):
                name, _, value = item.partition("=")
                env[name] = value
    return env


class Launcher(Protocol):
    """Starts `python -m <module> <args>` processes and reports their exit codes."""

    def start(self, key: str, module: str, args: list[str], cwd: Path, log: Path) -> None: ...

    def wait(self) -> tuple[str, int]:
        """Blocks until a started process exits: its key and exit code."""
        ...

    def close(self) -> None: ...


class FreshLauncher:
    """A new interpreter per process, as a container starts one."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, key: str, module: str, args: list[str], cwd: Path, log: Path) -> None:
        with log.open("ab") as out:
            self.running[key] = subprocess.Popen(
                [sys.executable, "-m", module, *args], cwd=cwd, env=self.env,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def wait(self) -> tuple[str, int]:
        while True:
            for key, process in list(self.running.items()):
                if process.poll() is not None:
                    del self.running[key]
                    return key, process.returncode
            time.sleep(0.1)

    def close(self) -> None:
        for process in self.running.values():
            process.kill()
            process.wait()


class ForkLauncher:
    """Forks each process from one that imported `preload` once (`vertex_zygote.py`)."""

    def __init__(self, env: dict[str, str], preload: Iterable[str], log: Path) -> None:
        self.log = log.open("ab")
        self.zygote = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("vertex_zygote.py")),
             json.dumps(sorted(preload))],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            cwd=tempfile.gettempdir(), text=True, bufsize=1,
        )  # fmt: skip
        ready = self.zygote.stdout.readline()
        if not ready:
            raise RuntimeError(f"the zygote process failed to start; see {log}")

    def start(self, key: str, module: str, args: list[str], cwd: Path, log: Path) -> None:
        request = {"id": key, "module": module, "args": args, "cwd": str(cwd), "log": str(log)}
        self.zygote.stdin.write(json.dumps(request) + "\n")
        self.zygote.stdin.flush()

    def wait(self) -> tuple[str, int]:
        line = self.zygote.stdout.readline()
        if not line:
            raise RuntimeError("the zygote process exited")
        answer = json.loads(line)
        return answer["id"], answer["rc"]

    def close(self) -> None:
        self.zygote.stdin.close()
        self.zygote.wait(timeout=60)
        self.log.close()


@dataclasses.dataclass
class TaskResult:
    """How a task ended in one run."""

    name: str
    kind: str  # "container" or "resolver"
    state: str  # "SUCCEEDED", "FAILED", or "NOT_RUN" (an upstream task failed)
    outputs: dict[str, list[StoredArtifact]]
    seconds: float = 0.0
    log: Path | None = None
    executor_input: dict[str, Any] | None = None

    def error(self) -> str:
        """The end of the task's log (its traceback), or ''."""
        return self.log.read_text()[-6000:] if self.log and self.log.exists() else ""


@dataclasses.dataclass
class PipelineRun:
    """One emulated run: its id and every task's result."""

    job_id: str
    tasks: dict[str, TaskResult]
    seconds: float

    @property
    def state(self) -> str:
        return "FAILED" if any(t.state == "FAILED" for t in self.tasks.values()) else "SUCCEEDED"

    def output(self, task: str, key: str) -> StoredArtifact | None:
        found = self.tasks[task].outputs.get(key) or []
        return found[0] if found else None

    def local_writes(self, work_dir: Path) -> list[Path]:
        """What the tasks created in their working directories (should be nothing)."""
        tasks = (work_dir / self.job_id / "cwd").iterdir()
        return sorted(p for task in tasks for p in task.rglob("*"))


@dataclasses.dataclass
class _Container:
    """A container task on its way: its executor input, then its phases to run."""

    name: str
    executor_input: dict[str, Any]
    phases: list[tuple[str, list[str], list[str]]]  # (label, command, args)
    task_root: str
    log: Path
    started: float


def _dependencies(tasks: dict[str, Any]) -> dict[str, set[str]]:
    deps = {}
    for name, task in tasks.items():
        found = set(task.get("dependentTasks", []))
        for spec in task.get("inputs", {}).get("artifacts", {}).values():
            if "taskOutputArtifact" in spec:
                found.add(spec["taskOutputArtifact"]["producerTask"])
        for spec in task.get("inputs", {}).get("parameters", {}).values():
            if "taskOutputParameter" in spec:
                found.add(spec["taskOutputParameter"]["producerTask"])
        deps[name] = found
    return deps


class VertexEmulator:
    """Runs one compiled PipelineJob, any number of times, against one metadata store.

    Args:
        job: The compiled `pipeline.json` (schema 2.1.0).
        gateway: The Cloud Storage the tasks use.
        launcher: How container processes start.
        work_dir: Task working directories and logs go here.
        max_parallel: Container tasks running at once (Vertex runs every ready task).
    """

    def __init__(
        self,
        job: dict[str, Any],
        gateway: GcsGateway,
        launcher: Launcher,
        work_dir: Path,
        max_parallel: int = 2,
    ) -> None:
        self.job = job
        self.spec = job["pipelineSpec"]
        if self.spec.get("schemaVersion") != "2.1.0":
            raise ValueError(f"emulates schema 2.1.0, got {self.spec.get('schemaVersion')}")
        self.gateway = gateway
        self.launcher = launcher
        self.work_dir = work_dir
        self.max_parallel = max_parallel
        self.store = MetadataStore()
        self.context = self.spec["pipelineInfo"]["name"]
        self.root = job["runtimeConfig"]["gcsOutputDirectory"].rstrip("/")

    # ------------------------------------------------------------------ one run
    def run(self, job_id: str, parameter_values: dict[str, Any] | None = None) -> PipelineRun:
        """Runs every task of the pipeline once; a task failure ends its branch only."""
        started = time.monotonic()
        tasks = self.spec["root"]["dag"]["tasks"]
        deps = _dependencies(tasks)
        declared = self.spec["root"].get("inputDefinitions", {}).get("parameters", {})
        unknown = sorted(set(parameter_values or {}) - set(declared))
        if unknown:  # Vertex AI refuses a run with parameters the pipeline does not have
            raise ValueError(f"not parameters of this pipeline: {unknown}")
        parameters = {**self.job["runtimeConfig"].get("parameterValues", {}),
                      **(parameter_values or {})}  # fmt: skip
        log_dir = self.work_dir / job_id
        log_dir.mkdir(parents=True, exist_ok=True)
        results: dict[str, TaskResult] = {}
        running: dict[str, _Container] = {}
        while len(results) < len(tasks):
            before = len(results) + len(running)
            for name in sorted(tasks):
                if name in results or name in running:
                    continue
                states = {results[d].state for d in deps[name] if d in results}
                if states - {"SUCCEEDED"}:
                    results[name] = TaskResult(name, "container", "NOT_RUN", {})
                    continue
                if not all(d in results for d in deps[name]):
                    continue
                executor = self._executor(name)
                if "resolver" in executor:
                    results[name] = self._resolve(name, executor["resolver"], results, job_id)
                elif "container" in executor:
                    if len(running) < self.max_parallel:
                        running[name] = self._start(
                            name, executor["container"], results, parameters, job_id, log_dir
                        )
                else:
                    raise NotImplementedError(f"{name}: executor {sorted(executor)} not emulated")
            if not running and len(results) + len(running) == before:
                raise RuntimeError(
                    f"tasks that can never start: {sorted(set(tasks) - set(results))}"
                )
            if running:
                key, rc = self.launcher.wait()
                container = running[key]
                if rc == 0 and len(container.phases) > 1:
                    self._after_driver(container)
                    container.phases.pop(0)
                    self._launch(container)
                    continue
                del running[key]
                results[key] = self._finish(container, rc, job_id)
        return PipelineRun(job_id, results, time.monotonic() - started)

    def _executor(self, task: str) -> dict[str, Any]:
        component = self.spec["components"][self.spec["root"]["dag"]["tasks"][task]
                                            ["componentRef"]["name"]]  # fmt: skip
        return self.spec["deploymentSpec"]["executors"][component["executorLabel"]]

    def _component(self, task: str) -> dict[str, Any]:
        return self.spec["components"][self.spec["root"]["dag"]["tasks"][task]
                                       ["componentRef"]["name"]]  # fmt: skip

    def _inputs(self, task: str, results: dict[str, TaskResult]) -> dict[str, list[dict]]:
        """Upstream output artifacts by input key; an empty upstream output is left out."""
        found = {}
        spec = self.spec["root"]["dag"]["tasks"][task].get("inputs", {}).get("artifacts", {})
        for key, source in spec.items():
            producer = source["taskOutputArtifact"]
            artifacts = results[producer["producerTask"]].outputs.get(
                producer["outputArtifactKey"], []
            )
            if artifacts:
                found[key] = [a.runtime() for a in artifacts]
        return found

    # ------------------------------------------------------------------ resolvers
    def _resolve(
        self, task: str, resolver: dict[str, Any], results: dict[str, TaskResult], job_id: str
    ) -> TaskResult:
        inputs = self._inputs(task, results)
        outputs = {}
        for key, query in resolver["outputArtifactQueries"].items():
            missing = []

            def value(match: re.Match[str], missing: list[str] = missing) -> str:
                artifacts = inputs.get(match[1])
                if not artifacts or match[2] not in artifacts[0]["metadata"]:
                    missing.append(match[0])
                    return ""
                return str(artifacts[0]["metadata"][match[2]])

            filter_ = _INPUT_METADATA.sub(value, query["filter"])
            # Nothing to look up (e.g. no blessed model yet): the task outputs nothing.
            found = [] if missing else self.store.query(filter_, query.get("limit", 1),
                                                        self.context)  # fmt: skip
            outputs[key] = found
        return TaskResult(task, "resolver", "SUCCEEDED", outputs)

    # ------------------------------------------------------------------ containers
    def _parameter_values(self, task: str, parameters: dict[str, Any]) -> dict[str, Any]:
        values = {}
        spec = self.spec["root"]["dag"]["tasks"][task].get("inputs", {}).get("parameters", {})
        for key, source in spec.items():
            if "componentInputParameter" in source:
                values[key] = parameters[source["componentInputParameter"]]
            elif "constant" in source.get("runtimeValue", {}):
                values[key] = source["runtimeValue"]["constant"]
            else:
                raise NotImplementedError(f"{task}.{key}: parameter {source} not emulated")
        return values

    def _start(
        self,
        task: str,
        container: dict[str, Any],
        results: dict[str, TaskResult],
        parameters: dict[str, Any],
        job_id: str,
        log_dir: Path,
    ) -> _Container:
        task_root = f"{self.root}/{PROJECT_NUMBER}/{job_id}/{task}_{uuid.uuid4().int % 10**19}"
        component = self._component(task)
        outputs = {
            key: {"artifacts": [{
                "name": f"projects/{PROJECT_NUMBER}/locations/{REGION}/metadataStores/"
                        f"default/artifacts/{uuid.uuid4().int % 10**19}",
                "type": definition["artifactType"],
                "uri": f"{task_root}/{key}",
                "metadata": definition.get("metadata", {}),
            }]}
            for key, definition in component.get("outputDefinitions", {})
            .get("artifacts", {}).items()
        }  # fmt: skip
        executor_input = {
            "inputs": {
                "artifacts": {k: {"artifacts": v} for k, v in self._inputs(task, results).items()},
                "parameterValues": self._parameter_values(task, parameters),
            },
            "outputs": {"artifacts": outputs, "outputFile": f"{task_root}/executor_output.json"},
        }
        if component.get("outputDefinitions", {}).get("parameters"):
            raise NotImplementedError(f"{task}: output parameters not emulated")
        phases = []
        hook = container.get("lifecycle", {}).get("preCacheCheck")
        if hook:
            phases.append(("preCacheCheck", hook["command"], hook.get("args", [])))
        phases.append(("main", container["command"], container.get("args", [])))
        state = _Container(task, executor_input, phases, task_root, log_dir / f"{task}.log",
                           time.monotonic())  # fmt: skip
        self._launch(state)
        return state

    def _launch(self, container: _Container) -> None:
        label, command, args = container.phases[0]
        if command[:2] not in (["python", "-m"], ["python3", "-m"]) or len(command) != 3:
            raise NotImplementedError(f"{container.name}: command {command} not emulated")
        argv = []
        for arg in args:
            if arg == "{{$}}":
                argv.append(json.dumps(container.executor_input))
            elif "{{$" in arg:
                raise NotImplementedError(f"{container.name}: placeholder {arg!r} not emulated")
            else:
                argv.append(arg)
        # An empty working directory, as a fresh container's: whatever lands in it was
        # written to the local disk instead of the artifact's URI.
        cwd = container.log.parent / "cwd" / f"{container.name}-{label}"
        cwd.mkdir(parents=True, exist_ok=True)
        with container.log.open("a") as log:
            log.write(f"== {label}: python -m {command[2]} ({len(argv)} args)\n")
            log.write(f"== ExecutorInput: {json.dumps(container.executor_input)}\n")
        self.launcher.start(container.name, command[2], argv, cwd, container.log)

    def _output_file(self, container: _Container) -> dict[str, Any]:
        data = self.gateway.read(container.executor_input["outputs"]["outputFile"])
        return json.loads(data) if data else {}

    def _after_driver(self, container: _Container) -> None:
        """The hook's output metadata goes to the main container's output artifacts; the
        file stays, and the entry point applies its parameters itself."""
        written = self._output_file(container).get("artifacts", {})
        for key, listing in written.items():
            for mine, theirs in zip(
                container.executor_input["outputs"]["artifacts"][key]["artifacts"],
                listing.get("artifacts", []),
                strict=False,
            ):
                mine["metadata"] = {**mine.get("metadata", {}), **theirs.get("metadata", {})}

    def _finish(self, container: _Container, rc: int, job_id: str) -> TaskResult:
        seconds = time.monotonic() - container.started
        if rc != 0:
            return TaskResult(container.name, "container", "FAILED", {}, seconds,
                              container.log, container.executor_input)  # fmt: skip
        written = self._output_file(container).get("artifacts", {})
        outputs = {}
        for key, listing in container.executor_input["outputs"]["artifacts"].items():
            produced = written.get(key, {}).get("artifacts", [])
            stored = []
            for index, given in enumerate(listing["artifacts"]):
                final = produced[index] if index < len(produced) else {}
                artifact = StoredArtifact(
                    name=given["name"],
                    artifact_type=given["type"],
                    uri=final.get("uri") or given["uri"],
                    metadata={**given.get("metadata", {}), **final.get("metadata", {})},
                    contexts=[self.context, job_id],
                    task=container.name,
                    output_key=key,
                )
                self.store.record(artifact)
                stored.append(artifact)
            outputs[key] = stored
        return TaskResult(container.name, "container", "SUCCEEDED", outputs, seconds,
                          container.log, container.executor_input)  # fmt: skip


# The variables the test process itself set that a container would not have: the project
# sets TF_USE_LEGACY_KERAS when `pipeline` is imported, after TensorFlow may be; in a
# container only the image's ENV sets it, before anything is imported.
_NOT_IN_A_CONTAINER = ("TF_USE_LEGACY_KERAS", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER")


def container_env(dockerfile: Path, gateway: GcsGateway) -> dict[str, str]:
    """A container step's environment: this machine's, without what the tests set, plus the
    image's `ENV` lines and the route to the emulated Cloud Storage."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_IN_A_CONTAINER}
    return {**env, **image_env(dockerfile), **gateway.env}


def preload_modules(job: dict[str, Any]) -> set[str]:
    """What `ForkLauncher` imports once: TensorFlow, TFX's entry points, and the modules of
    the TFX executors the job runs (not the project's: each step imports those itself)."""
    modules = {"tensorflow"}
    for executor in job["pipelineSpec"]["deploymentSpec"]["executors"].values():
        container = executor.get("container", {})
        for spec in (container, container.get("lifecycle", {}).get("preCacheCheck", {})):
            command = spec.get("command", [])
            if command[:2] == ["python", "-m"]:
                modules.add(command[2])
        args = container.get("args", [])
        if "--executor_class_path" in args:
            path = args[args.index("--executor_class_path") + 1]
            if path.startswith("tfx."):
                modules.add(path.rsplit(".", 1)[0])
    return modules
