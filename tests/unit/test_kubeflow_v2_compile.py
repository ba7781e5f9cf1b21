"""The Kubeflow V2 / Vertex AI compile: real `KubeflowV2DagRunner` output, read back as KFP's
own protos, against the same `create_pipeline` DAG the local runner uses.

Running what it compiles is `tests/e2e/test_vertex_emulation.py`'s job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipeline.runners.cloud_config import load_cloud_config
from pipeline.runners.kubeflow_v2 import (
    KFP_PACKAGE_FILE,
    PIPELINE_FILE,
    SCHEDULE_FILE,
    build_pipeline,
    compile_pipeline,
)
from pipeline.spec import load_spec
from tests.conftest import DATA
from tests.unit.test_cloud_config import EXAMPLE, write_config

BEAM_COMPONENTS = ("ExampleGen", "TestExampleGen", "StatisticsGen", "Transform", "Evaluator")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict:
    """The bundled census spec compiled with deploy/vertex.yaml, twice."""
    spec = load_spec(DATA / "census")
    config = load_cloud_config(EXAMPLE)
    first = compile_pipeline(spec, config, tmp_path_factory.mktemp("first"))
    second = compile_pipeline(spec, config, tmp_path_factory.mktemp("second"))
    return {
        "spec": spec,
        "config": config,
        "first": first,
        "second": second,
        "job": json.loads(first.read_text()),
        "dag": build_pipeline(spec, config),
    }


def _executor(job: dict, task: str) -> dict:
    spec = job["pipelineSpec"]
    executor = spec["components"][task]["executorLabel"]
    return spec["deploymentSpec"]["executors"][executor]


def test_output_parses_as_kfp_pipeline_job_and_spec(compiled):
    job = json_format.ParseDict(compiled["job"], pipeline_spec_pb2.PipelineJob())
    spec = json_format.ParseDict(compiled["job"]["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    assert job.display_name == "census-income-pipeline"
    assert spec.pipeline_info.name == "census-pipeline"
    assert job.runtime_config.gcs_output_directory == compiled["config"].pipeline_root


def test_every_component_is_a_task_with_its_upstream_dependencies(compiled):
    tasks = compiled["job"]["pipelineSpec"]["root"]["dag"]["tasks"]
    # A resolver may compile into several tasks ('<id>-model-resolver', ...); a task's
    # node is the part before the first '-'.
    expected = {node.id: {u.id for u in node.upstream_nodes} for node in compiled["dag"].components}
    assert {name.split("-")[0] for name in tasks} == set(expected)
    for task_id, upstream in expected.items():
        if task_id.endswith("Resolver"):
            continue
        compiled_upstream = {
            name.split("-")[0] for name in tasks[task_id].get("dependentTasks", [])
        }
        assert compiled_upstream == upstream, task_id
    # The DAG's safety edges survive compilation.
    assert set(tasks["Transform"]["dependentTasks"]) >= {"DataGate", "ExampleGen"}
    assert set(tasks["Pusher"]["dependentTasks"]) == {"Evaluator", "Trainer"}
    assert "TestExampleValidator" in tasks["DataGate"]["dependentTasks"]
    # The ordering-only edges: DataGate -> DriftCheck -> Transform.
    assert "DataGate" in tasks["DriftCheck"]["dependentTasks"]
    assert "DriftCheck" in tasks["Transform"]["dependentTasks"]


def test_every_step_runs_the_configured_image(compiled):
    executors = compiled["job"]["pipelineSpec"]["deploymentSpec"]["executors"]
    images = {e["container"]["image"] for e in executors.values() if "container" in e}
    assert images == {compiled["config"].image}


def test_beam_components_get_the_dataflow_args(compiled):
    config = compiled["config"]
    expected = config.beam_pipeline_args()
    for task in BEAM_COMPONENTS:
        args = _executor(compiled["job"], task)["container"]["args"]
        assert all(arg in args for arg in expected), task
        assert "--runner=DataflowRunner" in args and "--max_num_workers=4" in args
        # Dataflow workers run as the configured identity, not Compute Engine's default.
        assert f"--service_account_email={config.service_account}" in args


def test_user_code_comes_from_the_image_not_a_packaged_wheel(compiled):
    tasks = compiled["job"]["pipelineSpec"]["root"]["dag"]["tasks"]
    transform = tasks["Transform"]["inputs"]["parameters"]
    trainer = tasks["Trainer"]["inputs"]["parameters"]

    def constant(params: dict, key: str) -> str:
        return params[key]["runtimeValue"]["constant"]

    assert constant(transform, "preprocessing_fn") == "module_file.preprocessing_fn"
    assert constant(trainer, "run_fn") == "module_file.run_fn"
    assert "module_file" not in transform and "module_path" not in transform
    # The data set description travels with the pipeline; the data comes from data_root.
    assert json.loads(constant(trainer, "custom_config"))["dataset"]["label"]["column"] == "income"
    example_gen = tasks["ExampleGen"]["inputs"]["parameters"]
    assert constant(example_gen, "input_base") == "gs://my-tfx-bucket/data/census"


def test_runtime_parameters_are_pipeline_parameters_with_defaults(compiled):
    job = compiled["job"]
    root_inputs = job["pipelineSpec"]["root"]["inputDefinitions"]["parameters"]
    assert set(root_inputs) == {"train_args", "eval_args"}
    trainer = job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
    assert trainer["train_args"] == {"componentInputParameter": "train_args"}
    assert trainer["eval_args"] == {"componentInputParameter": "eval_args"}
    defaults = job["runtimeConfig"]["parameterValues"]
    assert json.loads(defaults["train_args"]) == {"numSteps": 2000, "splits": ["train"]}
    assert json.loads(defaults["eval_args"]) == {"numSteps": 50, "splits": ["eval"]}
    # The Trainer executor parses the parameter's string as it parses a compiled proto.
    from tfx.proto import trainer_pb2
    from tfx.utils import proto_utils

    train_args = proto_utils.json_to_proto(defaults["train_args"], trainer_pb2.TrainArgs())
    assert train_args.num_steps == 2000 and list(train_args.splits) == ["train"]


def test_schedule_resource_holds_the_cron_and_the_same_pipeline(compiled):
    from google.cloud.aiplatform_v1.types import Schedule

    text = (compiled["first"].parent / SCHEDULE_FILE).read_text()
    schedule = Schedule.from_json(text)
    assert schedule.cron == "TZ=Europe/Paris 0 3 * * 1"
    assert schedule.max_concurrent_run_count == 1
    request = schedule.create_pipeline_job_request
    assert request.parent == "projects/my-gcp-project/locations/us-central1"
    assert request.pipeline_job.service_account.startswith("tfx-pipeline@")
    raw = json.loads(text)["createPipelineJobRequest"]["pipelineJob"]
    assert raw["pipelineSpec"] == compiled["job"]["pipelineSpec"]


def test_kfp_package_is_schema_2_1_without_resolvers_and_loads_with_kfp(compiled):
    # The open-source KFP backend accepts schema 2.1.0 only, and its Argo compiler has no
    # resolvers: the package has none (no DriftCheck, no baseline model).
    from kfp.client.client import _extract_pipeline_yaml
    from kfp.components import load_component_from_file

    path = compiled["first"].parent / KFP_PACKAGE_FILE
    package = _extract_pipeline_yaml(str(path))  # what kfp.Client().upload_pipeline reads
    spec = json_format.MessageToDict(package.pipeline_spec)
    assert spec["schemaVersion"] == "2.1.0"
    executors = spec["deploymentSpec"]["executors"].values()
    assert all("resolver" not in e for e in executors)
    tasks = spec["root"]["dag"]["tasks"]
    assert "DriftCheck" not in tasks and "Evaluator" in tasks
    assert "baseline_model" not in tasks["Evaluator"]["inputs"]["artifacts"]
    # Runs need no arguments: the deployment's step counts are the parameters' defaults.
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert json.loads(parameters["train_args"]["defaultValue"])["numSteps"] == 2000
    component = load_component_from_file(str(path))
    assert component.name == "census-pipeline"


def test_vertex_pipeline_is_schema_2_1_and_loads_with_kfp(compiled, tmp_path):
    from kfp.components import load_component_from_file

    assert compiled["job"]["pipelineSpec"]["schemaVersion"] == "2.1.0"
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(compiled["job"]["pipelineSpec"]))
    assert load_component_from_file(str(path)).name == "census-pipeline"


def test_resolvers_compile_to_queries_that_find_only_what_they_mean(compiled):
    """How each resolver compiles, and what its query returns from Vertex ML Metadata,
    answered by the emulator's store (its filter evaluation is the e2e emulation's)."""
    from tests.e2e.vertex_emulator import MetadataStore, StoredArtifact

    queries = {
        name: query["filter"]
        for executor in compiled["job"]["pipelineSpec"]["deploymentSpec"]["executors"].values()
        for name, query in executor.get("resolver", {}).get("outputArtifactQueries", {}).items()
    }
    assert queries == {
        # TFX compiles the type and state only; the DriftCheck's mark narrows it.
        "statistics": 'schema_title="tfx.ExampleStatistics" AND state=LIVE AND '
                      'metadata.approved_by.string_value="census-pipeline.DriftCheck"',
        # Two tasks: the newest blessing, then the model it names.
        "model_blessing": 'schema_title="tfx.ModelBlessing" AND state=LIVE AND '
                          "metadata.blessed.number_value=1",
        "model": """schema_title="tfx.Model" AND state=LIVE AND """
                 """name="{{$.inputs.artifacts['input'].metadata['current_model_id']}}\"""",
    }  # fmt: skip
    store = MetadataStore()
    statistics = {"instanceSchema": "title: tfx.ExampleStatistics\ntype: object\n"}
    context = ["census-pipeline", "run-1"]
    approved = StoredArtifact("approved", statistics, "gs://b/approved",
                              {"approved_by": "census-pipeline.DriftCheck"}, context,
                              "DriftCheck", "approved_statistics")  # fmt: skip
    store.record(approved)
    # Newer statistics: the drifted data's own, the test file's, another pipeline's.
    for task in ("StatisticsGen", "TestStatisticsGen"):
        store.record(StoredArtifact(task, statistics, f"gs://b/{task}", {}, context, task, "s"))
    store.record(StoredArtifact("other", statistics, "gs://b/other",
                                {"approved_by": "other-pipeline.DriftCheck"},
                                ["other-pipeline", "run-9"], "DriftCheck", "s"))  # fmt: skip
    found = store.query(queries["statistics"], 1, "census-pipeline")
    assert [a.name for a in found] == ["approved"]
    # What TFX's query alone returns: the newest statistics of any producer.
    unnarrowed = 'schema_title="tfx.ExampleStatistics" AND state=LIVE'
    assert [a.name for a in store.query(unnarrowed, 1, "census-pipeline")] == ["TestStatisticsGen"]
    # A clause the emulation does not know is an error, not a silent match.
    with pytest.raises(ValueError, match="not emulated"):
        store.query('create_time>"2026-01-01"', 1, "census-pipeline")


