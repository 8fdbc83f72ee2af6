"""Small NumPy references shared by the optimizer tests."""
import ctypes
import ctypes.util

import numpy as np


def f32(x, dtype):
    """A hyperparameter as TensorFlow holds it: float32, then cast to ``dtype``."""
    return np.dtype(dtype).type(np.float32(x))


def dedup(values, indices):
    """TensorFlow's duplicate summing: unique indices in first-seen order (int64)
    and, for each, its value rows summed left to right starting from zero."""
    order, sums = [], {}
    for k, i in enumerate(indices):
        i = int(i)
        if i not in sums:
            order.append(i)
            sums[i] = np.zeros_like(values[k])
        sums[i] = sums[i] + values[k]
    summed = np.array([sums[i] for i in order], dtype=np.asarray(values).dtype)
    return np.array(order, np.int64), summed.reshape((len(order),) + np.shape(values)[1:])


def _libm(name, ctype):
    function = getattr(ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6"), name)
    function.restype, function.argtypes = ctype, [ctype, ctype]
    return function


_POWF = _libm("powf", ctypes.c_float)
_POW = _libm("pow", ctypes.c_double)


def c_pow(x, y):
    """``x ** y`` as the C library computes it in the precision of the NumPy scalar ``x``
    (TensorFlow's scalar kernels), loaded independently of the package; NumPy's own
    ``np.power`` depends on the CPU."""
    kind = x.dtype.type
    return kind((_POW if kind is np.float64 else _POWF)(float(x), float(y)))


def c_pow_array(x, y):
    """`c_pow` element-wise over the float32 or float64 array ``x``."""
    function = _POW if x.dtype == np.float64 else _POWF
    y = float(y)
    out = [function(v, y) for v in x.ravel().tolist()]
    return np.array(out, x.dtype).reshape(x.shape)
