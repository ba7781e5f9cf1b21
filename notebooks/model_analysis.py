# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Model analysis of a pipeline run
#
# How the run's model did on the test split, as TFMA measured it in the Evaluator:
# the blessing decision, metrics per slice and per feature cross, the Fairness
# Indicators rates per group with their gap to the overall rate, ROC / PR /
# calibration curves and the confusion matrix (for a multi-class model: the confusion
# matrix and each class's metrics, per slice), the candidate against the baseline and
# the simple baselines, and the ablation.
#
# Section 2 shows TFMA's own interactive views, and section 4 a Fairness Indicators view.
# They are widgets of the classic notebook: open this notebook with `make notebook`
# (nbclassic, on the latest run). JupyterLab 4 and Notebook 7 cannot load TFMA's views.
# The other sections are static tables and plots (the ones the HTML report holds), which
# render anywhere.
#
# Choose the run with environment variables before starting Jupyter (or nbclient):
#
# | variable | default | meaning |
# |---|---|---|
# | `PIPELINE_METADATA` | `outputs/census/metadata.sqlite` | ML Metadata store of a local run; relative paths are from the repo root |
# | `PIPELINE_NAME` | `census_pipeline` | the pipeline's name in that store |
# | `PIPELINE_RUN_ID` | the latest run | a run id, to look at an older run |
# | `PIPELINE_SPEC` | `data/census` | the data set spec (readable bucket names, sensitive columns) |
#
# This notebook is paired with `model_analysis.py` (jupytext): edit either in Jupyter, or
# edit the `.py` and run `make notebooks`. Commit both, without outputs.

# %%
# Setup first, imports included: TensorFlow takes a while to load, and the widgets of
# sections 2 and 4 then find ipywidgets loaded when they are drawn.
import os
import warnings

# Before TensorFlow: importing `pipeline` makes TensorFlow use Keras 2, as TFMA needs.
# ROOT: the checkout the project is installed from (editable), where outputs/ and data/ are.
from pipeline.project import ROOT

# TensorFlow's start-up logs and Google clients' Python-version notices are noise here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message="You are using a non-supported Python version")

# %matplotlib inline
import pandas as pd
import tensorflow_model_analysis as tfma
from IPython.display import Markdown, display

from pipeline.metrics import catalogue
from pipeline.model.outputs import prediction_key
from pipeline.reports import evaluation_tables as tables
from pipeline.reports.artifacts import baseline_evaluation, find_run
from pipeline.reports.fairness_view import fairness_view
from pipeline.reports.figures import (
    ablation_figure,
    class_confusion_figure,
    curve_figures,
    fairness_figure,
    gain_figure,
    slice_bars_figure,
)
from pipeline.reports.summary import failed_thresholds
from pipeline.spec import load_spec, slice_feature

METADATA = ROOT / os.environ.get("PIPELINE_METADATA", "outputs/census/metadata.sqlite")
PIPELINE_NAME = os.environ.get("PIPELINE_NAME", "census_pipeline")
RUN_ID = os.environ.get("PIPELINE_RUN_ID") or None
SPEC = ROOT / os.environ.get("PIPELINE_SPEC", "data/census")
print(f"store: {METADATA}\npipeline: {PIPELINE_NAME}\nrun: {RUN_ID or 'latest'}\nspec: {SPEC}")

spec = load_spec(SPEC)
pd.set_option("display.max_columns", None)
pd.set_option("display.float_format", "{:,.4f}".format)

# %% [markdown]
# ## 1. The run and its decision
#
# The Evaluator blesses the model only if every threshold of the spec holds; the
# Pusher pushes only a blessed model. The baseline is the latest model blessed
# before this run, found by the LatestBlessedModelResolver.

# %%
run = find_run(METADATA, PIPELINE_NAME, RUN_ID)
if run.evaluation is None:
    raise SystemExit(f"run {run.run_id} has no evaluation: the pipeline stopped earlier")
