"""SGD: TensorFlow's dense and sparse formulas, on every kind of gradient."""
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


def test_dense_plain_and_momentum(dtype):
    var, _, _ = _data(dtype)
    grad = np.random.default_rng(1).normal(size=var.shape).astype(dtype)
    lr, mu = dtype.type(np.float32(0.1)), dtype.type(np.float32(0.9))
    for nesterov in (False, True):
        w = Variable(var, name="w")
        opt = SGD(learning_rate=0.1, momentum=0.9, nesterov=nesterov)
        accum, expected = np.zeros_like(var), var.copy()
        for _ in range(3):
            opt.apply_gradients([(grad, w)])
            accum = accum * mu - grad * lr
            expected = expected + (accum * mu - grad * lr if nesterov else accum)
        assert w.numpy().tobytes() == expected.tobytes()
        assert opt.get_slot(w, "momentum").numpy().tobytes() == accum.tobytes()


def test_sparse_plain_adds_each_duplicate_in_turn(dtype):
    var, values, indices = _data(dtype)
    lr = dtype.type(np.float32(0.5))
    w = Variable(var)
    SGD(learning_rate=0.5).apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
    expected = var.copy()
    for k, i in enumerate(indices):
        expected[i] = expected[i] - values[k] * lr
    assert w.numpy().tobytes() == expected.tobytes()


@pytest.mark.parametrize("nesterov", [False, True])
def test_sparse_momentum_sums_duplicates_and_is_lazy(dtype, nesterov):
    var, values, indices = _data(dtype)
    lr, mu = dtype.type(np.float32(0.1)), dtype.type(np.float32(0.9))
    w = Variable(var)
    opt = SGD(learning_rate=0.1, momentum=0.9, nesterov=nesterov)
    opt.apply_gradients([(np.ones_like(var), w)])          # every row gets velocity
    accum = np.zeros_like(var) * mu - np.ones_like(var) * lr
    expected = var + (accum * mu - np.ones_like(var) * lr if nesterov else accum)
    opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
    summed = {4: (values[0] + values[2]) + values[4], 1: values[1], 0: values[3]}
    for r, g in summed.items():
        g = np.zeros_like(g) + g
        accum[r] = accum[r] * mu - g * lr
        expected[r] = expected[r] + (accum[r] * mu - g * lr if nesterov else accum[r])
    assert w.numpy().tobytes() == expected.tobytes()
    assert opt.get_slot(w, "momentum").numpy().tobytes() == accum.tobytes()
    # rows 2, 3 and 5 were not touched by the sparse step


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


def test_sparse_update_of_higher_rank_and_1d_variables(dtype):
    rng = np.random.default_rng(3)
    cube = rng.normal(size=(4, 2, 3)).astype(dtype)
    vec = rng.normal(size=5).astype(dtype)
    for momentum in (0.0, 0.9):
        w_cube, w_vec = Variable(cube), Variable(vec)
        ref_cube, ref_vec = Variable(cube), Variable(vec)
        g_cube = rng.normal(size=(2, 2, 3)).astype(dtype)
        g_vec = rng.normal(size=2).astype(dtype)
        SGD(0.1, momentum=momentum).apply_gradients([
            (IndexedSlices(g_cube, np.array([3, 0]), cube.shape), w_cube),
            (IndexedSlices(g_vec, np.array([2, 2]), vec.shape), w_vec)])
        dense_cube = np.zeros_like(cube)
        dense_cube[[3, 0]] = g_cube
        dense_vec = np.zeros_like(vec)
        dense_vec[2] = np.zeros_like(g_vec[0]) + g_vec[0] + g_vec[1]
        SGD(0.1, momentum=momentum).apply_gradients([(dense_cube, ref_cube),
                                                     (dense_vec, ref_vec)])
        np.testing.assert_array_equal(w_cube.numpy(), ref_cube.numpy())
        np.testing.assert_allclose(w_vec.numpy(), ref_vec.numpy(), rtol=1e-6)


def test_empty_sparse_gradient_changes_only_iterations(dtype):
    var, _, _ = _data(dtype)
    w = Variable(var)
    opt = SGD(0.1, momentum=0.9)
    opt.apply_gradients([(IndexedSlices(np.empty((0, 3), dtype), np.empty(0, np.int64),
                                        var.shape), w)])
    assert w.numpy().tobytes() == var.tobytes() and int(opt.iterations) == 1


def test_momentum_zero_has_no_slots_and_ignores_nesterov():
    opt = SGD(momentum=0.0, nesterov=True)
    opt.apply_gradients([(np.ones(2, np.float32), Variable(np.ones(2, np.float32)))])
    assert opt.get_slot_names() == [] and len(opt.weights) == 1
