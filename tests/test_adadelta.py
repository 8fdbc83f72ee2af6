"""Adadelta: arguments, config, slots, dense/sparse/CSR formulas, kernel, errors."""
import numpy as np
import pytest
import scipy.sparse as sp

import optimizers
from optimizers import Adadelta, IndexedSlices, Variable
from optimizers._kernels.adadelta import adadelta_rows
from reference import f32, dedup


def ref_update(var, a, u, g, lr, rho, eps):
    """TensorFlow's Adadelta on arrays (rsqrt as 1 / sqrt); returns the new values."""
    one_minus_rho = var.dtype.type(1) - rho
    a = a * rho + (g * g) * one_minus_rho
    upd = (np.sqrt(u + eps) * (1 / np.sqrt(a + eps))) * g
    var = var - upd * lr
    u = u * rho + (upd * upd) * one_minus_rho
    return var, a, u


def ref_sparse(var, a, u, values, indices, lr, rho, eps):
    rows, g = dedup(values, indices)
    var[rows], a[rows], u[rows] = ref_update(var[rows], a[rows], u[rows], g, lr, rho, eps)


# ---------------------------------------------------------------- arguments and config
def test_defaults_and_attributes():
    opt = Adadelta()
    assert opt.name == "Adadelta" and Adadelta._HAS_AGGREGATE_GRAD is True
    assert sorted(opt._hyper) == ["decay", "learning_rate", "rho"]
    assert opt.get_config() == {"name": "Adadelta", "learning_rate": 0.001, "decay": 0.0,
                                "rho": 0.95, "epsilon": 1e-7}
    assert Adadelta(epsilon=None).epsilon == 1e-7
    assert Adadelta(epsilon=0).epsilon == 1e-7
    assert Adadelta(lr=0.5).get_config()["learning_rate"] == 0.5


def test_config_keys_order_and_round_trip():
    opt = Adadelta(learning_rate=1.0, rho=0.9, epsilon=1e-6, clipnorm=1.0, clipvalue=0.5,
                   global_clipnorm=None, name="delta")
    config = opt.get_config()
    assert list(config) == ["name", "clipnorm", "clipvalue", "learning_rate", "decay", "rho",
                            "epsilon"]
    assert Adadelta.from_config(config).get_config() == config
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == config
    assert isinstance(optimizers.get("adadelta"), Adadelta)
    # after the first step hypers are float32 values, as in TensorFlow
    w = Variable(np.ones(2, np.float32))
    opt.apply_gradients([(np.ones(2, np.float32), w)])
    assert opt.get_config()["rho"] == np.float32(0.9)


def test_bad_arguments():
    with pytest.raises(TypeError, match="Unexpected keyword argument"):
        Adadelta(beta_1=0.9)
    with pytest.raises(TypeError, match="rho"):
        Adadelta(rho="high")
    with pytest.raises(ValueError, match="clipvalue"):
        Adadelta(clipvalue=-1.0)


# ---------------------------------------------------------------- slots and weights
def test_slot_order_all_accum_grad_then_all_accum_var(dtype):
    a = Variable(np.ones((3, 2), dtype), name="a")
    b = Variable(np.ones(4, dtype), name="b")
    opt = Adadelta()
    opt.apply_gradients([(np.ones((3, 2), dtype), a), (np.ones(4, dtype), b)])
    assert [w.name for w in opt.weights] == ["Adadelta/iter", "Adadelta/a/accum_grad", "Adadelta/b/accum_grad",
                                             "Adadelta/a/accum_var", "Adadelta/b/accum_var"]
    assert opt.get_slot_names() == ["accum_grad", "accum_var"]
    assert opt.get_slot(a, "accum_var").numpy().dtype == dtype


def test_set_weights_accepts_checkpoints_without_iterations():
    w = Variable(np.ones(2, np.float32), name="w")
    opt = Adadelta()
    opt.apply_gradients([(np.ones(2, np.float32), w)])
    opt.set_weights([np.full(2, 2.0, np.float32), np.full(2, 3.0, np.float32)])
    assert int(opt.iterations) == 0
    assert (opt.get_slot(w, "accum_var").numpy() == 3).all()
    with pytest.raises(ValueError, match="weight list of length 1"):
        opt.set_weights([np.ones(2, np.float32)])


# ---------------------------------------------------------------- formulas
def test_dense_matches_reference(dtype):
    T = dtype.type
    rng = np.random.default_rng(0)
    init = rng.normal(size=(5, 3)).astype(dtype)
    w, opt = Variable(init), Adadelta(learning_rate=1.0, rho=0.9, epsilon=1e-6)
    var, a, u = init.copy(), np.zeros_like(init), np.zeros_like(init)
    lr, rho, eps = f32(1.0, dtype), f32(0.9, dtype), T(1e-6)
    for _ in range(6):
        g = rng.normal(size=(5, 3)).astype(dtype)
        opt.apply_gradients([(g, w)])
        var, a, u = ref_update(var, a, u, g, lr, rho, eps)
        assert w.numpy().tobytes() == var.tobytes()
        assert opt.get_slot(w, "accum_grad").numpy().tobytes() == a.tobytes()
        assert opt.get_slot(w, "accum_var").numpy().tobytes() == u.tobytes()


