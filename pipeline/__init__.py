"""The TFX modeling pipeline, driven by a data set spec.

Packages, from the bottom up (imports only flow upwards in this list's reverse):
    spec/      the data set spec: dataclasses, the YAML loader, feature names (no TFX)
    model/     what Transform, the Trainer and the ablation run: preprocessing, the Keras
               model, its training data and signatures
    metrics/   TFMA custom metrics and the one catalogue of metric names and directions
    serving/   raw tf.Examples for the exported model
    pipeline.py  `create_pipeline`, the DAG every runner shares
    reports/   ML Metadata lookups, tables, the run summary, the HTML report, the model card
    tracking/  run history in MLflow: each run logged, pushed models registered, the UI
    runners/   local runs, Kubeflow V2 / Vertex AI, the run lock, fingerprint, input checks
    cli.py     `python -m pipeline`, one function per subcommand
"""

import os

# TFX 1.16, TFT 1.16 and TFMA 0.47 need Keras 2; TF 2.16 defaults to Keras 3. Every entry
# point (the CLI, the module file, TFX's executors, the notebooks, the tests) imports this
# package before TensorFlow, so this is the one place that chooses.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
