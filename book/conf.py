"""Sphinx configuration of the course site (built by ``make site``: ``book/build.py`` stages the
sources next to this file and runs Sphinx on them).

Sphinx + MyST-NB, the engine of Jupyter Book 1, rather than Jupyter Book 2 / mystmd: mystmd
downloads its site theme from GitHub at build time, and this build must run offline from the
package registries alone. Every asset is local (MathJax from ``sphinx-mathjax-offline``; no widget
JavaScript from a CDN: explorers render as their committed static figures).
"""

project = "tiermargin"
author = "the tiermargin authors"
copyright = "2026, the tiermargin authors"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax",
              "sphinx.ext.githubpages"]  # githubpages: a .nojekyll, so Pages serves _static/ and _images/
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# Notebooks are shown with the outputs committed with them (CI checks those with nbval).
nb_execution_mode = "off"
# Explorers: the committed static PNG, not the live widget (which needs a kernel and a CDN).
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None),
                              ("html", "application/vnd.jupyter.widget-state+json", None)]
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
# $$...$$ inside a paragraph or list item is display maths, as GitHub renders it (docs/formulas.md writes it so)
myst_dmath_double_inline = True
myst_heading_anchors = 3  # docs/instructor_guide.md links to its ### sections

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_ivar = True  # a dataclass's "Attributes" section, not a second description of each field

# MathJax 3 (SVG output: one script, no web fonts), copied from the sphinx-mathjax-offline wheel.
mathjax_path = "mathjax/tex-svg.js"

html_theme = "sphinx_book_theme"
html_title = "tiermargin: how exchanges manage leverage risk"
html_static_path = ["_static"]
html_favicon = "favicon.svg"
html_theme_options = {"show_toc_level": 2, "use_download_button": True, "home_page_in_toc": True}
html_context = {"default_mode": "light"}
smartquotes = False  # quotes and apostrophes as written (the tests find the lessons' text on the pages)
