"""The authoring recipes (docs/authoring.md) name only what exists: every repository path, every ``make``
target (a rule of the Makefile), every ``python -m`` module, every relative link (file and heading).

The Markdown is read with the instructor guide's checks (``tests/test_instructor_guide.py``), which are
themselves tested there on bad text."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from test_instructor_guide import broken_links, make_targets, makefile_targets, missing_paths, modules, repository_paths

DOC = Path(__file__).resolve().parents[1] / "docs" / "authoring.md"
TEXT = DOC.read_text(encoding="utf-8")


def test_every_repository_path_exists():
    named = repository_paths(TEXT)
    # the files each recipe touches are among those parsed (the parser sees the doc's paths)
    assert {"tiermargin/exercises/lesson02.py", "exercises/solutions/02_isolated_margin.ipynb",
            "tests/test_exercises_common.py", "exercises/README.md", "tiermargin/data/tier_tables.json",
            "tiermargin/rules.py", "docs/venue_rules.md"} <= named
    assert not missing_paths(TEXT)


def test_every_make_target_is_a_rule_of_the_makefile():
    named = make_targets(TEXT)
    assert {"lessons", "exercises", "rules-table", "lab", "site"} <= named
    assert not named - makefile_targets(), sorted(named - makefile_targets())


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package that does not exist
        return False


@pytest.mark.parametrize("module", sorted(modules(TEXT)))
def test_every_python_m_module_exists(module):
    assert _importable(module), module


def test_the_modules_named_are_the_recipes_commands_and_a_missing_one_is_found():
    assert {"tiermargin.notebooks", "tiermargin.exercises.generate", "pytest"} <= modules(TEXT)
    assert not _importable("tiermargin.nonesuch") and not _importable("nonesuch.module")


def test_every_relative_link_resolves():
    assert "](instructor_guide.md)" in TEXT and "](../lessons/" in TEXT
    assert not broken_links(TEXT, DOC)
