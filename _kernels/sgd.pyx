"""Sparse SGD updates (plain scatter and Keras momentum)."""
from cython.parallel cimport prange

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport floating, index_t


cdef inline void sgd_row(floating* w, const floating* g, Py_ssize_t width,
                         floating lr) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(width):
        w[j] = w[j] - g[j] * lr


cdef inline void momentum_row(floating* w, floating* a, const floating* g, Py_ssize_t width,
                              floating lr, floating momentum, bint nesterov) noexcept nogil:
    cdef Py_ssize_t j
    if nesterov:
        for j in range(width):
            a[j] = a[j] * momentum - g[j] * lr
            w[j] = w[j] + (a[j] * momentum - g[j] * lr)
    else:
        for j in range(width):
            a[j] = a[j] * momentum - g[j] * lr
            w[j] = w[j] + a[j]


def sgd_scatter_rows(floating[:, ::1] var, const index_t[::1] indices,
                     const floating[:, ::1] values, floating lr, int n_threads=1):
    """``var[indices[k]] -= values[k] * lr`` for each k, in input order.

    Repeated indices are applied one after another, as a scatter-add does;
    nothing is summed first.  With ``n_threads > 1``, thread t applies the
    entries whose row is t modulo the thread count, still in input order,
    so the result does not depend on the thread count.

    Preconditions (checked by the caller): indices in ``[0, var.shape[0])``;
    ``values.shape == (len(indices), var.shape[1])``.
    """
    cdef Py_ssize_t n = indices.shape[0], width = var.shape[1], k, t
    cdef Py_ssize_t n_parts = n_threads if n_threads > 1 else 1
    if width == 0 or n == 0:
        return
    for t in prange(n_parts, nogil=True, num_threads=n_parts, schedule="static", chunksize=1):
        for k in range(n):
            if n_parts > 1 and indices[k] % n_parts != t:
                continue
            if k + PREFETCH_ROWS < n:
                prefetch_bytes(&var[indices[k + PREFETCH_ROWS], 0],
                               width * sizeof(floating))
            sgd_row(&var[indices[k], 0], &values[k, 0], width, lr)


def sgd_momentum_rows(floating[:, ::1] var, floating[:, ::1] accum,
                      const index_t[::1] rows, const floating[:, ::1] values,
                      floating lr, floating momentum, bint nesterov, int n_threads=1):
    """Keras momentum on the given rows only.

    For each row r with gradient row g::

        accum[r] = accum[r] * momentum - g * lr
        var[r]  += accum[r]                            (plain)
        var[r]  += accum[r] * momentum - g * lr        (Nesterov)

    Preconditions (checked by the caller): rows unique and in
    ``[0, var.shape[0])``; ``accum`` has ``var``'s shape;
    ``values.shape == (len(rows), var.shape[1])``.
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1], k
    if width == 0 or n == 0:
        return
    for k in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&accum[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        momentum_row(&var[rows[k], 0], &accum[rows[k], 0], &values[k, 0], width, lr,
                     momentum, nesterov)
