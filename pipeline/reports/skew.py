"""Training/serving skew: the data a deployed model is asked about vs. the data it learnt from.

    python -m pipeline skew --serving-data requests.csv      # against the latest run

The training statistics are the ones StatisticsGen computed in the run that trained the
model (found in ML Metadata); the serving data is a CSV of the raw features the model
receives (the label column may be absent). The distances are TFDV's, with the bounds of
the spec's `drift` section (L-infinity for categoricals, Jensen-Shannon for numerics).
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.reports.artifacts import find_run
from pipeline.spec import DatasetSpec, Drift

# Used when the spec has no `drift` section.
DEFAULT_BOUNDS = Drift(categorical_max_linf=0.1, numeric_max_js=0.2)


def check_skew(
    metadata_path: Path,
    pipeline_name: str,
    spec: DatasetSpec,
    serving_csv: Path,
    run_id: str | None = None,
) -> tuple[str, list[str]]:
    """Compares `serving_csv` with the training statistics of run `run_id` (default latest).

    Returns:
        The training statistics' URI, and one line per skewed column (empty: no skew).

    Raises:
        FileNotFoundError: No serving file, or the run has no training statistics.
    """
    import tensorflow_data_validation as tfdv

    from components.drift_check import drift_config, find_drift
    from pipeline.reports.data_tables import load_statistics_list

    if not serving_csv.is_file():
        raise FileNotFoundError(f"no serving data at {serving_csv}")
    run = find_run(metadata_path, pipeline_name, run_id)
    if run.statistics is None:
        raise FileNotFoundError(f"run {run.run_id} has no training statistics (StatisticsGen)")
    training = load_statistics_list(run.statistics.uri, "train")
    serving = tfdv.generate_statistics_from_csv(str(serving_csv))
    config = json.loads(drift_config(spec))
    bounds = spec.drift or DEFAULT_BOUNDS
    config["categorical_max_linf"] = bounds.categorical_max_linf
    config["numeric_max_js"] = bounds.numeric_max_js
    # Only the model's features: a serving log may carry ids, timestamps or no label.
    present = {f.path.step[0] for f in serving.datasets[0].features if f.path.step}
    config["categorical"] = [c for c in config["categorical"] if c in present]
    config["numeric"] = [c for c in config["numeric"] if c in present]
    return run.statistics.uri, find_drift(serving, training, config)
