"""How many threads the sparse kernels use.

Kernels split their work by row: each row of a variable (and of its slots)
is updated by exactly one thread, in the same order as with one thread, so
results are bit-identical whatever the thread count.  Small updates run on
one thread, since starting threads costs more than it saves.

The default is OpenMP's (``OMP_NUM_THREADS`` when set, else the cores this
process may run on).  Builds without OpenMP always use one thread.
"""
import os

import numpy as np

from ._kernels.parallel import openmp_enabled, openmp_max_threads

__all__ = ["get_num_threads", "set_num_threads", "max_threads", "openmp_enabled", "threads_for"]

# Below this many elements touched, a step runs on one thread (measured:
# starting a parallel region costs a few microseconds, about as much as
# updating this many float32 elements).
PARALLEL_MIN_ELEMENTS = 1 << 15

_num_threads = None
_default = None


def max_threads():
    """The most threads `set_num_threads` accepts: 4 per core, at least 64.

    More only costs (each thread needs a stack, and creating tens of
    thousands fails and kills the process inside the OpenMP runtime).
    """
    return max(64, 4 * (os.cpu_count() or 1))


def _default_threads():
    # OpenMP's count is read on every call, so that limits set at run time
    # (threadpoolctl's threadpool_limits, omp_set_num_threads) apply; the
    # cores this process may use are read once.
    global _default
    if _default is None:
        _default = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                    else os.cpu_count() or 1)
    n = openmp_max_threads() if openmp_enabled() else 1
    if "OMP_NUM_THREADS" not in os.environ:
        n = min(n, _default)
    return max(1, min(n, max_threads()))


def get_num_threads():
    """Number of threads the kernels may use."""
    return _default_threads() if _num_threads is None else _num_threads


def set_num_threads(n):
    """Set the number of threads the kernels may use (``None``: the default).

    Raises `ValueError` unless ``n`` is None or an integer in
    ``[1, max_threads()]``.
    """
    global _num_threads
    if n is None:
        _num_threads = None
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be a positive integer or None; received {n!r}.")
    if n > max_threads():
        raise ValueError(
            f"`n` must be at most {max_threads()} on this machine; received {n}.")
    n = int(n)
    _num_threads = n if openmp_enabled() else 1


def threads_for(n_elements):
    """Threads worth using for an update that touches ``n_elements`` elements."""
    if n_elements < PARALLEL_MIN_ELEMENTS:
        return 1
    return get_num_threads()
