# Two commands (see README): `make lab` opens the lessons, `make test` runs the whole suite.
# Both create .venv with pinned dependencies the first time; re-running is quick when nothing changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: lab test bench rules-table clean

$(STAMP): pyproject.toml binder/requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r binder/requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

lab: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab lessons/

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" MPLBACKEND=Agg $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/explorer_latency.py

# docs/venue_rules.md is generated from the presets and their citations (a test checks it is current).
rules-table: $(STAMP)
	$(BIN)/python -m tiermargin.rules_table > docs/venue_rules.md

clean:
	rm -rf $(VENV)
