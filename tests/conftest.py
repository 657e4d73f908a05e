"""pytest configuration: the hypothesis profiles.

``ci`` (the default) runs each property with 150 examples. ``deep`` (``make deep``,
``TIERMARGIN_HYPOTHESIS=deep``) runs 20× as many; with ``TIERMARGIN_SEED`` set it is
derandomised from that seed, so a run can be repeated exactly.
"""

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=150, deadline=None)
settings.register_profile("deep", max_examples=3_000, deadline=None)
settings.load_profile(os.environ.get("TIERMARGIN_HYPOTHESIS", "ci"))
