"""Tests for optimizers.schedules: TF 2.4 formulas, float32 numerics, configs."""
import json
import math
import pathlib

import numpy as np
import pytest

import optimizers.schedules as schedules
from optimizers.schedules import (CosineDecay, CosineDecayRestarts, ExponentialDecay,
                                  InverseTimeDecay, LearningRateSchedule, LinearCosineDecay,
                                  NoisyLinearCosineDecay, PiecewiseConstantDecay,
                                  PolynomialDecay)
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
    LinearCosineDecay: ["initial_learning_rate", "decay_steps", "num_periods", "alpha", "beta",
                        "name"],
    NoisyLinearCosineDecay: ["initial_learning_rate", "decay_steps", "initial_variance",
                             "variance_decay", "num_periods", "alpha", "beta", "seed", "name"],
}

EXAMPLES = [
    ExponentialDecay(0.1, 10, 0.5, staircase=True, name="exp"),
    PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1], name="pw"),
    PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True),
    InverseTimeDecay(0.1, 10, 0.5),
    CosineDecay(0.1, 10, alpha=0.2),
    CosineDecayRestarts(0.1, 10, t_mul=1.5, m_mul=0.9, alpha=0.05, name="sgdr"),
    LinearCosineDecay(0.1, 40, num_periods=2.5, alpha=0.1, beta=0.01, name="lincos"),
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


def test_noisy_config_keys_and_round_trip():
    s = NoisyLinearCosineDecay(0.1, 50, initial_variance=0.5, variance_decay=0.7,
                               num_periods=1.5, alpha=0.05, beta=0.002, seed=3, name="noisy")
    config = s.get_config()
    assert list(config) == CONFIG_KEYS[NoisyLinearCosineDecay]
    assert config["seed"] == 3 and config["initial_variance"] == 0.5
    clone = schedules.deserialize(json.loads(json.dumps(schedules.serialize(s))))
    assert type(clone) is NoisyLinearCosineDecay and clone.get_config() == config
    # both start their noise from the seed
    assert [clone(i) for i in range(0, 60, 7)] == [s(i) for i in range(0, 60, 7)]


def test_linear_cosine_config_defaults():
    assert LinearCosineDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "num_periods": 0.5, "alpha": 0.0,
        "beta": 0.001, "name": None}
    assert NoisyLinearCosineDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "initial_variance": 1.0,
        "variance_decay": 0.55, "num_periods": 0.5, "alpha": 0.0, "beta": 0.001,
        "seed": None, "name": None}


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


def _load_golden(path=GOLDEN):
    if not path.exists():
        pytest.skip(f"{path} not present")
    return np.load(path, allow_pickle=False)


@pytest.mark.parametrize("path", [GOLDEN, GOLDEN.with_name("experimental_schedules.npz")],
                         ids=lambda p: p.stem)
def test_golden_values(path):
    data = _load_golden(path)
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


# ---------------------------------------------------------------------- #
# LinearCosineDecay and NoisyLinearCosineDecay (TF 2.4's tf.keras.experimental)
def linear_cosine_reference(lr0, decay_steps, step, num_periods=0.5, alpha=0.0, beta=0.001):
    """The formula in double precision."""
    s = min(step, decay_steps)
    linear = (decay_steps - s) / decay_steps
    cosine = 0.5 * (1 + math.cos(math.pi * 2 * num_periods * s / decay_steps))
    return lr0 * ((alpha + linear) * cosine + beta)


LINEAR_COSINE_SETTINGS = [
    dict(lr0=0.1, decay_steps=100),
    dict(lr0=0.05, decay_steps=37, num_periods=3.0, alpha=0.2, beta=0.0),
    dict(lr0=1.0, decay_steps=10, num_periods=0.25, alpha=0.0, beta=0.01),
]


@pytest.mark.parametrize("setting", LINEAR_COSINE_SETTINGS)
def test_linear_cosine_matches_formula(setting):
    setting = dict(setting)
    lr0, decay_steps = setting.pop("lr0"), setting.pop("decay_steps")
    s = LinearCosineDecay(lr0, decay_steps, **setting)
    for step in list(range(0, 2 * decay_steps)) + [10 ** 6]:
        expected = linear_cosine_reference(lr0, decay_steps, step, **setting)
        value = s(step)
        assert isinstance(value, np.float32)
        np.testing.assert_allclose(value, expected, rtol=2e-6, atol=2e-7 * lr0)


