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
    cdef Py_ssize_t n_idx = rows.shape[0], width = var.shape[1], k, j
    cdef floating* w
    cdef floating* a
    cdef floating* z
    cdef const floating* g
    cdef floating gs, new_a, pow_new, pow_old, sigma, y
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
        w = &var[rows[k], 0]
        a = &accum[rows[k], 0]
        z = &linear[rows[k], 0]
        g = &values[k, 0]
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
            y = pow_new / lr + two_l2
            w[j] = (clip(z[j], l1) - z[j]) / y
            a[j] = new_a
