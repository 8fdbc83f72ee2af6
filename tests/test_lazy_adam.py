"""LazyAdam: Adam's dense step; on sparse steps Adam's formulas on the touched rows only.

The sparse reference follows TensorFlow Addons' ``LazyAdam``: gather the
touched rows, update them with the bias correction of the global step, and
leave every other row of the variable and of its slots alone.
"""
import numpy as np
import pytest
import scipy.sparse as sp

import optimizers
from optimizers import Adam, IndexedSlices, LazyAdam, Variable, schedules, set_num_threads
from optimizers._kernels.adam import adam_lazy_rows
from reference import c_pow, dedup as summed_rows

ADAM_KEYS = ["name", "learning_rate", "decay", "beta_1", "beta_2", "epsilon", "amsgrad"]


def coefficients(dtype, step, lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """TensorFlow Addons' scalars in ``dtype``; ``step`` is the global step t."""
    T = dtype.type
    one = T(1)
    lr = T(np.float32(lr))
    b1, b2 = T(np.float32(beta_1)), T(np.float32(beta_2))
    b1p, b2p = c_pow(b1, T(step)), c_pow(b2, T(step))
    return {"b1": b1, "b2": b2, "eps": T(epsilon),
            "lr": (lr * np.sqrt(one - b2p)) / (one - b1p)}


def lazy_reference(s, values, indices, c):
    """Adam's formulas applied to the touched rows only (gather, update, scatter)."""
    one = values.dtype.type(1)
    for r, g in zip(*summed_rows(values, indices)):
        m = c["b1"] * s["m"][r] + (one - c["b1"]) * g
        v = c["b2"] * s["v"][r] + (one - c["b2"]) * (g * g)
        s["m"][r], s["v"][r] = m, v
        s["w"][r] = s["w"][r] - (c["lr"] * m) / (np.sqrt(v) + c["eps"])


def new_state(var):
    return {"w": var.copy(), "m": np.zeros_like(var), "v": np.zeros_like(var)}


def assert_state(opt, w, s):
    assert w.numpy().tobytes() == s["w"].tobytes()
    assert opt.get_slot(w, "m").numpy().tobytes() == s["m"].tobytes()
    assert opt.get_slot(w, "v").numpy().tobytes() == s["v"].tobytes()


def problem(dtype, shape=(8, 3), seed=0):
    rng = np.random.default_rng(seed)
    var = rng.normal(size=shape).astype(dtype)
    indices = [np.array([6, 1, 6, 3, 1, 6]), np.array([0, 6, 0]), np.array([2, 5, 2, 2, 6])]
    grads = [(rng.normal(size=(len(i),) + shape[1:]).astype(dtype), i % shape[0])
             for i in indices]
    return var, grads


# --------------------------------------------------------------------------- #
# Constructor and config
def test_defaults_and_config():
    opt = LazyAdam()
    assert opt.get_config() == {"name": "LazyAdam", "learning_rate": 0.001, "decay": 0.0,
                                "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                                "amsgrad": False}
    assert isinstance(opt, Adam) and LazyAdam._HAS_AGGREGATE_GRAD
    assert LazyAdam(epsilon=0).epsilon == 1e-7


def test_config_round_trip_and_registry():
    opt = LazyAdam(learning_rate=0.02, beta_1=0.8, epsilon=1e-5, clipvalue=2.0, name="lazy")
    config = opt.get_config()
    assert list(config) == ["name", "clipvalue"] + ADAM_KEYS[1:]
    assert LazyAdam.from_config(config).get_config() == config
    assert type(optimizers.get("lazyadam")) is LazyAdam
    assert type(optimizers.deserialize(optimizers.serialize(opt))) is LazyAdam


def test_amsgrad_is_refused():
    LazyAdam(amsgrad=False)
    with pytest.raises(ValueError, match="amsgrad"):
        LazyAdam(amsgrad=True)


@pytest.mark.parametrize("kwargs, error", [
    ({"beta_1": "x"}, TypeError), ({"lr": -1.0}, ValueError), ({"nesterov": True}, TypeError)])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        LazyAdam(**kwargs)


def test_slot_order():
    opt = LazyAdam()
    a, b = Variable(np.ones((3, 2), np.float32), name="a"), Variable(np.ones(4), name="b")
    opt.apply_gradients([(IndexedSlices(np.ones((1, 2), np.float32), [1], (3, 2)), a),
                         (np.ones(4), b)])
    assert [w.name for w in opt.weights] == ["LazyAdam/iter", "LazyAdam/a/m", "LazyAdam/b/m", "LazyAdam/a/v", "LazyAdam/b/v"]


# --------------------------------------------------------------------------- #
# Dense path: Adam's
def test_dense_is_adams_dense_step(dtype):
    var, _ = problem(dtype)
    rng = np.random.default_rng(3)
    a, b = Variable(var), Variable(var)
    lazy, adam = LazyAdam(0.01), Adam(0.01)
    for _ in range(3):
        g = rng.normal(size=var.shape).astype(dtype)
        lazy.apply_gradients([(g, a)])
        adam.apply_gradients([(g, b)])
    assert a.numpy().tobytes() == b.numpy().tobytes()
    for x, y in zip(lazy.get_weights(), adam.get_weights()):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


# --------------------------------------------------------------------------- #
# Sparse path: touched rows only
def test_sparse_with_duplicates_matches_reference(dtype):
    var, grads = problem(dtype)
    w = Variable(var)
    opt = LazyAdam(learning_rate=0.01)
    s = new_state(var)
    for step, (values, indices) in enumerate(grads, 1):
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        lazy_reference(s, values, indices, coefficients(dtype, step))
        assert_state(opt, w, s)


def test_untouched_rows_are_left_alone(dtype):
    var, grads = problem(dtype)
    w = Variable(var)
    opt = LazyAdam(learning_rate=0.01)
    opt.apply_gradients([(np.ones_like(var), w)])             # every row gets moments
    before = [w.numpy(), opt.get_slot(w, "m").numpy(), opt.get_slot(w, "v").numpy()]
    values, indices = grads[0]
    opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
    after = [w.numpy(), opt.get_slot(w, "m").numpy(), opt.get_slot(w, "v").numpy()]
    touched = sorted(set(indices.tolist()))
    untouched = [r for r in range(var.shape[0]) if r not in touched]
    for b, a in zip(before, after):
        assert a[untouched].tobytes() == b[untouched].tobytes()
        assert (a[touched] != b[touched]).all()


def test_bias_correction_uses_the_global_step(dtype):
    var, _ = problem(dtype)
    w = Variable(var)
    opt = LazyAdam(learning_rate=0.01)
    rows = np.array([0, 1])
    for _ in range(4):                                         # rows 0, 1 only
        opt.apply_gradients([(IndexedSlices(np.ones((2, 3), dtype), rows, var.shape), w)])
    g = np.full((1, 3), 0.5, dtype)
    before = w.numpy()
    opt.apply_gradients([(IndexedSlices(g, np.array([5]), var.shape), w)])   # first visit
    s = {"w": before, "m": np.zeros_like(var), "v": np.zeros_like(var)}
    lazy_reference(s, g, np.array([5]), coefficients(dtype, 5))
    assert w.numpy()[5].tobytes() == s["w"][5].tobytes()
    assert opt.get_slot(w, "m").numpy()[5].tobytes() == s["m"][5].tobytes()


def dense_reference(s, g, c):
    """Adam's dense step (ResourceApplyAdam); its alpha is LazyAdam's lr."""
    one = g.dtype.type(1)
    s["m"] = s["m"] + (g - s["m"]) * (one - c["b1"])
    s["v"] = s["v"] + (g * g - s["v"]) * (one - c["b2"])
    s["w"] = s["w"] - (s["m"] * c["lr"]) / (np.sqrt(s["v"]) + c["eps"])


def test_dense_and_sparse_steps_interleaved(dtype):
    var, grads = problem(dtype)
    rng = np.random.default_rng(4)
    w = Variable(var)
    opt = LazyAdam(0.05)
    s = new_state(var)
    step = 0
    for values, indices in grads:
        g = rng.normal(size=var.shape).astype(dtype)
        step += 1
        opt.apply_gradients([(g, w)])
        dense_reference(s, g, coefficients(dtype, step, lr=0.05))
        assert_state(opt, w, s)
        step += 1
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        lazy_reference(s, values, indices, coefficients(dtype, step, lr=0.05))
        assert_state(opt, w, s)


def test_every_row_touched_equals_lazy_formula_not_adams_sparse(dtype):
    var, _ = problem(dtype)
    rng = np.random.default_rng(6)
    values = rng.normal(size=var.shape).astype(dtype)
    indices = np.arange(var.shape[0])
    w = Variable(var)
    LazyAdam(0.01).apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
    s = new_state(var)
    lazy_reference(s, values, indices, coefficients(dtype, 1))
    assert w.numpy().tobytes() == s["w"].tobytes()


@pytest.mark.parametrize("fmt", ["csr", "coo"])
def test_scipy_gradient_equals_indexed_slices_of_its_rows(dtype, fmt):
    var, _ = problem(dtype)
    dense = np.zeros_like(var)
    dense[2] = [1.0, 0.0, -2.0]
    dense[7] = [0.0, 0.5, 0.0]
    grad = sp.csr_matrix(dense).asformat(fmt)
    w = Variable(var)
    opt = LazyAdam(0.01)
    s = new_state(var)
    for step in (1, 2, 3):
        opt.apply_gradients([(grad, w)])
        lazy_reference(s, dense[[2, 7]], np.array([2, 7]), coefficients(dtype, step))
    assert_state(opt, w, s)
    assert w.numpy()[[0, 1, 3, 4, 5, 6]].tobytes() == var[[0, 1, 3, 4, 5, 6]].tobytes()


@pytest.mark.parametrize("shape", [(9,), (4, 2, 3)])
def test_sparse_on_1d_and_3d_variables(dtype, shape):
    var, grads = problem(dtype, shape=shape)
    w = Variable(var)
    opt = LazyAdam(0.01)
    s = new_state(var)
    for step, (values, indices) in enumerate(grads, 1):
        opt.apply_gradients([(IndexedSlices(values, indices, shape), w)])
        lazy_reference(s, values, indices, coefficients(dtype, step))
    assert_state(opt, w, s)


def test_sparse_with_schedule_and_legacy_decay(dtype):
    schedule = schedules.InverseTimeDecay(0.05, decay_steps=1, decay_rate=0.5)
    var, grads = problem(dtype)
    w = Variable(var)
    opt = LazyAdam(learning_rate=schedule, decay=0.1)
    s = new_state(var)
    T = dtype.type
    for step, (values, indices) in enumerate(grads, 1):
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        lr = T(np.asarray(schedule(T(step - 1))))
        lr = lr / (T(1) + T(np.float32(0.1)) * T(step - 1))
        c = coefficients(dtype, step, lr=1.0)
        b1p, b2p = c_pow(c["b1"], T(step)), c_pow(c["b2"], T(step))
        c["lr"] = (lr * np.sqrt(T(1) - b2p)) / (T(1) - b1p)
        lazy_reference(s, values, indices, c)
    assert_state(opt, w, s)


def test_empty_sparse_gradient_changes_only_iterations(dtype):
    var, _ = problem(dtype)
    w = Variable(var)
    opt = LazyAdam(0.01)
    opt.apply_gradients([(IndexedSlices(np.empty((0, 3), dtype), np.empty(0, np.int64),
                                        var.shape), w)])
    assert w.numpy().tobytes() == var.tobytes() and int(opt.iterations) == 1
    assert not opt.get_slot(w, "m").numpy().any()


def test_sparse_result_does_not_depend_on_thread_count():
    rng = np.random.default_rng(7)
    var = rng.normal(size=(5000, 32)).astype(np.float32)
    indices = rng.integers(0, 5000, 4000)
    values = rng.normal(size=(4000, 32)).astype(np.float32)
    results = []
    try:
        for n in (1, 2):
            set_num_threads(n)
            w = Variable(var)
            opt = LazyAdam(0.01)
            for _ in range(2):
                opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
            results.append(w.numpy())
    finally:
        set_num_threads(None)
    assert results[0].tobytes() == results[1].tobytes()


# --------------------------------------------------------------------------- #
# The kernel itself
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("decay", [0.0, 0.01])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_kernel_against_loops(dtype, amsgrad, decay, index_dtype):
    rng = np.random.default_rng(9)
    var = rng.normal(size=(12, 5)).astype(dtype)
    m = rng.normal(size=var.shape).astype(dtype)
    v = rng.random(size=var.shape).astype(dtype)
    vhat = rng.random(size=var.shape).astype(dtype)
    rows = np.array([11, 0, 4, 7, 3, 5, 6, 2, 9, 1], dtype=index_dtype)   # > PREFETCH_ROWS
    values = rng.normal(size=(len(rows), 5)).astype(dtype)
    T = dtype.type
    b1, b2, lr, eps, wd = T(0.9), T(0.999), T(0.01), T(1e-7), T(decay)
    original = var.copy()
    expected = [a.copy() for a in (var, m, v, vhat)]
    ew, em, ev, evh = expected
    for k, r in enumerate(rows):
        if decay:
            ew[r] = ew[r] - ew[r] * wd
        em[r] = b1 * em[r] + (T(1) - b1) * values[k]
        ev[r] = b2 * ev[r] + (T(1) - b2) * (values[k] * values[k])
        evh[r] = np.maximum(evh[r], ev[r])
        ew[r] = ew[r] - (lr * em[r]) / (np.sqrt(evh[r] if amsgrad else ev[r]) + eps)
    adam_lazy_rows(var, m, v, vhat, rows, values, b1, T(1) - b1, b2, T(1) - b2, lr, eps, wd,
                   amsgrad, 2)
    assert var.tobytes() == ew.tobytes()
    assert m.tobytes() == em.tobytes() and v.tobytes() == ev.tobytes()
    if amsgrad:
        assert vhat.tobytes() == evh.tobytes()
    assert var[[8, 10]].tobytes() == original[[8, 10]].tobytes()
