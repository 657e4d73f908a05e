"""Bundled, dated, sourced reference data: tier tables (read with :func:`tiermargin.load_table`) and margin
rules that are not tier tables (read with :func:`tiermargin.alternatives.load_margin`)."""
