"""Adamax: arguments, config, slots, dense/sparse/CSR formulas, kernel, errors."""
import numpy as np
import pytest
import scipy.sparse as sp

import optimizers
from optimizers import Adamax, IndexedSlices, Variable
from optimizers._kernels.adamax import adamax_rows
from reference import c_pow, f32, dedup


class Reference:
    """TensorFlow's Adamax, dense (``ResourceApplyAdaMax``) and sparse (gather/scatter)."""

    def __init__(self, init, lr, beta_1, beta_2, epsilon):
        T = init.dtype.type
        self.var, self.m, self.v = init.copy(), np.zeros_like(init), np.zeros_like(init)
        self.lr, self.b1 = f32(lr, init.dtype), f32(beta_1, init.dtype)
        self.b2 = f32(beta_2, init.dtype)
        self.eps, self.T, self.t = T(epsilon), T, 0

    def _b1p(self):
        self.t += 1
        return c_pow(self.b1, self.T(self.t))

    def dense(self, g):
        T, b1p = self.T, self._b1p()
        self.m += (g - self.m) * (T(1) - self.b1)
        self.v = np.maximum(self.b2 * self.v, np.abs(g))
        self.var -= (self.lr / (T(1) - b1p)) * (self.m / (self.v + self.eps))

    def sparse(self, values, indices):
        T, b1p = self.T, self._b1p()
        rows, g = dedup(values, indices)
        neg_scaled_lr = (-self.lr) / (T(1) - b1p)
        m = self.m[rows] * self.b1 + g * (T(1) - self.b1)
        v = np.maximum(self.v[rows] * self.b2, np.abs(g))
        self.m[rows], self.v[rows] = m, v
        self.var[rows] = self.var[rows] + neg_scaled_lr * (m / (v + self.eps))

    def check(self, opt, w):
        assert w.numpy().tobytes() == self.var.tobytes()
        assert opt.get_slot(w, "m").numpy().tobytes() == self.m.tobytes()
        assert opt.get_slot(w, "v").numpy().tobytes() == self.v.tobytes()


