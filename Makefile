# Two commands do all setup on a fresh machine with Python 3.11:
#   make demo   — create .venv, install, run the main job
#   make test   — create .venv, install, run every check and test
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# The demo runs on the embedded default and installs only that; the tests need every engine.
BASE   := $(VENV)/.installed-base
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck contracts unit install clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BASE): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(BASE)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,spark]'
	touch $(STAMP) $(BASE)

install: $(STAMP)

demo: $(BASE)
	$(BIN)/clearwatch demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench reliability
	$(BIN)/ruff format --check src tests bench reliability
	$(BIN)/vulture

typecheck: $(STAMP)
	$(BIN)/mypy
	# The harnesses drive the services directly: a rename must not leave them broken.
	$(BIN)/mypy reliability

contracts: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck contracts
	$(BIN)/python -m pytest -n 2 -q

clean:
	rm -rf $(VENV) clearwatch-data .pytest_cache .mypy_cache .ruff_cache