def test_no_executor_path_is_left_to_the_image_to_guess(compiled):
    """Every executor class the steps import and every artifact type they rebuild exists
    under the name the compiled JSON gives it (custom types: `modeling.<Class>`)."""
    import importlib

    from kfp.pipeline_spec import pipeline_spec_pb2 as pb
    from tfx.orchestration.kubeflow.v2.container.kubeflow_v2_entrypoint_utils import (
        _retrieve_class_path,
    )
    from tfx.utils import import_utils

    spec = compiled["job"]["pipelineSpec"]
    for executor in spec["deploymentSpec"]["executors"].values():
        args = executor.get("container", {}).get("args", [])
        if "--executor_class_path" in args:
            module, _, name = args[args.index("--executor_class_path") + 1].rpartition(".")
            assert hasattr(importlib.import_module(module), name)
    for component in spec["components"].values():
        for side in ("inputDefinitions", "outputDefinitions"):
            for definition in component.get(side, {}).get("artifacts", {}).values():
                schema = json_format.ParseDict(definition["artifactType"], pb.ArtifactTypeSchema())
                import_utils.import_class_by_path(_retrieve_class_path(schema))


def test_compiling_twice_gives_identical_files(compiled):
    for name in (PIPELINE_FILE, KFP_PACKAGE_FILE, SCHEDULE_FILE):
        first = (compiled["first"].parent / name).read_bytes()
        assert first == (compiled["second"].parent / name).read_bytes(), name


