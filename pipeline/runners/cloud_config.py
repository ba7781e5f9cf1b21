"""Where and how the pipeline runs in the cloud: one YAML file per deployment.

The data set spec says *what* the pipeline learns; this file says *where* it runs: GCP
project and region, Cloud Storage roots, the container image, Beam's runner, the machine
the Trainer and the Ablation train on, the serving target, the runtime parameters and the
schedule. `load_cloud_config` validates all of it
before anything is compiled or submitted, and every error names the file and the key.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from pipeline.spec.reader import ConfigReader

BEAM_RUNNERS = ("DirectRunner", "DataflowRunner")
# The pipeline parameters a deployment may expose, with the spec value they override.
RUNTIME_PARAMETERS = ("train_steps", "eval_steps")

_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
# registry/path/name followed by a :tag or an @sha256: digest.
_IMAGE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[\w.-]+|@sha256:[0-9a-f]{64})$")
_CRON_FIELDS = (  # name, lowest, highest
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)


class CloudConfigError(ValueError):
    """A cloud config is invalid; the message names the file and the key."""


@dataclasses.dataclass(frozen=True)
class BeamConfig:
    """Beam's runner for the Beam-based components (ExampleGen, StatisticsGen, Transform,
    Evaluator).

    Attributes:
        runner: `DirectRunner` (inside each component's container) or `DataflowRunner`.
        direct_num_workers: DirectRunner processes; 0 means one per CPU.
        temp_location: Dataflow's gs:// scratch folder.
        machine_type: Dataflow worker machine type.
        max_num_workers: Dataflow autoscaling ceiling.
        disk_size_gb: Dataflow worker disk, when the default is too small.
        network: Dataflow workers' VPC network (a locked-down project has no `default`).
        subnetwork: Their subnetwork, e.g. `regions/us-central1/subnetworks/tfx`.
        use_public_ips: False gives workers internal addresses only.
        extra_args: Further Beam options, passed as written.
    """

    runner: str = "DirectRunner"
    direct_num_workers: int = 0
    temp_location: str | None = None
    machine_type: str | None = None
    max_num_workers: int | None = None
    disk_size_gb: int | None = None
    network: str | None = None
    subnetwork: str | None = None
    use_public_ips: bool = True
    extra_args: tuple[str, ...] = ()

    def pipeline_args(
        self, project: str, region: str, image: str, service_account: str | None = None
    ) -> list[str]:
        """The `beam_pipeline_args` every Beam-based component receives.

        Args:
            project: GCP project.
            region: Dataflow region.
            image: The pipeline image, also the Dataflow workers' SDK container.
            service_account: The identity Dataflow workers run as (without it they run
                as the Compute Engine default service account).
        """
        if self.runner == "DirectRunner":
            # multi_processing uses every worker core; in_memory would use one.
            args = [
                "--runner=DirectRunner",
                "--direct_running_mode=multi_processing",
                f"--direct_num_workers={self.direct_num_workers}",
                # The DirectRunner ignores the image, but without one of the options that
                # name the workers' code, every Beam step first builds an sdist of TFX to
                # ship to them (tfx/utils/dependency_utils.py:56-69):
                # seconds per step, for workers that run in the image already.
                f"--sdk_container_image={image}",
            ]
        else:
            args = [
                "--runner=DataflowRunner",
                f"--project={project}",
                f"--region={region}",
                f"--temp_location={self.temp_location}",
                # Workers run the same image, so they have the module file and the
                # project's packages at the lock's versions.
                f"--sdk_container_image={image}",
                "--experiments=use_runner_v2",
            ]
            if self.machine_type:
                args.append(f"--machine_type={self.machine_type}")
            if self.max_num_workers:
                args.append(f"--max_num_workers={self.max_num_workers}")
            if self.disk_size_gb:
                args.append(f"--disk_size_gb={self.disk_size_gb}")
            if service_account:
                args.append(f"--service_account_email={service_account}")
            if self.network:
                args.append(f"--network={self.network}")
            if self.subnetwork:
                args.append(f"--subnetwork={self.subnetwork}")
            if not self.use_public_ips:
                args.append("--no_use_public_ips")
        return args + list(self.extra_args)


@dataclasses.dataclass(frozen=True)
class TrainingMachine:
    """The machine the Trainer and the Ablation run on, as Vertex AI custom training jobs.

    Attributes:
        machine_type: A Vertex AI training machine type, e.g. `n1-standard-8`.
        accelerator_type: An accelerator, e.g. `NVIDIA_TESLA_T4`; None for CPU only.
        accelerator_count: How many accelerators.
    """

    machine_type: str
    accelerator_type: str | None = None
    accelerator_count: int = 0


@dataclasses.dataclass(frozen=True)
class VertexEndpoint:
    """A Vertex AI endpoint the Pusher deploys blessed models to.

    Attributes:
        name: Endpoint display name; created on the first push.
        serving_image: Vertex prediction container, e.g. a `tf2-cpu` prebuilt image.
        machine_type: Serving machine type.
        min_replicas: Lowest replica count.
        max_replicas: Highest replica count.
        model_name: Registry model whose versions the pushes are (default: `name`).
        keep_deployed: Deployments left on the endpoint after a push, the new one
            included; every one keeps `min_replicas` billed machines.
    """

    name: str
    serving_image: str
    machine_type: str = "n1-standard-2"
    min_replicas: int = 1
    max_replicas: int = 1
    model_name: str | None = None
    keep_deployed: int = 1


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A Vertex AI pipeline schedule.

    Attributes:
        cron: Five-field cron expression (minute hour day-of-month month day-of-week).
        time_zone: IANA time zone the cron is read in.
        max_concurrent_runs: Runs of this schedule allowed at once.
    """

    cron: str
    time_zone: str = "Etc/UTC"
    max_concurrent_runs: int = 1

    @property
    def vertex_cron(self) -> str:
        """The cron as Vertex AI takes it, with its time zone prefix."""
        return f"TZ={self.time_zone} {self.cron}"


@dataclasses.dataclass(frozen=True)
class CloudConfig:
    """A validated deployment. Build it with `load_cloud_config`."""

    path: Path
    project: str
    region: str
    pipeline_root: str
    data_root: str
    image: str
    beam: BeamConfig
    serving_dir: str | None
    vertex_endpoint: VertexEndpoint | None
    runtime_parameters: dict[str, int]
    schedule: Schedule | None
    service_account: str | None = None
    display_name: str | None = None
    # MLflow tracking URI the runs log to (a team's server); None: they log nowhere.
    tracking_uri: str | None = None
    training: TrainingMachine | None = None

    def beam_pipeline_args(self) -> list[str]:
        """The Beam options of every Beam-based component."""
        return self.beam.pipeline_args(self.project, self.region, self.image, self.service_account)

    def vertex_push_config(self) -> dict[str, Any] | None:
        """The VertexPusher's `custom_config`, or None to push to `serving_dir`."""
        if self.vertex_endpoint is None:
            return None
        from components.vertex_pusher import push_config  # imports TFX: only when used

        endpoint = self.vertex_endpoint
        return push_config(
            project=self.project,
            region=self.region,
            endpoint_name=endpoint.name,
            serving_image=endpoint.serving_image,
            model_name=endpoint.model_name,
            machine_type=endpoint.machine_type,
            min_replicas=endpoint.min_replicas,
            max_replicas=endpoint.max_replicas,
            keep_deployed=endpoint.keep_deployed,
        )

    def custom_training_config(self) -> dict[str, Any] | None:
        """The `custom_config` entries that run a step as a Vertex AI custom training job
        on the configured machine (TFX's `google_cloud_ai_platform` Trainer keys), or None
        to train inside the step's own container."""
        if self.training is None:
            return None
        machine: dict[str, Any] = {"machine_type": self.training.machine_type}
        if self.training.accelerator_type:
            machine["accelerator_type"] = self.training.accelerator_type
            machine["accelerator_count"] = self.training.accelerator_count
        # A CustomJob (aiplatform v1 CustomJobSpec); TFX replaces the container's command
        # with its run_executor entry point and pops `project`.
        job_spec: dict[str, Any] = {
            "worker_pool_specs": [
                {
                    "machine_spec": machine,
                    "replica_count": 1,
                    "container_spec": {"image_uri": self.image},
                }
            ]
        }
        if self.service_account:
            job_spec["service_account"] = self.service_account
        return {
            "ai_platform_enable_vertex": True,
            "ai_platform_vertex_region": self.region,
            "ai_platform_training_args": {"project": self.project, "job_spec": job_spec},
        }


def check_cron(expression: str) -> str | None:
    """Returns what is wrong with a five-field cron expression, or None if it is valid."""
    fields = expression.split()
    if len(fields) != 5:
        return f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for text, (name, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        for part in text.split(","):
            match = re.fullmatch(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?", part)
            if not match:
                return f"{name} field {text!r}: {part!r} is not *, N, N-M or a /step of those"
            start, end, step = match.group(2), match.group(3), match.group(4)
            numbers = [int(n) for n in (start, end) if n is not None]
            if any(not low <= n <= high for n in numbers):
                return f"{name} field {text!r}: values must be within {low}-{high}"
            if len(numbers) == 2 and numbers[0] > numbers[1]:
                return f"{name} field {text!r}: range {part!r} runs backwards"
            if step is not None and int(step) == 0:
                return f"{name} field {text!r}: a step of 0 never fires"
    return None


class _CloudReader(ConfigReader):
    def text(self, data: dict[str, Any], key: str, parent: str = "") -> str:
        value = self.required(data, key, parent)
        full = f"{parent}.{key}" if parent else key
        if not isinstance(value, str) or not value.strip():
            raise self.fail(full, f"expected a non-empty string, got {value!r}")
        return value.strip()

    def optional_text(self, data: dict[str, Any], key: str, parent: str = "") -> str | None:
        return self.text(data, key, parent) if data.get(key) is not None else None

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def gcs(self, data: dict[str, Any], key: str, parent: str = "") -> str:
        value = self.text(data, key, parent)
        full = f"{parent}.{key}" if parent else key
        if not re.fullmatch(r"gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/.*)?", value):
            raise self.fail(
                full,
                f"expected a Cloud Storage path gs://<bucket>/<folder>, got {value!r}: "
                "containers on Vertex AI cannot see this machine's files",
            )
        return value.rstrip("/")


def _parse_beam(raw: Any, r: _CloudReader) -> BeamConfig:
    data = r.mapping(raw if raw is not None else {}, "beam")
    dataflow_keys = ("temp_location", "machine_type", "max_num_workers", "disk_size_gb")
    dataflow_keys += ("network", "subnetwork", "use_public_ips")
    allowed = {"runner", "direct_num_workers", "extra_args", *dataflow_keys}
    r.known(data, "beam", allowed)
    runner = data.get("runner", "DirectRunner")
    if runner not in BEAM_RUNNERS:
        raise r.fail("beam.runner", f"expected one of {list(BEAM_RUNNERS)}, got {runner!r}")
    workers = data.get("direct_num_workers", 0)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise r.fail("beam.direct_num_workers", f"expected 0 or more, got {workers!r}")
    extra = data.get("extra_args") or []
    if not isinstance(extra, list) or not all(
        isinstance(a, str) and a.startswith("--") for a in extra
    ):
        raise r.fail(
            "beam.extra_args", f"expected a list of '--option=value' strings, got {extra!r}"
        )
    if runner == "DirectRunner":
        dataflow_only = sorted(k for k in dataflow_keys if k in data)
        if dataflow_only:
            raise r.fail(f"beam.{dataflow_only[0]}", "only applies to runner: DataflowRunner")
        return BeamConfig(runner, workers, extra_args=tuple(extra))
    return BeamConfig(
        runner=runner,
        temp_location=r.gcs(data, "temp_location", "beam"),
        machine_type=r.optional_text(data, "machine_type", "beam"),
        max_num_workers=(
            r.positive_int(data["max_num_workers"], "beam.max_num_workers")
            if data.get("max_num_workers") is not None
            else None
        ),
        disk_size_gb=(
            r.positive_int(data["disk_size_gb"], "beam.disk_size_gb")
            if data.get("disk_size_gb") is not None
            else None
        ),
        network=r.optional_text(data, "network", "beam"),
        subnetwork=r.optional_text(data, "subnetwork", "beam"),
        use_public_ips=r.boolean(data.get("use_public_ips", True), "beam.use_public_ips"),
        extra_args=tuple(extra),
    )


def _parse_serving(raw: Any, r: _CloudReader) -> tuple[str | None, VertexEndpoint | None]:
    data = r.mapping(raw, "serving")
    r.known(data, "serving", {"directory", "vertex_endpoint"})
    if ("directory" in data) == ("vertex_endpoint" in data):
        raise r.fail("serving", "set exactly one of 'directory' (gs://) or 'vertex_endpoint'")
    if "directory" in data:
        return r.gcs(data, "directory", "serving"), None
    endpoint = r.mapping(data["vertex_endpoint"], "serving.vertex_endpoint")
    allowed = {"name", "serving_image", "machine_type", "min_replicas", "max_replicas"}
    allowed |= {"model_name", "keep_deployed"}
    r.known(endpoint, "serving.vertex_endpoint", allowed)
    key = "serving.vertex_endpoint"
    vertex = VertexEndpoint(
        name=r.text(endpoint, "name", key),
        serving_image=r.text(endpoint, "serving_image", key),
        machine_type=r.optional_text(endpoint, "machine_type", key) or "n1-standard-2",
        min_replicas=r.positive_int(endpoint.get("min_replicas", 1), f"{key}.min_replicas"),
        max_replicas=r.positive_int(endpoint.get("max_replicas", 1), f"{key}.max_replicas"),
        model_name=r.optional_text(endpoint, "model_name", key),
        keep_deployed=r.positive_int(endpoint.get("keep_deployed", 1), f"{key}.keep_deployed"),
    )
    if vertex.max_replicas < vertex.min_replicas:
        raise r.fail(f"{key}.max_replicas", "must be at least min_replicas")
    return None, vertex


def _parse_schedule(raw: Any, r: _CloudReader) -> Schedule | None:
    if raw is None:
        return None
    data = r.mapping(raw, "schedule")
    r.known(data, "schedule", {"cron", "time_zone", "max_concurrent_runs"})
    cron = r.text(data, "cron", "schedule")
    if problem := check_cron(cron):
        raise r.fail("schedule.cron", f"{cron!r} is not a valid cron expression: {problem}")
    time_zone = r.optional_text(data, "time_zone", "schedule") or "Etc/UTC"
    if not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z0-9_+-]+)*", time_zone):
        raise r.fail(
            "schedule.time_zone", f"expected an IANA name like Europe/Paris, got {time_zone!r}"
        )
    runs = r.positive_int(data.get("max_concurrent_runs", 1), "schedule.max_concurrent_runs")
    return Schedule(cron=cron, time_zone=time_zone, max_concurrent_runs=runs)


def _parse_training(raw: Any, r: _CloudReader) -> TrainingMachine | None:
    if raw is None:
        return None
    data = r.mapping(raw, "training")
    r.known(data, "training", {"machine_type", "accelerator_type", "accelerator_count"})
    machine_type = r.text(data, "machine_type", "training")
    accelerator = r.optional_text(data, "accelerator_type", "training")
    count = data.get("accelerator_count")
    if count is not None and accelerator is None:
        raise r.fail("training.accelerator_count", "set accelerator_type too, or remove it")
    if accelerator is not None and not re.fullmatch(r"[A-Z][A-Z0-9_]+", accelerator):
        raise r.fail(
            "training.accelerator_type",
            f"{accelerator!r} is not a Vertex AI accelerator name like NVIDIA_TESLA_T4",
        )
    return TrainingMachine(
        machine_type=machine_type,
        accelerator_type=accelerator,
        accelerator_count=(
            r.positive_int(count if count is not None else 1, "training.accelerator_count")
            if accelerator
            else 0
        ),
    )


def _parse_runtime_parameters(raw: Any, r: _CloudReader) -> dict[str, int]:
    data = r.mapping(raw if raw is not None else {}, "runtime_parameters")
    r.known(data, "runtime_parameters", set(RUNTIME_PARAMETERS))
    return {
        name: r.positive_int(value, f"runtime_parameters.{name}") for name, value in data.items()
    }


def _parse_tracking_uri(uri: str | None, r: _CloudReader) -> str | None:
    """A tracking server or database every step can reach; not a file in a container."""
    if uri is None or uri == "databricks":
        return uri
    if uri.startswith(("sqlite:", "file:")) or "://" not in uri:
        raise r.fail(
            "tracking_uri",
            f"{uri!r} is a file inside the step's container, gone when the step ends: "
            "give an MLflow tracking server's URL, e.g. https://mlflow.example.com",
        )
    return uri


def load_cloud_config(path: str | Path) -> CloudConfig:
    """Loads and validates a deployment file (see `deploy/vertex.yaml`).

    Raises:
        CloudConfigError: The file is missing or a key is missing or invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise CloudConfigError(f"{path}: no such file; start from deploy/vertex.yaml")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise CloudConfigError(f"{path}: not valid YAML: {e}") from e
    r = _CloudReader(path, CloudConfigError)
    data = r.mapping(raw, "<top level>")
    allowed = {"gcp", "pipeline_root", "data_root", "image", "beam", "serving"}
    allowed |= {"runtime_parameters", "schedule", "display_name", "tracking_uri", "training"}
    r.known(data, "<top level>", allowed)

    gcp = r.mapping(r.required(data, "gcp"), "gcp")
    r.known(gcp, "gcp", {"project", "region", "service_account"})
    project = r.text(gcp, "project", "gcp")
    if not _PROJECT_ID.match(project):
        raise r.fail(
            "gcp.project",
            f"{project!r} is not a GCP project id (6-30 lowercase letters, digits, hyphens)",
        )
    region = r.text(gcp, "region", "gcp")
    if not _REGION.match(region):
        raise r.fail("gcp.region", f"{region!r} is not a region name like us-central1")
    service_account = r.optional_text(gcp, "service_account", "gcp")
    if service_account and not re.fullmatch(
        r"[^@\s]+@[^@\s]+\.iam\.gserviceaccount\.com", service_account
    ):
        raise r.fail("gcp.service_account", f"{service_account!r} is not a service account e-mail")

    image = r.text(data, "image")
    if not _IMAGE.match(image):
        raise r.fail(
            "image",
            f"{image!r} is not an image reference with a tag or digest, "
            "e.g. us-central1-docker.pkg.dev/<project>/<repo>/tfx-pipeline:<tag>",
        )
    serving_dir, vertex_endpoint = _parse_serving(r.required(data, "serving"), r)
    return CloudConfig(
        path=path.resolve(),
        project=project,
        region=region,
        pipeline_root=r.gcs(data, "pipeline_root"),
        data_root=r.gcs(data, "data_root"),
        image=image,
        beam=_parse_beam(data.get("beam"), r),
        serving_dir=serving_dir,
        vertex_endpoint=vertex_endpoint,
        runtime_parameters=_parse_runtime_parameters(data.get("runtime_parameters"), r),
        schedule=_parse_schedule(data.get("schedule"), r),
        service_account=service_account,
        display_name=r.optional_text(data, "display_name"),
        tracking_uri=_parse_tracking_uri(r.optional_text(data, "tracking_uri"), r),
        training=_parse_training(data.get("training"), r),
    )
