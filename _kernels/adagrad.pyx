"""Sparse Adagrad updates: per element (Adagrad) and per row (RowwiseAdagrad)."""
from _driver cimport GradientRows, Tables, read_gradient, add_table, update_every_row, update_rows
from _types cimport f_sqrt, floating, index_t


cdef struct AdagradCoefs:
    # Values of the variable's dtype (a float32 is carried exactly).
    double lr_t
    double epsilon


cdef void adagrad_row(floating** p, const floating* g, Py_ssize_t width,
                      const void* coefs) noexcept nogil:
    cdef const AdagradCoefs* c = <const AdagradCoefs*>coefs
    cdef floating lr = <floating>c.lr_t, epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* a = p[1]
    cdef Py_ssize_t j
    for j in range(width):
        a[j] = a[j] + g[j] * g[j]
        w[j] = w[j] - (lr * g[j]) / (f_sqrt(a[j]) + epsilon)


def adagrad_rows(floating[:, ::1] var, floating[:, ::1] accum, const index_t[::1] rows,
                 values, AdagradCoefs c, int n_threads=1):
    """Adagrad on the given rows only (TensorFlow's ``SparseApplyAdagradV2``)::

        accum[r] += g * g
        var[r]   -= (lr_t * g) / (sqrt(accum[r]) + epsilon)

    Preconditions (checked by the caller): rows unique and in range;
    ``accum`` has ``var``'s shape; ``values.shape == (len(rows), width)``.
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
        update_rows(adagrad_row[floating], &t, &rows[0], n, &src, &c, n_threads)


cdef void rowwise_adagrad_row(floating** p, const floating* g, Py_ssize_t width,
                              const void* coefs) noexcept nogil:
    cdef const AdagradCoefs* c = <const AdagradCoefs*>coefs
    cdef floating lr = <floating>c.lr_t, epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* a = p[1]                # one accumulator for the row
    cdef Py_ssize_t j
    cdef floating sq = 0, denom
    for j in range(width):
        sq = sq + g[j] * g[j]
    a[0] = a[0] + sq / <floating>width
    denom = f_sqrt(a[0]) + epsilon
    for j in range(width):
        w[j] = w[j] - (g[j] * lr) / denom


cdef inline void rowwise_tables(Tables* t, floating[:, ::1] var, floating[::1] accum) noexcept:
    t.width = var.shape[1]
    t.count = 0
    add_table(t, &var[0, 0], var.shape[1])
    add_table(t, &accum[0], 1)


def rowwise_adagrad_rows(floating[:, ::1] var, floating[::1] accum, const index_t[::1] rows,
                         values, AdagradCoefs c, int n_threads=1):
    """Adagrad with one accumulator per row, on the given rows only::

        accum[r] += mean(g * g)          (over the row, summed left to right)
        var[r]   -= (g * lr_t) / (sqrt(accum[r]) + epsilon)

    Preconditions (checked by the caller): rows unique and in range;
    ``len(accum) == var.shape[0]``; ``values.shape == (len(rows), width)``.
    """
    cdef Py_ssize_t n = rows.shape[0]
    cdef Tables t
    cdef GradientRows src
    if var.shape[1] == 0 or n == 0:
        return
    rowwise_tables(&t, var, accum)
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        update_rows(rowwise_adagrad_row[floating], &t, &rows[0], n, &src, &c,
                    n_threads)


def rowwise_adagrad_all(floating[:, ::1] var, floating[::1] accum,
                        const floating[:, ::1] grad, AdagradCoefs c, int n_threads=1):
    """Rowwise Adagrad on every row (a dense gradient), row by row as
    `rowwise_adagrad_rows` does, so a dense step equals a sparse step that
    names every row, bit for bit; no temporaries.

    Preconditions (checked by the caller): ``grad`` has ``var``'s shape;
    ``len(accum) == var.shape[0]``.
    """
    cdef Tables t
    if var.shape[1] == 0 or var.shape[0] == 0:
        return
    rowwise_tables(&t, var, accum)
    with nogil:
        update_every_row(rowwise_adagrad_row[floating], &t, var.shape[0], &grad[0, 0], &c,
                         n_threads)
