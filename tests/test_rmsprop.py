"""RMSprop: epsilon's default, the `RMSProp` alias and the momentum check.

Config keys, slot order, the four dense and sparse formulas (which rows each
sparse path touches) are checked by `test_rules.py` (references in `rules.py`).
"""
import pytest

from optimizers import RMSprop, get


def test_epsilon_alias_and_momentum_range():
    assert RMSprop(momentum=0.5, centered=True, epsilon=None).epsilon == 1e-7
    assert isinstance(get("RMSProp"), RMSprop)
    with pytest.raises(ValueError, match=r"`momentum` must be between \[0, 1\]"):
        RMSprop(momentum=2.0)
