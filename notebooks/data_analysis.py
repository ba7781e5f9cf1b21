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
# # Data analysis of a pipeline run
#
# What the pipeline saw in its data in one run: the statistics StatisticsGen
# computed for each split, the schema Transform and the Trainer used, and the
# anomalies ExampleValidator found when it checked each split against that schema.
#
# Section 3 shows TFDV's own interactive views. They need a trusted notebook with
# JavaScript; sections 4 to 7 show the same numbers as static tables and plots, which
# render anywhere (GitHub, nbconvert HTML, a terminal).
#
# Choose the run with environment variables before starting Jupyter (or nbclient):
#
# | variable | default | meaning |
# |---|---|---|
# | `PIPELINE_METADATA` | `outputs/census/metadata.sqlite` | ML Metadata store of a local run; relative paths are from the repo root |
# | `PIPELINE_NAME` | `census_pipeline` | the pipeline's name in that store |
# | `PIPELINE_RUN_ID` | the latest run | a run id, to look at an older run |
#
# This notebook is paired with `data_analysis.py` (jupytext): edit either in Jupyter, or
# edit the `.py` and run `make notebooks`. Commit both, without outputs.

# %%
import os
import warnings

# Before TensorFlow: importing `pipeline` makes TensorFlow use Keras 2, as TFMA needs.
# ROOT: the checkout the project is installed from (editable), where outputs/ and data/ are.
from pipeline.project import ROOT

# TensorFlow's start-up logs and Google clients' Python-version notices are noise here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message="You are using a non-supported Python version")

METADATA = ROOT / os.environ.get("PIPELINE_METADATA", "outputs/census/metadata.sqlite")
PIPELINE_NAME = os.environ.get("PIPELINE_NAME", "census_pipeline")
RUN_ID = os.environ.get("PIPELINE_RUN_ID") or None
print(f"store: {METADATA}\npipeline: {PIPELINE_NAME}\nrun: {RUN_ID or 'latest'}")

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd
import tensorflow_data_validation as tfdv
from IPython.display import Markdown, display

from pipeline.reports import data_tables
from pipeline.reports.artifacts import Artifact, find_run

pd.set_option("display.max_columns", None)
pd.set_option("display.max_colwidth", 200)
# Fixed decimals: pandas would otherwise switch whole columns to scientific notation.
pd.set_option("display.float_format", "{:,.3f}".format)

# %% [markdown]
# ## 1. The run
#
# The ML Metadata store records every execution of the pipeline with the artifacts
# it read and wrote; `find_run` gathers those of one run. A component that was cached
# in this run counts with the outputs it re-used, so every artifact below is the one
# the run's model was built from, whichever run first wrote it.

# %%
run = find_run(METADATA, PIPELINE_NAME, RUN_ID)
artifacts = {
    "statistics (train, eval)": run.statistics,
    "statistics (test)": run.test_statistics,
    "schema": run.schema,
    "anomalies (train, eval)": run.anomalies,
    "anomalies (test)": run.test_anomalies,
}
display(Markdown(f"Run `{run.run_id}` of `{run.pipeline_name}`"))
display(
    pd.DataFrame(
        [
            (name, a.type if a else "", a.uri if a else "not in this run")
            for name, a in artifacts.items()
        ],
        columns=["artifact", "type", "uri"],
    )
)

# %% [markdown]
# ## 2. Splits
#
# StatisticsGen and ExampleValidator write one folder per split (`Split-train`,
# `Split-eval`); the test file has its own pair of components, whose split is `test`.
# Each split is mapped here to the artifact that holds it, the training split first:
# it is the reference the other splits are compared with below.


# %%
def splits_of(*artifacts: Artifact | None) -> dict[str, str]:
    """Split name -> URI of the first artifact that has it; the training split first."""
    found = {}
    for artifact in artifacts:
        for split in data_tables.available_splits(artifact.uri) if artifact else []:
            found.setdefault(split, artifact.uri)
    return dict(sorted(found.items(), key=lambda item: (item[0] != "train", item[0])))


statistics = splits_of(run.statistics, run.test_statistics)
anomalies = splits_of(run.anomalies, run.test_anomalies)
base = next(iter(statistics), None)
print("statistics:", ", ".join(statistics) or "none")
print("anomalies: ", ", ".join(anomalies) or "none")

# %% [markdown]
# ## 3. TFDV views (interactive)
#
# **Statistics.** Facets Overview of the training split against each other split:
# look for features whose distribution, missing rate or top values differ between
# splits. Sort by "distribution distance" to see the most shifted features first.

# %%
if base is None:
    print("no statistics in this run")
elif len(statistics) == 1:
    tfdv.visualize_statistics(
        data_tables.load_statistics_list(statistics[base], base), lhs_name=base
    )
