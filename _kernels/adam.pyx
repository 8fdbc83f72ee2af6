"""Sparse Adam updates: TensorFlow's whole-table step and the lazy (rows-only) step."""
from cython.parallel cimport prange

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _rows cimport decay_row, mark_rows, unmark_rows
from _types cimport f_max, f_sqrt, floating, index_t


cdef inline void adam_moments_row(floating* m, floating* v, const floating* g,
                                  Py_ssize_t width, floating beta_1, floating one_minus_beta_1,
                                  floating beta_2, floating one_minus_beta_2) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(width):
        m[j] = m[j] * beta_1 + g[j] * one_minus_beta_1
        v[j] = v[j] * beta_2 + (g[j] * g[j]) * one_minus_beta_2


cdef inline void adam_step_row(floating* w, const floating* m, floating* v, floating* vhat,
                               Py_ssize_t width, floating lr, floating epsilon,
                               bint amsgrad) noexcept nogil:
    cdef Py_ssize_t j
    if amsgrad:
        for j in range(width):
            vhat[j] = f_max(vhat[j], v[j])
            w[j] = w[j] - (lr * m[j]) / (f_sqrt(vhat[j]) + epsilon)
    else:
        for j in range(width):
            w[j] = w[j] - (lr * m[j]) / (f_sqrt(v[j]) + epsilon)


cdef inline void lazy_adam_row(floating* w, floating* m, floating* v, const floating* g,
                               Py_ssize_t width, floating beta_1, floating one_minus_beta_1,
                               floating beta_2, floating one_minus_beta_2, floating lr,
                               floating epsilon, floating decay) noexcept nogil:
    cdef Py_ssize_t j
    if decay != 0:
        for j in range(width):
            w[j] = w[j] - w[j] * decay
    for j in range(width):
        m[j] = beta_1 * m[j] + one_minus_beta_1 * g[j]
        v[j] = beta_2 * v[j] + one_minus_beta_2 * (g[j] * g[j])
        w[j] = w[j] - (lr * m[j]) / (f_sqrt(v[j]) + epsilon)


def adam_sparse_whole(floating[:, ::1] var, floating[:, ::1] m, floating[:, ::1] v,
                      floating[:, ::1] vhat, const index_t[::1] rows,
                      const floating[:, ::1] values, int[::1] row_slot,
                      floating beta_1, floating one_minus_beta_1, floating beta_2,
                      floating one_minus_beta_2, floating lr, floating epsilon,
                      bint amsgrad, int n_threads=1):
    """TensorFlow's sparse Adam step, in one pass over the whole table::

        m = m * beta_1;            m[rows] += g * one_minus_beta_1
        v = v * beta_2;            v[rows] += (g * g) * one_minus_beta_2
        vhat = max(vhat, v)                                   (amsgrad)
        var -= (lr * m) / (sqrt(v or vhat) + epsilon)         (every row)

    Each element sees exactly TensorFlow's operations in TensorFlow's order;
    they are just done row by row in a single sweep instead of one sweep per
    line.  ``row_slot`` (int32, all -1, one entry per row) is scratch that
    maps a touched row to its gradient row; it is reset before returning.
    ``vhat`` is ignored unless ``amsgrad``.

    Preconditions (checked by the caller): rows unique and in range; ``m``,
    ``v`` (and ``vhat``) have ``var``'s shape; ``values.shape == (len(rows),
    width)``; ``len(row_slot) >= var.shape[0]``.
    """
    cdef Py_ssize_t n_rows = var.shape[0], width = var.shape[1], n = rows.shape[0]
    cdef Py_ssize_t r, k
    cdef int slot
    if width == 0:
        return
    with nogil:
        mark_rows(row_slot, rows)
    for r in prange(n_rows, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        slot = row_slot[r]
        if slot >= 0:
            adam_moments_row(&m[r, 0], &v[r, 0], &values[slot, 0], width, beta_1,
                             one_minus_beta_1, beta_2, one_minus_beta_2)
        else:
            decay_row(&m[r, 0], width, beta_1)
            decay_row(&v[r, 0], width, beta_2)
        adam_step_row(&var[r, 0], &m[r, 0], &v[r, 0], &vhat[r, 0], width, lr, epsilon,
                      amsgrad)
    with nogil:
        unmark_rows(row_slot, rows)


def adam_lazy_rows(floating[:, ::1] var, floating[:, ::1] m, floating[:, ::1] v,
                   const index_t[::1] rows, const floating[:, ::1] values,
                   floating beta_1, floating one_minus_beta_1, floating beta_2,
                   floating one_minus_beta_2, floating lr, floating epsilon,
                   floating decay, int n_threads=1):
    """Adam on the given rows only (TensorFlow Addons' ``LazyAdam``)::

        var[r] -= var[r] * decay                               (AdamW; 0 skips it)
        m[r] = beta_1 * m[r] + one_minus_beta_1 * g
        v[r] = beta_2 * v[r] + one_minus_beta_2 * (g * g)
        var[r] -= (lr * m[r]) / (sqrt(v[r]) + epsilon)

    ``lr`` already holds the bias correction.  Preconditions (checked by the
    caller): rows unique and in range; ``m`` and ``v`` have ``var``'s shape;
    ``values.shape == (len(rows), width)``.
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1], k
    if width == 0 or n == 0:
        return
    for k in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&m[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&v[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        lazy_adam_row(&var[rows[k], 0], &m[rows[k], 0], &v[rows[k], 0], &values[k, 0], width,
                      beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, lr, epsilon, decay)
