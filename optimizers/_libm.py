"""``pow``, ``exp``, ``log`` and ``cos`` whose results do not depend on the CPU.

NumPy picks the code of its float ufuncs at import time from the CPU's
features (``np.power`` on float32 is NumPy's own SIMD code on AVX-512 CPUs
and the C library's ``powf`` elsewhere; they differ by an ulp for some
arguments).  TensorFlow's scalar CPU kernels call the C library, so every
transcendental function of this package goes through here: the C library's
function of the argument's precision (float16 is computed in float32 and
rounded, as TensorFlow's half-precision kernels do).
"""
import numpy as np

from ._kernels import libm as _c

__all__ = ["power", "exp", "log", "cos", "power_into"]


def _call(single, double, x, *args):
    kind = x.dtype.type
    if x.dtype.kind == "c":
        # Complex coefficients are real numbers here (hyperparameters cast
        # from float32): the function of the real part, with no imaginary part.
        return kind(_call(single, double, x.real, *[np.real(a) for a in args]))
    if kind is np.float64:
        return kind(double(x, *args))
    return kind(single(x, *args))


def power(x, y):
    """``x ** y`` for a NumPy float scalar ``x``, in ``x``'s dtype."""
    return _call(_c.pow32, _c.pow64, x, y)


def exp(x):
    """``e ** x`` for a NumPy float scalar, in its dtype."""
    return _call(_c.exp32, _c.exp64, x)


def log(x):
    """Natural logarithm of a NumPy float scalar, in its dtype (``-inf`` at 0,
    ``nan`` below)."""
    return _call(_c.log32, _c.log64, x)


def cos(x):
    """Cosine of a NumPy float scalar, in its dtype."""
    return _call(_c.cos32, _c.cos64, x)


def power_into(x, y, out):
    """``out[:] = x ** y`` element-wise for 1-D contiguous float32 or float64
    arrays ``x`` and ``out`` (``out`` may be ``x``) and a scalar ``y``."""
    _c.power_into(x, x.dtype.type(y), out)
    return out
