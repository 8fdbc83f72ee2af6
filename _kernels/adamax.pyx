"""Sparse Adamax update."""
from cython.parallel cimport prange

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport f_abs, f_max, floating, index_t


cdef inline void adamax_row(floating* w, floating* m, floating* u, const floating* g,
                            Py_ssize_t width, floating beta_1, floating one_minus_beta_1,
                            floating beta_2, floating neg_scaled_lr,
                            floating epsilon) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(width):
        m[j] = m[j] * beta_1 + g[j] * one_minus_beta_1
        u[j] = f_max(u[j] * beta_2, f_abs(g[j]))
        w[j] = w[j] + neg_scaled_lr * (m[j] / (u[j] + epsilon))


def adamax_rows(floating[:, ::1] var, floating[:, ::1] m, floating[:, ::1] u,
                const index_t[::1] rows, const floating[:, ::1] values, floating beta_1,
                floating one_minus_beta_1, floating beta_2, floating neg_scaled_lr,
                floating epsilon, int n_threads=1):
    """Adamax on the given rows only (TensorFlow's sparse Adamax)::

        m[r] = m[r] * beta_1 + g * one_minus_beta_1
        u[r] = max(u[r] * beta_2, |g|)
        var[r] += neg_scaled_lr * (m[r] / (u[r] + epsilon))
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1], k
    if width == 0 or n == 0:
        return
    for k in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&m[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&u[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        adamax_row(&var[rows[k], 0], &m[rows[k], 0], &u[rows[k], 0], &values[k, 0], width,
                   beta_1, one_minus_beta_1, beta_2, neg_scaled_lr, epsilon)