def test_vertex_endpoint_swaps_in_the_vertex_pusher(tmp_path):
    endpoint = {
        "name": "census",
        "serving_image": "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest",
    }
    path = write_config(tmp_path, serving={"directory": None, "vertex_endpoint": endpoint},
                        beam={"runner": "DirectRunner", "temp_location": None,
                              "machine_type": None, "max_num_workers": None})  # fmt: skip
    job = json.loads(
        compile_pipeline(
            load_spec(DATA / "census"), load_cloud_config(path), tmp_path / "out"
        ).read_text()
    )
    pusher = _executor(job, "Pusher")["container"]
    assert "components.vertex_pusher.executor.Executor" in pusher["args"]
    params = job["pipelineSpec"]["root"]["dag"]["tasks"]["Pusher"]["inputs"]["parameters"]
    custom = json.loads(params["custom_config"]["runtimeValue"]["constant"])
    assert custom["endpoint_name"] == "census" and custom["keep_deployed"] == 1
    assert custom["serving_image"] == endpoint["serving_image"]
    transform_args = _executor(job, "Transform")["container"]["args"]
    assert "--direct_running_mode=multi_processing" in transform_args


def test_training_machine_runs_trainer_and_ablation_as_vertex_custom_jobs(tmp_path):
    path = write_config(tmp_path, training={"machine_type": "n1-highmem-8"})
    config = load_cloud_config(path)
    job = json.loads(
        compile_pipeline(load_spec(DATA / "census"), config, tmp_path / "out").read_text()
    )
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    expected = config.custom_training_config()
    trainer = _executor(job, "Trainer")["container"]["args"]
    assert "tfx.extensions.google_cloud_ai_platform.trainer.executor.GenericExecutor" in trainer
    custom = json.loads(tasks["Trainer"]["inputs"]["parameters"]["custom_config"]["runtimeValue"]
                        ["constant"])  # fmt: skip
    assert {k: custom[k] for k in expected} == expected
    assert custom["dataset"]["label"]["column"] == "income"  # the Trainer's own config stays
    ablation = _executor(job, "Ablation")["container"]["args"]
    assert "components.ablation.executor.VertexTrainingExecutor" in ablation
    custom = tasks["Ablation"]["inputs"]["parameters"]["custom_config"]["runtimeValue"]["constant"]
    assert json.loads(custom) == expected


