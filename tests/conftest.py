"""Shared fixtures: float dtypes and a snapshot of optimizer state."""
import os
import shutil
import sys

import numpy as np
import pytest
from hypothesis import settings

from optimizers.variables import as_array

# Property tests draw the same examples on every run (CI must not flake);
# HYPOTHESIS_PROFILE=explore searches further with fresh random examples.
settings.register_profile("default", derandomize=True, deadline=None, max_examples=40)
settings.register_profile("explore", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


def mpiexec():
    """The ``mpiexec`` to run two-rank checks with; skips the test when mpi4py or
    an ``mpiexec`` is missing."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip('mpi4py is not installed (pip install "optimizers[mpi]")')
    exe = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep
                       + os.environ.get("PATH", ""))
    if exe is None:
        pytest.skip('no mpiexec found (the mpich wheel of pip install "optimizers[mpi]" '
                    "provides one)")
    return exe


def snapshot(opt, variables):
    """Copies of every array an optimizer step could change."""
    state = [as_array(v).copy() for v in variables]
    state += [w.numpy() for w in opt.weights]
    return state, len(opt.weights), opt._iterations is None


def assert_unchanged(before, after):
    """Bit-for-bit comparison of two `snapshot` results."""
    arrays_before, n_before, lazy_before = before
    arrays_after, n_after, lazy_after = after
    assert (n_before, lazy_before) == (n_after, lazy_after)
    for a, b in zip(arrays_before, arrays_after):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
