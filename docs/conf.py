"""Sphinx configuration for the ``optimizers`` documentation.

Build with ``pip install ".[docs]" && sphinx-build -W -n -b html docs docs/_build``
(CI does, from outside the source tree).  Nothing is fetched while building
or reading: math is rendered to MathML by ``_ext/mathml.py``, and the
intersphinx inventories of NumPy, SciPy, mpi4py (and Python) are the files
under ``_intersphinx/`` (written by ``tools/make_intersphinx_inventories.py``).
"""
import os
import sys

from numpydoc.xref import DEFAULT_LINKS as _numpydoc_default_links

import optimizers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))

project = "optimizers"
author = "the optimizers authors"
copyright = "the optimizers authors"
release = version = optimizers.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.intersphinx",
              "numpydoc", "mathml"]
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
# Types in "Parameters" link where they name something documented; other
# words (float, callable, optional, ...) stay plain text.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {
    **{word: word for word in _numpydoc_default_links},
    "ndarray": "numpy.ndarray",
    "array": "numpy.ndarray",
    "dtype": "numpy.dtype",
    "array_like": ":term:`numpy:array_like`",
    "array-like": ":term:`numpy:array_like`",
    "communicator": "mpi4py.MPI.Comm",
    "Variable": "optimizers.Variable",
    "IndexedSlices": "optimizers.IndexedSlices",
    "Optimizer": "optimizers.Optimizer",
    "Checkpoint": "optimizers.Checkpoint",
    "LearningRateSchedule": "optimizers.schedules.LearningRateSchedule",
    "Constraint": "optimizers.constraints.Constraint",
}
default_role = "py:obj"
nitpicky = True
exclude_patterns = ["_build"]

# Math as MathML, rendered at build time (no MathJax, no CDN).
html_math_renderer = "mathml"

# Cross-references to NumPy, SciPy, mpi4py and Python resolve from inventories
# kept in the repository: the build reads no network.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", "_intersphinx/python.inv"),
    "numpy": ("https://numpy.org/doc/stable/", "_intersphinx/numpy.inv"),
    "scipy": ("https://docs.scipy.org/doc/scipy/", "_intersphinx/scipy.inv"),
    "mpi4py": ("https://mpi4py.readthedocs.io/en/stable/", "_intersphinx/mpi4py.inv"),
}

html_theme = "furo"
html_title = f"optimizers {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {"navigation_with_keys": True}
html_show_sourcelink = False
