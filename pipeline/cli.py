"""Command line: `python -m pipeline init|run|summary|predict|export-schema|compile|...`.

python -m pipeline init data/x/file.csv --label y   # writes data/x/dataset.yaml from the data
python -m pipeline run                       # the census pipeline, bundled data
python -m pipeline run --data data/compas --train-steps 200
python -m pipeline summary                   # the latest run, from ML Metadata
python -m pipeline export-schema             # inferred schema -> data/<set>/schema.pbtxt
python -m pipeline report [--run-id ID]      # static HTML report and model card of a run
python -m pipeline report --cloud-config deploy/vertex.yaml [--run-id JOB]  # a Vertex run's
python -m pipeline notebook [--run-id ID]    # the model notebook on a run (make notebook)
python -m pipeline skew --serving-data F.csv # serving data vs. the training statistics
python -m pipeline predict --data new.csv --output predictions.csv   # the pushed model scores
python -m pipeline request --data rows.csv   # a TF Serving / Vertex AI request body (JSON)
python -m pipeline compile                   # Kubeflow V2 / Vertex JSON -> build/vertex/
python -m pipeline submit --dry-run          # one Vertex AI run (deploy/vertex.yaml)
python -m pipeline schedule --dry-run        # create or update the Vertex AI schedule
python -m pipeline runs                      # recent local runs, from MLflow
python -m pipeline runs --cloud-config deploy/vertex.yaml   # recent Vertex AI runs
python -m pipeline ui                        # MLflow's UI on the local runs
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.project import DEFAULT_DATA, DEPLOY_DIR
from pipeline.runners.local import DEFAULT_OUTPUT_DIR, paths_for, pipeline_name
from pipeline.serving.output_columns import DEFAULT_THRESHOLD
from pipeline.serving.predict import DEFAULT_BATCH_SIZE
from pipeline.spec import DatasetSpec, SpecError, load_spec

# google-api-core warns at import, on every run, that Python 3.10 will not get its future
# releases: TFX 1.16 pins Python 3.10, so the warning says nothing a user can act on.
warnings.filterwarnings("ignore", message="You are using a non-supported Python version")
# The same for google-cloud-aiplatform's advice to upgrade a package the lock pins.
warnings.filterwarnings("ignore", message="Support for google-cloud-storage < 3.0.0")

DEFAULT_CLOUD_CONFIG = DEPLOY_DIR / "vertex.yaml"
DEFAULT_BUILD_DIR = Path("build") / "vertex"
CLOUD_COMMANDS = ("compile", "submit", "schedule", "runs")
TRACKING_URI_HELP = (
    "MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///<output>/<set>/mlflow.db)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                       help="data set folder or spec file (default: %(default)s)")  # fmt: skip
        p.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR,
                       help="where artifacts, ML Metadata and pushed models go (default: %(default)s)")  # fmt: skip

    init = sub.add_parser(
        "init", help="write a commented dataset.yaml beside a CSV file, inferred from its data"
    )
    init.add_argument("csv", type=Path, help="the CSV file (gzip, any delimiter, UTF-8 or Latin-1)")
    init.add_argument("--label", required=True, metavar="COLUMN", help="the column to predict")

    run = sub.add_parser("run", help="run the whole pipeline with LocalDagRunner")
    common(run)
    run.add_argument("--train-steps", type=int, help="override training.train_steps of the spec")
    run.add_argument("--no-cache", action="store_true", help="re-run every component")
    run.add_argument("--always-run", action="store_true",
                     help="start the pipeline even when nothing changed since the last run "
                          "(TFX then finds every component cached)")  # fmt: skip
    run.add_argument("--beam-arg", action="append", default=[], metavar="ARG",
                     help="extra Beam option, e.g. --beam-arg=--direct_num_workers=2")  # fmt: skip
    run.add_argument("--tracking-uri", help=TRACKING_URI_HELP)

    summary = sub.add_parser("summary", help="summarise a run from ML Metadata")
    common(summary)
    summary.add_argument("--run-id", help="a run id (default: the latest run)")

    report = sub.add_parser(
        "report", help="write the static HTML report and the model card of a run"
    )
    common(report)
    report.add_argument("--run-id", help="a run id (default: the latest run)")
    report.add_argument("--out", type=Path, help="the HTML file (default: <output>/<set>/reports/)")
    report.add_argument("--cloud-config", type=Path,
                        help="a Vertex AI run's report, from the deployment's pipeline root")  # fmt: skip

    notebook = sub.add_parser(
        "notebook", help="serve the model notebook on a run, where TFMA's views render"
    )
    common(notebook)
    notebook.add_argument("--run-id", help="a run id (default: the latest run)")
    notebook.add_argument("--port", type=int, default=8888,
                          help="port on 127.0.0.1 (default: %(default)s, else a free one)")  # fmt: skip

    skew = sub.add_parser("skew", help="compare serving data with the training statistics")
    common(skew)
    skew.add_argument("--serving-data", type=Path, required=True,
                      help="CSV of the raw features the model was asked about")  # fmt: skip
    skew.add_argument("--run-id", help="the run that trained the model (default: the latest)")

    def scoring(p: argparse.ArgumentParser) -> None:
        # --data is the file to score here; the data set (whose model scores) is --dataset.
        p.add_argument("--data", dest="input", type=Path, required=True, metavar="CSV",
                       help="the CSV file to score (the label column may be absent)")  # fmt: skip
        p.add_argument("--dataset", dest="data", type=Path, default=DEFAULT_DATA,
                       help="data set folder or spec file (default: %(default)s)")  # fmt: skip
        p.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR,
                       help="where the pushed models are (default: %(default)s)")  # fmt: skip
        p.add_argument("--model", default="latest", metavar="latest|VERSION",
                       help="a pushed model version (default: the newest)")  # fmt: skip

    predict = sub.add_parser("predict", help="score a CSV file with the pushed model")
    scoring(predict)
    predict.add_argument("--output", type=Path, required=True,
                         help="the CSV to write: the input's columns plus the model's")  # fmt: skip
    predict.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                         help="rows read and scored at a time (default: %(default)s)")  # fmt: skip
    predict.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                         help="predicted_class is the positive class when its probability "
                              "is above this (default: %(default)s)")  # fmt: skip
    request = sub.add_parser(
        "request", help="print the JSON request body a model server takes for CSV rows"
    )
    scoring(request)
    request.add_argument("--server", choices=("tf-serving", "vertex"), default="tf-serving",
                         help="TF Serving's REST API or a Vertex AI endpoint (default: %(default)s)")  # fmt: skip

    export = sub.add_parser(
        "export-schema", help="copy the latest inferred schema next to the data"
    )
    common(export)

    def cloud(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                       help="data set folder or spec file (default: %(default)s)")  # fmt: skip
        p.add_argument("--cloud-config", type=Path, default=DEFAULT_CLOUD_CONFIG,
                       help="deployment file (default: %(default)s)")  # fmt: skip
        p.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR,
                       help="where the compiled files go (default: %(default)s)")  # fmt: skip

    compile_ = sub.add_parser(
        "compile", help="compile for Kubeflow Pipelines v2 / Vertex AI (pipeline.json)"
    )
    cloud(compile_)
    submit = sub.add_parser("submit", help="compile, then start one run on Vertex AI")
    cloud(submit)
    submit.add_argument("--train-steps", type=int, help="this run's training steps")
    submit.add_argument("--eval-steps", type=int, help="this run's evaluation steps")
    submit.add_argument("--no-cache", action="store_true", help="re-run every step")
    submit.add_argument("--dry-run", action="store_true", help="print the calls, make none")
    schedule = sub.add_parser("schedule", help="compile, then create or update the schedule")
    cloud(schedule)
    schedule.add_argument("--replace", action="store_true",
                          help="delete and re-create an existing schedule (after a new image)")  # fmt: skip
    schedule.add_argument("--dry-run", action="store_true", help="print the calls, make none")
    runs = sub.add_parser(
        "runs", help="list recent runs: local ones from MLflow, or Vertex AI's (--cloud-config)"
    )
    common(runs)
    runs.add_argument("--cloud-config", type=Path,
                      help="list this deployment's Vertex AI runs instead, e.g. deploy/vertex.yaml")  # fmt: skip
    runs.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR,
                      help="with --cloud-config: where the compiled files go (default: %(default)s)")  # fmt: skip
    runs.add_argument("--tracking-uri", help=TRACKING_URI_HELP)
    runs.add_argument("--limit", type=int, default=10, help="how many (default: %(default)s)")
    ui = sub.add_parser("ui", help="open MLflow's UI on the local runs (127.0.0.1)")
    common(ui)
    ui.add_argument("--tracking-uri", help=TRACKING_URI_HELP)
    ui.add_argument("--port", type=int, default=5000, help="(default: %(default)s)")
    return parser


def _init(csv: Path, label: str) -> int:
    """Writes `dataset.yaml` beside `csv`; prints what it inferred and the next command."""
    from pipeline.spec.init import InitError, write_spec

    command = shlex.join(["python", "-m", "pipeline", "init", str(csv), "--label", label])
    try:
        path, leaks = write_spec(csv, label, command)
    except InitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    spec = load_spec(path)
    task = spec.task.replace("_", " ")
    classes = (
        f"positive class {spec.label.positive!r}"
        if spec.label.positive is not None
        else f"classes {list(spec.label.classes)}"
        if spec.label.classes
        else "a number"
    )
    print(f"Wrote {path}: {task} of {spec.label.column!r} ({classes}).")
    counts = Counter(c.role for c in spec.columns)
    print(f"  {counts['numeric']} numeric and {counts['categorical']} categorical column(s)")
    for column in spec.columns:
        if column.role == "ignored":
            print(f"  ignored {column.name!r}: {column.reason}")
    for name in leaks:
        print(f"  CHECK {name!r}: it gives the class by itself; is it known before the outcome?")
    if spec.missing_values:
        print(f"  missing values: {', '.join(map(repr, spec.missing_values))} (and empty cells)")
    print("Check its comments (what the data cannot say: a column that leaks the label, the")
    print("bounds a useful model must meet), then run:")
    print(f"    python -m pipeline run --data {shlex.quote(str(path.parent))}")
    return 0


def _summary(spec: DatasetSpec, output_dir: Path, run_id: str | None = None) -> int:
    from pipeline.reports.html import report_path
    from pipeline.reports.summary import format_summary, next_steps, summarize_run

    paths = paths_for(spec, output_dir)
    summary = summarize_run(paths.metadata_path, pipeline_name(spec), run_id, spec)
    report = report_path(paths.reports_dir, summary.run_id)
    steps = next_steps(
        summary,
        report=report if report.exists() else None,
        log=None,
        metadata_path=paths.metadata_path,
        spec_path=spec.spec_path,
    )
    print(format_summary(summary, next_lines=steps))
    return 0


def _report(
    spec: DatasetSpec,
    output_dir: Path,
    run_id: str | None,
    out: Path | None,
    cloud_config: Path | None = None,
) -> int:
    from pipeline.reports.artifacts import find_run
    from pipeline.reports.html import render_report, report_path, write_report
    from pipeline.reports.model_card import build_model_card, write_model_card

    paths = paths_for(spec, output_dir)
    if cloud_config is not None:
        from pipeline.runners import vertex
        from pipeline.runners.cloud_config import CloudConfigError, load_cloud_config

        try:
            config = load_cloud_config(cloud_config)
            run_id, page = vertex.fetch_report(config, run_id)
        except CloudConfigError as e:
            print(f"error: invalid cloud config: {e}", file=sys.stderr)
            return 2
        except (LookupError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        out = out or report_path(paths.reports_dir, run_id)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
        print(f"Report of Vertex AI run {run_id}: {out}")
        return 0
    try:
        run = find_run(paths.metadata_path, pipeline_name(spec), run_id)
    except (FileNotFoundError, LookupError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    card = build_model_card(run, spec) if run.evaluation is not None else None
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_report(run, spec, card), encoding="utf-8")
    else:
        out = write_report(run, spec, paths.reports_dir, card)
    print(f"Report of run {run.run_id}: {out}")
    # Beside the report only: a report never writes into the serving directory.
    for path in write_model_card(run, spec, out.parent, card, serving=False):
        print(f"Model card of run {run.run_id}: {path}")
    return 0


def _notebook(spec: DatasetSpec, output_dir: Path, run_id: str | None, port: int) -> int:
    from pipeline.reports import notebook
    from pipeline.reports.artifacts import find_run

    paths = paths_for(spec, output_dir)
    try:
        run = find_run(paths.metadata_path, pipeline_name(spec), run_id)
    except (FileNotFoundError, LookupError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if run.evaluation is None:
        print(f"error: run {run.run_id} has no evaluation (it stopped before the Evaluator): "
              "pass --run-id of another run", file=sys.stderr)  # fmt: skip
        return 1
    env = notebook.run_environment(
        paths.metadata_path, pipeline_name(spec), spec.spec_path, run.run_id
    )
    return notebook.serve(
        paths.root / "notebooks",
        env,
        paths.log_dir / "notebook.log",
        port,
        announce=f"Model notebook on run {run.run_id} of {pipeline_name(spec)}",
    )


def _skew(spec: DatasetSpec, output_dir: Path, serving: Path, run_id: str | None) -> int:
    from pipeline.reports.skew import check_skew

    paths = paths_for(spec, output_dir)
    try:
        reference, lines = check_skew(
            paths.metadata_path, pipeline_name(spec), spec, serving, run_id
        )
    except (FileNotFoundError, LookupError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if lines:
        print(f"Skew between {serving} and the training statistics ({reference}):")
        print("\n".join(f"  - {line}" for line in lines))
        return 1
    print(f"No skew beyond the bounds between {serving} and the training data ({reference}).")
    return 0


def _load_model(spec: DatasetSpec, args: argparse.Namespace) -> Any:
    """The pushed model `args.model` of `spec`.

    Raises:
        ModelNotFoundError: There is none (the message says how to make one).
    """
    from pipeline.serving.model import ServedModel, find_version

    run = f"python -m pipeline run --data {spec.directory} --output-dir {args.output_dir}"
    path = find_version(paths_for(spec, args.output_dir).serving_dir, args.model, run)
    return ServedModel.load(path)


def _predict(spec: DatasetSpec, args: argparse.Namespace) -> int:
    from pipeline.serving.model import ModelNotFoundError
    from pipeline.serving.output_columns import class_names
    from pipeline.serving.predict import predict_csv

    if not 0 < args.threshold < 1:
        print(f"error: --threshold lies in (0, 1), got {args.threshold}", file=sys.stderr)
        return 2
    try:
        model = _load_model(spec, args)
        rows = predict_csv(spec, model, args.input, args.output, args.batch_size, args.threshold)
    # ValueError: InputDataError, PredictError, or a model this project did not export.
    except (ModelNotFoundError, ValueError) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    if spec.is_regression:
        added = "prediction"
    else:
        positive, negative = class_names(spec)
        added = (
            f"probability (of {positive!r}), predicted_class ({positive!r} when the "
            f"probability > {args.threshold:g}, else {negative!r})"
        )
    print(f"Scored {rows} rows of {args.input} with model version {model.version} ({model.path})")
    print(f"Wrote {args.output}: the input's columns, then {added}")
    return 0


def _request(spec: DatasetSpec, args: argparse.Namespace) -> int:
    from pipeline.serving.model import ModelNotFoundError
    from pipeline.serving.requests import request_for_csv

    try:
        body = request_for_csv(spec, _load_model(spec, args), args.input, args.server)
    # ValueError: InputDataError, PredictError, or a model this project did not export.
    except (ModelNotFoundError, ValueError) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    print(json.dumps(body))
    return 0


def _one_line(error: Exception) -> str:
    """An input error with a single problem as one line; otherwise its list of problems."""
    problems = getattr(error, "problems", None)
    if problems and error.total == 1:
        return f"{problems[0]}; {error.outcome}"
    return str(error)


def _export_schema(spec: DatasetSpec, output_dir: Path) -> int:
    import shutil

    from pipeline.reports.summary import latest_output_uri

    paths = paths_for(spec, output_dir)
    uri = latest_output_uri(paths.metadata_path, pipeline_name(spec), "SchemaGen", "schema")
    target = spec.directory / "schema.pbtxt"
    shutil.copy(Path(uri) / "schema.pbtxt", target)
    print(f"Wrote {target}. Review it, then add `schema_file: schema.pbtxt` to {spec.spec_path}.")
    return 0


def _runs(spec: DatasetSpec, output_dir: Path, tracking_uri: str | None, limit: int) -> int:
    """The newest local runs, as logged to MLflow."""
    from pipeline.tracking import keys, list_runs, resolve_tracking_uri
    from pipeline.tracking.store import format_runs

    uri = resolve_tracking_uri(paths_for(spec, output_dir).root, tracking_uri)
    runs = list_runs(uri, keys.experiment_name(spec), limit)
    if not runs:
        print(f"No run of {spec.name} is logged in {uri}: `python -m pipeline run` logs each run.")
        return 0
    print(f"Runs of {spec.name} in {uri}, newest first:")
    print(format_runs(runs, keys.registered_model_name(spec)))
    return 0


def _ui(spec: DatasetSpec, output_dir: Path, tracking_uri: str | None, port: int) -> int:
    from pipeline.tracking import resolve_tracking_uri
    from pipeline.tracking.server import serve

    root = paths_for(spec, output_dir).root
    return serve(resolve_tracking_uri(root, tracking_uri), root, port)


def _aiplatform() -> Any:
    from google.cloud import aiplatform

    return aiplatform


def _cloud(args: argparse.Namespace, spec: DatasetSpec, aiplatform: Any = None) -> int:
    """compile / submit / schedule / runs; `aiplatform` replaces the SDK (tests).

    Without Google Cloud credentials the SDK raises on its first call: one line says how
    to authenticate instead.
    """
    from google.auth.exceptions import GoogleAuthError

    try:
        return _cloud_calls(args, spec, aiplatform)
    except GoogleAuthError as e:
        reason = str(e).split(". ")[0].rstrip(".")
        print(
            f"error: no usable Google Cloud credentials ({reason}): run "
            "`gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS "
            "to a service account key file",
            file=sys.stderr,
        )
        return 2


def _cloud_calls(args: argparse.Namespace, spec: DatasetSpec, aiplatform: Any) -> int:
    from pipeline.runners import vertex
    from pipeline.runners.cloud_config import CloudConfigError, load_cloud_config
    from pipeline.runners.kubeflow_v2 import compile_pipeline, parameter_values

    try:
        config = load_cloud_config(args.cloud_config)
    except CloudConfigError as e:
        print(f"error: invalid cloud config: {e}", file=sys.stderr)
        return 2
    template = compile_pipeline(spec, config, args.build_dir)
    if args.command == "compile":
        print(f"Compiled {template} (image {config.image})")
        if config.schedule:
            print(
                f"Schedule resource ({config.schedule.vertex_cron}): {template.parent / 'schedule.json'}"
            )
        return 0
    dry_run = getattr(args, "dry_run", False)
    aiplatform = aiplatform or (None if dry_run else _aiplatform())
    if args.command == "runs":
        display_name = json.loads(template.read_text())["displayName"]
        for run in vertex.list_runs(config, display_name, aiplatform, args.limit):
            print(f"{run.created:<32} {run.state:<24} {run.name}")
        return 0
    if args.command == "submit":
        steps = {
            k: v
            for k, v in (("train_steps", args.train_steps), ("eval_steps", args.eval_steps))
            if v
        }
        calls, name = vertex.submit_run(
            config,
            template,
            aiplatform,
            parameter_values=parameter_values(spec, steps) or None,
            enable_caching=not args.no_cache,
            dry_run=dry_run,
        )
    else:
        calls, name = vertex.apply_schedule(
            config, template, aiplatform, replace=args.replace, dry_run=dry_run
        )
    if dry_run:
        print("Dry run: these calls would be made:\n")
        print("\n".join(str(call) for call in calls))
    else:
        print(f"Done: {name}")
    return 0


def main(argv: list[str] | None = None, aiplatform: Any = None) -> int:
    args = _parser().parse_args(argv)
    if args.command != "run":
        # Before TensorFlow is first imported: no C++ info or warning chatter on the
        # console. A run sends all of it to its log file instead (pipeline.runners.console).
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.command == "init":
        return _init(args.csv, args.label)
    overrides = None
    if args.command == "run" and args.train_steps:
        overrides = {"train_steps": args.train_steps}
    try:
        spec = load_spec(args.data, overrides)
    except SpecError as e:
        print(f"error: invalid data set spec: {e}", file=sys.stderr)
        return 2
    if args.command == "runs" and args.cloud_config is None:
        return _runs(spec, args.output_dir, args.tracking_uri, args.limit)
    if args.command == "ui":
        return _ui(spec, args.output_dir, args.tracking_uri, args.port)
    if args.command in CLOUD_COMMANDS:
        return _cloud(args, spec, aiplatform)
    if args.command == "summary":
        return _summary(spec, args.output_dir, args.run_id)
    if args.command == "report":
        return _report(spec, args.output_dir, args.run_id, args.out, args.cloud_config)
    if args.command == "notebook":
        return _notebook(spec, args.output_dir, args.run_id, args.port)
    if args.command == "skew":
        return _skew(spec, args.output_dir, args.serving_data, args.run_id)
    if args.command == "export-schema":
        return _export_schema(spec, args.output_dir)
    if args.command == "predict":
        return _predict(spec, args)
    if args.command == "request":
        return _request(spec, args)

    from pipeline.runners import local as local_runner
    from pipeline.runners.input_checks import InputDataError
    from pipeline.runners.run_lock import RunInProgressError

    try:
        log_file = local_runner.run(
            spec,
            args.output_dir,
            beam_pipeline_args=args.beam_arg,
            enable_cache=not args.no_cache,
            skip_unchanged=not args.always_run,
            tracking_uri=args.tracking_uri,
        )
    except (InputDataError, RunInProgressError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # a component failed: show its own message, not a traceback
        print(f"\nerror: the pipeline stopped: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if isinstance(log_file, local_runner.Unchanged):
        from pipeline.reports.summary import display_path

        unchanged = log_file
        serving = (
            unchanged.serving
            and f" Its model is already serving: {display_path(unchanged.serving)}."
        )
        print(
            f"Nothing changed since run {unchanged.run_id} (same data files, spec, module file, "
            "eval_config, pipeline code and options), and that run left nothing to do: every "
            f"component would be cached, so none was started (--always-run starts them).{serving or ''}\n"
        )
        head, _, rest = unchanged.summary.partition("\n")
        print("\n".join(part for part in (head, unchanged.components, rest) if part))
        return 0
    # The runner summarised the run from ML Metadata when it recorded it: print that
    # rather than read every artifact and the TFMA metrics back a second time. The
    # console showed the components as they ran: the summary leaves them out.
    from pipeline.runners.fingerprint import read_last_run

    record = read_last_run(paths_for(spec, args.output_dir).root)
    print()
    if record is None:
        return _summary(spec, args.output_dir)
    print(record.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
