"""pytest configuration: the hypothesis profiles.

``ci`` (the default) runs each property with 150 examples. ``deep`` (``make deep``,
``TIERMARGIN_HYPOTHESIS=deep``) runs 20× as many; a property that sets its own count uses
``strategies.examples(n)``, which scales it the same way. ``make deep`` runs the properties
(pytest marks them ``hypothesis``) once per seed of ``SEEDS`` with ``--hypothesis-seed``, which
also bypasses the example database, so a seed's run repeats exactly.
"""

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=150, deadline=None)
settings.register_profile("deep", max_examples=3_000, deadline=None)
settings.load_profile(os.environ.get("TIERMARGIN_HYPOTHESIS", "ci"))


@pytest.fixture(autouse=True)
def instructor(monkeypatch):
    """The tests run as the instructor (answer keys need the instructor secret), and off any hub (no
    hub user: the default student id is the demo one); a test of the student's side deletes the secret."""
    monkeypatch.setenv("TIERMARGIN_INSTRUCTOR_SECRET", "the tests' instructor secret")
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
