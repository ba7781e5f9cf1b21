"""What the Trainer runs (`module_file.run_fn`): fit, fit the linear baseline, export."""

from __future__ import annotations

import tensorflow_transform as tft
import tf_keras as keras
from tfx.components.trainer.fn_args_utils import FnArgs

from pipeline.model.data import class_frequencies, label_stats, training_batches
from pipeline.model.keras_model import build_for_fit, build_linear_model, build_model, input_sizes
from pipeline.model.signatures import signatures
from pipeline.spec import DatasetSpec


def early_stopping(spec: DatasetSpec) -> keras.callbacks.EarlyStopping:
    """Stops when the eval split's score stops improving, and restores the best weights.

    Binary classification watches the AUC. A multi-class model watches its loss, the
    cross-entropy: on a small eval split (penguins: about 70 birds) its accuracy moves in
    steps of one example and often stays flat while the model still improves. A regression
    model watches its loss too.
    """
    by_loss = spec.is_regression or spec.is_multiclass
    return keras.callbacks.EarlyStopping(
        monitor="val_loss" if by_loss else "val_auc",
        mode="min" if by_loss else "max",
        patience=spec.training.early_stopping_patience,
        restore_best_weights=True,
    )


def train_and_export(fn_args: FnArgs) -> None:
    """Trains the wide-and-deep model and its linear baseline, and exports them.

    Early stopping watches the eval split's AUC (binary classification) or loss
    (multi-class classification, regression): see `early_stopping`.

    Args:
        fn_args: From the Trainer (`module_file.run_fn`); `custom_config["dataset"]`
            holds the spec.
    """
    spec = DatasetSpec.from_config(fn_args.custom_config["dataset"])
    training = spec.training
    seed = fn_args.custom_config.get("seed", 42)
    keras.utils.set_random_seed(seed)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)

    read = fn_args.data_accessor, tf_transform_output, spec, seed
    train = training_batches(fn_args.train_files, *read)
    evaluation = training_batches(fn_args.eval_files, *read)
    sizes = input_sizes(spec, tf_transform_output)
    stats = label_stats(train)
    priors = class_frequencies(train, len(spec.label.classes)) if spec.is_multiclass else None
    model = build_model(spec, sizes, stats)
    build_for_fit(model, train)

    # An "epoch" is one stretch of training between evaluations on the eval split.
    steps_per_epoch = min(training.steps_per_evaluation, fn_args.train_steps)
    model.fit(
        train,
        steps_per_epoch=steps_per_epoch,
        epochs=max(1, fn_args.train_steps // steps_per_epoch),
        validation_data=evaluation,
        validation_steps=fn_args.eval_steps,
        callbacks=[
            keras.callbacks.TensorBoard(
                log_dir=fn_args.model_run_dir, update_freq="epoch", profile_batch=0
            ),
            early_stopping(spec),
        ],
        verbose=2,
    )
    # Baselines the report compares the model with: the same steps for the linear one.
    keras.utils.set_random_seed(seed)
    model.linear_baseline = build_linear_model(spec, sizes, stats)
    build_for_fit(model.linear_baseline, train)
    model.linear_baseline.fit(train, steps_per_epoch=fn_args.train_steps, epochs=1, verbose=0)
    model.save(
        fn_args.serving_model_dir,
        save_format="tf",
        signatures=signatures(model, tf_transform_output, spec, stats[0], priors),
        # Every reader (TFMA, serving, the tests) loads the signatures, never the Keras
        # object. Tracing each layer's call functions for Keras's own loader was most of
        # the save: 15.8 s of run_fn's 54 s under cProfile, 3.3 s without.
        save_traces=False,
    )
