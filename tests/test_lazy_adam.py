"""LazyAdam: its arguments and its rows-only kernel.

Config round trips, slots, Adam's dense step, the touched-rows sparse step
(bias correction from the global step), scipy.sparse gradients, threads and
float16 are checked for every optimizer by `test_rules.py` (references in
`rules.py`).
"""
import numpy as np
import pytest

from optimizers import Adam, LazyAdam
from optimizers._kernels.adam import adam_lazy_rows


# --------------------------------------------------------------------------- #
# Constructor and config
def test_defaults_and_config():
    opt = LazyAdam()
    assert opt.get_config() == {"name": "LazyAdam", "learning_rate": 0.001, "decay": 0.0,
                                "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                                "amsgrad": False}
    assert isinstance(opt, Adam) and LazyAdam._HAS_AGGREGATE_GRAD
    assert LazyAdam(epsilon=0).epsilon == 1e-7


def test_amsgrad_is_refused():
    LazyAdam(amsgrad=False)
    with pytest.raises(ValueError, match="amsgrad"):
        LazyAdam(amsgrad=True)


@pytest.mark.parametrize("kwargs, error", [
    ({"beta_1": "x"}, TypeError), ({"lr": -1.0}, ValueError), ({"nesterov": True}, TypeError)])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        LazyAdam(**kwargs)


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
    coefs = dict(beta_1=b1, one_minus_beta_1=T(1) - b1, beta_2=b2, one_minus_beta_2=T(1) - b2,
                 epsilon=eps)
    adam_lazy_rows(var, m, v, vhat if amsgrad else None, rows, values, coefs, lr, wd, 2)
    assert var.tobytes() == ew.tobytes()
    assert m.tobytes() == em.tobytes() and v.tobytes() == ev.tobytes()
    if amsgrad:
        assert vhat.tobytes() == evh.tobytes()
    assert var[[8, 10]].tobytes() == original[[8, 10]].tobytes()
