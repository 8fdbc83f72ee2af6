"""Compiled scatter-update kernels of :mod:`optimizers` (private).

Each module holds small ``def`` entry points over typed memoryviews.  They do
no validation: callers in :mod:`optimizers` check shapes, dtypes and index
ranges first, as each kernel's docstring states.
"""