# ---------------------------------------------------------------- arguments and config
def test_defaults_and_attributes():
    opt = Adamax()
    assert opt.name == "Adamax" and Adamax._HAS_AGGREGATE_GRAD is True
    assert sorted(opt._hyper) == ["beta_1", "beta_2", "decay", "learning_rate"]
    assert opt.get_config() == {"name": "Adamax", "learning_rate": 0.001, "decay": 0.0,
                                "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    assert Adamax(epsilon=None).epsilon == 1e-7
    assert Adamax(epsilon=0.0).epsilon == 1e-7
    assert Adamax(lr=0.5).get_config()["learning_rate"] == 0.5


def test_config_keys_order_and_round_trip():
    opt = Adamax(learning_rate=0.02, beta_1=0.8, beta_2=0.95, epsilon=1e-5,
                 global_clipnorm=3.0, name="amax")
    config = opt.get_config()
    assert list(config) == ["name", "global_clipnorm", "learning_rate", "decay", "beta_1",
                            "beta_2", "epsilon"]
    assert Adamax.from_config(config).get_config() == config
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == config
    assert isinstance(optimizers.get("adamax"), Adamax)


def test_bad_arguments():
    with pytest.raises(TypeError, match="Unexpected keyword argument"):
        Adamax(amsgrad=True)
    with pytest.raises(TypeError, match="beta_2"):
        Adamax(beta_2=None)
    with pytest.raises(ValueError, match="clipnorm"):
        Adamax(clipnorm=-0.1)


# ---------------------------------------------------------------- slots
def test_slot_order_all_m_then_all_v(dtype):
    a = Variable(np.ones((3, 2), dtype), name="a")
    b = Variable(np.ones(4, dtype), name="b")
    opt = Adamax()
    opt.apply_gradients([(np.ones((3, 2), dtype), a), (np.ones(4, dtype), b)])
    assert [w.name for w in opt.weights] == ["Adamax/iter", "Adamax/a/m", "Adamax/b/m", "Adamax/a/v", "Adamax/b/v"]
    assert opt.get_slot_names() == ["m", "v"]
    c = Variable(np.ones(2, dtype), name="c")
    opt.apply_gradients([(np.ones(2, dtype), c)])
    assert [w.name for w in opt.weights][-2:] == ["Adamax/c/m", "Adamax/c/v"]


def test_set_weights_has_no_compat_hook():
    w = Variable(np.ones(2, np.float32))
    opt = Adamax()
    opt.apply_gradients([(np.ones(2, np.float32), w)])
    with pytest.raises(ValueError, match="weight list of length 2"):
        opt.set_weights([np.ones(2, np.float32), np.ones(2, np.float32)])


# ---------------------------------------------------------------- formulas
def test_dense_matches_reference(dtype):
    rng = np.random.default_rng(0)
    init = rng.normal(size=(5, 3)).astype(dtype)
    w, opt = Variable(init), Adamax(learning_rate=0.02, beta_1=0.8, beta_2=0.95, epsilon=1e-5)
    ref = Reference(init, 0.02, 0.8, 0.95, 1e-5)
    for _ in range(8):
        g = rng.normal(size=(5, 3)).astype(dtype)
        opt.apply_gradients([(g, w)])
        ref.dense(g)
        ref.check(opt, w)


def test_sparse_with_duplicates_and_csr_match_reference(dtype):
    rng = np.random.default_rng(1)
    init = rng.normal(size=(8, 3)).astype(dtype)
    w, opt = Variable(init), Adamax(learning_rate=0.01)
    ref = Reference(init, 0.01, 0.9, 0.999, 1e-7)
    for step in range(8):
        if step % 2:
            dense = np.zeros((8, 3), dtype)
            rows = np.sort(rng.choice(8, size=3, replace=False))
            dense[rows] = rng.normal(size=(3, 3))
            opt.apply_gradients([(sp.csr_matrix(dense), w)])
            ref.sparse(dense[rows], rows)
        else:
            indices = rng.integers(0, 8, size=5)
            values = rng.normal(size=(5, 3)).astype(dtype)
            opt.apply_gradients([(IndexedSlices(values, indices, (8, 3)), w)])
            ref.sparse(values, indices)
        ref.check(opt, w)


def test_mixed_dense_and_sparse_steps(dtype):
    rng = np.random.default_rng(2)
    init = rng.normal(size=6).astype(dtype)
    w, opt = Variable(init), Adamax(learning_rate=0.1)
    ref = Reference(init, 0.1, 0.9, 0.999, 1e-7)
    for step in range(6):
        if step % 3 == 0:
            g = rng.normal(size=6).astype(dtype)
            opt.apply_gradients([(g, w)])
            ref.dense(g)
        else:
            values, indices = rng.normal(size=4).astype(dtype), rng.integers(0, 6, size=4)
            opt.apply_gradients([(IndexedSlices(values, indices, (6,)), w)])
            ref.sparse(values, indices)
        ref.check(opt, w)


def test_sparse_step_touches_only_given_rows(dtype):
    w = Variable(np.ones((5, 2), dtype))
    opt = Adamax(learning_rate=0.1)
    opt.apply_gradients([(np.ones((5, 2), dtype), w)])
    before = [w.numpy(), opt.get_slot(w, "m").numpy(), opt.get_slot(w, "v").numpy()]
    grad = IndexedSlices(np.full((2, 2), 2.0, dtype), np.array([3, 1]), (5, 2))
    opt.apply_gradients([(grad, w)])
    after = [w.numpy(), opt.get_slot(w, "m").numpy(), opt.get_slot(w, "v").numpy()]
    for old, new in zip(before, after):
        assert new[[0, 2, 4]].tobytes() == old[[0, 2, 4]].tobytes()
        assert (new[[1, 3]] != old[[1, 3]]).all()


def test_csr_explicit_zero_row_counts_as_touched(dtype):
    w = Variable(np.ones((3, 2), dtype))
    opt = Adamax(learning_rate=0.1)
    opt.apply_gradients([(np.ones((3, 2), dtype), w)])
    m = opt.get_slot(w, "m").numpy()
    grad = sp.csr_matrix((np.array([0.0, 1.0], dtype), np.array([0, 1]), np.array([0, 1, 1, 2])),
                         shape=(3, 2))                  # row 0: a stored zero; row 2: a one
    opt.apply_gradients([(grad, w)])
    new_m = opt.get_slot(w, "m").numpy()
    b1 = f32(0.9, dtype)
    assert new_m[0, 0] == m[0, 0] * b1 + dtype.type(0) * (dtype.type(1) - b1)   # decayed
    assert new_m[1].tobytes() == m[1].tobytes()                                  # untouched


def test_sparse_m_update_is_not_the_dense_one(dtype):
    # dense: m + (g - m) * (1 - b1); sparse: m * b1 + g * (1 - b1).  The same
    # numbers mathematically, not always bit for bit.
    rng = np.random.default_rng(3)
    init, g = rng.normal(size=(64, 4)).astype(dtype), rng.normal(size=(64, 4)).astype(dtype)
    w1, w2 = Variable(init), Variable(init)
    o1, o2 = Adamax(learning_rate=0.1), Adamax(learning_rate=0.1)
    for opt, w in ((o1, w1), (o2, w2)):
        opt.apply_gradients([(g, w)])
    o1.apply_gradients([(g, w1)])
    o2.apply_gradients([(IndexedSlices(g, np.arange(64), (64, 4)), w2)])
    m1, m2 = o1.get_slot(w1, "m").numpy(), o2.get_slot(w2, "m").numpy()
    np.testing.assert_allclose(m1, m2, rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert m1.tobytes() != m2.tobytes()


# ---------------------------------------------------------------- kernel
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_adamax_rows_kernel(dtype, index_dtype):
    T = dtype.type
    rng = np.random.default_rng(4)
    var = rng.normal(size=(7, 3)).astype(dtype)
    m = rng.normal(size=(7, 3)).astype(dtype)
    v = rng.uniform(0, 1, size=(7, 3)).astype(dtype)
    rows = np.array([4, 0, 6], index_dtype)
    values = rng.normal(size=(3, 3)).astype(dtype)
    b1, b2, nslr, eps = T(0.9), T(0.99), T(-0.25), T(1e-6)
    ev, em, eu = var.copy(), m.copy(), v.copy()
    for k, r in enumerate(rows):
        for j in range(3):
            g = values[k, j]
            em[r, j] = em[r, j] * b1 + g * (T(1) - b1)
            eu[r, j] = max(eu[r, j] * b2, abs(g))
            ev[r, j] = ev[r, j] + nslr * (em[r, j] / (eu[r, j] + eps))
    adamax_rows(var, m, v, rows, values, b1, T(1) - b1, b2, nslr, eps)
    assert var.tobytes() == ev.tobytes()
    assert m.tobytes() == em.tobytes() and v.tobytes() == eu.tobytes()


def test_adamax_rows_kernel_threads_do_not_change_results():
    rng = np.random.default_rng(5)
    var = rng.normal(size=(3000, 16)).astype(np.float32)
    rows = rng.permutation(3000)[:2500]
    values = rng.normal(size=(2500, 16)).astype(np.float32)
    out = []
    for n_threads in (1, 2):
        x, m, v = var.copy(), np.zeros_like(var), np.zeros_like(var)
        adamax_rows(x, m, v, rows, values, np.float32(0.9), np.float32(0.1),
                    np.float32(0.999), np.float32(-0.01), np.float32(1e-7), n_threads)
        out.append((x.tobytes(), m.tobytes(), v.tobytes()))
    assert out[0] == out[1]
