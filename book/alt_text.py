"""Alt text for the notebooks' figures: ``book/alt_text.json`` → each figure cell's MyST-NB metadata.

    python book/alt_text.py            # write the alt texts into the notebooks
    python book/alt_text.py --check    # exit 1, naming each figure without its alt text and each stale entry

``alt_text.json`` maps a notebook (its path from the repository root) to its figure cells by cell id
(nbformat 4.5), each to a one-line description of what the figure shows::

    {"lessons/02_isolated_margin.ipynb": {"fb586e32": "Max leverage against position size ..."}}

Writing puts each text at ``cell.metadata["mystnb"]["image"]["alt"]``, where MyST-NB (the site's
notebook renderer) reads the options of a cell's image outputs, so the site's ``<img>`` tags carry it;
everything else in the notebook is kept, and a notebook whose texts are already there is not rewritten.
Cell ids and cell metadata survive re-executing a notebook, so the texts stay put when the outputs are
regenerated, and a figure cell added later is caught by ``--check``.

A figure is a code cell with an ``image/*`` output (a matplotlib figure, an explorer's static figure),
in ``lessons/``, ``calculator/``, ``exercises/solutions/`` and the student notebooks ``exercises/``
(generated from the solutions: after writing into a solutions notebook, regenerate them with
``python -m tiermargin.exercises.generate``). ``--check`` reports every figure with no entry or whose
notebook does not hold its entry's text yet, and every entry naming a notebook or cell that does not
exist or has no figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nbformat

from tiermargin.exercises.generate import render

ROOT = Path(__file__).resolve().parent.parent
ALT_TEXT = Path("book") / "alt_text.json"
NOTEBOOKS = ("lessons/[0-9][0-9]_*.ipynb", "calculator/*.ipynb", "exercises/solutions/[0-9][0-9]_*.ipynb",
             "exercises/[0-9][0-9]_*.ipynb")
MAX_CHARS = 200  # one line, read out in one breath


def notebooks(root: Path) -> list[Path]:
    """The notebooks whose figures need alt text, as paths relative to ``root``."""
    return sorted(p.relative_to(root) for pattern in NOTEBOOKS for p in root.glob(pattern))


def has_figure(cell: nbformat.NotebookNode) -> bool:
    """Whether a cell's outputs hold an image."""
    return any(key.startswith("image/") for o in cell.get("outputs", []) for key in o.get("data", {}))


def alt_of(cell: nbformat.NotebookNode) -> str | None:
    """The alt text a cell's metadata gives its image outputs (None: none)."""
    return cell.metadata.get("mystnb", {}).get("image", {}).get("alt")


def cells_by_id(nb: nbformat.NotebookNode, name: Path) -> dict[str, nbformat.NotebookNode]:
    """A notebook's cells by id (``name`` for the error: a notebook without cell ids)."""
    cells = {}
    for k, cell in enumerate(nb.cells, start=1):
        if "id" not in cell:
            raise ValueError(f"{name}: cell {k} has no id (cell ids need nbformat 4.5: open and save it in "
                             "JupyterLab, or nbformat.validator.normalize)")
        cells[cell.id] = cell
    return cells


def load(path: Path) -> dict[str, dict[str, str]]:
    """The alt texts of ``path``, checked: notebook → cell id → a non-empty line of at most
    :data:`MAX_CHARS` characters.

    Raises
    ------
    ValueError
        Naming the file, and the entry that is not a text of that kind.
    """
    try:
        texts = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"no alt-text file {path}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(texts, dict) or not all(isinstance(c, dict) for c in texts.values()):
        raise ValueError(f"{path} must map each notebook path to an object of cell id → alt text")
    for nb, cells in texts.items():
        for cell, text in cells.items():
            if not isinstance(text, str) or not text.strip() or "\n" in text or len(text) > MAX_CHARS:
                raise ValueError(f"{path}: {nb} cell {cell}: the alt text must be one non-empty line of at most "
                                 f"{MAX_CHARS} characters, got {text!r}")
    return texts


def problems(root: Path) -> list[str]:
    """What ``--check`` reports under ``root``: figures without their alt text, stale entries."""
    texts = load(root / ALT_TEXT)
    found = []
    names = notebooks(root)
    for name in names:
        entries = texts.get(name.as_posix(), {})
        cells = cells_by_id(nbformat.read(root / name, as_version=4), name)
        for cid, cell in cells.items():
            if not has_figure(cell):
                continue
            if cid not in entries:
                found.append(f"{name} cell {cid}: a figure with no alt text (add it to {ALT_TEXT})")
            elif alt_of(cell) != entries[cid]:
                found.append(f"{name} cell {cid}: alt text not written into the notebook (run python book/alt_text.py)")
        for cid in entries:
            if cid not in cells:
                found.append(f"{ALT_TEXT}: {name} has no cell {cid} (a stale entry)")
            elif not has_figure(cells[cid]):
                found.append(f"{ALT_TEXT}: {name} cell {cid} shows no figure (a stale entry)")
    known = {n.as_posix() for n in names}
    found += [f"{ALT_TEXT}: no notebook {nb} (a stale entry)" for nb in texts if nb not in known]
    return found


def write(root: Path) -> list[Path]:
    """Write each entry's text into its figure cell's metadata; the notebooks rewritten."""
    texts = load(root / ALT_TEXT)
    written = []
    for name in notebooks(root):
        entries = texts.get(name.as_posix(), {})
        if not entries:
            continue
        nb = nbformat.read(root / name, as_version=4)
        changed = False
        for cid, cell in cells_by_id(nb, name).items():
            if cid in entries and has_figure(cell) and alt_of(cell) != entries[cid]:
                cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = entries[cid]
                changed = True
        if changed:
            (root / name).write_text(render(nb), encoding="utf-8")
            written.append(name)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming each figure without its alt text and each stale entry")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this checkout)")
    args = parser.parse_args(argv)
    if not (args.root / ALT_TEXT).is_file():
        parser.error(f"--root must be a repository holding {ALT_TEXT}, got {args.root}")
    try:
        if not args.check:
            for name in write(args.root):
                print(f"wrote alt text into {name}")
                if name.parts[:2] == ("exercises", "solutions"):
                    print("  regenerate the student notebooks: python -m tiermargin.exercises.generate")
        found = problems(args.root)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for line in found:
        print(line, file=sys.stderr)
    if not found:
        print(f"alt text: every figure of {len(notebooks(args.root))} notebooks is described")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
