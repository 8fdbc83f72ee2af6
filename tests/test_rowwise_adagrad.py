"""RowwiseAdagrad: arguments, how rows are formed (zero rows, 1-D and 3-D
variables, dense == sparse over every row), and its kernels.

Config round trips, the ``(rows,)`` slot and its exact initial value, the
argument checks, checkpoints without ``iterations``, the dense and sparse
formulas, scipy.sparse gradients, which rows a sparse step touches, threads
and float16 are checked by `test_rules.py` (references and tables in
`rules.py`).
"""
import numpy as np
import pytest

import optimizers
from optimizers import Adagrad, IndexedSlices, RowwiseAdagrad, Variable
from optimizers._kernels.adagrad import rowwise_adagrad_all, rowwise_adagrad_rows
from rules import RowwiseAdagradReference


def reference(var, acc, rows, grad_rows, lr, eps):
    """The rowwise update of ``rows`` (unique), in place on 2-D ``var`` and 1-D ``acc``."""
    T = var.dtype.type
    for r, g in zip(rows, grad_rows):
        g = np.asarray(g, var.dtype).reshape(-1)
        sq = T(0)
        for x in g:                                    # left to right
            sq = sq + x * x
        acc[r] = acc[r] + sq / T(g.size)
        var[r] = var[r] - (g * lr) / (np.sqrt(acc[r]) + eps)


# ---------------------------------------------------------------- arguments and config
def test_defaults_config_and_registry():
    opt = RowwiseAdagrad()
    assert opt.name == "RowwiseAdagrad"
    assert opt.get_config() == {"name": "RowwiseAdagrad", "learning_rate": 0.001, "decay": 0.0,
                                "initial_accumulator_value": 0.1, "epsilon": 1e-7}
    assert RowwiseAdagrad(epsilon=None).epsilon == 1e-7
    assert isinstance(optimizers.get("rowwiseadagrad"), RowwiseAdagrad)
    assert isinstance(optimizers.get("RowwiseAdagrad"), RowwiseAdagrad)


def test_bad_arguments():
    with pytest.raises(TypeError, match="Unexpected keyword argument"):
        RowwiseAdagrad(momentum=0.9)


# ---------------------------------------------------------------- formulas
def test_an_all_zero_gradient_row_changes_nothing(dtype):
    rng = np.random.default_rng(0)
    w, opt = Variable(rng.normal(size=(6, 4)).astype(dtype)), RowwiseAdagrad(0.05)
    opt.apply_gradients([(rng.normal(size=(6, 4)).astype(dtype), w)])
    for _ in range(2):
        g = rng.normal(size=(6, 4)).astype(dtype)
        g[2] = 0
        before, acc = w.numpy(), opt.get_slot(w, "accumulator").numpy()
        opt.apply_gradients([(g, w)])
        assert w.numpy()[2].tobytes() == before[2].tobytes()
        assert opt.get_slot(w, "accumulator").numpy()[2] == acc[2]
        assert (w.numpy()[[0, 1, 3, 4, 5]] != before[[0, 1, 3, 4, 5]]).all()


def test_dense_equals_sparse_over_every_row(dtype):
    rng = np.random.default_rng(2)
    init = rng.normal(size=(5, 7)).astype(dtype)
    g = rng.normal(size=(5, 7)).astype(dtype)
    w1, w2 = Variable(init), Variable(init)
    o1, o2 = RowwiseAdagrad(learning_rate=0.2), RowwiseAdagrad(learning_rate=0.2)
    o1.apply_gradients([(g, w1)])
    order = np.array([3, 0, 4, 1, 2])
    o2.apply_gradients([(IndexedSlices(g[order], order, (5, 7)), w2)])
    assert w1.numpy().tobytes() == w2.numpy().tobytes()
    assert (o1.get_slot(w1, "accumulator").numpy().tobytes()
            == o2.get_slot(w2, "accumulator").numpy().tobytes())


