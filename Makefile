# Two commands do everything: `make run` (the pipeline on the bundled census data) and
# `make test`. Each first creates .venv from requirements.lock when it is missing or stale.

PYTHON_VERSION := $(shell cat .python-version)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test lint format benchmark lock clean browser

$(STAMP): requirements.lock setup.py .python-version
	@base="$$(pyenv prefix $(PYTHON_VERSION) 2>/dev/null)/bin/python"; \
	[ -x "$$base" ] || base="$$(command -v python3.10 || true)"; \
	[ -n "$$base" ] || { echo "error: Python $(PYTHON_VERSION) not found: install it with 'pyenv install $(PYTHON_VERSION)' (TFX 1.16 needs Python 3.10)" >&2; exit 1; }; \
	[ -x $(PY) ] || "$$base" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip sync --quiet --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

run: $(STAMP)  ## the whole pipeline on data/census; pass options with ARGS="--train-steps 200"
	$(PY) -m pipeline run $(ARGS)

test: $(STAMP) browser  ## the test suite: unit, data, model and end-to-end tiers
	$(PY) -m pytest $(ARGS)

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

benchmark: $(STAMP)  ## cold, baseline-present and cached runs on the full census data
	$(PY) benchmarks/pipeline_benchmark.py $(ARGS)

lock: $(STAMP)  ## recompile requirements.lock from requirements.in
	$(VENV)/bin/uv pip compile --python $(PY) -o requirements.lock requirements.in

clean:
	rm -rf outputs .pytest_cache
