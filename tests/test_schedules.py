"""Tests for optimizers.schedules: TF 2.4 formulas, float32 numerics, configs."""
import json
import math
import pathlib

import numpy as np
import pytest

import optimizers.schedules as schedules
from optimizers.schedules import (CosineDecay, CosineDecayRestarts, ExponentialDecay,
                                  InverseTimeDecay, LearningRateSchedule,
                                  PiecewiseConstantDecay, PolynomialDecay)
from reference import c_pow

GOLDEN = pathlib.Path(__file__).parent / "golden" / "schedules.npz"
f32 = np.float32


def assert_f32_close(actual, expected, rtol=1e-6):
    assert isinstance(actual, np.float32), type(actual)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


# ---------------------------------------------------------------------- #
# Hand-computed values: (schedule, step, expected learning rate)
HAND_CASES = [
    # ExponentialDecay: lr0 * rate ** (step / decay_steps)
    (ExponentialDecay(0.1, 10, 0.5), 0, 0.1),
    (ExponentialDecay(0.1, 10, 0.5), 5, 0.1 * math.sqrt(0.5)),
    (ExponentialDecay(0.1, 10, 0.5), 10, 0.05),
    (ExponentialDecay(0.1, 10, 0.5), 25, 0.1 * 0.5 ** 2.5),
    (ExponentialDecay(0.1, 10, 0.5, staircase=True), 19, 0.05),
    (ExponentialDecay(0.1, 10, 0.5, staircase=True), 20, 0.025),
    (ExponentialDecay(1.0, 3, 0.96), 7, 0.96 ** (7 / 3)),
    # PiecewiseConstantDecay: values[0] up to b[0] included, then per interval
    (PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1]), 0, 1.0),
    (PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1]), 10, 1.0),
    (PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1]), 11, 0.5),
    (PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1]), 100, 0.5),
    (PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1]), 101, 0.1),
    (PiecewiseConstantDecay([5], [0.3, 0.2]), 6, 0.2),
    # PolynomialDecay: (lr0 - end) * (1 - p) ** power + end
    (PolynomialDecay(0.1, 10), 5, 0.0999 * 0.5 + 0.0001),
    (PolynomialDecay(0.1, 10, 0.01, power=2.0), 5, 0.09 * 0.25 + 0.01),
    (PolynomialDecay(0.1, 10, 0.01, power=2.0), 10, 0.01),
    (PolynomialDecay(0.1, 10, 0.01, power=2.0), 20, 0.01),
    (PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True), 0, 0.1),
    (PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True), 10, 0.01),
    (PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True), 15, 0.09 * 0.25 ** 2 + 0.01),
    (PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True), 21, 0.09 * (9 / 30) ** 2 + 0.01),
    (PolynomialDecay(0.1, 10, 0.01, power=0.5), 4, 0.09 * math.sqrt(0.6) + 0.01),
    # InverseTimeDecay: lr0 / (1 + rate * p)
    (InverseTimeDecay(0.1, 10, 0.5), 0, 0.1),
    (InverseTimeDecay(0.1, 10, 0.5), 10, 0.1 / 1.5),
    (InverseTimeDecay(0.1, 10, 0.5), 15, 0.1 / 1.75),
    (InverseTimeDecay(0.1, 10, 0.5, staircase=True), 15, 0.1 / 1.5),
    (InverseTimeDecay(0.1, 10, 0.5, staircase=True), 30, 0.1 / 2.5),
    # CosineDecay: lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * f)) + alpha)
    (CosineDecay(0.1, 10), 0, 0.1),
    (CosineDecay(0.1, 10), 5, 0.05),
    (CosineDecay(0.1, 10), 10, 0.0),
    (CosineDecay(0.1, 10, alpha=0.2), 5, 0.1 * (0.8 * 0.5 + 0.2)),
    (CosineDecay(0.1, 10, alpha=0.2), 10, 0.02),
    (CosineDecay(0.1, 10, alpha=0.2), 1000, 0.02),
    (CosineDecay(0.1, 10, alpha=0.2), 2, 0.1 * (0.8 * 0.5 * (1 + math.cos(0.2 * math.pi)) + 0.2)),
    # CosineDecayRestarts, t_mul=2, m_mul=0.5: periods [0,10), [10,30), [30,70)
    (CosineDecayRestarts(0.1, 10, m_mul=0.5), 0, 0.1),
    (CosineDecayRestarts(0.1, 10, m_mul=0.5), 5, 0.05),
    (CosineDecayRestarts(0.1, 10, m_mul=0.5), 10, 0.05),
    (CosineDecayRestarts(0.1, 10, m_mul=0.5), 20, 0.025),
    (CosineDecayRestarts(0.1, 10, m_mul=0.5), 30, 0.025),
    (CosineDecayRestarts(0.1, 10, m_mul=0.5), 50, 0.0125),
    (CosineDecayRestarts(0.1, 10, m_mul=0.5), 60,
     0.1 * 0.5 * 0.25 * (1 + math.cos(0.75 * math.pi))),
    # t_mul=1: fixed-length periods
    (CosineDecayRestarts(0.1, 10, t_mul=1.0), 15, 0.05),
    (CosineDecayRestarts(0.1, 10, t_mul=1.0), 20, 0.1),
    (CosineDecayRestarts(0.1, 10, t_mul=1.0, alpha=0.1), 5, 0.1 * (0.9 * 0.5 + 0.1)),
    (CosineDecayRestarts(0.1, 4, t_mul=1.0, m_mul=0.5), 9,
     0.1 * 0.25 * 0.5 * (1 + math.cos(0.25 * math.pi))),
]


