"""Sparse FTRL-Proximal update (TensorFlow's ``SparseApplyFtrl`` / ``...V2``)."""
from cython.parallel cimport prange

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport f_pow, f_sqrt, floating, index_t


cdef inline floating clip(floating x, floating bound) noexcept nogil:
    if x > bound:
        return bound
    if x < -bound:
        return -bound
    return x


cdef inline void ftrl_row(floating* w, floating* a, floating* z, const floating* g,
                          Py_ssize_t width, floating lr, floating l1, floating two_l2,
                          floating two_shrinkage, floating neg_p, bint use_sqrt,
                          bint shrinkage, bint rank1) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating gs, new_a, pow_new, pow_old, sigma
    for j in range(width):
        gs = g[j] + two_shrinkage * w[j] if shrinkage else g[j]
        new_a = a[j] + g[j] * g[j]
        if rank1:
            sigma = (f_pow(new_a, neg_p) - f_pow(a[j], neg_p)) / lr
            z[j] = (z[j] + gs) - sigma * w[j]
            pow_new = f_sqrt(new_a) if use_sqrt else f_pow(new_a, neg_p)
        else:
            if use_sqrt:
                pow_new = f_sqrt(new_a)
                pow_old = f_sqrt(a[j])
            else:
                pow_new = f_pow(new_a, neg_p)
                pow_old = f_pow(a[j], neg_p)
            sigma = (pow_new - pow_old) / lr
            z[j] = z[j] + (gs - sigma * w[j])
        w[j] = (clip(z[j], l1) - z[j]) / (pow_new / lr + two_l2)
        a[j] = new_a


cdef inline void ftrl_sqrt_row(floating* w, floating* a, floating* z, const floating* g,
                               Py_ssize_t width, floating lr, floating l1, floating two_l2,
                               floating two_shrinkage, bint shrinkage) noexcept nogil:
    # ftrl_row for learning_rate_power == -0.5 on rank >= 2: no pow, so it vectorises.
    cdef Py_ssize_t j
    cdef floating new_a, pow_new
    if shrinkage:
        for j in range(width):
            new_a = a[j] + g[j] * g[j]
            pow_new = f_sqrt(new_a)
            z[j] = z[j] + ((g[j] + two_shrinkage * w[j])
                           - ((pow_new - f_sqrt(a[j])) / lr) * w[j])
            w[j] = (clip(z[j], l1) - z[j]) / (pow_new / lr + two_l2)
            a[j] = new_a
    else:
        for j in range(width):
            new_a = a[j] + g[j] * g[j]
            pow_new = f_sqrt(new_a)
            z[j] = z[j] + (g[j] - ((pow_new - f_sqrt(a[j])) / lr) * w[j])
            w[j] = (clip(z[j], l1) - z[j]) / (pow_new / lr + two_l2)
            a[j] = new_a


def ftrl_rows(floating[:, ::1] var, floating[:, ::1] accum, floating[:, ::1] linear,
              const index_t[::1] rows, const floating[:, ::1] values, floating lr,
              floating l1, floating two_l2, floating two_shrinkage, floating lr_power,
              bint shrinkage, bint rank1, int n_threads=1):
    """FTRL on the given rows only.

    For each element, with ``n = accum + g * g`` and ``gs = g`` (or
    ``g + two_shrinkage * w`` with ``shrinkage``), variables of rank >= 2::

        sigma  = (n**-p - accum**-p) / lr       (sqrt when p == -0.5)
        linear = linear + (gs - sigma * w)
        w      = (clip(linear, -l1, l1) - linear) / (n**-p / lr + two_l2)
        accum  = n

    and, for rank-1 variables (``rank1``; TensorFlow's scalar kernel),
    ``sigma = (pow(n, -p) - pow(accum, -p)) / lr`` always through ``pow``, and
    ``linear = (linear + gs) - sigma * w``.  ``two_l2`` is ``2 * (l2 +
    beta / (2 * lr))``.
    """
    cdef Py_ssize_t n_idx = rows.shape[0], width = var.shape[1], k
    cdef floating neg_p = -lr_power
    cdef bint use_sqrt = lr_power == -0.5
    if width == 0 or n_idx == 0:
        return
    for k in prange(n_idx, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n_idx:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&accum[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&linear[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        if use_sqrt and not rank1:
            ftrl_sqrt_row(&var[rows[k], 0], &accum[rows[k], 0], &linear[rows[k], 0],
                          &values[k, 0], width, lr, l1, two_l2, two_shrinkage, shrinkage)
        else:
            ftrl_row(&var[rows[k], 0], &accum[rows[k], 0], &linear[rows[k], 0],
                     &values[k, 0], width, lr, l1, two_l2, two_shrinkage, neg_p, use_sqrt,
                     shrinkage, rank1)
