"""Sphinx configuration for the ``optimizers`` documentation.

Build with ``pip install ".[docs]" && sphinx-build -W -n -b html docs docs/_build``
(CI does, from outside the source tree).  Nothing is fetched while building
or reading: math is rendered to MathML by ``_ext/mathml.py``.
"""
import os
import sys

import optimizers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))

project = "optimizers"
author = "the optimizers authors"
copyright = "the optimizers authors"
release = version = optimizers.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc", "mathml"]
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
default_role = "py:obj"
nitpicky = True
exclude_patterns = ["_build"]

# Math as MathML, rendered at build time (no MathJax, no CDN).
html_math_renderer = "mathml"

html_theme = "furo"
html_title = f"optimizers {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {"navigation_with_keys": True}
html_show_sourcelink = False
