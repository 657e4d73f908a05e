"""The Binder environment, from the ``binder/`` files alone.

The static checks say ``binder/requirements.txt`` is fully pinned and covers the package's
dependencies. The rest builds what repo2docker builds: a fresh virtual environment of the
``binder/runtime.txt`` Python, ``pip install -r binder/requirements.txt``, then ``binder/postBuild``
run from the root of a clean copy of the repository (as repo2docker runs it from its checkout) —
then executes every lesson in it. Nothing comes from the repo's ``.venv`` or
``requirements-dev.txt``; pip needs the package index (or its cache), and a failure to reach it
fails the tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def pins() -> dict[str, str]:
    """``binder/requirements.txt`` as {canonical name: version}."""
    result = {}
    for line in requirement_lines(BINDER / "requirements.txt"):
        m = PIN.match(line)
        assert m, f"binder/requirements.txt: {line!r} is not pinned as name==version"
        name = canonicalize_name(m[1])
        assert name not in result, f"binder/requirements.txt pins {m[1]} twice"
        result[name] = m[2]
    return result


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


# ---------------------------------------------------------------- the files
def test_requirements_are_fully_pinned_and_cover_the_package_dependencies():
    pinned = pins()
    assert pinned, "binder/requirements.txt pins nothing"
    lab_extra = project()["optional-dependencies"]["lab"]
    for spec in project()["dependencies"] + lab_extra:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} (pyproject.toml) is not pinned in binder/requirements.txt"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"binder/requirements.txt pins {req.name}=={pinned[name]}, outside pyproject's {spec!r}"
        )
    assert "tiermargin" not in pinned, "the package itself is installed by postBuild, not pinned"


def test_requirements_in_lists_the_package_dependencies():
    listed = {canonicalize_name(Requirement(line).name) for line in requirement_lines(BINDER / "requirements.in")}
    wanted = {canonicalize_name(Requirement(s).name) for s in project()["dependencies"] + project()["optional-dependencies"]["lab"]}
    assert listed == wanted, f"binder/requirements.in and pyproject.toml disagree: {sorted(listed ^ wanted)}"
    assert listed <= set(pins())


def test_runtime_and_postbuild():
    assert re.fullmatch(r"python-3\.\d+", (BINDER / "runtime.txt").read_text().strip())
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail" in text


# ---------------------------------------------------------------- the built environment
def runtime_python() -> str:
    """A base (non-venv) interpreter of the version in ``binder/runtime.txt``."""
    want = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    candidates = [getattr(sys, "_base_executable", None), shutil.which(f"python{want}"), shutil.which("python3")]
    for exe in filter(None, candidates):
        out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip() == want:
            return exe
    pytest.fail(f"no python{want} (binder/runtime.txt) found to build the Binder environment with")


def clean_env(venv: Path, home: Path) -> dict[str, str]:
    """The environment of a process in ``venv``: its bin first on PATH, nothing inherited that could
    make it see another environment's packages or kernels."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "CONDA_PREFIX"}
           and not k.startswith("JUPYTER")}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        VIRTUAL_ENV=str(venv),
        PYTHONNOUSERSITE="1",
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        MPLCONFIGDIR=str(home / "mpl"),
        MPLBACKEND="Agg",
    )
    return env


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def repo_files() -> list[str]:
    """The files a fresh clone of the working tree would have: tracked and untracked-but-not-ignored."""
    out = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """(venv, env, checkout): the environment built from ``binder/`` and the checkout it was built from."""
    base = tmp_path_factory.mktemp("binder")
    checkout, venv, home = base / "repo", base / "venv", base / "home"
    # a clean copy, so that the build writes no build/ or egg-info into the working tree, and no
    # stale build/ from the working tree gets into the installed package
    for rel in repo_files():
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, checkout / rel)
    run([runtime_python(), "-m", "venv", str(venv)])
    env = clean_env(venv, home)
    py = str(venv / "bin" / "python")
    run([py, "-m", "pip", "install", "--quiet", "-r", str(checkout / "binder" / "requirements.txt")], env=env, cwd=checkout)
    run([str(checkout / "binder" / "postBuild")], env=env, cwd=checkout)
    return venv, env, checkout


def test_the_environment_has_the_package_and_the_labextensions(binder_env):
    venv, env, _ = binder_env
    py = str(venv / "bin" / "python")
    where = run([py, "-c", "import tiermargin; print(tiermargin.__file__)"], env=env, cwd=venv).stdout.strip()
    assert Path(where).is_relative_to(venv), f"tiermargin imported from {where}, not the Binder venv"
    assert run([py, "-m", "pip", "check"], env=env).returncode == 0
    listed = run([str(venv / "bin" / "jupyter"), "labextension", "list"], env=env)
    text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # no colours
    for ext in ("jupyter-matplotlib", "@jupyter-widgets/jupyterlab-manager"):
        assert re.search(rf"{re.escape(ext)} v\S+ enabled", text), f"labextension {ext} missing:\n{text}"


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_in_the_binder_environment(binder_env, lesson, tmp_path):
    venv, env, checkout = binder_env
    source = checkout / "lessons" / lesson.name
    run([str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
         "--ExecutePreprocessor.timeout=600", "--ExecutePreprocessor.kernel_name=python3",
         "--output-dir", str(tmp_path), str(source)], env=env, cwd=source.parent)
    executed = json.loads((tmp_path / lesson.name).read_text())
    for cell in executed["cells"]:
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            continue
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        assert not errors, f"{lesson.name}: {errors[0]['ename']}: {errors[0]['evalue']}"


def test_every_lesson_is_found():
    assert len(LESSONS) >= 4
    assert {p.name for p in LESSONS} == {p.name for p in (ROOT / "lessons").glob("*.ipynb")}
