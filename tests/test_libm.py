"""The C library's pow/exp/log/cos, whatever NumPy's run-time dispatch picks.

Each function is compared with the C library's, loaded here with ctypes
(independently of the package), bit for bit.  CI runs this file again with
``NPY_DISABLE_CPU_FEATURES`` set, so the same bits are checked on several of
NumPy's code paths.
"""
import ctypes
import ctypes.util
import os
import re
import warnings

import numpy as np
import pytest

from optimizers import _libm
from reference import c_pow

LIBM = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")


def c_function(name, dtype):
    ctype = ctypes.c_double if dtype == np.float64 else ctypes.c_float
    function = getattr(LIBM, name if dtype == np.float64 else name + "f")
    function.restype, function.argtypes = ctype, [ctype]
    return lambda x: dtype.type(function(float(x)))


def sample(dtype, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-20.0, 20.0, n).astype(dtype)


def test_power_is_the_c_librarys(dtype):
    rng = np.random.default_rng(1)
    bases = rng.uniform(0.0, 1.0, 3000).astype(dtype)          # betas, decay rates
    exponents = rng.uniform(0.0, 500.0, 3000).astype(dtype)    # steps, step fractions
    for x, y in zip(bases, exponents):
        got = _libm.power(x, y)
        assert type(got) is dtype.type
        assert got.tobytes() == c_pow(x, y).tobytes(), (x, y)


def test_power_of_schedule_arguments_is_exact_in_float32():
    # ExponentialDecay(0.05, 3, 0.7): 0.7 ** (step / 3), where NumPy's AVX-512
    # float32 pow and powf disagree for some steps.
    rate, steps = np.float32(0.7), np.float32(3)
    for step in range(200):
        p = np.float32(step) / steps
        assert _libm.power(rate, p) == c_pow(rate, p)


@pytest.mark.parametrize("name", ["exp", "log", "cos"])
def test_unary_functions_are_the_c_librarys(name, dtype):
    reference = c_function(name, dtype)
    x = sample(dtype)
    if name == "log":
        x = np.abs(x)
    for value in x:
        got = getattr(_libm, name)(value)
        assert type(got) is dtype.type
        assert got.tobytes() == reference(value).tobytes(), value


def test_float16_goes_through_float32():
    x, y = np.float16(0.9), np.float16(7.5)
    got = _libm.power(x, y)
    assert type(got) is np.float16
    assert got == np.float16(c_pow(np.float32(x), np.float32(y)))


def test_special_values_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _libm.log(np.float32(0)) == -np.inf
        assert np.isnan(_libm.log(np.float32(-1)))
        assert _libm.exp(np.float64(1000)) == np.inf
        assert _libm.power(np.float32(0), np.float32(-1)) == np.inf


def test_power_into_matches_the_scalar_function(dtype):
    x = np.abs(sample(dtype, 5000, seed=3))
    for y in (0.5, 0.25, 1.5, 3.0):
        out = np.empty_like(x)
        _libm.power_into(x, y, out)
        expected = np.array([c_pow(v, dtype.type(y)) for v in x], dtype)
        assert out.tobytes() == expected.tobytes()
        inplace = x.copy()
        _libm.power_into(inplace, y, inplace)
        assert inplace.tobytes() == expected.tobytes()


def test_power_into_refuses_mismatched_lengths():
    x = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="4"):
        _libm.power_into(x, 2.0, np.empty(3, np.float32))


def test_reduced_dispatch_took_effect():
    """Under CI's reduced-dispatch runs, NumPy really runs without the targets."""
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").strip()
    if not disabled:
        pytest.skip("NumPy runs with its full dispatch here")
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    for target in re.split(r"[\s,]+", disabled):
        assert not umath.__cpu_features__.get(target), target
