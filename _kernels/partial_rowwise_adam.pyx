"""Sparse and dense PartialRowwiseAdam: a per-element first moment and one
second moment per row."""
from _driver cimport GradientRows, Tables, read_gradient, add_table, update_every_row, update_rows
from _types cimport f_sqrt, floating, index_t


cdef struct PartialRowwiseAdamCoefs:
    # Values of the variable's dtype (a float32 is carried exactly).
    double beta_1
    double one_minus_beta_1
    double beta_2
    double one_minus_beta_2
    double alpha
    double epsilon


cdef void partial_rowwise_adam_row(floating** p, const floating* g, Py_ssize_t width,
                                   const void* coefs) noexcept nogil:
    cdef const PartialRowwiseAdamCoefs* c = <const PartialRowwiseAdamCoefs*>coefs
    cdef floating beta_1 = <floating>c.beta_1, one_minus_beta_1 = <floating>c.one_minus_beta_1
    cdef floating beta_2 = <floating>c.beta_2, one_minus_beta_2 = <floating>c.one_minus_beta_2
    cdef floating lr = <floating>c.alpha, epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* m = p[1]
    cdef floating* v = p[2]                # one second moment for the row
    cdef Py_ssize_t j
    cdef floating sq = 0, denom
    for j in range(width):
        sq = sq + g[j] * g[j]
    v[0] = beta_2 * v[0] + one_minus_beta_2 * (sq / <floating>width)
    denom = f_sqrt(v[0]) + epsilon
    for j in range(width):
        m[j] = beta_1 * m[j] + one_minus_beta_1 * g[j]
        w[j] = w[j] - (lr * m[j]) / denom


cdef inline void tables(Tables* t, floating[:, ::1] var, floating[:, ::1] m,
                        floating[::1] v) noexcept:
    t.width = var.shape[1]
    t.count = 0
    add_table(t, &var[0, 0], var.shape[1])
    add_table(t, &m[0, 0], var.shape[1])
    add_table(t, &v[0], 1)


def partial_rowwise_adam_rows(floating[:, ::1] var, floating[:, ::1] m, floating[::1] v,
                              const index_t[::1] rows, values,
                              PartialRowwiseAdamCoefs c, int n_threads=1):
    """PartialRowwiseAdam on the given rows only.  For each row r with
    gradient row g::

        v[r] = beta_2 * v[r] + one_minus_beta_2 * mean(g * g)   (summed left to right)
        m[r] = beta_1 * m[r] + one_minus_beta_1 * g
        var[r] -= (alpha * m[r]) / (sqrt(v[r]) + epsilon)

    ``alpha`` already holds the bias correction.  Rows not in ``rows`` are
    not read or written.

    Preconditions (checked by the caller): rows unique and in range; ``m``
    has ``var``'s shape; ``len(v) == var.shape[0]``; ``values.shape ==
    (len(rows), width)``.
    """
    cdef Py_ssize_t n = rows.shape[0]
    cdef Tables t
    cdef GradientRows src
    if var.shape[1] == 0 or n == 0:
        return
    tables(&t, var, m, v)
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        update_rows(partial_rowwise_adam_row[floating], &t, &rows[0], n, &src, &c,
                    n_threads)


def partial_rowwise_adam_all(floating[:, ::1] var, floating[:, ::1] m, floating[::1] v,
                             const floating[:, ::1] grad, PartialRowwiseAdamCoefs c,
                             int n_threads=1):
    """PartialRowwiseAdam on every row (a dense gradient), row by row as
    `partial_rowwise_adam_rows` does: a dense step equals a sparse step that
    names every row, bit for bit.

    Preconditions (checked by the caller): ``grad`` and ``m`` have ``var``'s
    shape; ``len(v) == var.shape[0]``.
    """
    cdef Tables t
    if var.shape[1] == 0 or var.shape[0] == 0:
        return
    tables(&t, var, m, v)
    with nogil:
        update_every_row(partial_rowwise_adam_row[floating], &t, var.shape[0], &grad[0, 0],
                         &c, n_threads)