@pytest.mark.parametrize("schedule, step, expected", HAND_CASES,
                         ids=[f"{type(c[0]).__name__}-{c[1]}" for c in HAND_CASES])
def test_hand_computed_values(schedule, step, expected):
    # atol covers float32 rounding of cos(pi/2) and of exact zeros
    value = schedule(step)
    assert isinstance(value, np.float32)
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------- #
# Bit-level float32 semantics
def test_exponential_is_float32_pow_in_tf_order():
    s = ExponentialDecay(0.1, 7, 0.93)
    for step in (0, 1, 3, 50, 1234):
        expected = f32(0.1) * c_pow(f32(0.93), f32(step) / f32(7))
        assert s(step) == expected


def test_polynomial_cycle_uses_ceil_multiple():
    s = PolynomialDecay(0.2, 3, 0.01, power=1.5, cycle=True)
    step = 7
    ds = f32(3) * np.ceil(f32(step) / f32(3))
    expected = (f32(0.2) - f32(0.01)) * c_pow(f32(1) - f32(step) / ds, f32(1.5)) + f32(0.01)
    assert s(step) == expected


def test_inverse_time_in_tf_order():
    s = InverseTimeDecay(0.3, 7, 0.11)
    expected = f32(0.3) / (f32(1) + f32(0.11) * (f32(5) / f32(7)))
    assert s(5) == expected


def test_cosine_one_minus_alpha_is_computed_in_double():
    # TF 2.4 computes ``1 - alpha`` in Python before it meets the float32 tensor.
    s = CosineDecay(0.1, 10, alpha=0.33)
    c = f32(0.5) * (f32(1) + schedules._cos(f32(math.pi) * (f32(1) / f32(10))))
    tf_order = f32(0.1) * (f32(1 - 0.33) * c + f32(0.33))
    all_float32 = f32(0.1) * ((f32(1) - f32(0.33)) * c + f32(0.33))
    assert tf_order != all_float32  # the two orders really differ here
    assert s(1) == tf_order


def test_cosine_restarts_alpha_is_cast_first():
    s = CosineDecayRestarts(0.1, 10, t_mul=1.0, alpha=0.33)
    c = f32(0.5) * f32(1) * (f32(1) + schedules._cos(f32(math.pi) * (f32(1) / f32(10))))
    assert s(1) == f32(0.1) * ((f32(1) - f32(0.33)) * c + f32(0.33))


def test_cosine_restarts_t_mul_compared_in_float32():
    # 1 + 1e-9 is 1.0 in float32, so the fixed-period branch is taken.
    s = CosineDecayRestarts(0.1, 10, t_mul=1 + 1e-9)
    assert s(20) == CosineDecayRestarts(0.1, 10, t_mul=1.0)(20) == f32(0.1)