for split, uri in statistics.items():
    if split != base:
        display(Markdown(f"#### {base} vs {split}"))
        tfdv.visualize_statistics(
            lhs_statistics=data_tables.load_statistics_list(statistics[base], base),
            rhs_statistics=data_tables.load_statistics_list(uri, split),
            lhs_name=base,
            rhs_name=split,
        )

# %% [markdown]
# **Schema.** What the data is expected to look like: each feature's type, whether
# it must be present, and the values a categorical feature may take (its domain).
# This is the schema the DataGate validated and Transform and the Trainer used.

# %%
if run.schema is None:
    print("no schema in this run")
else:
    tfdv.display_schema(data_tables.load_schema(run.schema.uri))

# %% [markdown]
# **Anomalies.** Where a split breaks the schema: unexpected values, missing or new
# columns, wrong types. Section 5 shows the same as plain tables.

# %%
for split, uri in anomalies.items():
    display(Markdown(f"#### {split}"))
    tfdv.display_anomalies(data_tables.load_anomalies(uri, split))

# %% [markdown]
# ## 4. Feature statistics
#
# One table of numeric and one of categorical features per split. `count` is the
# number of examples that have the feature and `missing` the number that do not;
# `median` is TFDV's approximate quantile; `zeros_fraction` is the share of values
# that are 0; `top_frequency` is how many examples have the most frequent value.

# %%
features = {
    split: data_tables.feature_statistics_frame(uri, split) for split, uri in statistics.items()
}
for split, frame in features.items():
    examples = data_tables.load_statistics(statistics[split], split).num_examples
    display(Markdown(f"### {split}: {examples:,} examples, {len(frame)} features"))
    table = frame.set_index("feature")
    numeric = table["mean"].notna()
    # Each table without the columns that only apply to the other kind of feature.
    display(table[numeric].dropna(axis="columns", how="all"))
    display(table[~numeric].dropna(axis="columns", how="all"))

# %% [markdown]
# ## 5. Anomalies
#
# One row per feature ExampleValidator flagged in each split, with TFDV's explanation.

# %%
if not anomalies:
    print("no ExampleValidator output in this run")
for split, uri in anomalies.items():
    frame = data_tables.anomalies_frame(uri, split)
    display(Markdown(f"### {split}"))
    if frame.empty:
        print("no anomalies")
    else:
        display(frame.set_index("feature"))

# %% [markdown]
# ## 6. Distributions of numeric features
#
# Each panel overlays a feature's histogram in every split, as the share of the
# split's values in each bucket, so that splits of different sizes compare. The
# buckets are TFDV's equal-width ones, computed per split: their edges can differ a
# little between splits.

# %%
histograms = {
    split: data_tables.numeric_histograms(uri, split) for split, uri in statistics.items()
}
names = sorted({name for by_feature in histograms.values() for name in by_feature})
if not names:
    print("no numeric features")
else:
    columns = 3
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for split, by_feature in histograms.items():
            buckets = by_feature.get(name, [])
            total = sum(count for _, _, count in buckets) or 1
            ax.bar(
                [low for low, _, _ in buckets],
                [count / total for _, _, count in buckets],
                # A constant feature's buckets have no width: draw them anyway.
                width=[(high - low) or 1 for low, high, _ in buckets],
                align="edge",
                alpha=0.5,
                label=split,
            )
        ax.set_title(name)
        ax.set_ylabel("share of values")
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    axes.flat[0].legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 7. Top values of categorical features
#
# Each panel shows the training split's most frequent values of a feature and the
# share of each split's examples that have them. A value that is rare in one split
# but common in another is a sign of drift (or of a split that is not random).
# TFDV keeps each split's 20 most frequent values: a value beyond them shows as 0.

# %%
TOP = 10
tops = {split: data_tables.top_values(uri, split, k=20) for split, uri in statistics.items()}
counts = {split: frame.set_index("feature")["count"] for split, frame in features.items()}


def shares(split: str, name: str, values: list[str]) -> list[float]:
    """Share of the split's examples with the feature that have each of `values`."""
    frequency = dict(tops[split].get(name, []))
    total = counts[split].get(name, 0) or 1
    return [frequency.get(value, 0) / total for value in values]


names = sorted(tops.get(base, {}))
if not names:
    print("no categorical features")
else:
    columns = 2
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(7 * columns, 3.5 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        values = [value for value, _ in tops[base][name][:TOP]]
        share = pd.DataFrame({split: shares(split, name, values) for split in tops}, index=values)
        share.plot.barh(ax=ax, legend=False)
        ax.invert_yaxis()
        ax.set_title(name)
        ax.set_xlabel("share of examples")
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    axes.flat[0].legend()
    fig.tight_layout()
    plt.show()
