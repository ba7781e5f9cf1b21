"""`create_pipeline`: the one definition of the DAG, shared by every runner.

    ExampleGen ─► StatisticsGen ─► SchemaGen ─► ExampleValidator ─┐
    TestExampleGen ─► TestStatisticsGen ─► TestExampleValidator ──┴► DataGate
    DataGate, StatisticsGen, LastApprovedStatisticsResolver ─► DriftCheck ─► Transform
                                                       (with a `drift` section in the spec)
    DataGate ─► Transform ─► Trainer ─┬──────────────────────────────┐
                                      └► LatestBlessedModelResolver ─┴► Evaluator ─► Pusher
                                         (the latest blessed model that is not the candidate;
                                          the evaluation runs on the test split)
    ScoreExampleGen, Trainer, Evaluator ─► BulkInferrer ─► PredictionCsv
                                                       (with a `score` file in the spec)
    Transform ─► Ablation                               (with an `ablation` section)
    every artifact above ─► Report                      (Kubeflow / Vertex AI builds)

The Test* components exist when the spec names a separate test file (census); otherwise
ExampleGen hash-splits the one file into train/eval/test (COMPAS).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

# The classes `tfx.v1` exports, from the modules it takes them from: importing `tfx.v1`
# also imports its Google Cloud extensions (google.cloud.aiplatform), a large part of every
# local run's start-up. The Vertex AI Pusher is imported where it is used.
from tfx.components import (
    BulkInferrer,
    Evaluator,
    ExampleValidator,
    SchemaGen,
    StatisticsGen,
    Trainer,
    Transform,
)
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import LatestArtifactStrategy
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy,
)
from tfx.orchestration.data_types import RuntimeParameter
from tfx.orchestration.metadata import ConnectionConfigType
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import (
    bulk_inferrer_pb2,
    example_gen_pb2,
    pusher_pb2,
    trainer_pb2,
    transform_pb2,
)
from tfx.types import standard_artifacts
from tfx.types.channel import Channel

import eval_config
from components.ablation import Ablation, VertexAblation, ablation_config
from components.arrow_csv_example_gen import ArrowCsvExampleGen, CsvOptions
from components.atomic_pusher import AtomicPusher
from components.baseline_model import PreviousBlessedModelStrategy
from components.data_gate import DataGate
from components.drift_check import DriftCheck, LatestIfAnyStrategy, drift_config
from components.prediction_csv import PredictionCsv
from components.report import Report
from pipeline.model.outputs import SERVING_SIGNATURE
from pipeline.project import MODULE_FILE, ROOT
from pipeline.serving.output_columns import DEFAULT_THRESHOLD
from pipeline.spec import DatasetSpec, Training

# The model code every module file calls (`module_file.py` is only its TFX entry points).
MODEL_PACKAGE = "pipeline.model"
# The resolver of the DriftCheck's reference (Kubeflow V2 narrows its compiled query).
LAST_APPROVED_RESOLVER = "LastApprovedStatisticsResolver"


def approval_marker(pipeline_name: str) -> str:
    """The `APPROVED_BY` value of the statistics this pipeline's DriftCheck approves."""
    return f"{pipeline_name}.DriftCheck"


def portable_config(spec: DatasetSpec, config: dict[str, Any]) -> dict[str, Any]:
    """A `DatasetSpec.to_config()` whose paths do not depend on where the checkout is.

    The compiled pipeline carries these paths only for messages (the data comes from
    `data_root`): relative to the project (`data/census`), so that compiling on a laptop
    and in CI gives the same file, and the same Vertex AI cache keys.
    """
    directory = spec.directory.resolve()
    relative = (
        directory.relative_to(ROOT) if directory.is_relative_to(ROOT) else Path(directory.name)
    )
    return {
        **config,
        "directory": relative.as_posix(),
        "spec_path": (relative / spec.spec_path.name).as_posix(),
    }


