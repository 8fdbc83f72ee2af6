"""Adamax: arguments, the sparse ``m`` update that is not the dense one, and
its rows kernel.

Config round trips, slot order, the dense and sparse formulas (the sparse step
touches the given rows only; a stored zero counts as touched), scipy.sparse
gradients, threads, float16 and `set_weights` without a shim for checkpoints
lacking ``iterations`` are checked by `test_rules.py` (references in
`rules.py`).
"""
import numpy as np
import pytest

from optimizers import Adamax, IndexedSlices, Variable
from optimizers._kernels.adamax import adamax_rows


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


def test_bad_arguments():
    with pytest.raises(TypeError, match="Unexpected keyword argument"):
        Adamax(amsgrad=True)
    with pytest.raises(TypeError, match="beta_2"):
        Adamax(beta_2=None)
    with pytest.raises(ValueError, match="clipnorm"):
        Adamax(clipnorm=-0.1)


# ---------------------------------------------------------------- formulas
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
    adamax_rows(var, m, v, rows, values, dict(beta_1=b1, one_minus_beta_1=T(1) - b1, beta_2=b2,
                                              neg_scaled_lr=nslr, epsilon=eps))
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
        adamax_rows(x, m, v, rows, values,
                    dict(beta_1=np.float32(0.9), one_minus_beta_1=np.float32(0.1),
                         beta_2=np.float32(0.999), neg_scaled_lr=np.float32(-0.01),
                         epsilon=np.float32(1e-7)), n_threads)
        out.append((x.tobytes(), m.tobytes(), v.tobytes()))
    assert out[0] == out[1]
