# Every target creates (or reuses) the virtualenv in .venv itself.
PY ?= python3
VENV := .venv
export NO_MKDOCS_2_WARNING := 1
BIN := $(VENV)/bin

.PHONY: demo test lint bench docs wheel-check clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/socialfeed demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest
	$(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site

bench: $(VENV)/.installed-dev
	$(BIN)/socialfeed bench --json bench.json

docs: $(VENV)/.installed-dev
	$(BIN)/mkdocs build --strict

# Build the wheel, install it with its extras in a fresh virtualenv, run the demo and quickstart.
wheel-check: | $(BIN)/python
	.ci/wheel-check $(BIN)/python

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache .hypothesis
