"""Issue 18 #7: the instructor guide (docs/instructor_guide.md) says what the repository does.

* its per-lesson table agrees with ``book/syllabus.json`` (time, prerequisites, explorer) and with the
  exercise modules (how many exercises each lesson has), and its totals add up;
* every ``make <target>`` it names is a target of the Makefile, every ``python -m <module>`` runs
  ``--help``, and every repository path it names exists;
* every relative link resolves: the file exists and its ``#anchor`` is a heading of it (a notebook's
  headings for a lesson);
* each nbgitpuller link's ``urlpath`` opens ``lab/tree/<repository name>/<a notebook of the repository>``.

Each check is a function of the text, and a test applies it to a bad string to show that it fails.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import nbformat
import pytest
from test_formulas_doc import anchors

from tiermargin.exercises.key import exercise_set, lessons

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "instructor_guide.md"
HEADER = ["lesson", "time to allow", "before it", "the explorer shows", "exercises"]
SUFFIXES = (".md", ".py", ".json", ".txt", ".ipynb", ".toml", ".cfg", ".yml", ".csv")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")


def unfenced(markdown: str) -> str:
    """The text outside fenced code blocks."""
    return re.sub(r"^ *```.*?^ *```", "", markdown, flags=re.M | re.S)


def fenced(markdown: str) -> list[str]:
    """The contents of the fenced code blocks."""
    return re.findall(r"^ *```[^\n]*\n(.*?)^ *```", markdown, flags=re.M | re.S)


def code(markdown: str) -> list[str]:
    """Inline code spans and fenced blocks: where the guide writes commands and paths."""
    return re.findall(r"`([^`\n]+)`", unfenced(markdown)) + fenced(markdown)


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))


def make_targets(markdown: str) -> set[str]:
    """Every target of a ``make [options] target`` the text writes as code."""
    return {t for c in code(markdown) for t in re.findall(r"\bmake (?:-\S+ +)*([A-Za-z][\w-]*)", c)}


def modules(markdown: str) -> set[str]:
    """Every module of a ``python -m module`` the text writes as code."""
    return {m for c in code(markdown) for m in re.findall(r"\bpython3? -m ([\w.]+)", c)}


def _ignored(name: str) -> bool:
    """A top-level name the repository ignores (a generated folder: ``_build``, the venvs)."""
    patterns = [line.strip().rstrip("/") for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def repository_paths(markdown: str) -> set[str]:
    """What the text writes as a repository path: a whole code span such as ``binder/requirements.txt``,
    ``lessons/`` or ``Makefile``, or a word with a ``/`` in a code block, outside generated folders. A
    JupyterLab path into a clone (``lab/tree/<clone>/lessons/...``) names the path after the clone; a
    ``COURSE_DIR/...`` path is in an nbgrader course the grading command writes, not checked."""
    path = re.compile(r"[\w.-]+(?:/[\w.*-]+)*/?")
    spans = [c for c in re.findall(r"`([^`\n]+)`", unfenced(markdown)) if path.fullmatch(c)]
    words = [w for block in fenced(markdown) for w in block.split() if "/" in w and path.fullmatch(w)]
    named = {re.sub(r"^lab/tree/[\w.-]+/", "", p) for p in spans + words}
    return {p for p in named
            if ("/" in p or p.endswith(SUFFIXES) or p == "Makefile") and not _ignored(p.split("/")[0])
            and p.split("/")[0] != "COURSE_DIR"}  # the instructor's nbgrader course, not the repository


def missing_paths(markdown: str, root: Path = ROOT) -> list[str]:
    return sorted(p for p in repository_paths(markdown) if not any(root.glob(p.rstrip("/"))))


def headings(path: Path) -> set[str]:
    """The anchors of a Markdown file's or a notebook's headings (GitHub's slugs)."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return anchors("\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))
    return anchors(path.read_text(encoding="utf-8"))


def broken_links(markdown: str, page: Path) -> list[str]:
    """Relative links of ``markdown`` (a page at ``page``) whose file or ``#anchor`` does not exist."""
    broken = []
    for target in LINK.findall(unfenced(markdown)):
        if urllib.parse.urlsplit(target).scheme:
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.is_file() and anchor not in (headings(path) if file else anchors(markdown)):
            broken.append(f"{target}: no heading #{anchor}")
    return broken


def gitpull_links(markdown: str) -> list[str]:
    """The worked-example links (a template such as ``https://<your-hub>/...`` is not one)."""
    return re.findall(r"https?://[^\s)`<]+/hub/user-redirect/git-pull\?[^\s)`<]+", markdown)


def gitpull_problems(link: str, root: Path = ROOT) -> list[str]:
    """What is wrong with an nbgitpuller link: no repo, or a ``urlpath`` that does not open
    ``lab/tree/<the repository's folder>/<a notebook of this repository>``."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    if len(query.get("repo", [])) != 1 or len(query.get("urlpath", [])) != 1:
        return [f"{link}: needs one repo and one urlpath"]
    folder = query["repo"][0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    urlpath = query["urlpath"][0]
    prefix = f"lab/tree/{folder}/"
    if not urlpath.startswith(prefix):
        return [f"{link}: urlpath {urlpath!r} must start with {prefix!r} (nbgitpuller clones into {folder}/)"]
    notebook = urlpath.removeprefix(prefix)
    if not notebook.endswith(".ipynb") or not (root / notebook).is_file():
        return [f"{link}: urlpath names {notebook!r}, no notebook of the repository"]
    return []


def lesson_table(markdown: str) -> list[list[str]]:
    """The rows (cells) of the table whose header is :data:`HEADER`."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if [c.strip() for c in line.strip("|").split("|")] == HEADER)
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def _minutes(text: str) -> int:
    m = re.fullmatch(r"(?:(\d+) h)? ?(?:(\d+) min)?", text.strip())
    if not m or not any(m.groups()):
        raise ValueError(f"not a time such as '45 min' or '7 h 45 min': {text!r}")
    return 60 * int(m.group(1) or 0) + int(m.group(2) or 0)


def table_problems(markdown: str) -> list[str]:
    """Where the guide's lesson table differs from book/syllabus.json and the exercise modules."""
    syllabus = json.loads((ROOT / "book" / "syllabus.json").read_text(encoding="utf-8"))["lessons"]
    *rows, total = lesson_table(markdown)
    problems, seen, minutes, count = [], [], 0, 0
    for lesson, time, before, explorer, exercises in rows:
        stem = re.fullmatch(r"\[[^\]]+\]\(\.\./lessons/(\w+)\.ipynb\)", lesson)
        if not stem or stem.group(1) not in syllabus:
            problems.append(f"{lesson}: not a link to a lesson of book/syllabus.json")
            continue
        stem = stem.group(1)
        seen.append(stem)
        meta = syllabus[stem]
        for column, got, want in (("time", time, meta["time"]), ("before it", before, meta["prerequisites"]),
                                  ("explorer", explorer, meta["explorer"])):
            if got != want:
                problems.append(f"{stem} {column}: {got!r}, syllabus.json says {want!r}")
        n = len(exercise_set(stem[:2]).exercises)
        if exercises != f"[{n}](../exercises/{stem}.ipynb)":
            problems.append(f"{stem} exercises: {exercises!r}, the module has {n} (linked to ../exercises/{stem}.ipynb)")
        minutes += _minutes(meta["time"])
        count += n
    if seen != sorted(syllabus) or [s[:2] for s in seen] != lessons():
        problems.append(f"lessons {seen}: the table needs every lesson once, in order: {sorted(syllabus)}")
    if _minutes(total[1]) != minutes or total[4] != str(count):
        problems.append(f"total row {total}: the lessons add up to {minutes} min and {count} exercises")
    return problems


TEXT = GUIDE.read_text(encoding="utf-8")


def test_the_lesson_table_agrees_with_the_syllabus_and_the_exercise_modules():
    assert len(lesson_table(TEXT)) == len(lessons()) + 1  # one row a lesson, and the total
    assert not table_problems(TEXT)


def test_the_table_check_finds_a_wrong_time_a_wrong_count_and_a_missing_lesson():
    bad = TEXT.replace("| 45 min |", "| 50 min |").replace("[7](../exercises/02_", "[8](../exercises/02_")
    bad = re.sub(r"^\| \[03 .*\n", "", bad, flags=re.M)
    problems = "\n".join(table_problems(bad))
    assert "01_mark_price time" in problems and "02_isolated_margin exercises" in problems
    assert "the table needs every lesson once" in problems and "total row" in problems


def test_every_make_target_is_in_the_makefile():
    named = make_targets(TEXT)
    assert {"lab", "test", "site", "rules-table"} <= named
    assert not named - makefile_targets(), sorted(named - makefile_targets())


@pytest.mark.parametrize("module", sorted(modules(TEXT)))
def test_every_python_m_module_runs_help(module):
    done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 0 and "usage" in done.stdout.lower(), (module, done.stderr[-2000:])


def test_the_guide_names_the_instructor_commands():
    assert {"tiermargin.doctor", "tiermargin.exercises.key", "tiermargin.exercises.generate"} <= modules(TEXT)


def test_every_repository_path_exists():
    named = repository_paths(TEXT)
    assert {"binder/requirements.txt", "book/syllabus.json", "tiermargin/data/tier_tables.json",
            "exercises/solutions/"} <= named
    assert not missing_paths(TEXT)


def test_every_relative_link_resolves_to_a_file_and_a_heading():
    assert len(LINK.findall(unfenced(TEXT))) > 30
    assert not broken_links(TEXT, GUIDE)


def test_the_nbgitpuller_links_open_a_notebook_of_the_repository():
    links = gitpull_links(TEXT)
    assert len(links) >= 1
    assert not [p for link in links for p in gitpull_problems(link)]


def test_the_checks_fail_on_bad_text():
    """Each check, applied to a string with one mistake of its kind, reports it."""
    assert make_targets("run `make -j3 nonesuch`") - makefile_targets() == {"nonesuch"}
    assert modules("```sh\npython -m tiermargin.nonesuch --help\n```\n") == {"tiermargin.nonesuch"}
    assert missing_paths("see `binder/nonesuch.txt`, `lessons/`, `_build/site/index.html` and "
                         "`lab/tree/clone/lessons/01_nonesuch.ipynb`") == ["binder/nonesuch.txt", "lessons/01_nonesuch.ipynb"]
    page = GUIDE
    assert broken_links("[a](formulas.md#liquidation-price) [b](formulas.md#nonesuch) [c](nonesuch.md) "
                        "[d](../lessons/07_cascades.ipynb#17-what-the-model-leaves-out) "
                        "[e](../lessons/07_cascades.ipynb#99-nonesuch) [f](#here)\n## Here\n", page) == [
        "formulas.md#nonesuch: no heading #nonesuch", "nonesuch.md: no such file",
        "../lessons/07_cascades.ipynb#99-nonesuch: no heading #99-nonesuch"]
    base = "https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fo%2Fcourse&urlpath="
    assert gitpull_problems(base + "lab%2Ftree%2Fcourse%2Flessons%2F01_mark_price.ipynb") == []
    assert "must start with 'lab/tree/course/'" in gitpull_problems(base + "lab%2Ftree%2Flessons%2F01_mark_price.ipynb")[0]
    assert "no notebook" in gitpull_problems(base + "lab%2Ftree%2Fcourse%2Flessons%2F01_nonesuch.ipynb")[0]


def test_the_readme_links_to_the_guide_and_keeps_its_two_command_quickstart():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For instructors", 1)[1].split("\n## ", 1)[0]
    assert "(docs/instructor_guide.md)" in section and len(section) < 1200
    quickstart = fenced(readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0])
    assert [line.split("#")[0].strip() for line in quickstart[0].splitlines()] == ["make lab", "make test"]