def test_sparse_with_duplicates_and_csr_match_reference(dtype):
    T = dtype.type
    rng = np.random.default_rng(1)
    init = rng.normal(size=(8, 3)).astype(dtype)
    w, opt = Variable(init), Adadelta(learning_rate=0.5)
    var, a, u = init.copy(), np.zeros_like(init), np.zeros_like(init)
    lr, rho, eps = f32(0.5, dtype), f32(0.95, dtype), T(1e-7)
    for step in range(6):
        if step % 2:
            dense = np.zeros((8, 3), dtype)
            rows = np.sort(rng.choice(8, size=3, replace=False))
            dense[rows] = rng.normal(size=(3, 3))
            opt.apply_gradients([(sp.csr_matrix(dense), w)])
            ref_sparse(var, a, u, dense[rows], rows, lr, rho, eps)
        else:
            indices = rng.integers(0, 8, size=5)
            values = rng.normal(size=(5, 3)).astype(dtype)
            opt.apply_gradients([(IndexedSlices(values, indices, (8, 3)), w)])
            ref_sparse(var, a, u, values, indices, lr, rho, eps)
        assert w.numpy().tobytes() == var.tobytes()
        assert opt.get_slot(w, "accum_grad").numpy().tobytes() == a.tobytes()
        assert opt.get_slot(w, "accum_var").numpy().tobytes() == u.tobytes()


def test_sparse_1d_variable(dtype):
    T = dtype.type
    w, opt = Variable(np.arange(5, dtype=dtype)), Adadelta(learning_rate=1.0)
    values, indices = np.array([1.0, 2.0, -0.5], dtype), np.array([3, 0, 3])
    opt.apply_gradients([(IndexedSlices(values, indices, (5,)), w)])
    var, a, u = np.arange(5, dtype=dtype), np.zeros(5, dtype), np.zeros(5, dtype)
    ref_sparse(var, a, u, values, indices, f32(1.0, dtype), f32(0.95, dtype), T(1e-7))
    assert w.numpy().tobytes() == var.tobytes()


def test_sparse_step_touches_only_given_rows(dtype):
    w = Variable(np.ones((5, 2), dtype))
    opt = Adadelta(learning_rate=1.0)
    opt.apply_gradients([(np.ones((5, 2), dtype), w)])
    before = [w.numpy()] + [opt.get_slot(w, s).numpy() for s in ("accum_grad", "accum_var")]
    opt.apply_gradients([(IndexedSlices(np.ones((2, 2), dtype), np.array([3, 1]), (5, 2)), w)])
    after = [w.numpy()] + [opt.get_slot(w, s).numpy() for s in ("accum_grad", "accum_var")]
    for old, new in zip(before, after):
        assert new[[0, 2, 4]].tobytes() == old[[0, 2, 4]].tobytes()
        assert (new[[1, 3]] != old[[1, 3]]).all()


def test_sparse_differs_from_dense_for_untouched_rows():
    # dense with zero rows still decays the accumulators; the sparse step is lazy
    w1, w2 = Variable(np.ones((3, 2))), Variable(np.ones((3, 2)))
    o1, o2 = Adadelta(learning_rate=1.0), Adadelta(learning_rate=1.0)
    for opt, w in ((o1, w1), (o2, w2)):
        opt.apply_gradients([(np.ones((3, 2)), w)])
    g = np.zeros((3, 2))
    g[1] = 1.0
    o1.apply_gradients([(g, w1)])
    o2.apply_gradients([(IndexedSlices(g[[1]], np.array([1]), (3, 2)), w2)])
    assert w1.numpy()[1].tobytes() == w2.numpy()[1].tobytes()
    a1, a2 = o1.get_slot(w1, "accum_grad").numpy(), o2.get_slot(w2, "accum_grad").numpy()
    assert (a1[[0, 2]] < a2[[0, 2]]).all()


# ---------------------------------------------------------------- kernel
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_adadelta_rows_kernel(dtype, index_dtype):
    T = dtype.type
    rng = np.random.default_rng(2)
    var = rng.normal(size=(7, 3)).astype(dtype)
    a = rng.uniform(0, 1, size=(7, 3)).astype(dtype)
    u = rng.uniform(0, 1, size=(7, 3)).astype(dtype)
    rows = np.array([5, 1, 6], index_dtype)
    values = rng.normal(size=(3, 3)).astype(dtype)
    lr, rho, eps = T(0.7), T(0.9), T(1e-6)
    ev, ea, eu = var.copy(), a.copy(), u.copy()
    for k, r in enumerate(rows):
        for j in range(3):
            g = values[k, j]
            ea[r, j] = ea[r, j] * rho + (g * g) * (T(1) - rho)
            upd = (np.sqrt(eu[r, j] + eps) * (T(1) / np.sqrt(ea[r, j] + eps))) * g
            ev[r, j] = ev[r, j] - upd * lr
            eu[r, j] = eu[r, j] * rho + (upd * upd) * (T(1) - rho)
    adadelta_rows(var, a, u, rows, values, lr, rho, T(1) - rho, eps)
    assert var.tobytes() == ev.tobytes()
    assert a.tobytes() == ea.tobytes() and u.tobytes() == eu.tobytes()


def test_adadelta_rows_kernel_threads_do_not_change_results():
    rng = np.random.default_rng(3)
    var = rng.normal(size=(3000, 16)).astype(np.float32)
    rows = rng.permutation(3000)[:2500]
    values = rng.normal(size=(2500, 16)).astype(np.float32)
    out = []
    for n_threads in (1, 2):
        v, a, u = var.copy(), np.zeros_like(var), np.zeros_like(var)
        adadelta_rows(v, a, u, rows, values, np.float32(1.0), np.float32(0.95),
                      np.float32(0.05), np.float32(1e-7), n_threads)
        out.append((v.tobytes(), a.tobytes(), u.tobytes()))
    assert out[0] == out[1]