def test_linear_cosine_float64():
    # Python-number arguments are float32 tensors cast to float64, as in TF
    s = LinearCosineDecay(np.float64(0.1), 30, num_periods=2.0, alpha=0.1)
    alpha, beta = float(np.float32(0.1)), float(np.float32(0.001))
    for step in range(0, 40, 3):
        value = s(step)
        assert isinstance(value, np.float64)
        np.testing.assert_allclose(
            value, linear_cosine_reference(0.1, 30, step, 2.0, alpha, beta), rtol=1e-14,
            atol=1e-17)


def test_linear_cosine_holds_after_decay_steps():
    s = LinearCosineDecay(0.1, 20, beta=0.01)
    assert s(20) == s(21) == s(10 ** 9) == f32(0.1) * f32(0.01)


def test_noisy_variance_schedule():
    s = NoisyLinearCosineDecay(0.1, 50, initial_variance=2.0, variance_decay=0.7)
    for step in (0, 1, 7, 49, 50, 80):
        expected = 2.0 / (1.0 + min(step, 50)) ** 0.7
        assert_f32_close(s.variance(step), expected, rtol=2e-6)
    assert s.variance(50) == s.variance(1000)      # held after decay_steps, as the rate


def test_noisy_without_variance_is_linear_cosine():
    noisy = NoisyLinearCosineDecay(0.1, 40, initial_variance=0.0, num_periods=1.5,
                                   alpha=0.1, beta=0.002, seed=1)
    plain = LinearCosineDecay(0.1, 40, num_periods=1.5, alpha=0.1, beta=0.002)
    for step in range(0, 60, 3):
        assert noisy(step) == plain(step)


def test_noisy_noise_is_seeded_and_has_the_scheduled_spread():
    a = NoisyLinearCosineDecay(1.0, 100, num_periods=0.0, beta=0.0, seed=42)
    b = NoisyLinearCosineDecay(1.0, 100, num_periods=0.0, beta=0.0, seed=42)
    c = NoisyLinearCosineDecay(1.0, 100, num_periods=0.0, beta=0.0, seed=43)
    first = [a(10) for _ in range(2000)]
    assert first == [b(10) for _ in range(2000)]
    assert first != [c(10) for _ in range(2000)]
    # num_periods=0: the cosine part is 1, so lr = linear + noise
    noise = np.array(first, np.float64) - 0.9
    assert abs(noise.mean()) < 4 * math.sqrt(float(a.variance(10)) / 2000)
    np.testing.assert_allclose(noise.std(), math.sqrt(float(a.variance(10))), rtol=0.06)
    assert all(isinstance(v, np.float32) for v in first[:5])


def test_noisy_copy_continues_the_stream():
    import copy
    import pickle
    s = NoisyLinearCosineDecay(0.1, 100, seed=5)
    s(0)
    twin, thawed = copy.deepcopy(s), pickle.loads(pickle.dumps(s))
    assert s(3) == twin(3) == thawed(3)


@pytest.mark.parametrize("make, exc, match", [
    (lambda: LinearCosineDecay(0.1, 0), ValueError, "decay_steps"),
    (lambda: LinearCosineDecay(0.1, 10, num_periods="2"), TypeError, "num_periods"),
    (lambda: LinearCosineDecay(0.1, 10, alpha=None), TypeError, "alpha"),
    (lambda: LinearCosineDecay(0.1, 10, beta=[0.1]), TypeError, "beta"),
    (lambda: LinearCosineDecay("0.1", 10), TypeError, "initial_learning_rate"),
    (lambda: LinearCosineDecay(0.1, 10, name=3), TypeError, "name"),
    (lambda: NoisyLinearCosineDecay(0.1, -1), ValueError, "decay_steps"),
    (lambda: NoisyLinearCosineDecay(0.1, 10, initial_variance=-1.0), ValueError,
     "initial_variance"),
    (lambda: NoisyLinearCosineDecay(0.1, 10, variance_decay="x"), TypeError, "variance_decay"),
    (lambda: NoisyLinearCosineDecay(0.1, 10, seed=1.5), TypeError, "seed"),
    (lambda: NoisyLinearCosineDecay(0.1, 10, seed=True), TypeError, "seed"),
    (lambda: NoisyLinearCosineDecay(0.1, 10, seed=-3), ValueError, "seed"),
])
def test_linear_cosine_bad_arguments(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_linear_cosine_drives_an_optimizer():
    import optimizers
    opt = optimizers.SGD(LinearCosineDecay(0.1, 10))
    w = optimizers.Variable(np.zeros(2, np.float32))
    for step in range(3):
        before = w.numpy()
        opt.apply_gradients([(np.ones(2, np.float32), w)])
        np.testing.assert_allclose(before - w.numpy(),
                                   np.full(2, LinearCosineDecay(0.1, 10)(step)), rtol=1e-6)
    clone = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))
    assert isinstance(clone.learning_rate, LinearCosineDecay)
