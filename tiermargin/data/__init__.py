"""Bundled, dated, sourced reference data (tier tables). Read with :func:`tiermargin.load_table`."""
