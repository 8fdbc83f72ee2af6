"""Adagrad: arguments, from_config, old checkpoints, sparse == dense over
every row, and its rows kernel.

Config round trips, slots (initial value exact), the dense and sparse
formulas, legacy decay, scipy.sparse gradients, which rows a sparse step
touches, threads and float16 are checked by `test_rules.py` (references in
`rules.py`).
"""
import numpy as np
import pytest

from optimizers import Adagrad, IndexedSlices, Variable, schedules
from optimizers._kernels.adagrad import adagrad_rows


# ---------------------------------------------------------------- arguments
def test_defaults_and_attributes():
    opt = Adagrad()
    assert opt.name == "Adagrad"
    assert Adagrad._HAS_AGGREGATE_GRAD is True
    assert opt.epsilon == 1e-7
    assert opt._initial_accumulator_value == 0.1
    assert sorted(opt._hyper) == ["decay", "learning_rate"]
    config = opt.get_config()
    assert config == {"name": "Adagrad", "learning_rate": 0.001, "decay": 0.0,
                      "initial_accumulator_value": 0.1, "epsilon": 1e-7}


def test_epsilon_none_or_zero_means_default_and_lr_alias():
    assert Adagrad(epsilon=None).epsilon == 1e-7
    assert Adagrad(epsilon=0).epsilon == 1e-7
    assert Adagrad(lr=0.5).get_config()["learning_rate"] == 0.5


def test_negative_initial_accumulator_value_is_rejected():
    with pytest.raises(ValueError, match="initial_accumulator_value must be non-negative: -1"):
        Adagrad(initial_accumulator_value=-1)
    with pytest.raises(ValueError, match="non-negative"):
        Adagrad(initial_accumulator_value=-1e-30)
    Adagrad(initial_accumulator_value=0.0)                   # zero is allowed


def test_bad_arguments():
    with pytest.raises(TypeError, match="Unexpected keyword argument"):
        Adagrad(rho=0.9)
    with pytest.raises(TypeError, match="learning_rate"):
        Adagrad(learning_rate="fast")
    with pytest.raises(ValueError, match="clipnorm"):
        Adagrad(clipnorm=1.0, global_clipnorm=1.0)


# ---------------------------------------------------------------- config
def test_from_config_defaults_accumulator_and_renames_lr():
    config = {"name": "Adagrad", "lr": 0.1}
    opt = Adagrad.from_config(config)
    assert opt.get_config()["initial_accumulator_value"] == 0.1
    assert opt.get_config()["learning_rate"] == 0.1
    assert config == {"name": "Adagrad", "lr": 0.1}          # the caller's dict is untouched


def test_from_config_deserializes_a_schedule():
    # TensorFlow 2.4 keeps the dict and fails on the first step.
    sched = schedules.serialize(schedules.ExponentialDecay(0.1, 10, 0.5))
    opt = Adagrad.from_config({"name": "Adagrad", "learning_rate": sched})
    assert isinstance(opt.learning_rate, schedules.ExponentialDecay)
    w = Variable(np.ones(2, np.float32))
    opt.apply_gradients([(np.ones(2, np.float32), w)])
    assert opt.get_config()["learning_rate"] == sched


# ---------------------------------------------------------------- weights
def test_set_weights_accepts_checkpoints_without_iterations():
    opt = Adagrad()
    w = Variable(np.ones(2, np.float32))
    opt.apply_gradients([(np.ones(2, np.float32), w)])
    opt.set_weights([np.full(2, 3.0, np.float32)])
    assert int(opt.iterations) == 0
    assert (opt.get_slot(w, "accumulator").numpy() == 3).all()
    opt.set_weights([np.int64(7), np.full(2, 4.0, np.float32)])
    assert int(opt.iterations) == 7
    with pytest.raises(ValueError, match="weight list of length 3"):
        opt.set_weights([np.int64(7), np.ones(2), np.ones(2)])


# ---------------------------------------------------------------- formulas
def test_sparse_over_every_row_equals_dense(dtype):
    rng = np.random.default_rng(4)
    init = rng.normal(size=(4, 3)).astype(dtype)
    g = rng.normal(size=(4, 3)).astype(dtype)
    w1, w2 = Variable(init), Variable(init)
    Adagrad(learning_rate=0.3).apply_gradients([(g, w1)])
    Adagrad(learning_rate=0.3).apply_gradients(
        [(IndexedSlices(g[[2, 0, 3, 1]], np.array([2, 0, 3, 1]), (4, 3)), w2)])
    assert w1.numpy().tobytes() == w2.numpy().tobytes()


# ---------------------------------------------------------------- kernel
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_adagrad_rows_kernel(dtype, index_dtype):
    T = dtype.type
    rng = np.random.default_rng(5)
    var = rng.normal(size=(7, 3)).astype(dtype)
    acc = rng.uniform(0.1, 1.0, size=(7, 3)).astype(dtype)
    rows = np.array([6, 2, 0], index_dtype)
    values = rng.normal(size=(3, 3)).astype(dtype)
    expected_var, expected_acc = var.copy(), acc.copy()
    lr, eps = T(0.25), T(1e-6)
    for k, r in enumerate(rows):
        for j in range(3):
            g = values[k, j]
            expected_acc[r, j] = expected_acc[r, j] + g * g
            step = (lr * g) / (np.sqrt(expected_acc[r, j]) + eps)
            expected_var[r, j] = expected_var[r, j] - step
    adagrad_rows(var, acc, rows, values, dict(lr_t=lr, epsilon=eps))
    assert var.tobytes() == expected_var.tobytes()
    assert acc.tobytes() == expected_acc.tobytes()
    adagrad_rows(var, acc, rows[:0], values[:0], dict(lr_t=lr, epsilon=eps))    # no rows: nothing happens
    assert var.tobytes() == expected_var.tobytes()


def test_adagrad_rows_kernel_threads_do_not_change_results():
    rng = np.random.default_rng(6)
    var = rng.normal(size=(3000, 16)).astype(np.float32)
    acc = np.full_like(var, 0.1)
    rows = rng.permutation(3000)[:2500].astype(np.int64)
    values = rng.normal(size=(2500, 16)).astype(np.float32)
    v1, a1, v2, a2 = var.copy(), acc.copy(), var.copy(), acc.copy()
    adagrad_rows(v1, a1, rows, values, dict(lr_t=np.float32(0.1), epsilon=np.float32(1e-7)), 1)
    adagrad_rows(v2, a2, rows, values, dict(lr_t=np.float32(0.1), epsilon=np.float32(1e-7)), 2)
    assert v1.tobytes() == v2.tobytes() and a1.tobytes() == a2.tobytes()
