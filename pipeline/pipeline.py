"""`create_pipeline`: the one definition of the DAG, shared by every runner.

    ExampleGen ─► StatisticsGen ─► SchemaGen ─► ExampleValidator ─┐
    TestExampleGen ─► TestStatisticsGen ─► TestExampleValidator ──┴► DataGate
    DataGate, StatisticsGen, LastApprovedStatisticsResolver ─► DriftCheck ─► Transform
                                                       (with a `drift` section in the spec)
    DataGate ─► Transform ─► Trainer ─┐
    LatestBlessedModelResolver ───────┴► Evaluator (on the test split) ─► Pusher

The Test* components exist when the spec names a separate test file (census); otherwise
ExampleGen hash-splits the one file into train/eval/test (COMPAS).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

# The classes `tfx.v1` exports, from the modules it takes them from: importing `tfx.v1`
# also imports its Google Cloud extensions (google.cloud.aiplatform), about 10 s of every
# local run's start-up. The Vertex AI Pusher is imported where it is used.
from tfx.components import (
    Evaluator,
    ExampleValidator,
    Pusher,
    SchemaGen,
    StatisticsGen,
    Trainer,
    Transform,
)
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import LatestArtifactStrategy
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy,
)
from tfx.orchestration.data_types import RuntimeParameter
from tfx.orchestration.metadata import ConnectionConfigType
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, trainer_pb2, transform_pb2
from tfx.types import standard_artifacts
from tfx.types.channel import Channel

import eval_config
from components import atomic_pusher
from components.ablation import Ablation, ablation_config
from components.arrow_csv_example_gen import ArrowCsvExampleGen, CsvOptions
from components.data_gate import DataGate
from components.drift_check import DriftCheck, LatestIfAnyStrategy, drift_config
from pipeline.project import MODULE_FILE
from pipeline.spec import DatasetSpec

# The model code every module file calls (`module_file.py` is only its TFX entry points).
MODEL_PACKAGE = "pipeline.model"


def _csv_example_gen(
    spec: DatasetSpec, data_root: str, file_key: str, split: dict[str, int]
) -> ArrowCsvExampleGen:
    """Reads one of the spec's files and hash-splits it into `split` (name -> buckets).

    The split is explicit even for a single output split: by default ExampleGen would
    cut a one-file input into train/eval 2:1. Arrow parses the CSV (the same examples
    and splits as TFX's executor in half its time), as the spec says the files are written.
    """
    return ArrowCsvExampleGen(
        input_base=data_root,
        # How the spec says the files are read: delimiter, encoding, missing tokens, and
        # the columns that are numbers in every file.
        custom_config=CsvOptions(
            delimiter=spec.delimiter,
            encoding=spec.encoding,
            missing_values=spec.missing_values,
            float_columns=tuple(spec.float_columns),
        ).to_custom_config(),
        input_config=example_gen_pb2.Input(
            splits=[example_gen_pb2.Input.Split(name=file_key, pattern=spec.files[file_key])]
        ),
        output_config=example_gen_pb2.Output(
            split_config=example_gen_pb2.SplitConfig(
                splits=[
                    example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=buckets)
                    for name, buckets in split.items()
                ]
            )
        ),
    )


def training_args(
    spec: DatasetSpec, train_steps: int | None = None, eval_steps: int | None = None
) -> tuple[trainer_pb2.TrainArgs, trainer_pb2.EvalArgs]:
    """The Trainer's step counts: the spec's, unless overridden."""
    return (
        trainer_pb2.TrainArgs(splits=["train"], num_steps=train_steps or spec.training.train_steps),
        trainer_pb2.EvalArgs(splits=["eval"], num_steps=eval_steps or spec.training.eval_steps),
    )


def _in_data_root(spec: DatasetSpec, path: Path, data_root: str) -> str:
    """`path` (a file in the spec's folder) under `data_root`."""
    try:
        relative = path.relative_to(spec.directory)
    except ValueError:
        raise ValueError(
            f"{spec.spec_path}: schema_file {path} is outside the data folder "
            f"{spec.directory}; move it there so that it is copied with the data"
        ) from None
    return f"{data_root.rstrip('/')}/{relative.as_posix()}"


def code_digest(*modules: str) -> str:
    """SHA-256 of the source of importable modules, every file of a package included.

    It goes into Transform's and the Trainer's `custom_config`, their cache key: TFX
    fingerprints a module file it packages itself, but not code the module file imports
    (`pipeline.model`), nor a module it is told to import from the installed project.
    """
    digest = hashlib.sha256()
    for module in modules:
        found = importlib.util.find_spec(module)
        if found is None or not found.origin:
            raise ValueError(
                f"module {module!r} is not importable: install the project (pip install -e .)"
            )
        origin = Path(found.origin)
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for path in files:
            digest.update(f"{path.relative_to(origin.parent)}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def create_pipeline(
    pipeline_name: str,
    pipeline_root: str,
    spec: DatasetSpec,
    serving_model_dir: str,
    module_file: str = str(MODULE_FILE),
    metadata_connection_config: ConnectionConfigType | None = None,
    beam_pipeline_args: list[str] | None = None,
    enable_cache: bool = True,
    data_root: str | None = None,
    user_module: str | None = None,
    train_args: trainer_pb2.TrainArgs | RuntimeParameter | None = None,
    eval_args: trainer_pb2.EvalArgs | RuntimeParameter | None = None,
    vertex_push_config: dict[str, Any] | None = None,
    kubeflow: bool = False,
) -> Pipeline:
    """Builds the training pipeline for the data set described by `spec`.

    Args:
        pipeline_name: Name in ML Metadata; runs of the same name share a cache.
        pipeline_root: Where the components write their artifacts.
        spec: The data set description (`pipeline.spec.load_spec`).
        serving_model_dir: Base directory the Pusher writes versioned models to.
        module_file: The file holding `preprocessing_fn` and `run_fn`.
        metadata_connection_config: ML Metadata store; None lets the runner decide.
        beam_pipeline_args: Options for the Beam-based components.
        enable_cache: Reuse outputs of executions whose inputs did not change.
        data_root: Folder holding the spec's files, when not the spec's own folder
            (a gs:// copy for cloud runs).
        user_module: Import path of an installed module holding `preprocessing_fn` and
            `run_fn` (the installed `module_file`, or the container image's copy);
            replaces `module_file`, which TFX would otherwise package into a wheel and
            pip-install in each component that uses it (seconds per component). Its
            content's digest goes into the components' `custom_config`, so that an edit
            still re-runs Transform and the Trainer.
        train_args: Overrides the spec's training steps; a RuntimeParameter makes them
            a pipeline parameter.
        eval_args: Same, for the evaluation steps during training.
        vertex_push_config: The Vertex AI Pusher's `custom_config`; when set, blessed
            models go to a Vertex AI endpoint instead of `serving_model_dir`.
        kubeflow: Built for `KubeflowV2DagRunner`: only components and resolver
            strategies its compiler supports.

    Returns:
        The pipeline, ready for any TFX runner.
    """
    data_root = data_root or str(spec.directory)
    # Either TFX packages the module file (and fingerprints it for the cache) or the
    # functions come from the module installed in the image.
    user_code: dict[str, Any] = {"module_file": module_file}
    transform_code, trainer_code = user_code, user_code
    code_config = {"code_sha256": code_digest(MODEL_PACKAGE)}
    if user_module:
        transform_code = {"preprocessing_fn": f"{user_module}.preprocessing_fn"}
        trainer_code = {"run_fn": f"{user_module}.run_fn"}
        code_config = {"code_sha256": code_digest(user_module, MODEL_PACKAGE)}

    example_gen = _csv_example_gen(spec, data_root, "train", spec.split).with_id("ExampleGen")
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    if spec.schema_file:
        schema_gen = ImportSchemaGen(
            schema_file=_in_data_root(spec, spec.schema_file, data_root)
            if data_root != str(spec.directory)
            else str(spec.schema_file)
        )
    else:
        schema_gen = SchemaGen(
            statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
        )
    schema = schema_gen.outputs["schema"]
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema
    )
    components = [example_gen, statistics_gen, schema_gen, example_validator]

    # The examples the Evaluator scores: the separate test file, validated like the rest,
    # or the test split of the one file.
    evaluation_anomalies = None
    evaluation_examples = example_gen.outputs["examples"]
    if spec.has_test_file:
        test_example_gen = _csv_example_gen(spec, data_root, "test", {"test": 1}).with_id(
            "TestExampleGen"
        )
        test_statistics_gen = StatisticsGen(examples=test_example_gen.outputs["examples"]).with_id(
            "TestStatisticsGen"
        )
        test_example_validator = ExampleValidator(
            statistics=test_statistics_gen.outputs["statistics"], schema=schema
        ).with_id("TestExampleValidator")
        components += [test_example_gen, test_statistics_gen, test_example_validator]
        evaluation_anomalies = test_example_validator.outputs["anomalies"]
        evaluation_examples = test_example_gen.outputs["examples"]

    data_gate = DataGate(
        schema=schema,
        anomalies=example_validator.outputs["anomalies"],
        evaluation_anomalies=evaluation_anomalies,
        dataset=json.dumps(spec.for_transform().to_config(), sort_keys=True),
    )
    validated_schema = data_gate.outputs["validated_schema"]

    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=validated_schema,
        **transform_code,
        custom_config={"dataset": spec.for_transform().to_config(), **code_config},
        # The test split is only scored by the Evaluator, on raw examples.
        splits_config=transform_pb2.SplitsConfig(analyze=["train"], transform=["train", "eval"]),
        # StatisticsGen already computed statistics of the raw data.
        disable_statistics=True,
        # TF1 graph mode: tracing preprocessing_fn for TF2 costs more than the analysis
        # on data of this size (Transform on 442 rows: 23 s in TF2, 15 s here).
        force_tf_compat_v1=True,
    )
    if spec.drift:
        # The reference is the last data that passed this check, not merely the last
        # data seen: re-running drifted data cannot make it its own reference.
        last_approved = Resolver(
            # Kubeflow V2's compiler knows TFX's own strategies only.
            strategy_class=(LatestArtifactStrategy if kubeflow else LatestIfAnyStrategy),
            statistics=Channel(
                type=standard_artifacts.ExampleStatistics,
                producer_component_id="DriftCheck",
                output_key="approved_statistics",
            ),
        ).with_id("LastApprovedStatisticsResolver")
        drift_check = DriftCheck(
            statistics=statistics_gen.outputs["statistics"],
            baseline_statistics=last_approved.outputs["statistics"],
            drift=drift_config(spec),
        )
        # Ordering edges, not data inputs: the check runs on data the DataGate passed (so
        # the reference is always valid data), and Transform waits for it without its
        # cache depending on it.
        drift_check.add_upstream_node(data_gate)
        transform.add_upstream_node(drift_check)
        components += [last_approved, drift_check]
    trainer = Trainer(
        **trainer_code,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=validated_schema,
        train_args=train_args or training_args(spec)[0],
        eval_args=eval_args or training_args(spec)[1],
        custom_config={"dataset": spec.for_trainer().to_config(), **code_config},
    )
    model_resolver = Resolver(
        strategy_class=LatestBlessedModelStrategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
    ).with_id("LatestBlessedModelResolver")
    evaluator = Evaluator(
        examples=evaluation_examples,
        example_splits=["test"],
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config.create_eval_config(spec),
    )
    if vertex_push_config:
        from tfx.extensions.google_cloud_ai_platform.pusher.component import (
            Pusher as VertexPusher,
        )

        pusher = VertexPusher(
            model=trainer.outputs["model"],
            model_blessing=evaluator.outputs["blessing"],
            custom_config=vertex_push_config,
        ).with_id("Pusher")
    else:
        pusher = Pusher(
            model=trainer.outputs["model"],
            model_blessing=evaluator.outputs["blessing"],
            push_destination=pusher_pb2.PushDestination(
                filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_model_dir)
            ),
            # Write, then rename: a model server never sees half a model.
            custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor),
        )
    components += [data_gate, transform, trainer, model_resolver, evaluator, pusher]
    if spec.ablation is not None:
        # Analysis only: it reads what Transform wrote and gates nothing.
        ablation = spec.ablation
        components.append(
            Ablation(
                examples=transform.outputs["transformed_examples"],
                transform_graph=transform.outputs["transform_graph"],
                dataset=json.dumps(spec.for_trainer().to_config()),
                ablation=ablation_config(
                    ablation.groups, ablation.train_steps, ablation.replicates
                ),
            )
        )
    return Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args or [],
    )
