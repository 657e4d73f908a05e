"""pytest configuration: the hypothesis profile used everywhere."""

from hypothesis import settings

settings.register_profile("ci", max_examples=150, deadline=None)
settings.load_profile("ci")