def test_cosine_restarts_short_periods_run_out():
    # With t_mul < 1 the periods sum to 10 / (1 - 0.5) = 20 steps; TF gives nan after.
    s = CosineDecayRestarts(0.1, 10, t_mul=0.5)
    assert np.isfinite(s(15))
    assert np.isnan(s(25))


@pytest.mark.parametrize("name, reference", [("_cos", math.cos), ("_log", math.log)])
def test_scalar_cos_and_log_are_float32_and_within_one_ulp(name, reference):
    function = getattr(schedules, name)
    for k in range(1, 2001):
        x = f32(k) / f32(997)
        value = function(x)
        assert isinstance(value, np.float32)
        expected = f32(reference(float(x)))
        assert abs(value - expected) <= np.spacing(abs(expected)), (name, x)
    assert schedules._log(f32(0)) == -np.inf
    assert np.isnan(schedules._log(f32(-1)))


def test_large_step_is_rounded_to_float32():
    s = ExponentialDecay(1.0, 1, 1.0 - 2 ** -20)
    step = 2 ** 24 + 1  # not representable in float32: rounds to 2**24
    assert s(step) == s(2 ** 24)


# ---------------------------------------------------------------------- #
# Step types
class IntLike:
    def __init__(self, value):
        self.value = value

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)


def _step_kinds():
    kinds = [7, np.int32(7), np.int64(7), np.asarray(7), np.asarray(7, dtype=np.int64),
             7.0, f32(7), np.float64(7), IntLike(7)]
    try:
        from optimizers.variables import Variable
    except ImportError:
        return kinds
    return kinds + [Variable(np.asarray(7, dtype=np.int64))]


@pytest.mark.parametrize("step", _step_kinds(), ids=lambda s: type(s).__name__)
def test_step_kinds(step):
    s = ExponentialDecay(0.1, 10, 0.5)
    assert s(step) == f32(0.1) * c_pow(f32(0.5), f32(0.7))


@pytest.mark.parametrize("step, error", [
    (np.arange(3), ValueError), ("7", TypeError), (None, TypeError), (object(), TypeError)])
def test_bad_step(step, error):
    with pytest.raises(error, match="`step`"):
        ExponentialDecay(0.1, 10, 0.5)(step)


def test_float64_learning_rate_computes_in_float64():
    s = ExponentialDecay(np.float64(0.1), 10, 0.5)
    value = s(5)
    assert isinstance(value, np.float64)
    assert value == np.float64(0.1) * c_pow(np.float64(0.5), np.float64(0.5))


def test_integer_learning_rate_computes_in_float32():
    assert ExponentialDecay(1, 10, 0.5)(10) == f32(0.5)


# ---------------------------------------------------------------------- #
# PiecewiseConstantDecay specifics
def test_piecewise_boundaries_cast_to_integer_step_dtype():
    # -0.5 is cast to the int step's dtype: 0, so step 0 falls in the first interval.
    s = PiecewiseConstantDecay([-0.5], [1.0, 2.0])
    assert s(0) == f32(1.0)
    assert s(f32(0)) == f32(2.0)  # a float step compares with -0.5 itself


def test_piecewise_python_float_step_is_float32():
    s = PiecewiseConstantDecay([1.0], [1.0, 2.0])
    assert s(1.00000001) == f32(1.0)  # float32(1.00000001) == 1.0
    assert s(np.float64(1.00000001)) == f32(2.0)


def test_piecewise_float32_boundary_for_float64_step():
    s = PiecewiseConstantDecay([0.1], [1.0, 2.0])
    # the boundary is float32(0.1) = 0.10000000149..., widened to float64
    assert s(np.float64(0.1000000001)) == f32(1.0)
    assert s(np.float64(0.1000000015)) == f32(2.0)


def test_piecewise_output_dtype():
    assert isinstance(PiecewiseConstantDecay([1], [1, 2])(0), np.float32)
    value = PiecewiseConstantDecay([1], [np.float64(0.5), np.float64(0.25)])(5)
    assert isinstance(value, np.float64) and value == 0.25


def test_piecewise_nan_step_gives_first_value():
    assert PiecewiseConstantDecay([1, 2], [1.0, 2.0, 3.0])(float("nan")) == f32(1.0)


def test_piecewise_equal_boundaries():
    s = PiecewiseConstantDecay([5, 5], [1.0, 2.0, 3.0])
    assert [float(s(k)) for k in (5, 6)] == [1.0, 3.0]


