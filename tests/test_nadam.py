"""Nadam: the momentum cache's value and schedule_decay in configs.

Weight order, the dense and sparse formulas (moments decayed over the whole
variable, the variable moved on the given rows), the cache through steps and
failed steps are checked by `test_rules.py` (references in `rules.py`).
"""
import numpy as np
import pytest

from optimizers import Nadam, Variable, schedules


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
