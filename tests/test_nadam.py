"""Nadam: momentum cache, schedule_decay, sparse semantics, config round trip."""
import numpy as np
import pytest

from optimizers import IndexedSlices, Nadam, Variable, schedules


def test_cache_weight_order_and_value():
    a, b = Variable(np.ones(2, np.float32), name="a"), Variable(np.ones(3, np.float32), name="b")
    opt = Nadam()
    opt.apply_gradients([(np.ones(2, np.float32), a), (np.ones(3, np.float32), b)])
    assert [w.name for w in opt.weights] == ["Nadam/iter", "Nadam/momentum_cache", "Nadam/a/m", "Nadam/b/m", "Nadam/a/v",
                                             "Nadam/b/v"]
    assert opt.get_weights()[1] == np.float32(0.45007348)


def test_schedule_decay_and_config_round_trip():
    opt = Nadam(schedule_decay=0.01, decay=0.5)
    assert opt.get_config()["decay"] == 0.01
    assert Nadam.from_config(opt.get_config()).get_config()["decay"] == 0.01
    assert Nadam(decay=0.5).get_config()["decay"] == 0.004
    with pytest.raises(ValueError, match="does not support"):
        Nadam(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.9))


def test_sparse_decays_moments_everywhere_moves_given_rows(dtype):
    init = np.ones((4, 2), dtype)
    w = Variable(init)
    opt = Nadam(learning_rate=0.01)
    opt.apply_gradients([(np.ones_like(init), w)])
    m, before = opt.get_slot(w, "m").numpy(), w.numpy()
    opt.apply_gradients([(IndexedSlices(np.ones((1, 2), dtype), np.array([2]), (4, 2)), w)])
    beta_1 = dtype.type(np.float32(0.9))
    np.testing.assert_array_equal(opt.get_slot(w, "m").numpy()[[0, 1, 3]],
                                  m[[0, 1, 3]] * beta_1)
    np.testing.assert_array_equal(w.numpy()[[0, 1, 3]], before[[0, 1, 3]])


def test_failed_step_leaves_the_cache():
    w = Variable(np.ones(2, np.float32), name="w")
    opt = Nadam()
    opt.apply_gradients([(np.ones(2, np.float32), w)])
    cache = opt.get_weights()[1]
    with pytest.raises(ValueError):
        opt.apply_gradients([(np.ones(3, np.float32), w)])
    assert opt.get_weights()[1] == cache
