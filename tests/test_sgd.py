"""SGD: defaults, every scipy.sparse format and container, index dtypes,
duck-typed slices, and momentum 0.

The dense and sparse formulas (plain SGD adding repeated indices one after
another, momentum and Nesterov summing them first and touching the given rows
only), configs and slots are checked by `test_rules.py` (references in
`rules.py`).
"""
import numpy as np
import pytest
import scipy.sparse as sp

from optimizers import SGD, IndexedSlices, Variable


def _data(dtype, seed=0):
    rng = np.random.default_rng(seed)
    var = rng.normal(size=(6, 3)).astype(dtype)
    values = rng.normal(size=(5, 3)).astype(dtype)
    indices = np.array([4, 1, 4, 0, 4])
    return var, values, indices


def test_defaults_and_config():
    opt = SGD()
    assert opt.get_config() == {"name": "SGD", "learning_rate": 0.01, "decay": 0.0,
                                "momentum": 0.0, "nesterov": False}
    assert opt._HAS_AGGREGATE_GRAD


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "dok", "lil", "bsr"])
@pytest.mark.parametrize("container", ["matrix", "array"])
def test_scipy_formats_equal_indexed_slices_of_touched_rows(dtype, fmt, container):
    var, _, _ = _data(dtype)
    dense = np.zeros_like(var)
    dense[1] = [1.0, 0.0, -2.0]
    dense[4] = [0.5, 0.25, 0.0]
    make = sp.csr_matrix if container == "matrix" else sp.csr_array
    grad = make(dense).asformat(fmt)
    for momentum in (0.0, 0.9):
        w_sparse, w_slices = Variable(var), Variable(var)
        SGD(0.1, momentum=momentum).apply_gradients([(grad, w_sparse)])
        SGD(0.1, momentum=momentum).apply_gradients(
            [(IndexedSlices(dense[[1, 4]], np.array([1, 4]), var.shape), w_slices)])
        assert w_sparse.numpy().tobytes() == w_slices.numpy().tobytes()


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64, np.uint16])
def test_index_dtypes(index_dtype):
    var, values, indices = _data(np.float32)
    results = []
    for dt in (np.int64, index_dtype):
        w = Variable(var)
        SGD(0.1, momentum=0.5).apply_gradients(
            [(IndexedSlices(values, indices.astype(dt), var.shape), w)])
        results.append(w.numpy())
    assert results[0].tobytes() == results[1].tobytes()


def test_duck_typed_indexed_slices():
    class Slices:
        def __init__(self, values, indices, dense_shape):
            self.values, self.indices, self.dense_shape = values, indices, dense_shape

    var, values, indices = _data(np.float64)
    a, b = Variable(var), Variable(var)
    SGD(0.1).apply_gradients([(Slices(values, indices, np.array(var.shape)), a)])
    SGD(0.1).apply_gradients([(IndexedSlices(values, indices, var.shape), b)])
    assert a.numpy().tobytes() == b.numpy().tobytes()


def test_momentum_zero_has_no_slots_and_ignores_nesterov():
    opt = SGD(momentum=0.0, nesterov=True)
    opt.apply_gradients([(np.ones(2, np.float32), Variable(np.ones(2, np.float32)))])
    assert opt.get_slot_names() == [] and len(opt.weights) == 1
