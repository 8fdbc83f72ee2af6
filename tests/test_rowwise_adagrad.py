"""RowwiseAdagrad: one accumulator per row; arguments, slots, formulas, kernels."""
import numpy as np
import pytest
import scipy.sparse as sp

import optimizers
from optimizers import Adagrad, IndexedSlices, RowwiseAdagrad, Variable
from optimizers._kernels.adagrad import rowwise_adagrad_all, rowwise_adagrad_rows
from reference import f32, dedup


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


def test_config_round_trip():
    opt = RowwiseAdagrad(learning_rate=0.05, initial_accumulator_value=0.0, epsilon=1e-6,
                         clipvalue=1.0)
    config = opt.get_config()
    assert list(config) == ["name", "clipvalue", "learning_rate", "decay",
                            "initial_accumulator_value", "epsilon"]
    assert RowwiseAdagrad.from_config(config).get_config() == config
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is RowwiseAdagrad and again.get_config() == config


def test_bad_arguments():
    with pytest.raises(ValueError, match="initial_accumulator_value must be non-negative"):
        RowwiseAdagrad(initial_accumulator_value=-0.5)
    with pytest.raises(TypeError, match="Unexpected keyword argument"):
        RowwiseAdagrad(momentum=0.9)


# ---------------------------------------------------------------- slots
@pytest.mark.parametrize("shape, n", [((6, 4), 6), ((5,), 5), ((3, 2, 3), 3)])
def test_slot_has_one_value_per_row(dtype, shape, n):
    w = Variable(np.ones(shape, dtype), name="w")
    opt = RowwiseAdagrad(initial_accumulator_value=0.1)
    opt.apply_gradients([(np.zeros(shape, dtype), w)])
    assert [x.name for x in opt.weights] == ["RowwiseAdagrad/iter", "RowwiseAdagrad/w/accumulator"]
    acc = opt.get_slot(w, "accumulator").numpy()
    assert acc.shape == (n,) and acc.dtype == dtype
    assert (acc == dtype.type(0.1)).all()                     # exact, and zero rows add nothing


def test_set_weights_accepts_checkpoints_without_iterations():
    w = Variable(np.ones((3, 2), np.float32))
    opt = RowwiseAdagrad()
    opt.apply_gradients([(np.ones((3, 2), np.float32), w)])
    opt.set_weights([np.full(3, 2.0, np.float32)])
    assert int(opt.iterations) == 0
    assert (opt.get_slot(w, "accumulator").numpy() == 2).all()


# ---------------------------------------------------------------- formulas
def test_dense_matches_reference(dtype):
    T = dtype.type
    rng = np.random.default_rng(0)
    init = rng.normal(size=(6, 4)).astype(dtype)
    w, opt = Variable(init), RowwiseAdagrad(learning_rate=0.05)
    var, acc = init.copy(), np.full(6, T(0.1), dtype)
    lr, eps = f32(0.05, dtype), T(1e-7)
    for _ in range(4):
        g = rng.normal(size=(6, 4)).astype(dtype)
        g[2] = 0                                          # an all-zero row changes nothing
        before = w.numpy()[2].copy()
        opt.apply_gradients([(g, w)])
        reference(var, acc, range(6), g, lr, eps)
        assert w.numpy().tobytes() == var.tobytes()
        assert opt.get_slot(w, "accumulator").numpy().tobytes() == acc.tobytes()
        assert w.numpy()[2].tobytes() == before.tobytes()


