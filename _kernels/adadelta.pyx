"""Sparse Adadelta update."""
from cython.parallel cimport prange

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport f_sqrt, floating, index_t


cdef inline void adadelta_row(floating* w, floating* a, floating* u, const floating* g,
                              Py_ssize_t width, floating lr, floating rho,
                              floating one_minus_rho, floating epsilon) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating upd
    cdef floating one = 1          # a bare `1 / x` would be computed in double
    for j in range(width):
        a[j] = a[j] * rho + (g[j] * g[j]) * one_minus_rho
        upd = (f_sqrt(u[j] + epsilon) * (one / f_sqrt(a[j] + epsilon))) * g[j]
        w[j] = w[j] - upd * lr
        u[j] = u[j] * rho + (upd * upd) * one_minus_rho


def adadelta_rows(floating[:, ::1] var, floating[:, ::1] accum, floating[:, ::1] accum_update,
                  const index_t[::1] rows, const floating[:, ::1] values, floating lr,
                  floating rho, floating one_minus_rho, floating epsilon, int n_threads=1):
    """Adadelta on the given rows only (TensorFlow's ``SparseApplyAdadelta``)::

        accum[r] = accum[r] * rho + (g * g) * one_minus_rho
        upd      = (sqrt(accum_update[r] + epsilon) * (1 / sqrt(accum[r] + epsilon))) * g
        var[r]  -= upd * lr
        accum_update[r] = accum_update[r] * rho + (upd * upd) * one_minus_rho
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1], k
    if width == 0 or n == 0:
        return
    for k in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&accum[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&accum_update[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        adadelta_row(&var[rows[k], 0], &accum[rows[k], 0], &accum_update[rows[k], 0],
                     &values[k, 0], width, lr, rho, one_minus_rho, epsilon)
