"""Adam: TensorFlow 2.4's constructor, config, slots and both update formulas.

The references below are written from TensorFlow's formulas (dense
``ResourceApplyAdam``; the sparse Python composition that decays ``m`` and
``v`` and moves ``var`` over the whole variable), operation by operation, so
results are compared bit for bit.
"""
import numpy as np
import pytest
import scipy.sparse as sp

import optimizers
from optimizers import Adam, IndexedSlices, Variable, schedules, set_num_threads
from optimizers._kernels.adam import adam_sparse_whole
from reference import c_pow, dedup as summed_rows

ADAM_KEYS = ["name", "learning_rate", "decay", "beta_1", "beta_2", "epsilon", "amsgrad"]


# --------------------------------------------------------------------------- #
# NumPy references
def coefficients(dtype, step, lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0):
    """TensorFlow's per-step scalars in ``dtype`` (hypers held as float32)."""
    T = dtype.type
    one = T(1)
    lr = T(np.float32(lr))
    if decay:
        lr = lr / (one + T(np.float32(decay)) * T(step - 1))
    b1, b2 = T(np.float32(beta_1)), T(np.float32(beta_2))
    b1p, b2p = c_pow(b1, T(step)), c_pow(b2, T(step))
    return {"lr": lr, "b1": b1, "b2": b2, "eps": T(epsilon),
            "alpha": (lr * np.sqrt(one - b2p)) / (one - b1p),
            "lr_sparse": lr * (np.sqrt(one - b2p) / (one - b1p))}


def new_state(var):
    return {"w": var.copy(), "m": np.zeros_like(var), "v": np.zeros_like(var),
            "vhat": np.zeros_like(var)}


def dense_reference(s, g, c, amsgrad=False):
    """ResourceApplyAdam (with amsgrad: ResourceApplyAdamWithAmsgrad)."""
    one = g.dtype.type(1)
    s["m"] = s["m"] + (g - s["m"]) * (one - c["b1"])
    s["v"] = s["v"] + (g * g - s["v"]) * (one - c["b2"])
    s["vhat"] = np.maximum(s["vhat"], s["v"])
    denom = np.sqrt(s["vhat"] if amsgrad else s["v"]) + c["eps"]
    s["w"] = s["w"] - (s["m"] * c["alpha"]) / denom


def sparse_reference(s, values, indices, c, amsgrad=False):
    """TensorFlow's sparse Adam: whole-variable decay, scatter-add, whole-variable step."""
    rows, g = summed_rows(values, indices)
    one = values.dtype.type(1)
    s["m"] = s["m"] * c["b1"]
    s["m"][rows] = s["m"][rows] + g * (one - c["b1"])
    s["v"] = s["v"] * c["b2"]
    s["v"][rows] = s["v"][rows] + (g * g) * (one - c["b2"])
    s["vhat"] = np.maximum(s["vhat"], s["v"])
    denom = np.sqrt(s["vhat"] if amsgrad else s["v"]) + c["eps"]
    s["w"] = s["w"] - (c["lr_sparse"] * s["m"]) / denom


def assert_state(opt, w, s, amsgrad=False):
    assert w.numpy().tobytes() == s["w"].tobytes()
    assert opt.get_slot(w, "m").numpy().tobytes() == s["m"].tobytes()
    assert opt.get_slot(w, "v").numpy().tobytes() == s["v"].tobytes()
    if amsgrad:
        assert opt.get_slot(w, "vhat").numpy().tobytes() == s["vhat"].tobytes()


def problem(dtype, shape=(8, 3), n_steps=3, seed=0):
    rng = np.random.default_rng(seed)
    var = rng.normal(size=shape).astype(dtype)
    indices = [np.array([6, 1, 6, 3, 1, 6]), np.array([0, 7, 0]), np.array([2, 5, 2, 2, 4])]
    grads = [(rng.normal(size=(len(i),) + shape[1:]).astype(dtype), i % shape[0])
             for i in indices[:n_steps]]
    return var, grads