verdict = {True: "BLESSED", False: "NOT blessed", None: "no blessing"}[run.blessed]
display(Markdown(f"Run `{run.run_id}`: **{verdict}**, pushed to `{run.pushed_to}`"))
baseline = run.baseline_model.uri if run.baseline_model else "none (first blessed model)"
display(Markdown(f"Model `{run.model.uri}`; baseline `{baseline}`"))
for line in failed_thresholds(run.evaluation.uri, spec) if run.blessed is False else []:
    print("failed:", line)
frame = tables.metrics_frame(run.evaluation.uri, spec)

# %% [markdown]
# ## 2. TFMA's views (interactive)
#
# TFMA's slicing view for each sensitive column (pick the metric to show, sort the
# slices, switch to the table) and its plots (calibration, precision-recall, ROC,
# prediction distribution) of the overall slice and of one group. TFMA draws their
# tables and charts with Google Charts, which it loads from www.gstatic.com as a view
# opens: offline, the controls, slice lists and plot headings show but the table and
# chart areas stay empty (sections 3 to 5 show the same numbers as static tables).

# %%
result = tfma.load_eval_result(
    run.evaluation.uri, model_name="candidate" if run.baseline_model else None
)
# The model's own output: the Evaluator also scores the simple baselines' outputs, and
# with several outputs TFMA's slicing view shows an empty table until one is picked.
output = prediction_key(spec.task)
own = result._replace(
    slicing_metrics=[(key, {output: m[output]}) for key, m in result.slicing_metrics if output in m]
)
for column in spec.sensitive_columns or spec.slice_columns[:1]:
    display(Markdown(f"### TFMA slicing view: {column}"))
    display(tfma.view.render_slicing_metrics(own, slicing_column=slice_feature(spec, column)))

# %%
# The slices TFMA drew plots of for the model's output (a regression spec asks for none).
plotted = [key for key, plots in result.plots if output in plots]
if () in plotted:
    display(Markdown("### TFMA plots: Overall"))
    display(tfma.view.render_plot(result, output_name=output))
else:
    print(f"TFMA computed no plots for this {spec.task} model")
# One group of the first sensitive column; any slice of the run works the same way.
for column in spec.sensitive_columns[:1]:
    feature = slice_feature(spec, column)
    key = next((k for k in plotted if len(k) == 1 and k[0][0] == feature), None)
    if key is None:
        continue
    value = key[0][1].decode() if isinstance(key[0][1], bytes) else str(key[0][1])
    display(Markdown(f"### TFMA plots: {tables.slice_label(key, spec)}"))
    group = tfma.SlicingSpec(feature_values={feature: value})
    display(tfma.view.render_plot(result, group, output_name=output))

# %% [markdown]
# ## 3. Metrics per slice and per feature cross
#
# Headline metrics on the test split. Slices with few examples are noisy: the bar
# chart (of the task's key metric: AUC, a multi-class model's accuracy, RMSE) greys out
# those with fewer than 30.

# %%
features = tables.slice_table(frame, kinds=("overall", "feature"))
_, key_title = tables.key_metric(spec)
display(slice_bars_figure(features, key_title))
display(features)

# %%
display(tables.slice_table(frame, kinds=("cross",)))

# %% [markdown]
# ### Ranking: cumulative gain and lift by decile
#
# Examples ranked by score, highest first: the share of all positives found in
# the top 10%, 20%, ... (gain) and that share over the share of examples (lift;
# 1 = random). KS (in the table above) is the largest gap between the score
# distributions of positives and negatives.

# %%
gains = tables.gain_table(frame)
if "gain" in gains:
    display(gain_figure(gains))
    display(gains)
else:
    print(f"no ranking: a {spec.task} model has no positive class to rank")

# %% [markdown]
# ## 4. Fairness indicators
#
# Per group of each sensitive column and at each decision threshold of the spec:
# false positive rate (FPR), false negative rate (FNR), true positive / negative
# rates (TPR, TNR), false discovery and false omission rates (FDR, FOR), and each
# rate's gap to the overall rate at the same threshold (group minus overall). For a
# multi-class model, per class instead of per threshold: each class's rates against
# the other classes, the prediction being the top class.

