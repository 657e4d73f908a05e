# Two commands (see README): `make lab` opens the lessons, `make test` runs the whole suite.
# Both create .venv with pinned dependencies the first time; re-running is quick when nothing changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SITE_VENV  := .venv-site
SITE_STAMP := $(SITE_VENV)/.installed-stamp
GRADING_VENV  := .venv-grading
GRADING_STAMP := $(GRADING_VENV)/.installed-stamp

.PHONY: lab test site deep bench rules-table clean grading lessons exercises

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

# nbgrader (the graded-assignment tests, tests/test_grading.py) lives in its own venv too: its lab, notebook and
# server extensions must not reach the lessons' JupyterLab and Voila. `make test` builds it.
$(GRADING_STAMP): pyproject.toml binder/requirements.txt requirements-grading.txt
	$(PYTHON) -m venv $(GRADING_VENV)
	$(GRADING_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(GRADING_VENV)/bin/python -m pip install --quiet -r binder/requirements.txt -r requirements-grading.txt setuptools==84.2.1
	$(GRADING_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

lab: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab lessons/

test: $(STAMP) $(SITE_STAMP) $(GRADING_STAMP)
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

# The exercises as an nbgrader course, every lesson, into _build/nbgrader (git-ignored): the instructor's steps from
# there are in tiermargin/exercises/grading.py (nbgrader itself: pip install -r requirements-grading.txt).
grading: $(STAMP)
	$(BIN)/python -m tiermargin.exercises.grading _build/nbgrader all

# Re-execute the notebooks on fresh kernels and save them clean (no widget state or run timestamps: an unchanged
# notebook is rewritten byte for byte, a cell edit is a small diff), then regenerate the student notebooks.
# `make lessons`: every lesson, the calculator and the solutions; `make exercises`: the solutions only.
# The recipes (adding an exercise, a venue's tier table, editing a lesson) are in docs/authoring.md.
NOTEBOOKS_RUN := PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m tiermargin.notebooks

lessons: $(STAMP)
	$(NOTEBOOKS_RUN) lessons/[0-9][0-9]_*.ipynb calculator/calculator.ipynb exercises/solutions/[0-9][0-9]_*.ipynb
	$(BIN)/python -m tiermargin.exercises.generate

exercises: $(STAMP)
	$(NOTEBOOKS_RUN) exercises/solutions/[0-9][0-9]_*.ipynb
	$(BIN)/python -m tiermargin.exercises.generate

clean:
	rm -rf $(VENV) $(SITE_VENV) $(GRADING_VENV)
