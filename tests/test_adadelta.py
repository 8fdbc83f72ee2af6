"""Adadelta: arguments, float32 hypers in configs, old checkpoints, and its
rows kernel.

Config round trips, slot order, the dense and sparse formulas (rsqrt as
``1 / sqrt``; the sparse step touches the given rows only), scipy.sparse
gradients, threads and float16 are checked by `test_rules.py` (references in
`rules.py`).
"""
import numpy as np
import pytest

from optimizers import Adadelta, Variable
from optimizers._kernels.adadelta import adadelta_rows


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


def test_config_holds_float32_hypers_after_a_step():
    opt = Adadelta(learning_rate=1.0, rho=0.9, epsilon=1e-6, clipnorm=1.0, clipvalue=0.5,
                   global_clipnorm=None, name="delta")
    assert list(opt.get_config())[:3] == ["name", "clipnorm", "clipvalue"]
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


# ---------------------------------------------------------------- weights
def test_set_weights_accepts_checkpoints_without_iterations():
    w = Variable(np.ones(2, np.float32), name="w")
    opt = Adadelta()
    opt.apply_gradients([(np.ones(2, np.float32), w)])
    opt.set_weights([np.full(2, 2.0, np.float32), np.full(2, 3.0, np.float32)])
    assert int(opt.iterations) == 0
    assert (opt.get_slot(w, "accum_var").numpy() == 3).all()
    with pytest.raises(ValueError, match="weight list of length 1"):
        opt.set_weights([np.ones(2, np.float32)])


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
    adadelta_rows(var, a, u, rows, values,
                  dict(lr_t=lr, rho=rho, one_minus_rho=T(1) - rho, epsilon=eps))
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
        adadelta_rows(v, a, u, rows, values,
                      dict(lr_t=np.float32(1.0), rho=np.float32(0.95),
                           one_minus_rho=np.float32(0.05), epsilon=np.float32(1e-7)),
                      n_threads)
        out.append((v.tobytes(), a.tobytes(), u.tobytes()))
    assert out[0] == out[1]
