# Two commands do all setup on a fresh machine with Python 3.11:
#   make demo   — create .venv, install, run the main job
#   make test   — create .venv, install, run every check and test
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck contracts unit install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/clearwatch demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck contracts
	$(BIN)/python -m pytest -n 2 -q

clean:
	rm -rf $(VENV) clearwatch-data .pytest_cache .mypy_cache .ruff_cache
