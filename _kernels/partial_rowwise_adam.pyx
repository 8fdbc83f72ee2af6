"""Sparse and dense PartialRowwiseAdam: a per-element first moment and one
second moment per row."""
from cython.parallel cimport prange

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport f_sqrt, floating, index_t


cdef inline void partial_rowwise_adam_row(floating* w, floating* m, floating* v,
                                          const floating* g, Py_ssize_t width,
                                          floating beta_1, floating one_minus_beta_1,
                                          floating beta_2, floating one_minus_beta_2,
                                          floating lr, floating epsilon) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating sq = 0, denom
    for j in range(width):
        sq = sq + g[j] * g[j]
    v[0] = beta_2 * v[0] + one_minus_beta_2 * (sq / <floating>width)
    denom = f_sqrt(v[0]) + epsilon
    for j in range(width):
        m[j] = beta_1 * m[j] + one_minus_beta_1 * g[j]
        w[j] = w[j] - (lr * m[j]) / denom


def partial_rowwise_adam_rows(floating[:, ::1] var, floating[:, ::1] m, floating[::1] v,
                              const index_t[::1] rows, const floating[:, ::1] values,
                              floating beta_1, floating one_minus_beta_1, floating beta_2,
                              floating one_minus_beta_2, floating lr, floating epsilon,
                              int n_threads=1):
    """PartialRowwiseAdam on the given rows only.  For each row r with
    gradient row g::

        v[r] = beta_2 * v[r] + one_minus_beta_2 * mean(g * g)   (summed left to right)
        m[r] = beta_1 * m[r] + one_minus_beta_1 * g
        var[r] -= (lr * m[r]) / (sqrt(v[r]) + epsilon)

    ``lr`` already holds the bias correction.  Rows not in ``rows`` are not
    read or written.

    Preconditions (checked by the caller): rows unique and in range; ``m``
    has ``var``'s shape; ``len(v) == var.shape[0]``; ``values.shape ==
    (len(rows), width)``.
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1], k
    if width == 0 or n == 0:
        return
    for k in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&m[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        partial_rowwise_adam_row(&var[rows[k], 0], &m[rows[k], 0], &v[rows[k]],
                                 &values[k, 0], width, beta_1, one_minus_beta_1, beta_2,
                                 one_minus_beta_2, lr, epsilon)


def partial_rowwise_adam_all(floating[:, ::1] var, floating[:, ::1] m, floating[::1] v,
                             const floating[:, ::1] grad, floating beta_1,
                             floating one_minus_beta_1, floating beta_2,
                             floating one_minus_beta_2, floating lr, floating epsilon,
                             int n_threads=1):
    """PartialRowwiseAdam on every row (a dense gradient), row by row as
    `partial_rowwise_adam_rows` does: a dense step equals a sparse step that
    names every row, bit for bit.

    Preconditions (checked by the caller): ``grad`` and ``m`` have ``var``'s
    shape; ``len(v) == var.shape[0]``.
    """
    cdef Py_ssize_t n = var.shape[0], width = var.shape[1], r
    if width == 0 or n == 0:
        return
    for r in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        partial_rowwise_adam_row(&var[r, 0], &m[r, 0], &v[r], &grad[r, 0], width, beta_1,
                                 one_minus_beta_1, beta_2, one_minus_beta_2, lr, epsilon)