def _csv_example_gen(
    spec: DatasetSpec,
    data_root: str,
    file_key: str,
    split: dict[str, int],
    pattern: str | None = None,
) -> ArrowCsvExampleGen:
    """Reads one of the spec's files (`files.<file_key>`, or `pattern`) and hash-splits it
    into `split` (name -> buckets).

    The split is explicit even for a single output split: by default ExampleGen would
    cut a one-file input into train/eval 2:1. Arrow parses the CSV (the same examples
    and splits as TFX's executor in half its time), as the spec says the files are written.
    """
    # A file to score may have no label column: only the features are floats there.
    floats = spec.numeric_features if file_key == "score" else spec.float_columns
    return ArrowCsvExampleGen(
        input_base=data_root,
        # How the spec says the files are read: delimiter, encoding, missing tokens, and
        # the columns that are numbers in every file.
        custom_config=CsvOptions(
            delimiter=spec.delimiter,
            encoding=spec.encoding,
            missing_values=spec.missing_values,
            float_columns=tuple(floats),
        ).to_custom_config(),
        input_config=example_gen_pb2.Input(
            splits=[
                example_gen_pb2.Input.Split(name=file_key, pattern=pattern or spec.files[file_key])
            ]
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


def ablation_dataset(spec: DatasetSpec) -> DatasetSpec:
    """The part of the spec the ablation reads: the Trainer's, without the Trainer's own
    step counts and stopping rule (the ablation trains `ablation.train_steps`), so that a
    new number of training steps re-trains the model but re-uses the ablation."""
    default = Training()
    training = dataclasses.replace(
        spec.training,
        train_steps=default.train_steps,
        steps_per_evaluation=default.steps_per_evaluation,
        eval_steps=default.eval_steps,
        early_stopping_patience=default.early_stopping_patience,
    )
    return dataclasses.replace(spec.for_trainer(), training=training)


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


def _scoring(
    spec: DatasetSpec, data_root: str, dataset: str, trainer: Trainer, evaluator: Evaluator
) -> list[Any]:
    """The spec's `score` file scored by the run's model, if the Evaluator blessed it.

    BulkInferrer writes PredictionLogs (its `inference_result`); PredictionCsv turns them
    into `predictions.csv` with `predict`'s columns. The CSV is a component's output, not a
    step after the run, so that a scheduled run on Vertex AI writes it too. `dataset` is
    the spec's Transform part as JSON.
    """
    example_gen = _csv_example_gen(spec, data_root, "score", {"score": 1}, spec.score).with_id(
        "ScoreExampleGen"
    )
    blessing = evaluator.outputs["blessing"]
    bulk_inferrer = BulkInferrer(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        model_blessing=blessing,
        data_spec=bulk_inferrer_pb2.DataSpec(example_splits=["score"]),
        model_spec=bulk_inferrer_pb2.ModelSpec(model_signature_name=[SERVING_SIGNATURE]),
    )
    prediction_csv = PredictionCsv(
        inference_result=bulk_inferrer.outputs["inference_result"],
        model_blessing=blessing,
        dataset=dataset,
        score_file=f"{data_root.rstrip('/')}/{spec.score}",
        threshold=DEFAULT_THRESHOLD,
    )
    return [example_gen, bulk_inferrer, prediction_csv]


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
    custom_training: dict[str, Any] | None = None,
    resolvers: bool = True,
    tracking_uri: str | None = None,
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
        tracking_uri: The MLflow tracking URI the cloud build's Report step logs the run
            to (None: not logged; the local runner logs its runs itself).

    Returns:
        The pipeline, ready for any TFX runner.
    """
    data_root = data_root or str(spec.directory)

    def spec_config(part: DatasetSpec) -> dict[str, Any]:
        return portable_config(spec, part.to_config()) if kubeflow else part.to_config()

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
    evaluation_statistics = None
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
        evaluation_statistics = test_statistics_gen.outputs["statistics"]
        evaluation_examples = test_example_gen.outputs["examples"]

    data_gate = DataGate(
        schema=schema,
        anomalies=example_validator.outputs["anomalies"],
        evaluation_anomalies=evaluation_anomalies,
        dataset=json.dumps(spec_config(spec.for_transform()), sort_keys=True),
    )
    validated_schema = data_gate.outputs["validated_schema"]

    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=validated_schema,
        **transform_code,
        custom_config={"dataset": spec_config(spec.for_transform()), **code_config},
        # The test split is only scored by the Evaluator, on raw examples.
        splits_config=transform_pb2.SplitsConfig(analyze=["train"], transform=["train", "eval"]),
        # StatisticsGen already computed statistics of the raw data.
        disable_statistics=True,
        # TF1 graph mode: tracing preprocessing_fn for TF2 costs more than the analysis
        # on data of this size (tables of thousands to a few million rows).
        force_tf_compat_v1=True,
    )
    if spec.drift and resolvers:
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
        ).with_id(LAST_APPROVED_RESOLVER)
        drift_check = DriftCheck(
            statistics=statistics_gen.outputs["statistics"],
            baseline_statistics=last_approved.outputs["statistics"],
            drift=drift_config(spec, approved_by=approval_marker(pipeline_name)),
        )
        # Ordering edges, not data inputs: the check runs on data the DataGate passed (so
        # the reference is always valid data), and Transform waits for it without its
        # cache depending on it.
        drift_check.add_upstream_node(data_gate)
        transform.add_upstream_node(drift_check)
        components += [last_approved, drift_check]
    trainer_class = Trainer
    if custom_training:
        # The same executor, started by TFX in a Vertex AI custom training job.
        from tfx.extensions.google_cloud_ai_platform.trainer.component import (
            Trainer as trainer_class,
        )
    trainer = trainer_class(
        **trainer_code,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=validated_schema,
        train_args=train_args or training_args(spec)[0],
        eval_args=eval_args or training_args(spec)[1],
        custom_config={
            "dataset": spec_config(spec.for_trainer()),
            **code_config,
            **(custom_training or {}),
        },
    )
    # The baseline: the latest blessed model other than this run's (a re-run with nothing
    # changed then finds the Evaluator's and the Pusher's inputs unchanged, and both
    # cached, instead of comparing the model with itself and pushing it again). Kubeflow
    # V2's compiler knows TFX's own strategy only, which may resolve the candidate itself.
    baseline_model = None
    if resolvers and kubeflow:
        model_resolver = Resolver(
            strategy_class=LatestBlessedModelStrategy,
            model=Channel(type=standard_artifacts.Model),
            model_blessing=Channel(type=standard_artifacts.ModelBlessing),
        ).with_id("LatestBlessedModelResolver")
    elif resolvers:
        model_resolver = Resolver(
            strategy_class=PreviousBlessedModelStrategy,
            model=Channel(type=standard_artifacts.Model),
            model_blessing=Channel(type=standard_artifacts.ModelBlessing),
            candidate=trainer.outputs["model"],
        ).with_id("LatestBlessedModelResolver")
    if resolvers:
        baseline_model = model_resolver.outputs["model"]
    evaluator = Evaluator(
        examples=evaluation_examples,
        example_splits=["test"],
        model=trainer.outputs["model"],
        baseline_model=baseline_model,
        eval_config=eval_config.create_eval_config(spec),
    )
    if vertex_push_config:
        from components.vertex_pusher import VertexPusher

        pusher = VertexPusher(
            model=trainer.outputs["model"],
            model_blessing=evaluator.outputs["blessing"],
            custom_config=vertex_push_config,
        ).with_id("Pusher")
    else:
        # Write, then rename: a model server never sees half a model; and a model that
        # is already the latest version is not pushed again.
        pusher = AtomicPusher(
            model=trainer.outputs["model"],
            model_blessing=evaluator.outputs["blessing"],
            push_destination=pusher_pb2.PushDestination(
                filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_model_dir)
            ),
        ).with_id("Pusher")
    resolver_nodes = [model_resolver] if resolvers else []
    components += [data_gate, transform, trainer, *resolver_nodes, evaluator, pusher]
    if spec.score:
        transform_part = json.dumps(spec_config(spec.for_transform()), sort_keys=True)
        components += _scoring(spec, data_root, transform_part, trainer, evaluator)
    ablation = None
    if spec.ablation is not None:
        # Analysis only: it reads what Transform wrote and gates nothing.
        ablation = (VertexAblation if custom_training else Ablation)(
            examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            dataset=json.dumps(spec_config(ablation_dataset(spec))),
            ablation=ablation_config(
                spec.ablation.groups, spec.ablation.train_steps, spec.ablation.replicates
            ),
            custom_config=json.dumps(custom_training, sort_keys=True) if custom_training else None,
        ).with_id("Ablation")
        components.append(ablation)
    if kubeflow:
        optional = {
            "test_examples": evaluation_examples,
            "test_statistics": evaluation_statistics,
            "test_anomalies": evaluation_anomalies,
            "baseline_model": baseline_model,
            "ablation": ablation.outputs["report"] if ablation is not None else None,
        }
        components.append(
            Report(
                dataset=json.dumps(spec_config(spec), sort_keys=True),
                pipeline_name=pipeline_name,
                tracking_uri=tracking_uri,
                examples=example_gen.outputs["examples"],
                statistics=statistics_gen.outputs["statistics"],
                anomalies=example_validator.outputs["anomalies"],
                schema=validated_schema,
                transform_graph=transform.outputs["transform_graph"],
                model=trainer.outputs["model"],
                evaluation=evaluator.outputs["evaluation"],
                blessing=evaluator.outputs["blessing"],
                pushed_model=pusher.outputs["pushed_model"],
                **{key: channel for key, channel in optional.items() if channel is not None},
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
