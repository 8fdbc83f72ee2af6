"""Adadelta and Adamax: config, slots, laziness."""
import numpy as np

from optimizers import Adadelta, Adamax, IndexedSlices, Variable


def test_adadelta_config_and_slots():
    opt = Adadelta(epsilon=0)
    assert opt.epsilon == 1e-7
    assert list(opt.get_config()) == ["name", "learning_rate", "decay", "rho", "epsilon"]
    a = Variable(np.ones(2), name="a")
    opt.apply_gradients([(np.ones(2), a)])
    assert [w.name for w in opt.weights] == ["iter", "a/accum_grad", "a/accum_var"]
    opt.set_weights(opt.get_weights()[1:])                     # old checkpoint: no iter
    assert int(opt.iterations) == 0


def test_adamax_config_slots_and_lazy_sparse(dtype):
    opt = Adamax(learning_rate=0.01)
    assert list(opt.get_config()) == ["name", "learning_rate", "decay", "beta_1", "beta_2",
                                      "epsilon"]
    w = Variable(np.ones((4, 2), dtype), name="w")
    opt.apply_gradients([(np.ones((4, 2), dtype), w)])
    assert [x.name for x in opt.weights] == ["iter", "w/m", "w/v"]
    m, before = opt.get_slot(w, "m").numpy(), w.numpy()
    opt.apply_gradients([(IndexedSlices(np.ones((2, 2), dtype), np.array([1, 1]), (4, 2)), w)])
    assert (opt.get_slot(w, "m").numpy()[[0, 2, 3]] == m[[0, 2, 3]]).all()
    assert (w.numpy()[[0, 2, 3]] == before[[0, 2, 3]]).all()
    T = dtype.type
    m1 = m[1] * T(np.float32(0.9)) + T(2) * (T(1) - T(np.float32(0.9)))
    assert (opt.get_slot(w, "m").numpy()[1] == m1).all()
