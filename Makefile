# Two commands do everything: `make run` (the pipeline on the bundled census data) and
# `make test`. Each first creates .venv from requirements.lock when it is missing or stale.

PYTHON_VERSION := $(shell cat .python-version)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NBEXTENSIONS := $(VENV)/.nbextensions
ARGS ?=

.PHONY: run test test-fast lint format spec-docs notebooks notebook notebook-extensions benchmark \
	benchmarks lock clean browser mlflow-ui

# Bytecode is compiled at install: Python never writes it where PYTHONDONTWRITEBYTECODE is
# set (as on these machines), and compiling ~4,000 modules from source would otherwise be
# paid again at every process's start-up (each CLI command, each Beam worker).
$(STAMP): requirements.lock setup.py .python-version Makefile
	@base="$$(pyenv prefix $(PYTHON_VERSION) 2>/dev/null)/bin/python"; \
	[ -x "$$base" ] || base="$$(command -v python3.10 || true)"; \
	[ -n "$$base" ] || { echo "error: Python $(PYTHON_VERSION) not found: install it with 'pyenv install $(PYTHON_VERSION)' (TFX 1.16 needs Python 3.10)" >&2; exit 1; }; \
	[ -x $(PY) ] || "$$base" -m venv $(VENV)
	@# -qq: errors only (a machine's pip config may name package indexes that do not exist here)
	$(PY) -m pip install -qq --disable-pip-version-check uv
	$(VENV)/bin/uv pip sync --quiet --compile-bytecode --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

run: $(STAMP)  ## the whole pipeline on data/census; pass options with ARGS="--train-steps 200"
	$(PY) -m pipeline run $(ARGS)

mlflow-ui: $(STAMP)  ## MLflow's UI on the local run history (outputs/<set>/mlflow.db)
	$(PY) -m pipeline ui $(ARGS)

test: $(STAMP) browser $(NBEXTENSIONS)  ## the test suite: unit, data, model and end-to-end tiers
	$(PY) -m pytest $(ARGS)

test-fast: $(STAMP)  ## unit, data and model tiers: the inner loop (no pipeline runs)
	$(PY) -m pytest -m "not e2e" $(ARGS)

# The HTML report is tested in a real headless browser: Debian's chromium.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium (the report tests open the HTML report in it)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	}

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The spec's JSON Schema (pipeline/spec/dataset.schema.json, for editors) and its reference
# (docs/spec-reference.md), from the models in pipeline/spec/schema.py; a test fails when
# either is stale.
spec-docs: $(STAMP)
	$(PY) -m pipeline.spec.reference

# Each notebook's source is notebooks/<name>.py (jupytext's percent format: reviewed, diffed
# and linted as code); the paired .ipynb is generated from it and committed without outputs
# (tests/unit/test_notebooks.py checks both). First the .ipynb loses all that a run or a
# save in Jupyter added (outputs, timings, widget state, all metadata); then jupytext writes
# it from the .py, keeping its cell ids (new cells get random ones), so that only the cells
# that changed change.
notebooks: $(STAMP)
	$(VENV)/bin/jupyter nbconvert --log-level WARN --inplace --clear-output \
	  --ClearMetadataPreprocessor.enabled=True \
	  --ClearMetadataPreprocessor.preserve_nb_metadata_mask='[]' $(wildcard notebooks/*.ipynb)
	$(VENV)/bin/jupytext --to ipynb --update $(wildcard notebooks/*.py)

# TFMA's notebook views are a classic-notebook extension (JupyterLab 4 and Notebook 7 cannot
# load those), so the model notebook is served by nbclassic. The wheels install the files:
# TFMA's under share/jupyter/nbextensions/ (not enabled), widgetsnbextension's (enabled by
# its wheel). Enabling is configuration, which the lock cannot carry: this step enables
# TFMA's and installs and enables notebooks/nbextensions/tfma_amd_shim (its header says why).
# The require paths are named rather than `--py tensorflow_model_analysis`, which imports TF.
$(NBEXTENSIONS): $(STAMP) notebooks/nbextensions/tfma_amd_shim/main.js
	@jupyter=$(VENV)/bin/jupyter; \
	for step in "enable --sys-prefix tensorflow_model_analysis/extension" \
	            "install --sys-prefix --overwrite notebooks/nbextensions/tfma_amd_shim" \
	            "enable --sys-prefix tfma_amd_shim/main"; do \
	  out="$$($$jupyter nbclassic-extension $$step 2>&1)" || { echo "$$out" >&2; exit 1; }; \
	done
	@echo "Classic notebook extensions enabled: tensorflow_model_analysis, tfma_amd_shim"
	@touch $(NBEXTENSIONS)

notebook-extensions: $(NBEXTENSIONS)

# The model notebook on the latest run (ARGS="--data data/compas", "--run-id ID"), served
# on 127.0.0.1: it prints the URL with its token.
notebook: $(NBEXTENSIONS)
	$(PY) -m pipeline notebook $(ARGS)

benchmark: $(STAMP)  ## cold, steady-state and unchanged runs on the full census data
	$(PY) -m benchmarks.pipeline_benchmark $(ARGS)

# Every benchmark, one after the other (about an hour on 2 cores; not the 100x scale, which
# takes hours: run python -m benchmarks.scale_benchmark --factors 100 for it). Each table goes to
# benchmarks/results/<name>.txt; benchmarks/README.md cites them.
BENCH_OUT := build/benchmarks
benchmarks: $(STAMP)
	@mkdir -p benchmarks/results $(BENCH_OUT)
	$(PY) -m benchmarks.pipeline_benchmark | tee benchmarks/results/pipeline.txt
	$(PY) -m benchmarks.taxi_comparison | tee benchmarks/results/taxi.txt
	$(PY) -m benchmarks.taxi_comparison --example-in-memory | tee -a benchmarks/results/taxi.txt
	$(PY) -m pipeline run --output-dir $(BENCH_OUT) > $(BENCH_OUT)/run.log
	$(PY) -m benchmarks.serving_benchmark --model $(BENCH_OUT)/census/serving_model | tee benchmarks/results/serving.txt
	$(PY) -m benchmarks.evaluator_profile --output-dir $(BENCH_OUT) | tee benchmarks/results/evaluator.txt
	$(PY) -m benchmarks.example_gen_benchmark | tee benchmarks/results/example_gen.txt
	$(PY) -m benchmarks.scale_benchmark --factors 1 10 --modes in_memory | tee benchmarks/results/scale.txt
	$(PY) -m pipeline run --data data/penguins --output-dir $(BENCH_OUT) > $(BENCH_OUT)/penguins.log
	$(PY) -m benchmarks.multiclass_evaluator --data data/penguins --output-dir $(BENCH_OUT) --repeats 3 | tee benchmarks/results/multiclass_evaluator.txt

# requirements.lock: everything (tests, lint, notebooks). requirements-runtime.lock: what the
# pipeline's image needs, compiled against the main lock so that its versions are the same.
lock: $(STAMP)  ## recompile both locks from their .in files
	$(VENV)/bin/uv pip compile --python $(PY) -o requirements.lock requirements.in
	$(VENV)/bin/uv pip compile --python $(PY) --constraint requirements.lock \
	  -o requirements-runtime.lock requirements-runtime.in

clean:
	rm -rf outputs .pytest_cache