# --------------------------------------------------------------------------- #
# Constructor, config, registration
def test_defaults_and_config():
    opt = Adam()
    assert opt.get_config() == {"name": "Adam", "learning_rate": 0.001, "decay": 0.0,
                                "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                                "amsgrad": False}
    assert Adam._HAS_AGGREGATE_GRAD
    assert sorted(opt._hyper) == ["beta_1", "beta_2", "decay", "learning_rate"]
    assert not hasattr(opt._hyper, "epsilon") and not hasattr(opt._hyper, "amsgrad")


@pytest.mark.parametrize("eps", [0, 0.0, None])
def test_falsy_epsilon_means_1e_7(eps):
    assert Adam(epsilon=eps).epsilon == 1e-7


def test_lr_kwarg_overrides_learning_rate():
    assert Adam(learning_rate=0.5, lr=0.25).get_config()["learning_rate"] == 0.25


def test_config_key_order_and_round_trip():
    opt = Adam(learning_rate=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-6, amsgrad=True,
               clipnorm=1.0, decay=0.01, name="opt")
    config = opt.get_config()
    assert list(config) == ["name", "clipnorm"] + ADAM_KEYS[1:]
    again = Adam.from_config(config)
    assert again.get_config() == config
    assert again.amsgrad is True and again.epsilon == 1e-6
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == config


def test_schedule_round_trips():
    schedule = schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.5)
    config = Adam(learning_rate=schedule).get_config()
    assert config["learning_rate"]["class_name"] == "ExponentialDecay"
    again = Adam.from_config(config)
    assert isinstance(again._get_hyper("learning_rate"), schedules.ExponentialDecay)


def test_get_by_name():
    assert type(optimizers.get("adam")) is Adam
    assert type(optimizers.get("Adam")) is Adam


