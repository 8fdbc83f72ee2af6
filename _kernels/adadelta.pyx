"""Sparse Adadelta update."""
from _driver cimport GradientRows, Tables, read_gradient, add_table, update_rows
from _types cimport f_sqrt, floating, index_t


cdef struct AdadeltaCoefs:
    # Values of the variable's dtype (a float32 is carried exactly).
    double lr_t
    double rho
    double one_minus_rho
    double epsilon


cdef void adadelta_row(floating** p, const floating* g, Py_ssize_t width,
                       const void* coefs) noexcept nogil:
    cdef const AdadeltaCoefs* c = <const AdadeltaCoefs*>coefs
    cdef floating lr = <floating>c.lr_t, rho = <floating>c.rho
    cdef floating one_minus_rho = <floating>c.one_minus_rho, epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* a = p[1]
    cdef floating* u = p[2]
    cdef Py_ssize_t j
    cdef floating upd
    cdef floating one = 1          # a bare `1 / x` would be computed in double
    for j in range(width):
        a[j] = a[j] * rho + (g[j] * g[j]) * one_minus_rho
        upd = (f_sqrt(u[j] + epsilon) * (one / f_sqrt(a[j] + epsilon))) * g[j]
        w[j] = w[j] - upd * lr
        u[j] = u[j] * rho + (upd * upd) * one_minus_rho


def adadelta_rows(floating[:, ::1] var, floating[:, ::1] accum, floating[:, ::1] accum_update,
                  const index_t[::1] rows, values, AdadeltaCoefs c,
                  int n_threads=1):
    """Adadelta on the given rows only (TensorFlow's ``SparseApplyAdadelta``)::

        accum[r] = accum[r] * rho + (g * g) * one_minus_rho
        upd      = (sqrt(accum_update[r] + epsilon) * (1 / sqrt(accum[r] + epsilon))) * g
        var[r]  -= upd * lr_t
        accum_update[r] = accum_update[r] * rho + (upd * upd) * one_minus_rho
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1]
    cdef Tables t
    cdef GradientRows src
    if width == 0 or n == 0:
        return
    t.width = width
    t.count = 0
    add_table(&t, &var[0, 0], width)
    add_table(&t, &accum[0, 0], width)
    add_table(&t, &accum_update[0, 0], width)
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        update_rows(adadelta_row[floating], &t, &rows[0], n, &src, &c, n_threads)