def test_sparse_with_duplicates_and_csr_match_reference(dtype):
    T = dtype.type
    rng = np.random.default_rng(1)
    init = rng.normal(size=(8, 3)).astype(dtype)
    w, opt = Variable(init), RowwiseAdagrad(learning_rate=0.1, initial_accumulator_value=0.05)
    var, acc = init.copy(), np.full(8, T(0.05), dtype)
    lr, eps = f32(0.1, dtype), T(1e-7)
    for step in range(6):
        if step % 2:
            dense = np.zeros((8, 3), dtype)
            rows = rng.choice(8, size=3, replace=False)
            dense[rows] = rng.normal(size=(3, 3))
            opt.apply_gradients([(sp.csr_matrix(dense), w)])
            reference(var, acc, sorted(rows), dense[sorted(rows)], lr, eps)
        else:
            indices = rng.integers(0, 8, size=5)
            values = rng.normal(size=(5, 3)).astype(dtype)
            opt.apply_gradients([(IndexedSlices(values, indices, (8, 3)), w)])
            reference(var, acc, *dedup(values, indices), lr, eps)
        assert w.numpy().tobytes() == var.tobytes()
        assert opt.get_slot(w, "accumulator").numpy().tobytes() == acc.tobytes()


def test_sparse_step_touches_only_given_rows(dtype):
    w = Variable(np.ones((5, 3), dtype))
    opt = RowwiseAdagrad(learning_rate=0.1)
    opt.apply_gradients([(np.ones((5, 3), dtype), w)])
    var, acc = w.numpy(), opt.get_slot(w, "accumulator").numpy()
    opt.apply_gradients([(IndexedSlices(np.ones((3, 3), dtype), np.array([4, 1, 4]), (5, 3)), w)])
    new_var, new_acc = w.numpy(), opt.get_slot(w, "accumulator").numpy()
    assert new_var[[0, 2, 3]].tobytes() == var[[0, 2, 3]].tobytes()
    assert new_acc[[0, 2, 3]].tobytes() == acc[[0, 2, 3]].tobytes()
    assert (new_var[[1, 4]] != var[[1, 4]]).all() and (new_acc[[1, 4]] != acc[[1, 4]]).all()


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
    T = dtype.type
    rng = np.random.default_rng(4)
    init = rng.normal(size=(4, 2, 3)).astype(dtype)
    w, opt = Variable(init), RowwiseAdagrad(learning_rate=0.1)
    g = rng.normal(size=(4, 2, 3)).astype(dtype)
    opt.apply_gradients([(g, w)])
    var, acc = init.reshape(4, 6).copy(), np.full(4, T(0.1), dtype)
    reference(var, acc, range(4), g.reshape(4, 6), f32(0.1, dtype), T(1e-7))
    assert w.numpy().tobytes() == var.reshape(4, 2, 3).tobytes()
    assert opt.get_slot(w, "accumulator").numpy().tobytes() == acc.tobytes()


def test_float16_variable():
    w = Variable(np.ones((3, 2), np.float16))
    opt = RowwiseAdagrad(learning_rate=0.1, initial_accumulator_value=0.0)
    opt.apply_gradients([(np.full((3, 2), 2.0, np.float16), w)])
    assert w.dtype == np.float16
    np.testing.assert_allclose(w.numpy(), 1 - 0.1 * 2 / (2 + 1e-7), rtol=1e-3)
    assert opt.get_slot(w, "accumulator").numpy().dtype == np.float16


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
    rowwise_adagrad_rows(var, acc, rows, values, T(0.3), T(1e-6))
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
    rowwise_adagrad_all(var, acc, grad, T(0.3), T(1e-6))
    assert var.tobytes() == expected_var.tobytes()
    assert acc.tobytes() == expected_acc.tobytes()


def test_kernels_skip_empty_rows():
    var = np.ones((3, 0), np.float32)
    acc = np.full(3, 0.1, np.float32)
    rowwise_adagrad_all(var, acc, var, np.float32(0.1), np.float32(1e-7))
    rowwise_adagrad_rows(var, acc, np.array([1]), np.ones((1, 0), np.float32),
                         np.float32(0.1), np.float32(1e-7))
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
        rowwise_adagrad_all(v, a, grad, np.float32(0.1), np.float32(1e-7), n_threads)
        rowwise_adagrad_rows(v, a, rows, grad[:3000], np.float32(0.1), np.float32(1e-7),
                             n_threads)
        out.append((v.tobytes(), a.tobytes()))
    assert out[0] == out[1]
