"""Adagrad and RowwiseAdagrad: configs, slots, formulas, errors."""
import numpy as np
import pytest

from optimizers import Adagrad, IndexedSlices, RowwiseAdagrad, Variable, schedules


def test_adagrad_config_slots_and_errors():
    opt = Adagrad(initial_accumulator_value=0.5, epsilon=None)
    assert opt.epsilon == 1e-7
    assert list(opt.get_config()) == ["name", "learning_rate", "decay",
                                      "initial_accumulator_value", "epsilon"]
    w = Variable(np.ones(3), name="w")
    opt.apply_gradients([(np.ones(3), w)])
    assert [x.name for x in opt.weights] == ["iter", "w/accumulator"]
    assert opt.get_slot(w, "accumulator").numpy()[0] == 1.5
    with pytest.raises(ValueError, match="initial_accumulator_value must be non-negative"):
        Adagrad(initial_accumulator_value=-1)


def test_adagrad_from_config_defaults_and_schedules():
    opt = Adagrad.from_config({"name": "Adagrad", "learning_rate": 0.1})
    assert opt.get_config()["initial_accumulator_value"] == 0.1
    sched = schedules.serialize(schedules.ExponentialDecay(0.1, 10, 0.5))
    opt = Adagrad.from_config({"name": "Adagrad", "learning_rate": sched})
    w = Variable(np.ones(2, np.float32))
    opt.apply_gradients([(np.ones(2, np.float32), w)])    # TensorFlow fails here
    assert isinstance(opt.learning_rate, schedules.ExponentialDecay)


def test_adagrad_old_checkpoints_without_iterations():
    opt = Adagrad()
    w = Variable(np.ones(2, np.float32))
    opt.apply_gradients([(np.ones(2, np.float32), w)])
    opt.set_weights([np.full(2, 3.0, np.float32)])
    assert int(opt.iterations) == 0 and (opt.get_slot(w, "accumulator").numpy() == 3).all()


def test_adagrad_sparse_is_lazy_and_sums_duplicates(dtype):
    T = dtype.type
    var = np.ones((5, 2), dtype)
    w = Variable(var)
    opt = Adagrad(learning_rate=0.1)
    opt.apply_gradients([(IndexedSlices(np.ones((3, 2), dtype), np.array([4, 0, 4]), (5, 2)), w)])
    lr, eps = T(np.float32(0.1)), T(1e-7)
    acc = np.full((5, 2), T(0.1), dtype)
    g = np.zeros((5, 2), dtype)
    g[4] = T(1) + T(1)
    g[0] = T(1)
    acc[[0, 4]] += g[[0, 4]] * g[[0, 4]]
    expected = var.copy()
    expected[[0, 4]] -= (lr * g[[0, 4]]) / (np.sqrt(acc[[0, 4]]) + eps)
    assert w.numpy().tobytes() == expected.tobytes()
    assert opt.get_slot(w, "accumulator").numpy().tobytes() == acc.tobytes()


def _rowwise_reference(var, acc, rows, grad_rows, lr, eps):
    for r, g in zip(rows, grad_rows):
        sq = var.dtype.type(0)
        for x in g.reshape(-1):
            sq = sq + x * x
        acc[r] = acc[r] + sq / var.dtype.type(g.size)
        var[r] = var[r] - (g * lr) / (np.sqrt(acc[r]) + eps)


def test_rowwise_adagrad_dense_sparse_and_csr(dtype):
    import scipy.sparse as sp
    T = dtype.type
    rng = np.random.default_rng(0)
    init = rng.normal(size=(6, 4)).astype(dtype)
    lr, eps = T(np.float32(0.05)), T(1e-7)
    # dense: every row
    w, opt = Variable(init), RowwiseAdagrad(learning_rate=0.05)
    g = rng.normal(size=(6, 4)).astype(dtype)
    opt.apply_gradients([(g, w)])
    var, acc = init.copy(), np.full(6, T(0.1), dtype)
    _rowwise_reference(var, acc, range(6), g, lr, eps)
    np.testing.assert_allclose(w.numpy(), var, rtol=1e-6 if dtype == np.float32 else 1e-14)
    assert opt.get_slot(w, "accumulator").shape == (6,)
    # sparse with a repeat, then CSR
    values = rng.normal(size=(3, 4)).astype(dtype)
    opt.apply_gradients([(IndexedSlices(values, np.array([5, 2, 5]), (6, 4)), w)])
    _rowwise_reference(var, acc, [5, 2], [values[0] + values[2], values[1]], lr, eps)
    dense = np.zeros((6, 4), dtype)
    dense[3] = values[1]
    opt.apply_gradients([(sp.csr_matrix(dense), w)])
    _rowwise_reference(var, acc, [3], [values[1]], lr, eps)
    np.testing.assert_allclose(w.numpy(), var, rtol=1e-6 if dtype == np.float32 else 1e-14)
    np.testing.assert_allclose(opt.get_slot(w, "accumulator").numpy(), acc, rtol=1e-6)
    assert w.numpy()[0].tobytes() == var[0].tobytes()


def test_rowwise_adagrad_1d_and_config():
    w = Variable(np.ones(4, np.float32))
    opt = RowwiseAdagrad(learning_rate=0.1, initial_accumulator_value=0.0)
    opt.apply_gradients([(np.full(4, 2.0, np.float32), w)])
    np.testing.assert_allclose(w.numpy(), 1 - 0.1 * 2 / (2 + 1e-7), rtol=1e-6)
    assert list(opt.get_config()) == ["name", "learning_rate", "decay",
                                      "initial_accumulator_value", "epsilon"]
    with pytest.raises(ValueError, match="non-negative"):
        RowwiseAdagrad(initial_accumulator_value=-0.5)
