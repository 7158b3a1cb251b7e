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

# The demo, then its data served on 127.0.0.1:8000 with one printed login per role (Ctrl-C stops).
.PHONY: demo-serve screens
demo-serve: $(BASE)
	$(BIN)/clearwatch demo --serve

# The main page of each role in Debian's chromium, saved as PNG into docs/screens/.
screens: $(STAMP)
	CLEARWATCH_SCREENS_DIR=docs/screens $(BIN)/python -m pytest tests/web/test_web_screens.py -q -n 0 -p no:cacheprovider

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

# The CLI tests start `clearwatch` in a subprocess many hundreds of times: src/ compiled once
# here, each start skips compiling it (about 0.15 s of CPU), also where the machine sets
# PYTHONDONTWRITEBYTECODE (as CI's does). A stale file is recompiled by Python, as ever.
test: lint typecheck contracts
	$(BIN)/python -m compileall -q src
	$(BIN)/python -m pytest -n 2 -q

clean:
	rm -rf $(VENV) clearwatch-data .pytest_cache .mypy_cache .ruff_cache
