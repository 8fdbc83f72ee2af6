"""Sparse RMSprop updates (TensorFlow's two sparse paths)."""
from cython.parallel cimport prange

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _rows cimport decay_row, mark_rows, unmark_rows
from _types cimport f_sqrt, floating, index_t


cdef inline void rms_step_row(floating* w, floating* s, floating* a, const floating* g,
                              Py_ssize_t width, floating rho, floating one_minus_rho,
                              floating neg_lr, floating epsilon, bint centered) noexcept nogil:
    cdef Py_ssize_t j
    if centered:
        for j in range(width):
            s[j] = s[j] * rho + (g[j] * g[j]) * one_minus_rho
            a[j] = a[j] * rho + g[j] * one_minus_rho
            w[j] = w[j] + (neg_lr * g[j]) / (f_sqrt(s[j] - a[j] * a[j]) + epsilon)
    else:
        for j in range(width):
            s[j] = s[j] * rho + (g[j] * g[j]) * one_minus_rho
            w[j] = w[j] + (neg_lr * g[j]) / (f_sqrt(s[j]) + epsilon)


cdef inline void rms_momentum_row(floating* w, floating* s, floating* p, floating* a,
                                  const floating* g, Py_ssize_t width, floating rho,
                                  floating one_minus_rho, floating momentum, floating lr,
                                  floating epsilon, bint centered) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating one = 1          # a bare `1 / x` would be computed in double
    if centered:
        for j in range(width):
            s[j] = s[j] * rho + (g[j] * g[j]) * one_minus_rho
            a[j] = a[j] * rho + g[j] * one_minus_rho
            p[j] = p[j] * momentum + ((one / f_sqrt((s[j] + epsilon) - a[j] * a[j])) * lr) * g[j]
            w[j] = w[j] - p[j]
    else:
        for j in range(width):
            s[j] = s[j] * rho + (g[j] * g[j]) * one_minus_rho
            p[j] = p[j] * momentum + ((one / f_sqrt(s[j] + epsilon)) * lr) * g[j]
            w[j] = w[j] - p[j]


def rmsprop_sparse_whole(floating[:, ::1] var, floating[:, ::1] rms, floating[:, ::1] mg,
                         const index_t[::1] rows, const floating[:, ::1] values,
                         int[::1] row_slot, floating rho, floating one_minus_rho,
                         floating neg_lr, floating epsilon, bint centered,
                         int n_threads=1):
    """TensorFlow's sparse RMSprop step without momentum, in one pass::

        rms = rms * rho;   rms[rows] += (g * g) * one_minus_rho      (every row)
        mg  = mg * rho;    mg[rows]  += g * one_minus_rho            (centered)
        var[rows] += (neg_lr * g) / (sqrt(rms[rows] - mg[rows]**2) + epsilon)

    ``rms`` (and ``mg``) decay over the whole variable; ``var`` moves on the
    given rows only.  ``row_slot`` (int32, all -1) maps a row to its gradient
    row during the pass and is reset before returning; ``mg`` is ignored
    unless ``centered``.
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
        if slot < 0:
            decay_row(&rms[r, 0], width, rho)
            if centered:
                decay_row(&mg[r, 0], width, rho)
        else:
            rms_step_row(&var[r, 0], &rms[r, 0], &mg[r, 0], &values[slot, 0], width, rho,
                         one_minus_rho, neg_lr, epsilon, centered)
    with nogil:
        unmark_rows(row_slot, rows)


def rmsprop_momentum_rows(floating[:, ::1] var, floating[:, ::1] rms, floating[:, ::1] mom,
                          floating[:, ::1] mg, const index_t[::1] rows,
                          const floating[:, ::1] values, floating rho,
                          floating one_minus_rho, floating momentum, floating lr,
                          floating epsilon, bint centered, int n_threads=1):
    """RMSprop with momentum on the given rows only (``SparseApply[Centered]RMSProp``)::

        rms[r] = rms[r] * rho + (g * g) * one_minus_rho
        mg[r]  = mg[r] * rho + g * one_minus_rho                      (centered)
        den    = rms[r] + epsilon   or   (rms[r] + epsilon) - mg[r]**2 (centered)
        mom[r] = mom[r] * momentum + ((1 / sqrt(den)) * lr) * g
        var[r] -= mom[r]

    ``mg`` is ignored unless ``centered``.
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1], k
    if width == 0 or n == 0:
        return
    for k in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&rms[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&mom[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        rms_momentum_row(&var[rows[k], 0], &rms[rows[k], 0], &mom[rows[k], 0],
                         &mg[rows[k], 0], &values[k, 0], width, rho, one_minus_rho,
                         momentum, lr, epsilon, centered)
