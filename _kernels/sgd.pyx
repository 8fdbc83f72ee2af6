"""Sparse SGD updates (plain scatter and Keras momentum)."""
from _driver cimport GradientRows, Tables, read_gradient, add_table, update_rows, update_rows_in_turn
from _types cimport floating, index_t


cdef struct SGDCoefs:
    double lr_t
    double momentum


cdef void sgd_row(floating** p, const floating* g, Py_ssize_t width,
                  const void* coefs) noexcept nogil:
    cdef const SGDCoefs* c = <const SGDCoefs*>coefs
    cdef floating lr = <floating>c.lr_t
    cdef floating* w = p[0]
    cdef Py_ssize_t j
    for j in range(width):
        w[j] = w[j] - g[j] * lr


cdef void momentum_row(floating** p, const floating* g, Py_ssize_t width,
                       const void* coefs) noexcept nogil:
    cdef const SGDCoefs* c = <const SGDCoefs*>coefs
    cdef floating lr = <floating>c.lr_t, momentum = <floating>c.momentum
    cdef floating* w = p[0]
    cdef floating* a = p[1]
    cdef Py_ssize_t j
    for j in range(width):
        a[j] = a[j] * momentum - g[j] * lr
        w[j] = w[j] + a[j]


cdef void nesterov_row(floating** p, const floating* g, Py_ssize_t width,
                       const void* coefs) noexcept nogil:
    cdef const SGDCoefs* c = <const SGDCoefs*>coefs
    cdef floating lr = <floating>c.lr_t, momentum = <floating>c.momentum
    cdef floating* w = p[0]
    cdef floating* a = p[1]
    cdef Py_ssize_t j
    for j in range(width):
        a[j] = a[j] * momentum - g[j] * lr
        w[j] = w[j] + (a[j] * momentum - g[j] * lr)


def sgd_scatter_rows(floating[:, ::1] var, const index_t[::1] indices,
                     values, double lr_t, int n_threads=1):
    """``var[indices[k]] -= values[k] * lr_t`` for each k, in input order.

    Repeated indices are applied one after another, as a scatter-add does;
    nothing is summed first.  With ``n_threads > 1``, thread t applies the
    entries whose row is t modulo the thread count, still in input order,
    so the result does not depend on the thread count.  ``lr_t`` is a value
    of ``var``'s dtype (a float32 is carried exactly in the double).

    Preconditions (checked by the caller): indices in ``[0, var.shape[0])``;
    ``values.shape == (len(indices), var.shape[1])``.
    """
    cdef Py_ssize_t n = indices.shape[0], width = var.shape[1]
    cdef SGDCoefs c
    cdef Tables t
    cdef GradientRows src
    if width == 0 or n == 0:
        return
    c.lr_t = lr_t
    c.momentum = 0
    t.width = width
    t.count = 0
    add_table(&t, &var[0, 0], width)
    keep = read_gradient(&src, values, var, indices, n_threads)
    with nogil:
        update_rows_in_turn(sgd_row[floating], &t, &indices[0], n, &src, &c,
                            n_threads)


def sgd_momentum_rows(floating[:, ::1] var, floating[:, ::1] accum,
                      const index_t[::1] rows, values,
                      SGDCoefs c, bint nesterov, int n_threads=1):
    """Keras momentum on the given rows only.

    For each row r with gradient row g, with ``c`` holding ``lr_t`` and
    ``momentum`` (values of ``var``'s dtype)::

        accum[r] = accum[r] * momentum - g * lr_t
        var[r]  += accum[r]                            (plain)
        var[r]  += accum[r] * momentum - g * lr_t      (Nesterov)

    Preconditions (checked by the caller): rows unique and in
    ``[0, var.shape[0])``; ``accum`` has ``var``'s shape;
    ``values.shape == (len(rows), var.shape[1])``.
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
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        if nesterov:
            update_rows(nesterov_row[floating], &t, &rows[0], n, &src, &c, n_threads)
        else:
            update_rows(momentum_row[floating], &t, &rows[0], n, &src, &c, n_threads)