def test_the_report_step_logs_to_the_configured_tracking_uri_and_nowhere_without_one(
    compiled, tmp_path
):
    def report_parameters(job: dict) -> dict:
        return job["pipelineSpec"]["root"]["dag"]["tasks"]["Report"]["inputs"]["parameters"]

    assert "tracking_uri" not in report_parameters(compiled["job"])  # deploy/vertex.yaml: none
    path = write_config(tmp_path, tracking_uri="https://mlflow.my-team.example.com")
    job = json.loads(
        compile_pipeline(load_spec(DATA / "census"), load_cloud_config(path), tmp_path / "out")
        .read_text()
    )  # fmt: skip
    given = report_parameters(job)["tracking_uri"]["runtimeValue"]["constant"]
    assert given == "https://mlflow.my-team.example.com"


def test_compiled_files_do_not_depend_on_the_checkouts_path(compiled, tmp_path):
    """A copy of the project at another path compiles byte-identical files: the data set's
    folder travels as `data/census` (messages only; the data comes from data_root)."""
    import shutil
    import subprocess
    import sys

    from pipeline.project import ROOT

    checkout = tmp_path / "elsewhere" / "repo"
    for part in ("pipeline", "components", "data/census", "deploy", "module_file.py",
                 "eval_config.py", "modeling.py"):  # fmt: skip
        source, target = ROOT / part, checkout / part
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    # `python -m` in the copy imports the copy's code (the working directory is first).
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "compile", "--build-dir", "out"],
        cwd=checkout, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    here = compiled["first"].parent
    for name in (PIPELINE_FILE, KFP_PACKAGE_FILE, SCHEDULE_FILE):
        text = (checkout / "out" / name).read_text()
        assert text == (here / name).read_text(), name
        assert str(checkout) not in text and str(ROOT) not in text, name
    trainer = compiled["job"]["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]
    dataset = json.loads(trainer["inputs"]["parameters"]["custom_config"]["runtimeValue"]
                         ["constant"])["dataset"]  # fmt: skip
    assert dataset["directory"] == "data/census"
    assert dataset["spec_path"] == "data/census/dataset.yaml"


def test_dockerfile_builds_on_the_locked_tfx_image_and_carries_the_code():
    from pipeline.project import ROOT

    lock = (ROOT / "requirements.lock").read_text()
    tfx_version = next(
        line.split("==")[1] for line in lock.splitlines() if line.startswith("tfx==")
    )
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"FROM gcr.io/tfx-oss-public/tfx:{tfx_version}\n" in dockerfile
    # Run-time packages only: no test, lint or notebook tools in the image.
    assert "-r requirements-runtime.lock" in dockerfile
    assert "-r requirements.lock" not in dockerfile and "COPY requirements.lock" not in dockerfile
    copied = [
        part
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for part in line.split()[1:-1]
    ]
    assert {"module_file.py", "eval_config.py", "modeling.py", "setup.py", "pipeline/",
            "components/"} <= set(copied)  # fmt: skip
    assert all((ROOT / part).exists() for part in copied)
    assert Path(ROOT / ".dockerignore").read_text().count(".venv/") == 1


def _lock_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        if line and not line.startswith((" ", "#")) and "==" in line:
            names.add(line.split("==")[0].split("[")[0].lower().replace("_", "-"))
    return names


def test_runtime_lock_has_what_the_steps_import_and_no_dev_tools():
    """The image installs requirements-runtime.lock: every third-party module the pipeline
    code imports must come from a package in it."""
    import ast
    import importlib.metadata
    import sys

    from pipeline.project import ROOT

    runtime = _lock_names(ROOT / "requirements-runtime.lock")
    # (Jupyter's server packages stay: TFMA's widgets depend on them.)
    dev_tools = {"pytest", "pytest-xdist", "pytest-timeout", "ruff", "jupytext", "nbclassic",
                 "gcp-storage-emulator", "mlflow"}  # fmt: skip
    assert runtime & dev_tools == set()
    first_party = {"pipeline", "components", "module_file", "eval_config", "modeling"}
    sources = [ROOT / "module_file.py", ROOT / "eval_config.py", ROOT / "modeling.py"]
    sources += [*(ROOT / "pipeline").rglob("*.py"), *(ROOT / "components").rglob("*.py")]
    imported = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for module in sorted(imported - first_party - set(sys.stdlib_module_names)):
        packages = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not packages & runtime:
            missing[module] = sorted(packages)
    assert missing == {}


def test_image_import_check_imports_every_custom_executor(monkeypatch):
    """The Dockerfile's last RUN imports every component package's executor."""
    import importlib
    import re

    from pipeline.project import ROOT

    dockerfile = (ROOT / "Dockerfile").read_text()
    check = re.search(r'cd / && python -c "([^"]+)"', dockerfile)[1]
    imported = []
    real_import = importlib.import_module
    monkeypatch.setattr(
        importlib, "import_module", lambda name: imported.append(name) or real_import(name)
    )
    exec(check, {})
    expected = [f"components.{p.parent.name}.executor"
                for p in sorted((ROOT / "components").glob("*/executor.py"))]  # fmt: skip
    assert sorted(n for n in imported if n.startswith("components.")) == expected
