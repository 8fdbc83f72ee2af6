"""Adam, LazyAdam and AdamW: configs, slots, and the formulas on each path."""
import numpy as np
import pytest

from optimizers import Adam, AdamW, IndexedSlices, LazyAdam, Variable


def _problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    var = rng.normal(size=(8, 3)).astype(dtype)
    grads = [(rng.normal(size=(4, 3)).astype(dtype), np.array([6, 1, 6, 3])) for _ in range(3)]
    return var, grads


def _coefficients(dtype, step, lr=0.01, beta_1=0.9, beta_2=0.999):
    T = dtype.type
    lr, b1, b2 = T(np.float32(lr)), T(np.float32(beta_1)), T(np.float32(beta_2))
    b1p, b2p = np.power(b1, T(step)), np.power(b2, T(step))
    return lr, b1, b2, (lr * np.sqrt(T(1) - b2p)) / (T(1) - b1p)


def _summed(values, indices):
    rows = list(dict.fromkeys(indices.tolist()))
    return rows, [sum((values[k] for k in range(len(indices)) if indices[k] == r),
                      np.zeros_like(values[0])) for r in rows]


def test_adam_defaults_config_and_slot_order():
    opt = Adam(amsgrad=True, epsilon=0)
    assert opt.epsilon == 1e-7
    assert list(opt.get_config()) == ["name", "learning_rate", "decay", "beta_1", "beta_2",
                                      "epsilon", "amsgrad"]
    a, b = Variable(np.ones(2, np.float32), name="a"), Variable(np.ones(3, np.float32), name="b")
    opt.apply_gradients([(np.ones(2, np.float32), a), (np.ones(3, np.float32), b)])
    assert [w.name for w in opt.weights] == ["iter", "a/m", "b/m", "a/v", "b/v", "a/vhat",
                                             "b/vhat"]
    assert Adam.from_config(opt.get_config()).get_config() == opt.get_config()


def test_adam_accepts_amsgrad_weights():
    amsgrad, plain = Adam(amsgrad=True), Adam()
    w1, w2 = Variable(np.ones(2, np.float32)), Variable(np.ones(2, np.float32))
    amsgrad.apply_gradients([(np.ones(2, np.float32), w1)])
    plain.apply_gradients([(np.zeros(2, np.float32), w2)])
    plain.set_weights(amsgrad.get_weights())
    assert int(plain.iterations) == 1


def test_adam_sparse_step_decays_and_moves_every_row(dtype):
    var, grads = _problem(dtype)
    w = Variable(var)
    opt = Adam(learning_rate=0.01)
    opt.apply_gradients([(np.ones_like(var), w)])            # every row gets moments
    before = w.numpy()
    m_before = opt.get_slot(w, "m").numpy()
    values, indices = grads[0]
    opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
    untouched = [r for r in range(8) if r not in indices]
    assert (w.numpy()[untouched] != before[untouched]).all()
    T = dtype.type
    np.testing.assert_array_equal(opt.get_slot(w, "m").numpy()[untouched],
                                  m_before[untouched] * T(np.float32(0.9)))


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_dense_formula(dtype, amsgrad):
    var, _ = _problem(dtype)
    rng = np.random.default_rng(1)
    w = Variable(var)
    opt = Adam(learning_rate=0.01, amsgrad=amsgrad)
    m = np.zeros_like(var); v = np.zeros_like(var); vhat = np.zeros_like(var)
    expected = var.copy()
    for step in range(1, 4):
        g = rng.normal(size=var.shape).astype(dtype)
        opt.apply_gradients([(g, w)])
        lr, b1, b2, alpha = _coefficients(dtype, step)
        T = dtype.type
        m = m + (g - m) * (T(1) - b1)
        v = v + (g * g - v) * (T(1) - b2)
        vhat = np.maximum(vhat, v)
        expected = expected - (m * alpha) / (np.sqrt(vhat if amsgrad else v) + T(1e-7))
    assert w.numpy().tobytes() == expected.tobytes()


def test_lazy_adam_touches_only_given_rows(dtype):
    var, grads = _problem(dtype)
    w = Variable(var)
    opt = LazyAdam(learning_rate=0.01)
    T = dtype.type
    m = np.zeros_like(var); v = np.zeros_like(var)
    expected = var.copy()
    for step, (values, indices) in enumerate(grads, 1):
        opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
        lr, b1, b2, alpha = _coefficients(dtype, step)
        for r, g in zip(*_summed(values, indices)):
            m[r] = b1 * m[r] + (T(1) - b1) * g
            v[r] = b2 * v[r] + (T(1) - b2) * (g * g)
            expected[r] = expected[r] - (alpha * m[r]) / (np.sqrt(v[r]) + T(1e-7))
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-6 if dtype == np.float32 else 1e-14)
    for r in (0, 2, 4, 5, 7):
        assert (w.numpy()[r] == var[r]).all() and (opt.get_slot(w, "m").numpy()[r] == 0).all()


def test_lazy_adam_dense_equals_adam():
    var, _ = _problem(np.dtype(np.float32))
    g = np.random.default_rng(3).normal(size=var.shape).astype(np.float32)
    a, b = Variable(var), Variable(var)
    LazyAdam(0.01).apply_gradients([(g, a)])
    Adam(0.01).apply_gradients([(g, b)])
    assert a.numpy().tobytes() == b.numpy().tobytes()
    assert "amsgrad" not in LazyAdam().get_config()


def test_adamw_decoupled_decay_dense_and_lazy_sparse(dtype):
    var, grads = _problem(dtype)
    T = dtype.type
    wd = T(0.01)
    # dense: decay every element, then Adam's dense step
    w, ref = Variable(var), Variable(var)
    g = np.ones_like(var)
    AdamW(learning_rate=0.01, weight_decay=0.01).apply_gradients([(g, w)])
    lr = T(np.float32(0.01))
    ref_arr = np.asarray(ref)
    ref_arr -= ref_arr * (lr * wd)
    Adam(learning_rate=0.01).apply_gradients([(g, ref)])
    assert w.numpy().tobytes() == ref.numpy().tobytes()
    # sparse: only touched rows decay and move
    w = Variable(var)
    values, indices = grads[0]
    AdamW(learning_rate=0.01, weight_decay=0.01).apply_gradients(
        [(IndexedSlices(values, indices, var.shape), w)])
    _, b1, b2, alpha = _coefficients(dtype, 1)
    expected = var.copy()
    for r, gr in zip(*_summed(values, indices)):
        expected[r] = expected[r] - expected[r] * (lr * wd)
        m = (T(1) - b1) * gr
        v = (T(1) - b2) * (gr * gr)
        expected[r] = expected[r] - (alpha * m) / (np.sqrt(v) + T(1e-7))
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-6 if dtype == np.float32 else 1e-14)
    assert (w.numpy()[0] == var[0]).all()


def test_adamw_config_and_errors():
    opt = AdamW(weight_decay=0.1)
    assert opt.get_config()["weight_decay"] == 0.1
    assert AdamW.from_config(opt.get_config()).weight_decay == 0.1
    with pytest.raises(ValueError, match="weight_decay"):
        AdamW(weight_decay=-1.0)
