"""Adam: what only Adam has (defaults, arguments, the amsgrad `set_weights`
shim) and its whole-table sparse kernel.

Config round trips, slots, the dense and sparse formulas, scipy.sparse
gradients, threads and float16 are checked for every optimizer by
`test_rules.py` (references in `rules.py`).
"""
import numpy as np
import pytest

from optimizers import Adam, Variable
from optimizers._kernels.adam import adam_sparse_whole


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
# set_weights: amsgrad weights load into a plain Adam
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


def _adam_coefs(beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, lr_sparse, epsilon):
    c = dict(beta_1=beta_1, one_minus_beta_1=one_minus_beta_1, beta_2=beta_2,
             one_minus_beta_2=one_minus_beta_2, epsilon=epsilon)
    return c, lr_sparse


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
    adam_sparse_whole(var, m, v, vhat if amsgrad else None, rows, order, values,
                      *_adam_coefs(*scalars), 2)
    for got, want in list(zip((var, m, v, vhat), expected))[:4 if amsgrad else 3]:
        assert got.tobytes() == want.tobytes()


def test_kernel_with_no_rows_and_empty_shapes(dtype):
    T = dtype.type
    scalars = [T(0.5), T(0.5), T(0.25), T(0.75), T(1), T(1)]
    var = np.ones((4, 2), dtype)
    m, v = np.ones_like(var), np.ones_like(var)
    no_rows, no_values = np.empty(0, np.int64), np.empty((0, 2), dtype)
    adam_sparse_whole(var, m, v, None, no_rows, np.empty(0, np.intp), no_values,
                      *_adam_coefs(*scalars))
    assert (m == 0.5).all() and (v == 0.25).all()
    assert (var == T(1) - T(0.5) / (T(0.5) + T(1))).all()
    for shape, rows in [((0, 2), no_rows), ((4, 0), np.array([3, 0]))]:
        # empty views at the start of larger buffers: a write would show there
        buffers = [np.full((5, 3), 7, dtype) for _ in range(4)]
        arrays = [b[:shape[0], :shape[1]] for b in buffers]
        values = np.empty((len(rows), shape[1]), dtype)
        adam_sparse_whole(*arrays, rows, np.argsort(rows), values, *_adam_coefs(*scalars), 2)
        assert all(a.shape == shape for a in arrays)
        assert all((b == 7).all() for b in buffers)
