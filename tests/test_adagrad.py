"""Adagrad: arguments, config, slots, dense/sparse/CSR formulas, kernel, errors."""
import numpy as np
import pytest
import scipy.sparse as sp

import optimizers
from optimizers import Adagrad, IndexedSlices, Variable, schedules
from optimizers._kernels.adagrad import adagrad_rows
from reference import f32, dedup


def ref_dense(var, acc, g, lr, eps):
    acc += g * g
    var -= (g * lr) / (np.sqrt(acc) + eps)


def ref_sparse(var, acc, values, indices, lr, eps):
    rows, g = dedup(values, indices)
    acc[rows] = acc[rows] + g * g
    var[rows] = var[rows] - (lr * g) / (np.sqrt(acc[rows]) + eps)


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
def test_config_keys_order_and_round_trip():
    opt = Adagrad(learning_rate=0.2, initial_accumulator_value=0.3, epsilon=1e-5,
                  clipnorm=2.0, decay=0.01, name="ada")
    config = opt.get_config()
    assert list(config) == ["name", "clipnorm", "learning_rate", "decay",
                            "initial_accumulator_value", "epsilon"]
    again = Adagrad.from_config(config)
    assert again.get_config() == config
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == config
    assert isinstance(optimizers.get("adagrad"), Adagrad)


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


# ---------------------------------------------------------------- slots and weights
def test_slot_names_order_and_initial_value(dtype):
    a = Variable(np.ones((3, 2), dtype), name="a")
    b = Variable(np.ones(4, dtype), name="b")
    opt = Adagrad(initial_accumulator_value=0.1)
    opt.apply_gradients([(np.zeros((3, 2), dtype), a), (np.zeros(4, dtype), b)])
    assert [w.name for w in opt.weights] == ["Adagrad/iter", "Adagrad/a/accumulator", "Adagrad/b/accumulator"]
    assert opt.get_slot_names() == ["accumulator"]
    acc = opt.get_slot(a, "accumulator").numpy()
    assert acc.dtype == dtype and acc.shape == (3, 2)
    # exactly T(0.1), not T(float32(0.1))
    assert (acc == dtype.type(0.1)).all()
    c = Variable(np.ones(1, dtype), name="c")
    opt.apply_gradients([(np.zeros(1, dtype), c)])
    assert [w.name for w in opt.weights][-1] == "Adagrad/c/accumulator"


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
def test_dense_matches_reference_bit_for_bit(dtype):
    T = dtype.type
    rng = np.random.default_rng(1)
    init = rng.normal(size=(5, 3)).astype(dtype)
    w = Variable(init)
    opt = Adagrad(learning_rate=0.1, initial_accumulator_value=0.2, epsilon=1e-5)
    var, acc = init.copy(), np.full((5, 3), T(0.2), dtype)
    lr, eps = f32(0.1, dtype), T(1e-5)
    for _ in range(6):
        g = rng.normal(size=(5, 3)).astype(dtype)
        opt.apply_gradients([(g, w)])
        ref_dense(var, acc, g, lr, eps)
        assert w.numpy().tobytes() == var.tobytes()
        assert opt.get_slot(w, "accumulator").numpy().tobytes() == acc.tobytes()


def test_dense_with_legacy_decay(dtype):
    T = dtype.type
    w = Variable(np.ones(3, dtype))
    opt = Adagrad(learning_rate=0.1, decay=0.5)
    var, acc = np.ones(3, dtype), np.full(3, T(0.1), dtype)
    for t in range(3):
        g = np.full(3, 0.5 + t, dtype)
        opt.apply_gradients([(g, w)])
        lr = f32(0.1, dtype) / (T(1) + f32(0.5, dtype) * T(t))
        ref_dense(var, acc, g, lr, T(1e-7))
    assert w.numpy().tobytes() == var.tobytes()


