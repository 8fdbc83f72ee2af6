# Types shared by the kernels.  Only ctypedefs, fused types and inline
# helpers live here, so cimporting this file imports nothing at run time.
from libc.math cimport sqrt, sqrtf, pow, powf, fabs, fabsf

ctypedef fused floating:
    float
    double

# Row indices arrive as int32 (scipy.sparse with small tables) or int64
# (NumPy's default integer, and deduplicated rows).
ctypedef fused index_t:
    int
    long long


cdef inline floating f_sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating f_pow(floating x, floating y) noexcept nogil:
    if floating is float:
        return powf(x, y)
    else:
        return pow(x, y)


cdef inline floating f_abs(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef inline floating f_max(floating a, floating b) noexcept nogil:
    # TensorFlow's ``tf.maximum``, which its sparse updates use: a NaN in
    # either argument gives NaN (``a >= b`` alone would drop a NaN in ``a``).
    return a if (a >= b) | (a != a) else b
