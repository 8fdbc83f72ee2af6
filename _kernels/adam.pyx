"""Sparse Adam updates: TensorFlow's whole-table step and the lazy (rows-only) step."""
from cython.parallel cimport prange

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport f_max, f_sqrt, floating, index_t


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
    cdef Py_ssize_t r, j, k
    cdef int slot
    cdef floating* w
    cdef floating* mr
    cdef floating* vr
    cdef floating* hr
    cdef const floating* g
    cdef floating denom
    if width == 0:
        return
    with nogil:
        for k in range(n):
            row_slot[rows[k]] = <int>k
    for r in prange(n_rows, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        w = &var[r, 0]
        mr = &m[r, 0]
        vr = &v[r, 0]
        hr = &vhat[r, 0] if amsgrad else vr
        slot = row_slot[r]
        if slot >= 0:
            g = &values[slot, 0]
            for j in range(width):
                mr[j] = mr[j] * beta_1 + g[j] * one_minus_beta_1
                vr[j] = vr[j] * beta_2 + (g[j] * g[j]) * one_minus_beta_2
        else:
            for j in range(width):
                mr[j] = mr[j] * beta_1
                vr[j] = vr[j] * beta_2
        for j in range(width):
            if amsgrad:
                hr[j] = f_max(hr[j], vr[j])
            denom = f_sqrt(hr[j]) + epsilon
            w[j] = w[j] - (lr * mr[j]) / denom
    with nogil:
        for k in range(n):
            row_slot[rows[k]] = -1


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
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1], k, j
    cdef floating* w
    cdef floating* mr
    cdef floating* vr
    cdef const floating* g
    if width == 0 or n == 0:
        return
    for k in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&m[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&v[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        w = &var[rows[k], 0]
        mr = &m[rows[k], 0]
        vr = &v[rows[k], 0]
        g = &values[k, 0]
        for j in range(width):
            if decay != 0:
                w[j] = w[j] - w[j] * decay
            mr[j] = beta_1 * mr[j] + one_minus_beta_1 * g[j]
            vr[j] = beta_2 * vr[j] + one_minus_beta_2 * (g[j] * g[j])
            w[j] = w[j] - (lr * mr[j]) / (f_sqrt(vr[j]) + epsilon)