@pytest.mark.parametrize("kwargs, error, match", [
    ({"beta_1": "0.9"}, TypeError, "beta_1"),
    ({"beta_2": None}, TypeError, "beta_2"),
    ({"learning_rate": [0.1]}, TypeError, "learning_rate"),
    ({"lr": -0.1}, ValueError, "lr >= 0"),
    ({"decay": -1.0}, ValueError, "decay >= 0"),
    ({"clipvalue": -1.0}, ValueError, "clipvalue"),
    ({"momentum": 0.9}, TypeError, "Unexpected keyword argument"),
    ({"clipnorm": 1.0, "global_clipnorm": 1.0}, ValueError, "global_clipnorm"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Adam(**kwargs)


# --------------------------------------------------------------------------- #
# Slots and weights
def test_slot_names_and_order():
    opt = Adam(amsgrad=True)
    a, b = Variable(np.ones(2, np.float32), name="a"), Variable(np.ones(3, np.float32), name="b")
    opt.apply_gradients([(np.ones(2, np.float32), a), (np.ones(3, np.float32), b)])
    assert [w.name for w in opt.weights] == ["Adam/iter", "Adam/a/m", "Adam/b/m", "Adam/a/v", "Adam/b/v", "Adam/a/vhat",
                                             "Adam/b/vhat"]
    assert opt.get_slot_names() == ["m", "v", "vhat"]
    c = Variable(np.ones((2, 2), np.float64), name="c")          # seen later: appended
    opt.apply_gradients([(np.ones((2, 2)), c)])
    assert [w.name for w in opt.weights][7:] == ["Adam/c/m", "Adam/c/v", "Adam/c/vhat"]
    assert opt.get_slot(c, "vhat").dtype == np.float64


def test_no_vhat_without_amsgrad():
    opt = Adam()
    a = Variable(np.ones(2, np.float32), name="a")
    opt.apply_gradients([(np.ones(2, np.float32), a)])
    assert [w.name for w in opt.weights] == ["Adam/iter", "Adam/a/m", "Adam/a/v"]
    with pytest.raises(KeyError):
        opt.get_slot(a, "vhat")


def _trained(amsgrad, n_vars=2):
    opt = Adam(amsgrad=amsgrad)
    variables = [Variable(np.arange(3, dtype=np.float32) + i) for i in range(n_vars)]
    opt.apply_gradients([(np.full(3, 0.5, np.float32), v) for v in variables])
    return opt, variables


def test_set_weights_drops_vhat_of_amsgrad_weights():
    amsgrad, _ = _trained(True)
    plain, _ = _trained(False)
    weights = amsgrad.get_weights()
    assert len(weights) == 7 and len(plain.weights) == 5
    plain.set_weights(weights)
    for mine, given in zip(plain.get_weights(), weights[:5]):
        np.testing.assert_array_equal(mine, given)


def test_set_weights_other_lengths_still_fail():
    plain, _ = _trained(False)
    with pytest.raises(ValueError, match="expecting 5 weights"):
        plain.set_weights(plain.get_weights()[:4])
    amsgrad, _ = _trained(True)
    with pytest.raises(ValueError, match="expecting 7 weights"):
        amsgrad.set_weights(plain.get_weights())


# --------------------------------------------------------------------------- #
# Dense path
@pytest.mark.parametrize("amsgrad", [False, True])
def test_dense_matches_reference(dtype, amsgrad):
    var, _ = problem(dtype)
    rng = np.random.default_rng(1)
    w = Variable(var)
    opt = Adam(learning_rate=0.01, amsgrad=amsgrad)
    s = new_state(var)
    for step in range(1, 5):
        g = rng.normal(size=var.shape).astype(dtype) * dtype.type(3 if step == 2 else 0.5)
        opt.apply_gradients([(g, w)])
        dense_reference(s, g, coefficients(dtype, step), amsgrad)
        assert_state(opt, w, s, amsgrad)


def test_dense_large_variable_in_blocks(dtype):
    rng = np.random.default_rng(2)
    var = rng.normal(size=(300, 257)).astype(dtype)           # more than one block
    w = Variable(var)
    opt = Adam(learning_rate=0.01, amsgrad=True)
    s = new_state(var)
    for step in (1, 2):
        g = rng.normal(size=var.shape).astype(dtype)
        opt.apply_gradients([(g, w)])
        dense_reference(s, g, coefficients(dtype, step), True)
    assert_state(opt, w, s, True)


def test_legacy_decay_and_hypers_in_float64():
    dtype = np.dtype(np.float64)
    var, _ = problem(dtype)
    rng = np.random.default_rng(4)
    w = Variable(var)
    opt = Adam(learning_rate=0.1, beta_1=0.8, beta_2=0.95, epsilon=1e-3, decay=0.3)
    s = new_state(var)
    for step in range(1, 4):
        g = rng.normal(size=var.shape)
        opt.apply_gradients([(g, w)])
        dense_reference(s, g, coefficients(dtype, step, lr=0.1, beta_1=0.8, beta_2=0.95,
                                           epsilon=1e-3, decay=0.3))
    assert_state(opt, w, s)


# --------------------------------------------------------------------------- #
# Sparse path (TensorFlow's: whole-variable moments and step)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_sparse_with_duplicates_matches_reference(dtype, amsgrad):
    var, grads = problem(dtype)
    w = Variable(var)
    opt = Adam(learning_rate=0.01, amsgrad=amsgrad)
    s = new_state(var)
    for step, (values, indices) in enumerate(grads, 1):
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        sparse_reference(s, values, indices, coefficients(dtype, step), amsgrad)
        assert_state(opt, w, s, amsgrad)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_dense_and_sparse_steps_interleaved(dtype, amsgrad):
    var, grads = problem(dtype)
    rng = np.random.default_rng(5)
    w = Variable(var)
    opt = Adam(learning_rate=0.05, amsgrad=amsgrad)
    s = new_state(var)
    step = 0
    for values, indices in grads:
        g = rng.normal(size=var.shape).astype(dtype)
        step += 1
        opt.apply_gradients([(g, w)])
        dense_reference(s, g, coefficients(dtype, step, lr=0.05), amsgrad)
        step += 1
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        sparse_reference(s, values, indices, coefficients(dtype, step, lr=0.05), amsgrad)
    assert_state(opt, w, s, amsgrad)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_sparse_step_touches_the_whole_variable(dtype, amsgrad):
    var, grads = problem(dtype)
    w = Variable(var)
    opt = Adam(learning_rate=0.01, amsgrad=amsgrad)
    opt.apply_gradients([(np.ones_like(var), w)])              # every row gets moments
    slots = ("m", "v", "vhat") if amsgrad else ("m", "v")
    before = {n: opt.get_slot(w, n).numpy() for n in slots}
    w_before = w.numpy()
    values, indices = grads[0]
    opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
    untouched = [r for r in range(var.shape[0]) if r not in set(indices.tolist())]
    assert (w.numpy() != w_before).all()                       # every row moved
    assert (opt.get_slot(w, "m").numpy() != before["m"]).all()
    assert (opt.get_slot(w, "v").numpy() != before["v"]).all()
    T = dtype.type
    np.testing.assert_array_equal(opt.get_slot(w, "m").numpy()[untouched],
                                  before["m"][untouched] * T(np.float32(0.9)))
    np.testing.assert_array_equal(opt.get_slot(w, "v").numpy()[untouched],
                                  before["v"][untouched] * T(np.float32(0.999)))
    if amsgrad:                              # v only shrank on untouched rows: vhat kept
        np.testing.assert_array_equal(opt.get_slot(w, "vhat").numpy()[untouched],
                                      before["vhat"][untouched])


def test_empty_sparse_gradient_still_decays_everything(dtype):
    var, _ = problem(dtype)
    w = Variable(var)
    opt = Adam(learning_rate=0.01)
    s = new_state(var)
    opt.apply_gradients([(np.ones_like(var), w)])
    dense_reference(s, np.ones_like(var), coefficients(dtype, 1))
    empty = IndexedSlices(np.empty((0, 3), dtype), np.empty(0, np.int64), var.shape)
    opt.apply_gradients([(empty, w)])
    sparse_reference(s, np.empty((0, 3), dtype), np.empty(0, np.int64),
                     coefficients(dtype, 2))
    assert_state(opt, w, s)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_scipy_gradient_equals_indexed_slices_of_its_rows(dtype, fmt):
    var, _ = problem(dtype)
    dense = np.zeros_like(var)
    dense[1] = [1.0, 0.0, -2.0]
    dense[4] = [0.5, 0.25, 0.0]
    dense[6] = [0.0, 3.0, 0.0]
    grad = sp.csr_matrix(dense).asformat(fmt)
    for amsgrad in (False, True):
        a, b = Variable(var), Variable(var)
        opt_a, opt_b = Adam(0.01, amsgrad=amsgrad), Adam(0.01, amsgrad=amsgrad)
        s = new_state(var)
        for step in (1, 2):
            opt_a.apply_gradients([(grad, a)])
            opt_b.apply_gradients([(IndexedSlices(dense[[1, 4, 6]], np.array([1, 4, 6]),
                                                  var.shape), b)])
            sparse_reference(s, dense[[1, 4, 6]], np.array([1, 4, 6]),
                             coefficients(dtype, step), amsgrad)
        assert a.numpy().tobytes() == b.numpy().tobytes()
        assert_state(opt_a, a, s, amsgrad)


def test_csr_with_an_explicit_zero_row_counts_it_as_touched(dtype):
    var, _ = problem(dtype)
    grad = sp.csr_matrix((np.array([0.0, 2.0], dtype), np.array([1, 2]), np.array(
        [0, 0, 0, 1, 1, 1, 2, 2, 2])), shape=var.shape)           # rows 2 (zero) and 5
    w = Variable(var)
    opt = Adam(0.01)
    opt.apply_gradients([(grad, w)])
    s = new_state(var)
    sparse_reference(s, grad.toarray()[[2, 5]], np.array([2, 5]), coefficients(dtype, 1))
    assert_state(opt, w, s)


@pytest.mark.parametrize("shape", [(9,), (5, 2, 3)])
def test_sparse_on_1d_and_3d_variables(dtype, shape):
    var, grads = problem(dtype, shape=shape)
    w = Variable(var)
    opt = Adam(0.01, amsgrad=True)
    s = new_state(var)
    for step, (values, indices) in enumerate(grads, 1):
        opt.apply_gradients([(IndexedSlices(values, indices, shape), w)])
        sparse_reference(s, values, indices, coefficients(dtype, step), True)
    assert_state(opt, w, s, True)


def test_sparse_with_schedule(dtype):
    schedule = schedules.ExponentialDecay(0.05, decay_steps=1, decay_rate=0.5)
    var, grads = problem(dtype)
    w = Variable(var)
    opt = Adam(learning_rate=schedule)
    s = new_state(var)
    for step, (values, indices) in enumerate(grads, 1):
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        c = coefficients(dtype, step, lr=1.0)
        lr = dtype.type(np.asarray(schedule(dtype.type(step - 1))))
        one = dtype.type(1)
        b1p, b2p = c_pow(c["b1"], dtype.type(step)), c_pow(c["b2"], dtype.type(step))
        c["lr_sparse"] = lr * (np.sqrt(one - b2p) / (one - b1p))
        sparse_reference(s, values, indices, c)
    assert_state(opt, w, s)


def test_sparse_result_does_not_depend_on_thread_count():
    rng = np.random.default_rng(7)
    var = rng.normal(size=(6000, 16)).astype(np.float32)
    indices = rng.integers(0, 6000, 3000)
    values = rng.normal(size=(3000, 16)).astype(np.float32)
    results = []
    try:
        for n in (1, 2, 3):
            set_num_threads(n)
            w = Variable(var)
            opt = Adam(0.01, amsgrad=True)
            for _ in range(2):
                opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
            results.append((w.numpy(), opt.get_weights()))
    finally:
        set_num_threads(None)
    for w, weights in results[1:]:
        assert w.tobytes() == results[0][0].tobytes()
        for a, b in zip(weights, results[0][1]):
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_float16_variable_is_computed_in_float32_and_rounded_once():
    rng = np.random.default_rng(8)
    var = rng.normal(size=(5, 4)).astype(np.float16)
    values = rng.normal(size=(3, 4)).astype(np.float16)
    indices = np.array([0, 3, 0])
    for grad16, grad32 in [
            (values[:1].repeat(5, 0), values[:1].repeat(5, 0).astype(np.float32)),
            (IndexedSlices(values, indices, var.shape),
             IndexedSlices(values.astype(np.float32), indices, var.shape))]:
        w16, w32 = Variable(var), Variable(var.astype(np.float32))
        opt16, opt32 = Adam(0.01), Adam(0.01)
        opt16.apply_gradients([(grad16, w16)])
        opt32.apply_gradients([(grad32, w32)])
        assert w16.dtype == np.float16
        assert w16.numpy().tobytes() == w32.numpy().astype(np.float16).tobytes()
        assert (opt16.get_slot(w16, "m").numpy().tobytes()
                == opt32.get_slot(w32, "m").numpy().astype(np.float16).tobytes())


# --------------------------------------------------------------------------- #
# The kernel itself
def _kernel_reference(var, m, v, vhat, rows, values, b1, omb1, b2, omb2, lr, eps, amsgrad):
    var, m, v, vhat = var.copy(), m.copy(), v.copy(), vhat.copy()
    for r in range(var.shape[0]):
        m[r] = m[r] * b1
        v[r] = v[r] * b2
    for k, r in enumerate(rows):
        m[r] = m[r] + values[k] * omb1
        v[r] = v[r] + (values[k] * values[k]) * omb2
    vhat = np.maximum(vhat, v)
    var = var - (lr * m) / (np.sqrt(vhat if amsgrad else v) + eps)
    return var, m, v, vhat


@pytest.mark.parametrize("width", [1, 3, 4097])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_kernel_against_loops(dtype, width, amsgrad, index_dtype):
    rng = np.random.default_rng(9)
    n_rows = 3000 if width == 1 else 9
    var = rng.normal(size=(n_rows, width)).astype(dtype)
    m = rng.normal(size=var.shape).astype(dtype)
    v = rng.random(size=var.shape).astype(dtype)
    vhat = rng.random(size=var.shape).astype(dtype)
    # unsorted unique rows, including the first and last row and chunk edges
    rows = np.array([n_rows - 1, 0, 4, 3, 5] + ([4095, 4096, 4097, 1500] if width == 1
                                                else []), dtype=index_dtype)
    rows = rows[rows < n_rows]
    values = rng.normal(size=(len(rows), width)).astype(dtype)
    T = dtype.type
    scalars = [T(0.9), T(1) - T(0.9), T(0.999), T(1) - T(0.999), T(0.01), T(1e-7)]
    expected = _kernel_reference(var, m, v, vhat, rows, values, *scalars, amsgrad)
    order = np.argsort(rows, kind="stable")
    adam_sparse_whole(var, m, v, vhat, rows, order, values, *scalars, amsgrad, 2)
    for got, want in list(zip((var, m, v, vhat), expected))[:4 if amsgrad else 3]:
        assert got.tobytes() == want.tobytes()


def test_kernel_with_no_rows_and_empty_shapes(dtype):
    T = dtype.type
    scalars = [T(0.5), T(0.5), T(0.25), T(0.75), T(1), T(1)]
    var = np.ones((4, 2), dtype)
    m, v = np.ones_like(var), np.ones_like(var)
    no_rows, no_values = np.empty(0, np.int64), np.empty((0, 2), dtype)
    adam_sparse_whole(var, m, v, v, no_rows, np.empty(0, np.intp), no_values, *scalars, False)
    assert (m == 0.5).all() and (v == 0.25).all()
    assert (var == T(1) - T(0.5) / (T(0.5) + T(1))).all()
    for shape in [(0, 2), (4, 0)]:
        z = np.zeros(shape, dtype)
        adam_sparse_whole(z, z.copy(), z.copy(), z.copy(), no_rows, np.empty(0, np.intp),
                          np.empty((0, shape[1]), dtype), *scalars, True)
