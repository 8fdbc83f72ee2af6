"""Shared fixtures: float dtypes and a snapshot of optimizer state."""
import numpy as np
import pytest

from optimizers.variables import as_array


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


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
