"""The C library's ``pow``, ``exp``, ``log`` and ``cos``, scalar and element-wise.

NumPy chooses SIMD code for its float ufuncs when the module is imported,
from the CPU it runs on: on one CPU ``np.power(np.float32(0.7), 5.0)`` is
the C library's ``powf``, on another (AVX-512) it is NumPy's own, which
can differ by one ulp.  TensorFlow's scalar CPU kernels call the C library,
so these do too, whatever the CPU: the build does not let the compiler
turn the calls into vector code (no ``-ffast-math``).
"""
from libc.math cimport cos, cosf, exp, expf, log, logf, pow, powf

from _types cimport f_pow, floating


def pow32(float x, float y):
    """``powf(x, y)`` (float32 arguments; the result is exact as a Python float)."""
    return powf(x, y)


def pow64(double x, double y):
    """``pow(x, y)``."""
    return pow(x, y)


def exp32(float x):
    """``expf(x)``."""
    return expf(x)


def exp64(double x):
    """``exp(x)``."""
    return exp(x)


def log32(float x):
    """``logf(x)``."""
    return logf(x)


def log64(double x):
    """``log(x)``."""
    return log(x)


def cos32(float x):
    """``cosf(x)``."""
    return cosf(x)


def cos64(double x):
    """``cos(x)``."""
    return cos(x)


def power_into(const floating[::1] x, floating y, floating[::1] out):
    """``out[i] = pow(x[i], y)`` with the C function of ``x``'s precision.

    ``out`` may be ``x`` itself; the lengths must match.
    """
    cdef Py_ssize_t i, n = x.shape[0]
    if out.shape[0] != n:
        raise ValueError(f"`out` has {out.shape[0]} elements; `x` has {n}.")
    with nogil:
        for i in range(n):
            out[i] = f_pow(x[i], y)
