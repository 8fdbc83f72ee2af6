"""PartialRowwiseAdam against a NumPy reference."""
import numpy as np
import pytest
import scipy.sparse as sp

import optimizers
from optimizers import IndexedSlices, PartialRowwiseAdam, Variable

from conftest import assert_unchanged, snapshot
from reference import c_pow, dedup, f32


def coefficients(dtype, step, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    T = np.dtype(dtype).type
    one, t = T(1), T(step)
    b1, b2, lr = f32(beta_1, dtype), f32(beta_2, dtype), f32(learning_rate, dtype)
    alpha = (lr * np.sqrt(one - c_pow(b2, t))) / (one - c_pow(b1, t))
    return dict(b1=b1, omb1=one - b1, b2=b2, omb2=one - b2, alpha=alpha, eps=T(epsilon))


def reference_rows(w, m, v, rows, g, c):
    """One step on the (unique) ``rows`` of the 2-D views, ``g`` 2-D."""
    for k, r in enumerate(rows):
        sq = w.dtype.type(0)
        for x in g[k]:
            sq = sq + x * x
        v[r] = c["b2"] * v[r] + c["omb2"] * (sq / w.dtype.type(w.shape[1]))
        m[r] = c["b1"] * m[r] + c["omb1"] * g[k]
        w[r] = w[r] - (c["alpha"] * m[r]) / (np.sqrt(v[r]) + c["eps"])


def problem(dtype, shape=(12, 5), seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, shape).astype(dtype), rng


def state(opt, var):
    return (np.asarray(var).copy(), opt.get_slot(var, "m").numpy(),
            opt.get_slot(var, "v").numpy())


@pytest.mark.parametrize("config", [{}, {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9,
                                          "epsilon": 1e-3}])
def test_sparse_with_duplicates_matches_reference(dtype, config):
    w0, rng = problem(dtype)
    var, opt = Variable(w0.copy()), PartialRowwiseAdam(**config)
    w, m, v = w0.copy(), np.zeros_like(w0), np.zeros(len(w0), dtype)
    for step in range(1, 5):
        indices = rng.integers(0, len(w0), 9)
        indices[4] = indices[1]
        values = rng.normal(0, 1, (9, w0.shape[1])).astype(dtype)
        opt.apply_gradients([(IndexedSlices(values, indices, w0.shape), var)])
        rows, summed = dedup(values, indices)
        reference_rows(w, m, v, rows, summed, coefficients(dtype, step, **config))
        untouched = np.setdiff1d(np.arange(len(w0)), rows)
        got = state(opt, var)
        np.testing.assert_allclose(got[0], w, rtol=2e-6 if dtype == np.float32 else 1e-13)
        np.testing.assert_allclose(got[1], m, rtol=2e-6 if dtype == np.float32 else 1e-13)
        np.testing.assert_allclose(got[2], v, rtol=2e-6 if dtype == np.float32 else 1e-13)
        assert np.array_equal(got[0][untouched], w[untouched])


def test_dense_equals_sparse_naming_every_row(dtype):
    w0, rng = problem(dtype, (30, 7))
    dense_var, sparse_var = Variable(w0.copy()), Variable(w0.copy())
    dense, sparse = PartialRowwiseAdam(0.01), PartialRowwiseAdam(0.01)
    for _ in range(4):
        g = rng.normal(0, 1, w0.shape).astype(dtype)
        dense.apply_gradients([(g, dense_var)])
        order = rng.permutation(len(w0))
        sparse.apply_gradients([(IndexedSlices(g[order], order, w0.shape), sparse_var)])
    for a, b in zip(state(dense, dense_var), state(sparse, sparse_var)):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("fmt", ["csr", "coo", "csc"])
def test_scipy_gradient_equals_indexed_slices_of_its_rows(dtype, fmt):
    w0, rng = problem(dtype, (20, 6))
    dense_grad = np.zeros_like(w0)
    dense_grad[[2, 7, 11]] = rng.normal(0, 1, (3, 6))
    a, b = Variable(w0.copy()), Variable(w0.copy())
    oa, ob = PartialRowwiseAdam(0.1), PartialRowwiseAdam(0.1)
    oa.apply_gradients([(sp.csr_matrix(dense_grad).asformat(fmt), a)])
    ob.apply_gradients([(IndexedSlices(dense_grad[[2, 7, 11]], [2, 7, 11], w0.shape), b)])
    for x, y in zip(state(oa, a), state(ob, b)):
        assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize("shape", [(9,), (6, 2, 3), ()])
def test_other_ranks(dtype, shape):
    w0 = np.linspace(-1, 1, int(np.prod(shape))).astype(dtype).reshape(shape)
    var, opt = Variable(w0.copy()), PartialRowwiseAdam(0.1)
    g = np.full(shape, 0.5, dtype)
    opt.apply_gradients([(g, var)])
    assert opt.get_slot(var, "v").shape == (shape[:1] or (1,))
    n = 1 if not shape else shape[0]
    w, m, v = w0.reshape(n, -1).copy(), np.zeros((n, w0.size // n), dtype), np.zeros(n, dtype)
    reference_rows(w, m, v, range(n), g.reshape(n, -1), coefficients(dtype, 1, learning_rate=0.1))
    np.testing.assert_allclose(var.numpy().reshape(n, -1), w, rtol=2e-6)


def test_thread_count_does_not_change_the_bits():
    rng = np.random.default_rng(3)
    w0 = rng.normal(0, 1, (5000, 16)).astype(np.float32)
    indices = rng.integers(0, 5000, 8192)           # > the parallel threshold of 32k elements
    values = rng.normal(0, 1, (8192, 16)).astype(np.float32)
    results = []
    for n in (1, 2, 4):
        optimizers.set_num_threads(n)
        try:
            var, opt = Variable(w0.copy()), PartialRowwiseAdam(0.01)
            opt.apply_gradients([(IndexedSlices(values, indices, w0.shape), var)])
            opt.apply_gradients([(np.ones_like(w0), var)])      # a dense step too
            results.append(b"".join(x.tobytes() for x in state(opt, var)))
        finally:
            optimizers.set_num_threads(None)
    assert results[0] == results[1] == results[2]


def test_float16_is_computed_in_float32_and_rounded_once():
    w0, rng = problem(np.float16, (10, 4))
    values = rng.normal(0, 1, (3, 4)).astype(np.float16)
    half, single = Variable(w0.copy()), Variable(w0.astype(np.float32))
    oh, os_ = PartialRowwiseAdam(0.1), PartialRowwiseAdam(0.1)
    oh.apply_gradients([(IndexedSlices(values, [1, 4, 1], w0.shape), half)])
    os_.apply_gradients([(IndexedSlices(values.astype(np.float32), [1, 4, 1], w0.shape),
                          single)])
    assert half.numpy().tobytes() == single.numpy().astype(np.float16).tobytes()


def test_config_slots_and_lookup():
    opt = PartialRowwiseAdam(0.01, beta_1=0.8, epsilon=0, clipnorm=1.0)
    assert opt.epsilon == 1e-7
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is PartialRowwiseAdam and again.get_config() == opt.get_config()
    assert set(opt.get_config()) == {"name", "learning_rate", "decay", "beta_1", "beta_2",
                                     "epsilon", "clipnorm"}
    assert type(optimizers.get("partialrowwiseadam")) is PartialRowwiseAdam
    a, b = Variable(np.zeros((4, 2), np.float32)), Variable(np.zeros(3, np.float32))
    opt.build([a, b])
    assert [w.name for w in opt.weights] == [
        opt.name + "/iter", opt.name + "/Variable/m", opt.name + "/Variable/m",
        opt.name + "/Variable/v", opt.name + "/Variable/v"]
    assert [w.shape for w in opt.weights[1:]] == [(4, 2), (3,), (4,), (3,)]


def test_bad_input_changes_nothing():
    var, opt = Variable(np.zeros((6, 3), np.float32)), PartialRowwiseAdam()
    opt.apply_gradients([(np.ones((6, 3), np.float32), var)])
    bad = [IndexedSlices(np.ones((2, 3), np.float32), [1, 6], (6, 3)),
           IndexedSlices(np.ones((2, 3), np.float32), [1, -1], (6, 3)),
           IndexedSlices(np.ones((2, 3), np.float64), [1, 2], (6, 3)),
           IndexedSlices(np.ones((2, 4), np.float32), [1, 2], (6, 3)),
           np.ones((6, 2), np.float32)]
    for grad in bad:
        before = snapshot(opt, [var])
        with pytest.raises((TypeError, ValueError)):
            opt.apply_gradients([(grad, var)])
        assert_unchanged(before, snapshot(opt, [var]))
