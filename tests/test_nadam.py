"""Nadam: the momentum cache's value and schedule_decay in configs.

Weight order, the dense and sparse formulas (moments decayed over the whole
variable, the variable moved on the given rows), the cache through steps and
failed steps are checked by `test_rules.py` (references in `rules.py`).
"""
import numpy as np
import pytest

from optimizers import IndexedSlices, Nadam, Variable, schedules


def test_cache_value_after_one_step_is_tensorflows():
    a = Variable(np.ones(2, np.float32), name="a")
    opt = Nadam()
    opt.apply_gradients([(np.ones(2, np.float32), a)])
    assert opt.get_weights()[1] == np.float32(0.45007348)


def test_schedule_decay_and_config_round_trip():
    opt = Nadam(schedule_decay=0.01, decay=0.5)
    assert opt.get_config()["decay"] == 0.01
    assert Nadam.from_config(opt.get_config()).get_config()["decay"] == 0.01
    assert Nadam(decay=0.5).get_config()["decay"] == 0.004
    with pytest.raises(ValueError, match="does not support"):
        Nadam(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.9))


def test_cache_is_stored_with_the_step(monkeypatch):
    # A step that fails once it is past its checks (here: out of memory as the
    # sparse update starts) leaves the cache as it was, with `iterations`.
    table = Variable(np.ones((6, 3), np.float32), name="table")
    opt = Nadam()
    grad = IndexedSlices(np.ones((2, 3), np.float32), np.array([1, 4]), table.shape)
    opt.apply_gradients([(grad, table)])
    before = [np.array(w, copy=True) for w in opt.get_weights()]

    def no_memory(*args, **kwargs):
        raise MemoryError("out of memory (test)")

    monkeypatch.setattr(np, "argsort", no_memory)
    with pytest.raises(MemoryError):
        opt.apply_gradients([(grad, table)])
    monkeypatch.undo()
    assert all(np.array_equal(a, b) for a, b in zip(opt.get_weights(), before))
    # the retried step is the second step, as if the failed one never ran
    opt.apply_gradients([(grad, table)])
    other = Variable(np.ones((6, 3), np.float32), name="table")
    twice = Nadam()
    twice.apply_gradients([(grad, other)])
    twice.apply_gradients([(grad, other)])
    assert all(np.array_equal(a, b) for a, b in zip(opt.get_weights(), twice.get_weights()))
    assert np.array_equal(table.numpy(), other.numpy())