def test_sparse_with_duplicates_matches_reference(dtype):
    T = dtype.type
    rng = np.random.default_rng(2)
    init = rng.normal(size=(8, 3)).astype(dtype)
    w = Variable(init)
    opt = Adagrad(learning_rate=0.05)
    var, acc = init.copy(), np.full((8, 3), T(0.1), dtype)
    lr, eps = f32(0.05, dtype), T(1e-7)
    for _ in range(5):
        indices = rng.integers(0, 8, size=6)
        values = rng.normal(size=(6, 3)).astype(dtype)
        opt.apply_gradients([(IndexedSlices(values, indices, (8, 3)), w)])
        ref_sparse(var, acc, values, indices, lr, eps)
        assert w.numpy().tobytes() == var.tobytes()
        assert opt.get_slot(w, "accumulator").numpy().tobytes() == acc.tobytes()


def test_sparse_1d_variable(dtype):
    T = dtype.type
    w = Variable(np.arange(5, dtype=dtype))
    opt = Adagrad(learning_rate=0.1)
    values, indices = np.array([1.0, 2.0, -0.5], dtype), np.array([3, 0, 3])
    opt.apply_gradients([(IndexedSlices(values, indices, (5,)), w)])
    var, acc = np.arange(5, dtype=dtype), np.full(5, T(0.1), dtype)
    ref_sparse(var, acc, values, indices, f32(0.1, dtype), T(1e-7))
    assert w.numpy().tobytes() == var.tobytes()


def test_csr_gradient_matches_indexed_slices(dtype):
    rng = np.random.default_rng(3)
    init = rng.normal(size=(6, 4)).astype(dtype)
    dense = np.zeros((6, 4), dtype)
    dense[[1, 4]] = rng.normal(size=(2, 4))
    w1, w2 = Variable(init), Variable(init)
    o1, o2 = Adagrad(learning_rate=0.1), Adagrad(learning_rate=0.1)
    for _ in range(3):
        o1.apply_gradients([(sp.csr_matrix(dense), w1)])
        o2.apply_gradients([(IndexedSlices(dense[[1, 4]], np.array([1, 4]), (6, 4)), w2)])
    assert w1.numpy().tobytes() == w2.numpy().tobytes()
    assert (o1.get_slot(w1, "accumulator").numpy().tobytes()
            == o2.get_slot(w2, "accumulator").numpy().tobytes())


def test_sparse_step_touches_only_given_rows(dtype):
    w = Variable(np.ones((5, 2), dtype))
    opt = Adagrad(learning_rate=0.1)
    opt.apply_gradients([(np.ones((5, 2), dtype), w)])
    var, acc = w.numpy(), opt.get_slot(w, "accumulator").numpy()
    opt.apply_gradients([(IndexedSlices(np.ones((2, 2), dtype), np.array([3, 1]), (5, 2)), w)])
    new_var, new_acc = w.numpy(), opt.get_slot(w, "accumulator").numpy()
    untouched, touched = [0, 2, 4], [1, 3]
    assert new_var[untouched].tobytes() == var[untouched].tobytes()
    assert new_acc[untouched].tobytes() == acc[untouched].tobytes()
    assert (new_var[touched] != var[touched]).all()
    assert (new_acc[touched] != acc[touched]).all()


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
    adagrad_rows(var, acc, rows, values, lr, eps)
    assert var.tobytes() == expected_var.tobytes()
    assert acc.tobytes() == expected_acc.tobytes()
    adagrad_rows(var, acc, rows[:0], values[:0], lr, eps)    # no rows: nothing happens
    assert var.tobytes() == expected_var.tobytes()


def test_adagrad_rows_kernel_threads_do_not_change_results():
    rng = np.random.default_rng(6)
    var = rng.normal(size=(3000, 16)).astype(np.float32)
    acc = np.full_like(var, 0.1)
    rows = rng.permutation(3000)[:2500].astype(np.int64)
    values = rng.normal(size=(2500, 16)).astype(np.float32)
    v1, a1, v2, a2 = var.copy(), acc.copy(), var.copy(), acc.copy()
    adagrad_rows(v1, a1, rows, values, np.float32(0.1), np.float32(1e-7), 1)
    adagrad_rows(v2, a2, rows, values, np.float32(0.1), np.float32(1e-7), 2)
    assert v1.tobytes() == v2.tobytes() and a1.tobytes() == a2.tobytes()
