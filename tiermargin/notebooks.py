"""Re-execute the course notebooks and save them clean: ``python -m tiermargin.notebooks lessons/*.ipynb``.

Each notebook runs top to bottom on a fresh kernel (the kernel its metadata names, started from this
Python), in the notebook's own folder as nbval and ``jupyter nbconvert --execute`` run it, and is saved
with :func:`nbformat.write` without what makes every run differ or the file large:

* no widget state (``metadata.widgets``): it holds random model ids and most of the file's bytes;
* no per-cell run timestamps (``metadata.execution``);
* no widget views (``application/vnd.jupyter.widget-view+json`` outputs): without the state a front end
  cannot show them ("model not found"); each explorer's bundle keeps its static fallback (the figure
  as ``image/png``, the calculator's ``text/html``, and ``text/plain``), which the saved notebook, GitHub
  and an HTML export show, and running the cell in Jupyter shows the live widget again;
* a cell's consecutive prints as one stream output, as JupyterLab saves them: the kernel sends stdout in
  pieces cut wherever its buffer happened to flush, which differ from run to run.

Re-executing an unchanged notebook therefore rewrites the same bytes, and a cell edit changes the lines of
that cell and of the outputs it changes. ``make lessons`` and ``make exercises`` run this (docs/authoring.md).

Command line::

    python -m tiermargin.notebooks [--timeout SECONDS] NOTEBOOK.ipynb [...]

It stops at the first notebook that fails, naming it and the failing cell, and leaves that file as it was.

>>> nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
>>> cell = nbformat.v4.new_code_cell("Explorer()", metadata={"execution": {"shell.execute_reply": "..."}})
>>> cell.outputs = [nbformat.v4.new_output("execute_result", {WIDGET_VIEW: {"model_id": "a1"},
...     "image/png": "iVBORw0KGgo=", "text/plain": "Explorer"}, execution_count=1)]
>>> nb.cells = [cell]
>>> clean(nb) is nb, "widgets" in nb.metadata, dict(cell.metadata), sorted(cell.outputs[0].data)
(True, False, {}, ['image/png', 'text/plain'])
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbclient
import nbformat
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
"""The MIME type of a widget view (a model id that only the saved widget state resolves)."""

TIMEOUT = 300
"""Default seconds a cell may run before the notebook fails (a lesson runs in seconds)."""


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove ``nb``'s widget state, run timestamps and widget views and merge each cell's consecutive
    stream outputs, in place; return ``nb``."""
    CoalesceStreamsPreprocessor().preprocess(nb, {})
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
    return nb


def execute(path: Path, timeout: float = TIMEOUT) -> nbformat.NotebookNode:
    """The notebook at ``path`` run top to bottom on a fresh kernel in its folder, then :func:`clean`.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell raises (the message names the cell and the error).
    nbclient.exceptions.CellTimeoutError
        If a cell runs longer than ``timeout`` seconds.
    """
    nb = nbformat.read(path, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name=kernel, record_timing=False, store_widget_state=False,
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    client.execute()
    return clean(nb)


def _notebook(text: str) -> Path:
    """An existing ``.ipynb`` file (the command line's argument type)."""
    path = Path(text)
    if path.suffix != ".ipynb":
        raise argparse.ArgumentTypeError(f"NOTEBOOK must be a .ipynb file, got {text!r}")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"NOTEBOOK {text!r} does not exist")
    return path


def _timeout(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"--timeout must be a positive number of seconds, got {text!r}")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: re-execute each notebook given and save it clean; exit 1 at the first failure."""
    parser = argparse.ArgumentParser(
        prog="python -m tiermargin.notebooks",
        description="Run each notebook top to bottom on a fresh kernel and save it without widget state, "
        "run timestamps or widget views (a re-run of an unchanged notebook rewrites the same bytes).",
    )
    parser.add_argument("notebooks", nargs="+", type=_notebook, metavar="NOTEBOOK", help="a .ipynb file")
    parser.add_argument("--timeout", type=_timeout, default=TIMEOUT,
                        help=f"seconds a cell may run (default {TIMEOUT})")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        t0 = time.perf_counter()
        before = path.read_bytes()
        try:
            nb = execute(path, args.timeout)
        except (CellExecutionError, CellTimeoutError) as e:
            print(f"{path}: a cell failed; the file is left as it was\n{e}", file=sys.stderr)
            return 1
        nbformat.write(nb, path)
        status = "unchanged" if path.read_bytes() == before else "rewritten"
        print(f"{path}: {status} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
