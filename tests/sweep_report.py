"""Print the sweep's outcome counts per group (issue 16's before/after report).

    .venv/bin/python tests/sweep_report.py [--failures]
"""

import sys
from collections import Counter

import sweep
import sweep_api


def main(argv: list[str]) -> None:
    cases, _ = sweep_api.load()
    total: Counter[str] = Counter()
    for group in sweep_api.GROUPS:
        outs = [o for g, c in cases if g == group for o in sweep.sweep(c)]
        counts = sweep.report(outs)
        total += counts
        print(f"{group:14s}", ", ".join(f"{k}: {counts[k]}" for k in (*sweep.OUTCOMES_OK, *sweep.OUTCOMES_BAD) if counts[k]))
        if "--failures" in argv:
            for o in outs:
                if o.outcome not in sweep.OUTCOMES_OK:
                    print("   ", o)
    print(f"{'total':14s}", ", ".join(f"{k}: {total[k]}" for k in (*sweep.OUTCOMES_OK, *sweep.OUTCOMES_BAD) if total[k]))


if __name__ == "__main__":
    main(sys.argv[1:])
