"""PartialRowwiseAdam: epsilon's default, how rows are formed (other ranks,
dense == sparse over every row).

Config round trips, slots (``m`` per element, ``v`` per row), the dense and
sparse formulas, scipy.sparse gradients, which rows a sparse step touches,
threads, float16 and bad input are checked by `test_rules.py` (references in
`rules.py`).
"""
import numpy as np
import pytest

from optimizers import IndexedSlices, PartialRowwiseAdam, Variable
from rules import PartialRowwiseAdamReference


def problem(dtype, shape=(12, 5), seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, shape).astype(dtype), rng


def state(opt, var):
    return (np.asarray(var).copy(), opt.get_slot(var, "m").numpy(),
            opt.get_slot(var, "v").numpy())


def test_falsy_epsilon_means_1e_7():
    assert PartialRowwiseAdam(epsilon=0).epsilon == 1e-7
    assert PartialRowwiseAdam(epsilon=None).epsilon == 1e-7


def test_dense_equals_sparse_naming_every_row(dtype):
    w0, rng = problem(dtype, (30, 7))
    dense_var, sparse_var = Variable(w0.copy()), Variable(w0.copy())
    dense, sparse = PartialRowwiseAdam(0.01), PartialRowwiseAdam(0.01)
    for _ in range(4):
        g = rng.normal(0, 1, w0.shape).astype(dtype)
        dense.apply_gradients([(g, dense_var)])
        order = rng.permutation(len(w0))
        sparse.apply_gradients([(IndexedSlices(g[order], order, w0.shape), sparse_var)])
    for a, b in zip(state(dense, dense_var), state(sparse, sparse_var)):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("shape", [(9,), (6, 2, 3), ()])
def test_other_ranks(dtype, shape):
    w0 = np.linspace(-1, 1, int(np.prod(shape))).astype(dtype).reshape(shape)
    var, opt = Variable(w0.copy()), PartialRowwiseAdam(0.1)
    g = np.full(shape, 0.5, dtype)
    opt.apply_gradients([(g, var)])
    ref = PartialRowwiseAdamReference(dict(learning_rate=0.1), w0)
    ref.dense(g)
    assert opt.get_slot(var, "v").shape == (shape[:1] or (1,))
    for got, name in zip(state(opt, var), ("var", "m", "v")):
        assert got.tobytes() == ref.state[name].tobytes(), name
