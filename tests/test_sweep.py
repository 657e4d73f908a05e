"""Issue 16: every public callable against the shared bad-value catalogue (tests/sweep.py)."""

import pytest

import sweep
import sweep_api

CASES, EXEMPT = sweep_api.load()


def test_every_public_callable_has_a_case_or_a_reason():
    public = set(sweep.public_callables())
    named = [c.name for _, c in CASES]
    assert len(named) == len(set(named)), "a callable has two cases"
    missing = sorted(public - set(named) - set(EXEMPT))
    assert not missing, f"public callables with no sweep case (add one in tests/sweep_api): {missing}"
    stale = sorted((set(named) | set(EXEMPT)) - public)
    assert not stale, f"sweep cases for callables that are not public (any more): {stale}"
    assert all(len(why) > 20 for why in EXEMPT.values())


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=lambda c: c.name.removeprefix("tiermargin."))
def test_bad_values_get_a_clear_error_or_a_finite_result(case):
    failures = [o for o in sweep.sweep(case) if o.outcome not in sweep.OUTCOMES_OK]
    assert not failures, "\n".join(map(str, failures))