def test_1d_variable_is_plain_adagrad(dtype):
    rng = np.random.default_rng(3)
    init = rng.normal(size=6).astype(dtype)
    w1, w2 = Variable(init), Variable(init)
    o1, o2 = RowwiseAdagrad(learning_rate=0.1), Adagrad(learning_rate=0.1)
    for _ in range(3):
        g = rng.normal(size=6).astype(dtype)
        o1.apply_gradients([(g, w1)])
        o2.apply_gradients([(g, w2)])
    values, indices = rng.normal(size=3).astype(dtype), np.array([5, 0, 5])
    o1.apply_gradients([(IndexedSlices(values, indices, (6,)), w1)])
    o2.apply_gradients([(IndexedSlices(values, indices, (6,)), w2)])
    assert w1.numpy().tobytes() == w2.numpy().tobytes()
    assert (o1.get_slot(w1, "accumulator").numpy().tobytes()
            == o2.get_slot(w2, "accumulator").numpy().tobytes())


def test_3d_variable_rows_span_the_trailing_axes(dtype):
    rng = np.random.default_rng(4)
    init = rng.normal(size=(4, 2, 3)).astype(dtype)
    w, opt = Variable(init), RowwiseAdagrad(learning_rate=0.1)
    g = rng.normal(size=(4, 2, 3)).astype(dtype)
    opt.apply_gradients([(g, w)])
    ref = RowwiseAdagradReference(dict(learning_rate=0.1), init)
    ref.dense(g)
    assert w.numpy().tobytes() == ref.state["var"].tobytes()
    acc = opt.get_slot(w, "accumulator").numpy()
    assert acc.shape == (4,) and acc.tobytes() == ref.state["accumulator"].tobytes()


# ---------------------------------------------------------------- kernels
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_rowwise_adagrad_rows_kernel(dtype, index_dtype):
    T = dtype.type
    rng = np.random.default_rng(5)
    var = rng.normal(size=(9, 5)).astype(dtype)
    acc = rng.uniform(0.1, 1.0, size=9).astype(dtype)
    rows = np.array([7, 0, 3], index_dtype)
    values = rng.normal(size=(3, 5)).astype(dtype)
    expected_var, expected_acc = var.copy(), acc.copy()
    reference(expected_var, expected_acc, rows, values, T(0.3), T(1e-6))
    rowwise_adagrad_rows(var, acc, rows, values, dict(lr_t=T(0.3), epsilon=T(1e-6)))
    assert var.tobytes() == expected_var.tobytes()
    assert acc.tobytes() == expected_acc.tobytes()


def test_rowwise_adagrad_all_kernel(dtype):
    T = dtype.type
    rng = np.random.default_rng(6)
    var = rng.normal(size=(6, 5)).astype(dtype)
    acc = rng.uniform(0.1, 1.0, size=6).astype(dtype)
    grad = rng.normal(size=(6, 5)).astype(dtype)
    expected_var, expected_acc = var.copy(), acc.copy()
    reference(expected_var, expected_acc, range(6), grad, T(0.3), T(1e-6))
    rowwise_adagrad_all(var, acc, grad, dict(lr_t=T(0.3), epsilon=T(1e-6)))
    assert var.tobytes() == expected_var.tobytes()
    assert acc.tobytes() == expected_acc.tobytes()


COEFS = dict(lr_t=np.float32(0.1), epsilon=np.float32(1e-7))


def test_kernels_skip_empty_rows():
    var = np.ones((3, 0), np.float32)
    acc = np.full(3, 0.1, np.float32)
    rowwise_adagrad_all(var, acc, var, COEFS)
    rowwise_adagrad_rows(var, acc, np.array([1]), np.ones((1, 0), np.float32), COEFS)
    assert (acc == np.float32(0.1)).all()                     # no 0 / 0


def test_kernel_threads_do_not_change_results():
    rng = np.random.default_rng(7)
    var = rng.normal(size=(4000, 8)).astype(np.float32)
    acc = np.full(4000, 0.1, np.float32)
    grad = rng.normal(size=(4000, 8)).astype(np.float32)
    rows = rng.permutation(4000)[:3000]
    out = []
    for n_threads in (1, 2):
        v, a = var.copy(), acc.copy()
        rowwise_adagrad_all(v, a, grad, COEFS, n_threads)
        rowwise_adagrad_rows(v, a, rows, grad[:3000], COEFS, n_threads)
        out.append((v.tobytes(), a.tobytes()))
    assert out[0] == out[1]
