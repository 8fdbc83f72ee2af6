"""AdamW: its weight_decay argument and how the decay relates to Adam and LazyAdam.

Config round trips, slots, the dense (decay every element, then Adam) and
sparse (touched rows only) formulas, scipy.sparse gradients, threads and
float16 are checked for every optimizer by `test_rules.py` (references in
`rules.py`).
"""
import math

import numpy as np
import pytest

from optimizers import Adam, AdamW, IndexedSlices, LazyAdam, Variable
from rules import AdamWReference


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


# --------------------------------------------------------------------------- #
# The decay
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


def test_weight_decay_can_change_between_steps(dtype):
    var, _ = problem(dtype)
    w = Variable(var)
    opt = AdamW(learning_rate=0.01, weight_decay=0.1)
    ref = AdamWReference(dict(learning_rate=0.01, weight_decay=0.1), var)
    g = np.ones_like(var)
    opt.apply_gradients([(g, w)])
    ref.dense(g)
    opt.weight_decay = ref.kw["weight_decay"] = 0.7
    opt.apply_gradients([(g, w)])
    ref.dense(g)
    assert w.numpy().tobytes() == ref.state["var"].tobytes()
    for name in ("m", "v"):
        assert opt.get_slot(w, name).numpy().tobytes() == ref.state[name].tobytes()
    assert opt.get_config()["weight_decay"] == 0.7
