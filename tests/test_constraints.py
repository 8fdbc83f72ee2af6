"""Tests for optimizers.constraints: Keras formulas, dtypes, axes, get/serialize."""
import json
import math

import numpy as np
import pytest

import optimizers.constraints as constraints
from optimizers.constraints import Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm

EPS = 1e-7
DTYPES = [np.float32, np.float64]

# Columns have norms 5 and 1e-3 (axis=0); rows have norms 3 and sqrt(16 + 1e-6).
W = np.array([[3.0, 0.0],
              [4.0, 1e-3]])


def close(actual, expected, dtype):
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(actual, np.asarray(expected, dtype=np.float64), rtol=rtol,
                               atol=0)


# ---------------------------------------------------------------------- #
# Formulas against hand-computed values
@pytest.mark.parametrize("dtype", DTYPES)
def test_non_neg(dtype):
    w = np.array([-2.0, -0.0, 0.0, 0.5, 3.0], dtype=dtype)
    out = NonNeg()(w)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0, 0.5, 3.0])
    # w * (w >= 0): a negative entry times 0 is -0.0, as in Keras
    assert np.signbit(out[0]) and not np.signbit(out[2])


def test_non_neg_keeps_nan():
    out = NonNeg()(np.array([np.nan, -1.0]))
    assert np.isnan(out[0]) and out[1] == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_norm_axis0(dtype):
    out = MaxNorm(max_value=2.0)(W.astype(dtype))
    assert out.dtype == dtype
    # column 0: norm 5 > 2, scaled by 2 / (eps + 5); column 1: norm 1e-3 kept (up to eps)
    scale0 = 2.0 / (EPS + 5.0)
    scale1 = 1e-3 / (EPS + 1e-3)
    close(out, [[3.0 * scale0, 0.0], [4.0 * scale0, 1e-3 * scale1]], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_norm_axis1(dtype):
    out = MaxNorm(max_value=2.0, axis=1)(W.astype(dtype))
    n1 = math.sqrt(16.0 + 1e-6)
    close(out, [[3.0 * 2.0 / (EPS + 3.0), 0.0],
                [4.0 * 2.0 / (EPS + n1), 1e-3 * 2.0 / (EPS + n1)]], dtype)


def test_max_norm_default_is_two():
    out = MaxNorm()(np.array([[6.0], [8.0]]))
    close(out, [[6.0 * 2 / (EPS + 10)], [8.0 * 2 / (EPS + 10)]], np.float64)


def test_max_norm_of_zero_vector_is_zero():
    out = MaxNorm(1.0)(np.zeros((3, 2), dtype=np.float32))
    assert out.dtype == np.float32 and not out.any() and np.isfinite(out).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_unit_norm(dtype):
    out = UnitNorm()(W.astype(dtype))
    assert out.dtype == dtype
    close(out, [[3.0 / (EPS + 5.0), 0.0], [4.0 / (EPS + 5.0), 1e-3 / (EPS + 1e-3)]], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unit_norm_axis1(dtype):
    out = UnitNorm(axis=1)(np.array([[3.0, 4.0], [0.0, 2.0]], dtype=dtype))
    close(out, [[3.0 / (EPS + 5.0), 4.0 / (EPS + 5.0)], [0.0, 2.0 / (EPS + 2.0)]], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_min_max_norm_rate_one(dtype):
    # norms 5 (clipped to 2) and 1e-3 (raised to 0.5)
    out = MinMaxNorm(min_value=0.5, max_value=2.0)(W.astype(dtype))
    assert out.dtype == dtype
    close(out, [[3.0 * 2.0 / (EPS + 5.0), 0.0],
                [4.0 * 2.0 / (EPS + 5.0), 1e-3 * 0.5 / (EPS + 1e-3)]], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_min_max_norm_partial_rate(dtype):
    # desired = rate * clip(n) + (1 - rate) * n
    out = MinMaxNorm(min_value=0.5, max_value=2.0, rate=0.25)(W.astype(dtype))
    d0 = 0.25 * 2.0 + 0.75 * 5.0
    d1 = 0.25 * 0.5 + 0.75 * 1e-3
    close(out, [[3.0 * d0 / (EPS + 5.0), 0.0],
                [4.0 * d0 / (EPS + 5.0), 1e-3 * d1 / (EPS + 1e-3)]], dtype)


def test_min_max_norm_defaults_unit_ball():
    out = MinMaxNorm()(np.array([[0.3], [0.4]]))
    # norm 0.5 is inside [0, 1]: only the epsilon changes it
    close(out, [[0.3 * 0.5 / (EPS + 0.5)], [0.4 * 0.5 / (EPS + 0.5)]], np.float64)


def test_min_max_norm_max_below_min_uses_min():
    # Keras's clip raises max_value to min_value
    w = np.array([[3.0], [4.0]])
    out = MinMaxNorm(min_value=1.0, max_value=0.5)(w)
    close(out, [[3.0 / (EPS + 5.0)], [4.0 / (EPS + 5.0)]], np.float64)


def test_float32_uses_float32_epsilon_and_ops():
    w = np.array([[3.0], [4.0]], dtype=np.float32)
    norms = np.sqrt(np.sum(np.square(w), axis=0, keepdims=True))
    expected = w * (np.float32(2) / (np.float32(EPS) + norms))
    np.testing.assert_array_equal(MaxNorm(2.0)(w), expected)
    np.testing.assert_array_equal(UnitNorm()(w), w / (np.float32(EPS) + norms))


def test_float16_stays_float16():
    w = np.array([[3.0], [4.0]], dtype=np.float16)
    for c in (NonNeg(), MaxNorm(1.0), UnitNorm(), MinMaxNorm(1.0, 2.0)):
        assert c(w).dtype == np.float16


def test_integer_input_becomes_float64():
    out = UnitNorm()(np.array([[3], [4]]))
    assert out.dtype == np.float64
    close(out, [[3 / (EPS + 5)], [4 / (EPS + 5)]], np.float64)


def test_input_not_modified():
    w = W.copy()
    for c in (NonNeg(), MaxNorm(1.0), UnitNorm(), MinMaxNorm(1.0, 2.0)):
        c(w)
    np.testing.assert_array_equal(w, W)


# ---------------------------------------------------------------------- #
# Axes
def test_axis_list_reduces_over_several_axes():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3, 4, 5)).astype(np.float32)  # a conv kernel
    out = MaxNorm(1.0, axis=[0, 1, 2])(w)
    norms = np.sqrt(np.sum(out.astype(np.float64) ** 2, axis=(0, 1, 2)))
    np.testing.assert_allclose(norms, np.minimum(np.sqrt(
        np.sum(w.astype(np.float64) ** 2, axis=(0, 1, 2))), 1.0), rtol=1e-5)
    unit = UnitNorm(axis=(0, 1, 2))(w)
    np.testing.assert_allclose(np.sqrt(np.sum(unit.astype(np.float64) ** 2, axis=(0, 1, 2))),
                               1.0, rtol=1e-5)


def test_negative_axis():
    w = np.array([[3.0, 4.0]])
    np.testing.assert_array_equal(UnitNorm(axis=-1)(w), UnitNorm(axis=1)(w))


def test_one_dimensional_weights():
    out = UnitNorm()(np.array([3.0, 4.0], dtype=np.float32))
    assert out.shape == (2,) and out.dtype == np.float32
    close(out, [3 / (EPS + 5), 4 / (EPS + 5)], np.float32)


def test_axis_out_of_range_raises():
    with pytest.raises(np.exceptions.AxisError):
        UnitNorm(axis=2)(np.ones((2, 2)))


@pytest.mark.parametrize("axis", [1.0, "0", None, [0, 1.5], True])
def test_bad_axis_type(axis):
    with pytest.raises(TypeError, match="`axis`"):
        MaxNorm(axis=axis)


@pytest.mark.parametrize("make, arg", [
    (lambda: MaxNorm(max_value="2"), "max_value"),
    (lambda: MinMaxNorm(min_value=None), "min_value"),
    (lambda: MinMaxNorm(max_value=[1.0]), "max_value"),
    (lambda: MinMaxNorm(rate="1"), "rate"),
])
def test_bad_numbers(make, arg):
    with pytest.raises(TypeError, match=f"`{arg}`"):
        make()


# ---------------------------------------------------------------------- #
# Base class, config, get / serialize / deserialize
def test_base_constraint_is_identity():
    w = np.arange(3.0)
    out = Constraint()(w)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, w)
    assert Constraint().get_config() == {}


@pytest.mark.parametrize("constraint, config", [
    (NonNeg(), {}),
    (MaxNorm(), {"max_value": 2, "axis": 0}),
    (MaxNorm(3.0, axis=[0, 1]), {"max_value": 3.0, "axis": [0, 1]}),
    (MinMaxNorm(), {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
    (MinMaxNorm(0.5, 2.0, 0.3, 1), {"min_value": 0.5, "max_value": 2.0, "rate": 0.3, "axis": 1}),
    (UnitNorm(), {"axis": 0}),
    (UnitNorm(axis=-1), {"axis": -1}),
], ids=lambda x: type(x).__name__ if isinstance(x, Constraint) else "")
def test_config_and_round_trips(constraint, config):
    assert constraint.get_config() == config
    serialized = constraints.serialize(constraint)
    assert serialized == {"class_name": type(constraint).__name__, "config": config}
    for clone in (type(constraint).from_config(config),
                  constraints.deserialize(json.loads(json.dumps(serialized))),
                  constraints.get(serialized)):
        assert type(clone) is type(constraint)
        assert clone.get_config() == config
        np.testing.assert_array_equal(clone(W), constraint(W))


@pytest.mark.parametrize("name, cls", [
    ("NonNeg", NonNeg), ("non_neg", NonNeg), ("nonneg", NonNeg),
    ("MaxNorm", MaxNorm), ("max_norm", MaxNorm), ("maxnorm", MaxNorm),
    ("UnitNorm", UnitNorm), ("unit_norm", UnitNorm), ("unitnorm", UnitNorm),
    ("MinMaxNorm", MinMaxNorm), ("min_max_norm", MinMaxNorm),
])
def test_get_by_name(name, cls):
    c = constraints.get(name)
    assert type(c) is cls
    assert c.get_config() == cls().get_config()


def test_get_none_and_callables():
    assert constraints.get(None) is None
    c = MaxNorm(1.0)
    assert constraints.get(c) is c

    def clip_positive(w):
        return np.maximum(w, 0)

    assert constraints.get(clip_positive) is clip_positive


def test_get_unknown_name():
    with pytest.raises(ValueError, match="Unknown constraint: nonNeg"):
        constraints.get("nonNeg")


@pytest.mark.parametrize("identifier", [3, 0.5, [1, 2]])
def test_get_uninterpretable(identifier):
    with pytest.raises(ValueError, match="Could not interpret constraint identifier"):
        constraints.get(identifier)


def test_serialize_plain_function_gives_its_name():
    def my_constraint(w):
        return w

    assert constraints.serialize(my_constraint) == "my_constraint"
    assert constraints.deserialize(
        "my_constraint", custom_objects={"my_constraint": my_constraint}) is my_constraint


def test_serialize_rejects_other_objects():
    with pytest.raises(ValueError, match="Cannot serialize `constraint`"):
        constraints.serialize(object())


def test_deserialize_custom_class():
    class Clip(Constraint):
        def __init__(self, limit=1.0):
            self.limit = limit

        def __call__(self, w):
            return np.clip(w, -self.limit, self.limit)

        def get_config(self):
            return {"limit": self.limit}

    serialized = constraints.serialize(Clip(0.5))
    assert serialized == {"class_name": "Clip", "config": {"limit": 0.5}}
    clone = constraints.deserialize(serialized, custom_objects={"Clip": Clip})
    np.testing.assert_array_equal(clone(np.array([-2.0, 0.1, 2.0])), [-0.5, 0.1, 0.5])


@pytest.mark.parametrize("config", [{"class_name": "MaxNorm"}, {"config": {}}, 5])
def test_deserialize_improper_config(config):
    with pytest.raises(ValueError, match="Improper config format"):
        constraints.deserialize(config)


def test_works_on_variable_values():
    try:
        from optimizers.variables import Variable
    except ImportError:
        pytest.skip("optimizers.variables not available")
    v = Variable(np.array([[3.0], [4.0]], dtype=np.float32), constraint=MaxNorm(1.0))
    out = v.constraint(np.asarray(v))
    assert out.dtype == np.float32
    close(out, [[3.0 / (EPS + 5.0)], [4.0 / (EPS + 5.0)]], np.float32)
