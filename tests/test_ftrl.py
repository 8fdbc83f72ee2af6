"""Ftrl: `lr` ignored, a step by hand and the sparse checks.

Config keys, the per-variable slot order, the argument checks and the dense
and sparse formulas (l1, l2, l2 shrinkage, beta, learning_rate_power, 1-D
variables) are checked by `test_rules.py` (references and tables in
`rules.py`).
"""
import numpy as np
import pytest

from optimizers import Ftrl, IndexedSlices, Variable


def test_lr_is_ignored_and_no_aggregate_grad():
    opt = Ftrl(learning_rate=0.2, lr=0.5, beta=0.1)
    assert float(opt.learning_rate) == np.float32(0.2)
    assert not Ftrl._HAS_AGGREGATE_GRAD


def test_l1_zeroes_small_weights_dense_and_sparse():
    for sparse in (False, True):
        w = Variable(np.zeros((3, 2)))
        opt = Ftrl(learning_rate=0.5, l1_regularization_strength=10.0)
        g = np.full((3, 2), 0.1)
        grad = IndexedSlices(g[:2], np.array([0, 2]), (3, 2)) if sparse else g
        opt.apply_gradients([(grad, w)])
        assert (w.numpy() == 0).all()
        assert (opt.get_slot(w, "linear").numpy()[0] != 0).all()


def test_one_step_by_hand():
    w = Variable(np.array([0.5]))
    opt = Ftrl(learning_rate=0.1, initial_accumulator_value=0.1,
               l1_regularization_strength=0.001, l2_regularization_strength=0.01)
    opt.apply_gradients([(np.array([0.2]), w)])
    lr, l1, l2 = [float(np.float32(x)) for x in (0.1, 0.001, 0.01)]
    n = 0.1 + 0.04
    sigma = (np.sqrt(n) - np.sqrt(0.1)) / lr
    linear = 0.2 - sigma * 0.5
    expected = (l1 * np.sign(linear) - linear) / (np.sqrt(n) / lr + 2 * l2)
    np.testing.assert_allclose(w.numpy(), [expected], rtol=1e-14)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")       # lr = 0 divides, as in TF
def test_sparse_step_needs_positive_learning_rate():
    w = Variable(np.ones((2, 2)), name="w")
    opt = Ftrl(learning_rate=0.0)
    opt.apply_gradients([(np.ones((2, 2)), w)])                 # dense: allowed
    with pytest.raises(ValueError, match="learning rate > 0"):
        opt.apply_gradients([(IndexedSlices(np.ones((1, 2)), np.array([0]), (2, 2)), w)])
    assert int(opt.iterations) == 1
