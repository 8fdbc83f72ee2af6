"""Sparse FTRL-Proximal update (TensorFlow's ``SparseApplyFtrl`` / ``...V2``)."""
from _driver cimport GradientRows, Tables, read_gradient, add_table, update_rows
from _types cimport f_pow, f_sqrt, floating, index_t


cdef struct FtrlCoefs:
    # Values of the variable's dtype (a float32 is carried exactly).
    double lr_t
    double l1
    double two_l2
    double two_shrinkage
    double lr_power
    bint shrinkage


cdef struct FtrlStep:
    FtrlCoefs c
    bint use_sqrt        # lr_power == -0.5
    bint rank1           # TensorFlow's scalar kernel (1-D variables)


cdef inline floating clip(floating x, floating bound) noexcept nogil:
    if x > bound:
        return bound
    if x < -bound:
        return -bound
    return x


cdef void ftrl_row(floating** p, const floating* g, Py_ssize_t width,
                   const void* step) noexcept nogil:
    cdef const FtrlStep* s = <const FtrlStep*>step
    cdef floating lr = <floating>s.c.lr_t, l1 = <floating>s.c.l1
    cdef floating two_l2 = <floating>s.c.two_l2, two_shrinkage = <floating>s.c.two_shrinkage
    cdef floating neg_p = -<floating>s.c.lr_power
    cdef bint use_sqrt = s.use_sqrt, shrinkage = s.c.shrinkage, rank1 = s.rank1
    cdef floating* w = p[0]
    cdef floating* a = p[1]
    cdef floating* z = p[2]
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


cdef void ftrl_sqrt_row(floating** p, const floating* g, Py_ssize_t width,
                        const void* step) noexcept nogil:
    # ftrl_row for learning_rate_power == -0.5 on rank >= 2: no pow, so it vectorises.
    cdef const FtrlStep* s = <const FtrlStep*>step
    cdef floating lr = <floating>s.c.lr_t, l1 = <floating>s.c.l1
    cdef floating two_l2 = <floating>s.c.two_l2, two_shrinkage = <floating>s.c.two_shrinkage
    cdef floating* w = p[0]
    cdef floating* a = p[1]
    cdef floating* z = p[2]
    cdef Py_ssize_t j
    cdef floating new_a, pow_new
    if s.c.shrinkage:
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
              const index_t[::1] rows, values, FtrlCoefs c,
              bint rank1, int n_threads=1):
    """FTRL on the given rows only.

    For each element, with ``n = accum + g * g`` and ``gs = g`` (or
    ``g + two_shrinkage * w`` with ``c.shrinkage``), ``p = -lr_power`` and
    ``lr = lr_t``, variables of rank >= 2::

        sigma  = (n**-p - accum**-p) / lr       (sqrt when p == -0.5)
        linear = linear + (gs - sigma * w)
        w      = (clip(linear, -l1, l1) - linear) / (n**-p / lr + two_l2)
        accum  = n

    and, for rank-1 variables (``rank1``; TensorFlow's scalar kernel),
    ``sigma = (pow(n, -p) - pow(accum, -p)) / lr`` always through ``pow``, and
    ``linear = (linear + gs) - sigma * w``.  ``two_l2`` is ``2 * (l2 +
    beta / (2 * lr))``.
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1]
    cdef FtrlStep s
    cdef Tables t
    cdef GradientRows src
    if width == 0 or n == 0:
        return
    s.c = c
    s.use_sqrt = <floating>c.lr_power == -0.5
    s.rank1 = rank1
    t.width = width
    t.count = 0
    add_table(&t, &var[0, 0], width)
    add_table(&t, &accum[0, 0], width)
    add_table(&t, &linear[0, 0], width)
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        if s.use_sqrt and not rank1:
            update_rows(ftrl_sqrt_row[floating], &t, &rows[0], n, &src, &s,
                        n_threads)
        else:
            update_rows(ftrl_row[floating], &t, &rows[0], n, &src, &s, n_threads)
