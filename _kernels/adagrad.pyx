"""Sparse Adagrad updates: per element (Adagrad) and per row (RowwiseAdagrad)."""
from cython.parallel cimport prange

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport f_sqrt, floating, index_t


cdef inline void adagrad_row(floating* w, floating* a, const floating* g, Py_ssize_t width,
                             floating lr, floating epsilon) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(width):
        a[j] = a[j] + g[j] * g[j]
        w[j] = w[j] - (lr * g[j]) / (f_sqrt(a[j]) + epsilon)


def adagrad_rows(floating[:, ::1] var, floating[:, ::1] accum, const index_t[::1] rows,
                 const floating[:, ::1] values, floating lr, floating epsilon,
                 int n_threads=1):
    """Adagrad on the given rows only (TensorFlow's ``SparseApplyAdagradV2``)::

        accum[r] += g * g
        var[r]   -= (lr * g) / (sqrt(accum[r]) + epsilon)

    Preconditions (checked by the caller): rows unique and in range;
    ``accum`` has ``var``'s shape; ``values.shape == (len(rows), width)``.
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1], k
    if width == 0 or n == 0:
        return
    for k in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&accum[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        adagrad_row(&var[rows[k], 0], &accum[rows[k], 0], &values[k, 0], width, lr, epsilon)


cdef inline void rowwise_adagrad_row(floating* w, floating* a, const floating* g,
                                     Py_ssize_t width, floating lr,
                                     floating epsilon) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating sq = 0, denom
    for j in range(width):
        sq = sq + g[j] * g[j]
    a[0] = a[0] + sq / <floating>width
    denom = f_sqrt(a[0]) + epsilon
    for j in range(width):
        w[j] = w[j] - (g[j] * lr) / denom


def rowwise_adagrad_rows(floating[:, ::1] var, floating[::1] accum, const index_t[::1] rows,
                         const floating[:, ::1] values, floating lr, floating epsilon,
                         int n_threads=1):
    """Adagrad with one accumulator per row, on the given rows only::

        accum[r] += mean(g * g)          (over the row, summed left to right)
        var[r]   -= (g * lr) / (sqrt(accum[r]) + epsilon)

    Preconditions (checked by the caller): rows unique and in range;
    ``len(accum) == var.shape[0]``; ``values.shape == (len(rows), width)``.
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1], k
    if width == 0 or n == 0:
        return
    for k in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        rowwise_adagrad_row(&var[rows[k], 0], &accum[rows[k]], &values[k, 0], width, lr,
                            epsilon)


def rowwise_adagrad_all(floating[:, ::1] var, floating[::1] accum,
                        const floating[:, ::1] grad, floating lr, floating epsilon,
                        int n_threads=1):
    """Rowwise Adagrad on every row (a dense gradient), row by row as
    `rowwise_adagrad_rows` does, so a dense step equals a sparse step that
    names every row, bit for bit; no temporaries.

    Preconditions (checked by the caller): ``grad`` has ``var``'s shape;
    ``len(accum) == var.shape[0]``.
    """
    cdef Py_ssize_t n = var.shape[0], width = var.shape[1], r
    if width == 0 or n == 0:
        return
    for r in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        rowwise_adagrad_row(&var[r, 0], &accum[r], &grad[r, 0], width, lr, epsilon)