def test_piecewise_used_by_optimizer_float_steps():
    s = PiecewiseConstantDecay([1, 2], [1.0, 2.0, 3.0])
    assert [s(f32(k)) for k in range(4)] == [f32(1), f32(1), f32(2), f32(3)]


# ---------------------------------------------------------------------- #
# Bad arguments
@pytest.mark.parametrize("make, arg", [
    (lambda: ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: ExponentialDecay(0.1, -3, 0.5), "decay_steps"),
    (lambda: ExponentialDecay(0.1, float("nan"), 0.5), "decay_steps"),
    (lambda: InverseTimeDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: PolynomialDecay(0.1, 0), "decay_steps"),
    (lambda: CosineDecay(0.1, -1), "decay_steps"),
    (lambda: CosineDecayRestarts(0.1, 0), "first_decay_steps"),
    (lambda: CosineDecayRestarts(0.1, 10, t_mul=0.0), "t_mul"),
    (lambda: CosineDecayRestarts(0.1, 10, t_mul=-2.0), "t_mul"),
])
def test_non_positive_arguments(make, arg):
    with pytest.raises(ValueError, match=f"`{arg}` must be greater than 0"):
        make()


@pytest.mark.parametrize("make, arg", [
    (lambda: ExponentialDecay("0.1", 10, 0.5), "initial_learning_rate"),
    (lambda: ExponentialDecay(0.1, None, 0.5), "decay_steps"),
    (lambda: ExponentialDecay(0.1, 10, [0.5]), "decay_rate"),
    (lambda: PolynomialDecay(0.1, 10, end_learning_rate=None), "end_learning_rate"),
    (lambda: PolynomialDecay(0.1, 10, power="2"), "power"),
    (lambda: CosineDecay(0.1, 10, alpha=None), "alpha"),
    (lambda: CosineDecayRestarts(0.1, 10, m_mul="x"), "m_mul"),
    (lambda: InverseTimeDecay(0.1, 10, 0.5, name=3), "name"),
])
def test_non_numeric_arguments(make, arg):
    with pytest.raises(TypeError, match=f"`{arg}`"):
        make()


def test_piecewise_length_mismatch_uses_tf_message():
    with pytest.raises(ValueError, match="The length of boundaries should be 1 less than the "
                                         "length of values"):
        PiecewiseConstantDecay([1, 2], [1.0, 2.0])


@pytest.mark.parametrize("boundaries, values, match", [
    ([], [1.0], "at least one"),
    ([10, 5], [1.0, 2.0, 3.0], "non-decreasing"),
    ([1, float("nan")], [1.0, 2.0, 3.0], "non-decreasing"),
])
def test_piecewise_bad_boundaries(boundaries, values, match):
    with pytest.raises(ValueError, match=match):
        PiecewiseConstantDecay(boundaries, values)


def test_piecewise_non_numeric_entries():
    with pytest.raises(TypeError, match=r"values\[1\]"):
        PiecewiseConstantDecay([1], [1.0, "x"])


def test_base_class_is_abstract():
    with pytest.raises(TypeError):
        LearningRateSchedule()


# ---------------------------------------------------------------------- #
# Configs and serialization
CONFIG_KEYS = {
    ExponentialDecay: ["initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"],
    PiecewiseConstantDecay: ["boundaries", "values", "name"],
    PolynomialDecay: ["initial_learning_rate", "decay_steps", "end_learning_rate", "power",
                      "cycle", "name"],
    InverseTimeDecay: ["initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"],
    CosineDecay: ["initial_learning_rate", "decay_steps", "alpha", "name"],
    CosineDecayRestarts: ["initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha",
                          "name"],
}

EXAMPLES = [
    ExponentialDecay(0.1, 10, 0.5, staircase=True, name="exp"),
    PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1], name="pw"),
    PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True),
    InverseTimeDecay(0.1, 10, 0.5),
    CosineDecay(0.1, 10, alpha=0.2),
    CosineDecayRestarts(0.1, 10, t_mul=1.5, m_mul=0.9, alpha=0.05, name="sgdr"),
]


@pytest.mark.parametrize("schedule", EXAMPLES, ids=lambda s: type(s).__name__)
def test_config_keys_match_tf(schedule):
    assert list(schedule.get_config()) == CONFIG_KEYS[type(schedule)]


