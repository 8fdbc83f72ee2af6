"""AdamW: decoupled weight decay, then Adam; lazy (touched rows only) on sparse steps."""
import math

import numpy as np
import pytest
import scipy.sparse as sp

import optimizers
from optimizers import Adam, AdamW, IndexedSlices, LazyAdam, Variable, schedules
from reference import c_pow, dedup as summed_rows

CONFIG_KEYS = ["name", "learning_rate", "decay", "beta_1", "beta_2", "epsilon", "amsgrad",
               "weight_decay"]


# --------------------------------------------------------------------------- #
# NumPy references of the documented formulas
def coefficients(dtype, step, lr=0.01, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7):
    T = dtype.type
    one = T(1)
    lr = T(np.float32(lr)) if not isinstance(lr, np.generic) else lr
    b1, b2 = T(np.float32(beta_1)), T(np.float32(beta_2))
    b1p, b2p = c_pow(b1, T(step)), c_pow(b2, T(step))
    return {"b1": b1, "b2": b2, "eps": T(epsilon),
            "wd": lr * T(weight_decay),                      # lr * weight_decay
            "alpha": (lr * np.sqrt(one - b2p)) / (one - b1p)}


def new_state(var):
    return {"w": var.copy(), "m": np.zeros_like(var), "v": np.zeros_like(var),
            "vhat": np.zeros_like(var)}


def dense_reference(s, g, c, amsgrad=False):
    """Decay every element, then Adam's dense step."""
    one = g.dtype.type(1)
    s["w"] = s["w"] - s["w"] * c["wd"]
    s["m"] = s["m"] + (g - s["m"]) * (one - c["b1"])
    s["v"] = s["v"] + (g * g - s["v"]) * (one - c["b2"])
    s["vhat"] = np.maximum(s["vhat"], s["v"])
    denom = np.sqrt(s["vhat"] if amsgrad else s["v"]) + c["eps"]
    s["w"] = s["w"] - (s["m"] * c["alpha"]) / denom


def sparse_reference(s, values, indices, c, amsgrad=False):
    """Touched rows only: decay the row, then the lazy Adam step of the row."""
    one = values.dtype.type(1)
    for r, g in zip(*summed_rows(values, indices)):
        s["w"][r] = s["w"][r] - s["w"][r] * c["wd"]
        s["m"][r] = c["b1"] * s["m"][r] + (one - c["b1"]) * g
        s["v"][r] = c["b2"] * s["v"][r] + (one - c["b2"]) * (g * g)
        s["vhat"][r] = np.maximum(s["vhat"][r], s["v"][r])
        denom = np.sqrt(s["vhat"][r] if amsgrad else s["v"][r]) + c["eps"]
        s["w"][r] = s["w"][r] - (c["alpha"] * s["m"][r]) / denom


def assert_state(opt, w, s, amsgrad=False):
    assert w.numpy().tobytes() == s["w"].tobytes()
    assert opt.get_slot(w, "m").numpy().tobytes() == s["m"].tobytes()
    assert opt.get_slot(w, "v").numpy().tobytes() == s["v"].tobytes()
    if amsgrad:
        assert opt.get_slot(w, "vhat").numpy().tobytes() == s["vhat"].tobytes()


def problem(dtype, shape=(8, 3), seed=0):
    rng = np.random.default_rng(seed)
    var = rng.normal(size=shape).astype(dtype)
    indices = [np.array([6, 1, 6, 3, 1, 6]), np.array([0, 6, 0]), np.array([2, 5, 2, 2, 6])]
    grads = [(rng.normal(size=(len(i),) + shape[1:]).astype(dtype), i % shape[0])
             for i in indices]
    return var, grads


