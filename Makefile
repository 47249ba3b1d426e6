# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit venv clean reliability screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m evroam.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench reliability
	$(BIN)/ruff format --check src tests bench reliability
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest --durations=20

test: lint typecheck unit

# The dashboard's browser test, writing its screenshots to docs/img/dashboard/ (needs the system's chromium).
screenshots: $(STAMP)
	EVROAM_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/integration/test_dashboard_browser.py -q

# The reliability and security suite (long; writes docs/reliability.md). `make test` runs a smoke of each part.
reliability: $(STAMP)
	$(BIN)/python -m reliability

# The interoperability tests against extrawest-ocpi (its own virtualenv, built on first use).
.PHONY: interop
interop: $(STAMP)
	$(BIN)/python -m pytest tests/interop

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
