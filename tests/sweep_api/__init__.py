"""The sweep's cases, one module per group of library modules (see tests/sweep.py).

Each module defines ``CASES`` (a list of :class:`sweep.Case`) and ``EXEMPT`` (dotted name → why the
callable is not swept, e.g. a result record the library builds itself).
"""

import importlib
import pkgutil

GROUPS = sorted(m.name for m in pkgutil.iter_modules(__path__))


def load():
    """All cases and exemptions, with the group each came from."""
    cases, exempt = [], {}
    for g in GROUPS:
        mod = importlib.import_module(f"{__name__}.{g}")
        cases += [(g, c) for c in mod.CASES]
        exempt.update(mod.EXEMPT)
    return cases, exempt