# --------------------------------------------------------------------------- #
# Constructor, config, errors
def test_defaults_and_config():
    opt = AdamW()
    assert opt.weight_decay == 0.004
    assert opt.get_config() == {"name": "AdamW", "learning_rate": 0.001, "decay": 0.0,
                                "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                                "amsgrad": False, "weight_decay": 0.004}
    assert isinstance(opt, Adam) and AdamW._HAS_AGGREGATE_GRAD
    assert AdamW(epsilon=None).epsilon == 1e-7


def test_config_round_trip_and_registry():
    opt = AdamW(learning_rate=0.02, weight_decay=0.1, amsgrad=True, clipnorm=1.0, name="w")
    config = opt.get_config()
    assert list(config) == ["name", "clipnorm"] + CONFIG_KEYS[1:]
    again = AdamW.from_config(config)
    assert again.get_config() == config and again.weight_decay == 0.1 and again.amsgrad
    assert type(optimizers.get("adamw")) is AdamW
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == config


@pytest.mark.parametrize("value", [-0.1, None, "0.1", math.nan, math.inf, True, [0.1]])
def test_bad_weight_decay(value):
    with pytest.raises(ValueError, match="weight_decay"):
        AdamW(weight_decay=value)
    opt = AdamW()
    with pytest.raises(ValueError, match="weight_decay"):
        opt.weight_decay = value
    assert opt.weight_decay == 0.004


def test_weight_decay_accepts_numpy_and_int():
    assert AdamW(weight_decay=np.float32(0.5)).weight_decay == 0.5
    assert AdamW(weight_decay=0).get_config()["weight_decay"] == 0.0


@pytest.mark.parametrize("kwargs, error", [
    ({"beta_2": "x"}, TypeError), ({"decay": -1.0}, ValueError), ({"rho": 0.9}, TypeError)])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        AdamW(**kwargs)


def test_slot_order_with_amsgrad():
    opt = AdamW(amsgrad=True)
    a, b = Variable(np.ones(2, np.float32), name="a"), Variable(np.ones(3, np.float32), name="b")
    opt.apply_gradients([(np.ones(2, np.float32), a), (np.ones(3, np.float32), b)])
    assert [w.name for w in opt.weights] == ["AdamW/iter", "AdamW/a/m", "AdamW/b/m", "AdamW/a/v", "AdamW/b/v", "AdamW/a/vhat",
                                             "AdamW/b/vhat"]


# --------------------------------------------------------------------------- #
# Dense path
@pytest.mark.parametrize("amsgrad", [False, True])
def test_dense_matches_reference(dtype, amsgrad):
    var, _ = problem(dtype)
    rng = np.random.default_rng(1)
    w = Variable(var)
    opt = AdamW(learning_rate=0.01, weight_decay=0.05, amsgrad=amsgrad)
    s = new_state(var)
    for step in range(1, 4):
        g = rng.normal(size=var.shape).astype(dtype)
        opt.apply_gradients([(g, w)])
        dense_reference(s, g, coefficients(dtype, step, weight_decay=0.05), amsgrad)
        assert_state(opt, w, s, amsgrad)


def test_dense_large_variable(dtype):
    rng = np.random.default_rng(2)
    var = rng.normal(size=(70000,)).astype(dtype)               # more than one block
    g = rng.normal(size=var.shape).astype(dtype)
    w = Variable(var)
    AdamW(learning_rate=0.01, weight_decay=0.5).apply_gradients([(g, w)])
    s = new_state(var)
    dense_reference(s, g, coefficients(dtype, 1, weight_decay=0.5))
    assert w.numpy().tobytes() == s["w"].tobytes()


def test_zero_gradient_only_decays_on_the_dense_path(dtype):
    var, _ = problem(dtype)
    w = Variable(var)
    AdamW(learning_rate=0.1, weight_decay=0.5).apply_gradients([(np.zeros_like(var), w)])
    T = dtype.type
    assert w.numpy().tobytes() == (var - var * (T(np.float32(0.1)) * T(0.5))).tobytes()


def test_weight_decay_zero_is_adam_dense_and_lazy_adam_sparse(dtype):
    var, grads = problem(dtype)
    rng = np.random.default_rng(3)
    w, a, la = Variable(var), Variable(var), Variable(var)
    opt, adam, lazy = AdamW(0.01, weight_decay=0.0), Adam(0.01), LazyAdam(0.01)
    g = rng.normal(size=var.shape).astype(dtype)
    opt.apply_gradients([(g, w)])
    adam.apply_gradients([(g, a)])
    assert w.numpy().tobytes() == a.numpy().tobytes()
    w = Variable(var)
    opt = AdamW(0.01, weight_decay=0.0)
    for values, indices in grads:
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        lazy.apply_gradients([(IndexedSlices(values, indices, var.shape), la)])
    assert w.numpy().tobytes() == la.numpy().tobytes()


# --------------------------------------------------------------------------- #
# Sparse path: lazy
@pytest.mark.parametrize("amsgrad", [False, True])
def test_sparse_with_duplicates_matches_reference(dtype, amsgrad):
    var, grads = problem(dtype)
    w = Variable(var)
    opt = AdamW(learning_rate=0.01, weight_decay=0.05, amsgrad=amsgrad)
    s = new_state(var)
    for step, (values, indices) in enumerate(grads, 1):
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        sparse_reference(s, values, indices, coefficients(dtype, step, weight_decay=0.05),
                         amsgrad)
        assert_state(opt, w, s, amsgrad)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_sparse_step_touches_only_the_given_rows(dtype, amsgrad):
    var, grads = problem(dtype)
    w = Variable(var)
    opt = AdamW(learning_rate=0.01, weight_decay=0.05, amsgrad=amsgrad)
    opt.apply_gradients([(np.ones_like(var), w)])             # every row gets moments
    names = ("m", "v", "vhat") if amsgrad else ("m", "v")
    before = [w.numpy()] + [opt.get_slot(w, n).numpy() for n in names]
    values, indices = grads[0]
    opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
    after = [w.numpy()] + [opt.get_slot(w, n).numpy() for n in names]
    touched = sorted(set(indices.tolist()))
    untouched = [r for r in range(var.shape[0]) if r not in touched]
    for b, a in zip(before, after):
        assert a[untouched].tobytes() == b[untouched].tobytes()     # not even decayed
    assert (after[0][touched] != before[0][touched]).all()


@pytest.mark.parametrize("amsgrad", [False, True])
def test_dense_and_sparse_steps_interleaved(dtype, amsgrad):
    var, grads = problem(dtype)
    rng = np.random.default_rng(4)
    w = Variable(var)
    opt = AdamW(learning_rate=0.05, weight_decay=0.2, amsgrad=amsgrad)
    s = new_state(var)
    step = 0
    for values, indices in grads:
        g = rng.normal(size=var.shape).astype(dtype)
        step += 1
        opt.apply_gradients([(g, w)])
        dense_reference(s, g, coefficients(dtype, step, lr=0.05, weight_decay=0.2), amsgrad)
        step += 1
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        sparse_reference(s, values, indices,
                         coefficients(dtype, step, lr=0.05, weight_decay=0.2), amsgrad)
    assert_state(opt, w, s, amsgrad)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_scipy_gradient_equals_indexed_slices_of_its_rows(dtype, fmt):
    var, _ = problem(dtype)
    dense = np.zeros_like(var)
    dense[3] = [1.0, 0.0, -2.0]
    dense[5] = [0.0, 0.5, 0.0]
    grad = sp.csr_matrix(dense).asformat(fmt)
    w = Variable(var)
    opt = AdamW(0.01, weight_decay=0.1)
    s = new_state(var)
    for step in (1, 2):
        opt.apply_gradients([(grad, w)])
        sparse_reference(s, dense[[3, 5]], np.array([3, 5]),
                         coefficients(dtype, step, weight_decay=0.1))
    assert_state(opt, w, s)


def test_1d_variable_sparse(dtype):
    var, grads = problem(dtype, shape=(9,))
    w = Variable(var)
    opt = AdamW(0.01, weight_decay=0.3, amsgrad=True)
    s = new_state(var)
    for step, (values, indices) in enumerate(grads, 1):
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        sparse_reference(s, values, indices, coefficients(dtype, step, weight_decay=0.3),
                         True)
    assert_state(opt, w, s, True)


def test_decay_uses_the_scheduled_learning_rate(dtype):
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    var, grads = problem(dtype)
    rng = np.random.default_rng(5)
    w = Variable(var)
    opt = AdamW(learning_rate=schedule, weight_decay=0.25)
    s = new_state(var)
    T = dtype.type
    for step in (1, 2, 3):
        lr = T(np.asarray(schedule(T(step - 1))))
        c = coefficients(dtype, step, lr=lr, weight_decay=0.25)
        if step == 2:
            values, indices = grads[0]
            opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
            sparse_reference(s, values, indices, c)
        else:
            g = rng.normal(size=var.shape).astype(dtype)
            opt.apply_gradients([(g, w)])
            dense_reference(s, g, c)
    assert_state(opt, w, s)


def test_weight_decay_can_change_between_steps(dtype):
    var, _ = problem(dtype)
    w = Variable(var)
    opt = AdamW(learning_rate=0.01, weight_decay=0.1)
    s = new_state(var)
    g = np.ones_like(var)
    opt.apply_gradients([(g, w)])
    dense_reference(s, g, coefficients(dtype, 1, weight_decay=0.1))
    opt.weight_decay = 0.7
    opt.apply_gradients([(g, w)])
    dense_reference(s, g, coefficients(dtype, 2, weight_decay=0.7))
    assert_state(opt, w, s)
    assert opt.get_config()["weight_decay"] == 0.7


def test_float16_variable():
    rng = np.random.default_rng(6)
    var = rng.normal(size=(4, 3)).astype(np.float16)
    values = rng.normal(size=(2, 3)).astype(np.float16)
    w16, w32 = Variable(var), Variable(var.astype(np.float32))
    AdamW(0.01, weight_decay=0.5).apply_gradients(
        [(IndexedSlices(values, [1, 1], var.shape), w16)])
    AdamW(0.01, weight_decay=0.5).apply_gradients(
        [(IndexedSlices(values.astype(np.float32), [1, 1], var.shape), w32)])
    assert w16.numpy().tobytes() == w32.numpy().astype(np.float16).tobytes()