# %% [markdown]
# The view below is in the spirit of TFMA's Fairness Indicators widget (TFMA 0.47 has
# none, and the `fairness-indicators` package cannot be installed beside TFX 1.16): pick
# a sensitive column, a rate and a threshold to see each group's rate with its bootstrap
# interval, the overall rate as a dashed line, and the gap. When the run has a baseline
# model, its rates (from the evaluation that blessed it) are the hatched bars. Outside the
# classic notebook it shows its first selection as a static chart and table.

# %%
baseline_eval = baseline_evaluation(METADATA, run)
baseline_frame = tables.metrics_frame(baseline_eval.uri, spec) if baseline_eval else None
display(fairness_view(frame, spec, baseline_frame))

# %%
# The fairness gate (spec `fairness.gate`): ok = within the bound, None = group
# too small to be gated. A model with a False here is not blessed.
display(tables.fairness_gaps(frame, spec))

# %%
fairness = tables.fairness_table(frame, spec)
by = "class" if spec.is_multiclass else "threshold"
for column in spec.sensitive_columns:
    rows = fairness[fairness["column"] == column]
    display(Markdown(f"### {column}"))
    display(fairness_figure(rows, column))
    display(rows.drop(columns="column").set_index(["group", by]))

# %% [markdown]
# ## 5. Curves and confusion matrix
#
# A binary model: ROC and precision-recall curves from TFMA's confusion matrices at
# 1,000 thresholds; calibration from its prediction histogram (10 bins); the
# confusion matrix at the 0.5 threshold (overall; the baseline dashed when there is
# one). A multi-class model: TFMA's multi-class confusion matrix (actual class x top
# class) overall and per slice and cross, and each class's precision, recall, F1 and
# one-vs-rest AUC.

# %%
if spec.is_multiclass:
    matrices = tables.class_confusion(run.evaluation.uri, spec)
    model = "candidate" if ("Overall", "candidate") in matrices else ""
    display(class_confusion_figure(matrices[("Overall", model)]))
    display(tables.class_table(frame, spec, "Overall", matrices[("Overall", model)]))
    for (name, of_model), matrix in matrices.items():
        if of_model == model and name != "Overall":
            display(Markdown(f"**{name}**"), matrix)
elif not spec.is_regression:
    figures = curve_figures(tables.plot_data(run.evaluation.uri, spec))
    for name in ("roc", "pr", "calibration", "confusion"):
        display(figures[name])
    display(pd.DataFrame([figures["counts"]]).set_index("threshold"))

# %% [markdown]
# ## 6. Candidate vs. baseline
#
# The same headline metrics for both models on the same test examples, and the
# change. Empty on a pipeline's first blessed model.

# %%
comparison = tables.model_comparison(frame)
if comparison.empty:
    print("no baseline in this run")
display(comparison.set_index(["slice", "metric"]))

# %% [markdown]
# ## 7. Against simple baselines, and the ablation
#
# The model against simple models on the same test examples (linear on the same
# inputs, the majority class, chance; for a regression model linear and the mean),
# on what the task compares models on; 'above best' = the model's margin over the
# best of them. Then the Ablation component's report, when the spec has one: each
# feature group's worth, as the change without it (with a paired interval).

# %%
for metric in catalogue.COMPARED[spec.task]:
    display(Markdown(f"**{metric.title}**"), tables.baseline_table(frame, metric.tfma_name))
if run.ablation is not None:
    ablation = tables.ablation_table(run.ablation.uri)
    display(ablation_figure(ablation), ablation)

# %% [markdown]
# ## 8. Every number TFMA wrote
#
# The long table behind everything above: one row per slice, model, metric, class (a
# multi-class model's) and threshold, with the bootstrap's interval bounds (`lower`, `upper`) when
# `evaluation.bootstrap.replicates` is above 0.
# Filter it with pandas for anything the sections above do not show.

# %%
display(frame[frame["slice"] == "Overall"].head(40))
