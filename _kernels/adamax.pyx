"""Sparse Adamax update."""
from _driver cimport GradientRows, Tables, read_gradient, add_table, update_rows
from _types cimport f_abs, f_max, floating, index_t


cdef struct AdamaxCoefs:
    # Values of the variable's dtype (a float32 is carried exactly).
    double beta_1
    double one_minus_beta_1
    double beta_2
    double neg_scaled_lr
    double epsilon


cdef void adamax_row(floating** p, const floating* g, Py_ssize_t width,
                     const void* coefs) noexcept nogil:
    cdef const AdamaxCoefs* c = <const AdamaxCoefs*>coefs
    cdef floating beta_1 = <floating>c.beta_1, one_minus_beta_1 = <floating>c.one_minus_beta_1
    cdef floating beta_2 = <floating>c.beta_2, neg_scaled_lr = <floating>c.neg_scaled_lr
    cdef floating epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* m = p[1]
    cdef floating* u = p[2]
    cdef Py_ssize_t j
    for j in range(width):
        m[j] = m[j] * beta_1 + g[j] * one_minus_beta_1
        u[j] = f_max(u[j] * beta_2, f_abs(g[j]))
        w[j] = w[j] + neg_scaled_lr * (m[j] / (u[j] + epsilon))


def adamax_rows(floating[:, ::1] var, floating[:, ::1] m, floating[:, ::1] u,
                const index_t[::1] rows, values, AdamaxCoefs c,
                int n_threads=1):
    """Adamax on the given rows only (TensorFlow's sparse Adamax)::

        m[r] = m[r] * beta_1 + g * one_minus_beta_1
        u[r] = max(u[r] * beta_2, |g|)
        var[r] += neg_scaled_lr * (m[r] / (u[r] + epsilon))
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1]
    cdef Tables t
    cdef GradientRows src
    if width == 0 or n == 0:
        return
    t.width = width
    t.count = 0
    add_table(&t, &var[0, 0], width)
    add_table(&t, &m[0, 0], width)
    add_table(&t, &u[0, 0], width)
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        update_rows(adamax_row[floating], &t, &rows[0], n, &src, &c, n_threads)