@pytest.mark.parametrize("schedule", EXAMPLES, ids=lambda s: type(s).__name__)
def test_from_config_round_trip(schedule):
    config = schedule.get_config()
    clone = type(schedule).from_config(config)
    assert type(clone) is type(schedule)
    assert clone.get_config() == config
    for step in (0, 3, 10, 57):
        assert clone(step) == schedule(step)


@pytest.mark.parametrize("schedule", EXAMPLES, ids=lambda s: type(s).__name__)
def test_serialize_deserialize_round_trip(schedule):
    serialized = schedules.serialize(schedule)
    assert serialized == {"class_name": type(schedule).__name__,
                          "config": schedule.get_config()}
    # survives JSON, as in a saved model
    clone = schedules.deserialize(json.loads(json.dumps(serialized)))
    assert type(clone) is type(schedule)
    for step in (0, 3, 10, 57):
        assert clone(step) == schedule(step)


def test_config_defaults():
    assert PolynomialDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "end_learning_rate": 0.0001,
        "power": 1.0, "cycle": False, "name": None}
    assert CosineDecayRestarts(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 2.0, "m_mul": 1.0,
        "alpha": 0.0, "name": None}


def test_deserialize_custom_object():
    class Constant(LearningRateSchedule):
        def __init__(self, value):
            self.value = value

        def __call__(self, step):
            return f32(self.value)

        def get_config(self):
            return {"value": self.value}

    serialized = schedules.serialize(Constant(0.5))
    assert serialized == {"class_name": "Constant", "config": {"value": 0.5}}
    with pytest.raises(ValueError, match="Unknown decay: Constant"):
        schedules.deserialize(serialized)
    clone = schedules.deserialize(serialized, custom_objects={"Constant": Constant})
    assert clone(3) == f32(0.5)


@pytest.mark.parametrize("config, match", [
    ({"class_name": "NoSuchDecay", "config": {}}, "Unknown decay: NoSuchDecay"),
    ({"class_name": "ExponentialDecay"}, "Improper config format"),
    ({"config": {}}, "Improper config format"),
    ("ExponentialDecay", "Could not interpret serialized decay"),
])
def test_deserialize_errors(config, match):
    with pytest.raises(ValueError, match=match):
        schedules.deserialize(config)


def test_serialize_rejects_non_schedule():
    with pytest.raises(TypeError, match="`schedule`"):
        schedules.serialize(0.1)


def test_deserialize_does_not_modify_config():
    serialized = schedules.serialize(EXAMPLES[0])
    snapshot = json.dumps(serialized, sort_keys=True)
    schedules.deserialize(serialized)
    assert json.dumps(serialized, sort_keys=True) == snapshot


# ---------------------------------------------------------------------- #
# Golden values produced by TensorFlow
# Keys later TF versions add to a config, with the value that leaves TF 2.4's
# behaviour unchanged.
_LATER_TF_KEYS = {"CosineDecay": {"warmup_target": None, "warmup_steps": 0}}


def _golden_names(data):
    return sorted(key[:-len("/class_name")] for key in data.files
                  if key.endswith("/class_name"))


def _golden_config(class_name, raw):
    config = json.loads(str(raw))
    for key, neutral in _LATER_TF_KEYS.get(class_name, {}).items():
        if key in config:
            assert config.pop(key) == neutral, f"{class_name}: {key} not supported"
    return config


def _load_golden():
    if not GOLDEN.exists():
        pytest.skip(f"{GOLDEN} not present")
    return np.load(GOLDEN, allow_pickle=False)


def test_golden_values():
    data = _load_golden()
    names = _golden_names(data)
    assert names
    for name in names:
        class_name = str(data[f"{name}/class_name"])
        config = _golden_config(class_name, data[f"{name}/config"])
        schedule = schedules.deserialize({"class_name": class_name, "config": config})
        assert schedule.get_config() == config, name
        steps = data[f"{name}/steps"]
        expected = data[f"{name}/values"]
        assert steps.dtype == np.int64 and expected.dtype == np.float32
        actual = np.array([schedule(step) for step in steps])
        assert actual.dtype == np.float32, name
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=0, err_msg=name)
