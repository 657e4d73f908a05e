# Two commands (see README): `make lab` opens the lessons, `make test` runs the whole suite.
# Both create .venv with pinned dependencies the first time; re-running is quick when nothing changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SITE_VENV  := .venv-site
SITE_STAMP := $(SITE_VENV)/.installed-stamp

.PHONY: lab test site deep bench rules-table clean

$(STAMP): pyproject.toml binder/requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r binder/requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The course-site tools (Sphinx, MyST-NB, JupyterLite) live in their own venv: JupyterLite's Pyodide-kernel
# lab extension must not reach the lessons' JupyterLab and Voila. `make test` builds and checks the site too.
$(SITE_STAMP): pyproject.toml binder/requirements.txt requirements-site.txt
	$(PYTHON) -m venv $(SITE_VENV)
	$(SITE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SITE_VENV)/bin/python -m pip install --quiet -r binder/requirements.txt -r requirements-site.txt setuptools==84.2.1
	$(SITE_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

lab: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab lessons/

test: $(STAMP) $(SITE_STAMP)
	PATH="$(abspath $(BIN)):$$PATH" MPLBACKEND=Agg $(BIN)/python -m pytest

# Not part of `make test`: every hypothesis property with 20x the examples, once per seed (a seed's run repeats
# exactly). `make -j3 --output-sync deep` runs the seeds in parallel; `make deep SEEDS=7` reruns one seed.
SEEDS ?= 1 2 3

deep: $(addprefix deep-seed-,$(SEEDS))

deep-seed-%: $(STAMP)
	TIERMARGIN_HYPOTHESIS=deep MPLBACKEND=Agg $(BIN)/python -m pytest tests -m hypothesis -q \
		--hypothesis-seed=$* || { echo "make deep: a property failed with seed $*"; exit 1; }

# The course website and its JupyterLite build, offline, into _build/site (git-ignored); open _build/site/index.html.
site: $(SITE_STAMP)
	PATH="$(abspath $(SITE_VENV))/bin:$$PATH" $(SITE_VENV)/bin/python book/build.py --out _build/site

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/explorer_latency.py

# docs/venue_rules.md is generated from the presets and their citations (a test checks it is current).
rules-table: $(STAMP)
	$(BIN)/python -m tiermargin.rules_table > docs/venue_rules.md

clean:
	rm -rf $(VENV) $(SITE_VENV)
