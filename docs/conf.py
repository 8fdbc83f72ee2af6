"""Sphinx configuration for the ``optimizers`` documentation.

Build with ``pip install ".[docs]" && sphinx-build -W -n -b html docs docs/_build``
(CI does, from outside the source tree).
"""
import optimizers

project = "optimizers"
release = version = optimizers.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc"]
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
default_role = "py:obj"
nitpicky = True
exclude_patterns = ["_build"]
html_theme = "alabaster"
