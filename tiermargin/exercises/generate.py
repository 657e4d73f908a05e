"""Generate the student notebooks ``exercises/NN_*.ipynb`` from ``exercises/solutions/NN_*.ipynb``.

The solutions notebook is the single source. In its cells, the lines from ``### BEGIN SOLUTION``
to ``### END SOLUTION`` (markers included) are replaced, at the BEGIN marker's indentation, by

* in a code cell: ``name = ...  # YOUR CODE HERE`` for each simple assignment ``name = ...`` at
  that indentation in the block (in order, each name once), or a single ``...  # YOUR CODE HERE``
  when there is none (e.g. a function body: the function then returns None, which the checker
  reports as not attempted);
* in a markdown cell: ``*Your answer here.*``.

Outputs are cleared and execution counts reset; the JSON is what :func:`nbformat.write` writes, so
a fresh generation is byte-identical to the committed file when nothing changed.

Command line::

    python -m tiermargin.exercises.generate [DIRECTORY]          # write every student notebook
    python -m tiermargin.exercises.generate --check [DIRECTORY]  # exit 1, naming the stale ones

``DIRECTORY`` is the exercises folder (default ``exercises``).

>>> print(strip_code('x = 1\\n### BEGIN SOLUTION\\ny = x + 1\\nz = 2 * y\\n### END SOLUTION\\nprint(z)'))
x = 1
y = ...  # YOUR CODE HERE
z = ...  # YOUR CODE HERE
print(z)
"""

from __future__ import annotations

import argparse
import ast
import copy
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import nbformat

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_PLACEHOLDER = "# YOUR CODE HERE"
MARKDOWN_PLACEHOLDER = "*Your answer here.*"
PATTERN = "[0-9][0-9]_*.ipynb"


def _replace_blocks(source: str, replacement: Callable[[list[str], str], list[str]]) -> str:
    """Replace each BEGIN…END block of ``source`` by ``replacement(block lines, indentation)``."""
    out: list[str] = []
    lines = source.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == END:
            raise ValueError(f"line {i + 1}: {END!r} without a {BEGIN!r} before it")
        if line.strip() != BEGIN:
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() in (BEGIN, END)), None)
        if end is None or lines[end].strip() != END:
            raise ValueError(f"line {i + 1}: {BEGIN!r} without its {END!r}")
        out.extend(replacement(lines[i + 1 : end], indent))
        i = end + 1
    return "\n".join(out)


def _assigned_names(block: list[str]) -> list[str]:
    """Names of the simple assignments ``name = ...`` at the block's own indentation, in order."""
    code = textwrap.dedent("\n".join(block))
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise ValueError(f"solution block is not valid Python ({e.msg}, block line {e.lineno})") from None
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id not in names:
                names.append(node.targets[0].id)
    return names


def _code_placeholder(block: list[str], indent: str) -> list[str]:
    names = _assigned_names(block)
    if not names:
        return [f"{indent}...  {CODE_PLACEHOLDER}"]
    return [f"{indent}{name} = ...  {CODE_PLACEHOLDER}" for name in names]


def strip_code(source: str) -> str:
    """A code cell's source with every solution block replaced by placeholders (see module doc)."""
    return _replace_blocks(source, _code_placeholder)


def strip_markdown(source: str) -> str:
    """A markdown cell's source with every solution block replaced by ``*Your answer here.*``."""
    return _replace_blocks(source, lambda block, indent: [f"{indent}{MARKDOWN_PLACEHOLDER}"])


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student notebook of a solutions notebook: solutions stripped, outputs cleared.

    Raises
    ------
    ValueError
        If a cell has unbalanced markers or a solution block that is not valid Python,
        naming the cell.
    """
    out = copy.deepcopy(nb)
    for k, cell in enumerate(out.cells, start=1):
        try:
            if cell.cell_type == "code":
                cell.source = strip_code(cell.source)
                cell.outputs = []
                cell.execution_count = None
                cell.metadata.pop("execution", None)  # run timestamps
            elif cell.cell_type == "markdown":
                cell.source = strip_markdown(cell.source)
        except ValueError as e:
            raise ValueError(f"cell {k}: {e}") from None
    return out


def render(nb: nbformat.NotebookNode) -> str:
    """The notebook's file text exactly as :func:`nbformat.write` writes it."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _pairs(directory: Path) -> list[tuple[Path, Path]]:
    """(solutions notebook, student notebook) for each ``solutions/NN_*.ipynb`` under ``directory``."""
    solutions = directory / "solutions"
    if not solutions.is_dir():
        raise ValueError(f"directory must be an exercises folder with a solutions/ subfolder, got {directory}")
    return [(src, directory / src.name) for src in sorted(solutions.glob(PATTERN))]


def _expected(src: Path) -> str:
    try:
        return render(student_version(nbformat.read(src, as_version=4)))
    except ValueError as e:
        raise ValueError(f"{src}: {e}") from None


def outdated(directory: Path) -> list[Path]:
    """Student notebooks under ``directory`` that are missing or differ from a fresh generation."""
    return [
        dst for src, dst in _pairs(directory)
        if not dst.exists() or dst.read_text(encoding="utf-8") != _expected(src)
    ]


def generate(directory: Path) -> list[Path]:
    """Write every student notebook under ``directory`` that changed; return those written."""
    written = []
    for src, dst in _pairs(directory):
        text = _expected(src)
        if not dst.exists() or dst.read_text(encoding="utf-8") != text:
            dst.write_text(text, encoding="utf-8")
            written.append(dst)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: generate the student notebooks, or ``--check`` that they are up to date."""
    parser = argparse.ArgumentParser(
        prog="python -m tiermargin.exercises.generate",
        description="Generate the student notebooks exercises/NN_*.ipynb from exercises/solutions/.",
    )
    parser.add_argument("directory", nargs="?", default="exercises", type=Path, help="the exercises folder")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a student notebook is stale")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = outdated(args.directory)
            for path in stale:
                print(f"{path} is out of date: run python -m tiermargin.exercises.generate", file=sys.stderr)
            return 1 if stale else 0
        for path in generate(args.directory):
            print(f"wrote {path}")
    except ValueError as e:
        parser.error(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
