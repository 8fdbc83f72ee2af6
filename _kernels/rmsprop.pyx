"""Sparse RMSprop updates (TensorFlow's two sparse paths)."""
from _driver cimport GradientRows, Tables, read_gradient, add_table, sweep_table, update_rows
from _types cimport f_sqrt, floating, index_t


cdef struct RMSpropCoefs:
    # Values of the variable's dtype (a float32 is carried exactly).
    double rho
    double one_minus_rho
    double momentum
    double lr_t
    double neg_lr_t
    double epsilon


# Each rule is written once for the plain and the centered variant: ``centered``
# is a constant in each of the two functions a driver is given, so the
# compiler drops the other branch.

cdef int add_rmsprop_tables(Tables* t, floating[:, ::1] var, floating[:, ::1] rms,
                            floating[:, ::1] mom, floating[:, ::1] mg) except -1:
    """Tables ``var, rms``, then ``mom`` and ``mg`` where not None; return their count."""
    t.width = var.shape[1]
    t.count = 0
    add_table(t, &var[0, 0], t.width)
    add_table(t, &rms[0, 0], t.width)
    if mom is not None:
        add_table(t, &mom[0, 0], t.width)
    if mg is not None:
        add_table(t, &mg[0, 0], t.width)
    return t.count


# ---- Without momentum: a whole-table sweep (tables: var, rms[, mg]) --------

cdef inline void decay_elements(floating** p, Py_ssize_t n, const void* coefs,
                                bint centered) noexcept nogil:
    """Elements without a gradient: the mean square (and mean gradient) decay."""
    cdef floating rho = <floating>(<const RMSpropCoefs*>coefs).rho
    cdef floating* s = p[1]
    cdef Py_ssize_t j
    for j in range(n):
        s[j] = s[j] * rho
    if centered:
        s = p[2]
        for j in range(n):
            s[j] = s[j] * rho


cdef inline void sweep_row(floating** p, const floating* g, Py_ssize_t width,
                           const void* coefs, bint centered) noexcept nogil:
    cdef const RMSpropCoefs* c = <const RMSpropCoefs*>coefs
    cdef floating rho = <floating>c.rho, one_minus_rho = <floating>c.one_minus_rho
    cdef floating neg_lr = <floating>c.neg_lr_t, epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* s = p[1]
    cdef floating* a = p[2] if centered else NULL
    cdef floating den
    cdef Py_ssize_t j
    for j in range(width):
        s[j] = s[j] * rho + (g[j] * g[j]) * one_minus_rho
        if centered:
            a[j] = a[j] * rho + g[j] * one_minus_rho
            den = s[j] - a[j] * a[j]
        else:
            den = s[j]
        w[j] = w[j] + (neg_lr * g[j]) / (f_sqrt(den) + epsilon)


cdef void rms_untouched(floating** p, Py_ssize_t n, const void* coefs) noexcept nogil:
    decay_elements(p, n, coefs, False)


cdef void rms_centered_untouched(floating** p, Py_ssize_t n, const void* coefs) noexcept nogil:
    decay_elements(p, n, coefs, True)


cdef void rms_row(floating** p, const floating* g, Py_ssize_t width,
                  const void* coefs) noexcept nogil:
    sweep_row(p, g, width, coefs, False)


cdef void rms_centered_row(floating** p, const floating* g, Py_ssize_t width,
                           const void* coefs) noexcept nogil:
    sweep_row(p, g, width, coefs, True)


def rmsprop_sparse_whole(floating[:, ::1] var, floating[:, ::1] rms, mg,
                         const index_t[::1] rows, const Py_ssize_t[::1] order,
                         values, RMSpropCoefs c, int n_threads=1):
    """TensorFlow's sparse RMSprop step without momentum, in one pass::

        rms = rms * rho;   rms[rows] += (g * g) * one_minus_rho      (every row)
        mg  = mg * rho;    mg[rows]  += g * one_minus_rho            (centered)
        var[rows] += (neg_lr_t * g) / (sqrt(rms[rows] - mg[rows]**2) + epsilon)

    ``rms`` (and ``mg``) decay over the whole variable; ``var`` moves on the
    given rows only.  ``mg`` is None unless centered; ``order`` sorts
    ``rows`` (see `_driver.sweep_table`).
    """
    cdef Py_ssize_t n_rows = var.shape[0], n = rows.shape[0]
    cdef Tables t
    cdef GradientRows src
    if var.shape[1] == 0 or n_rows == 0:
        return
    cdef bint centered = add_rmsprop_tables[floating](&t, var, rms, None, mg) == 3
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        if centered:
            sweep_table(rms_centered_row[floating], rms_centered_untouched[floating], &t,
                        n_rows, &rows[0] if n else NULL, &order[0] if n else NULL, n,
                        &src, &c, n_threads)
        else:
            sweep_table(rms_row[floating], rms_untouched[floating], &t,
                        n_rows, &rows[0] if n else NULL, &order[0] if n else NULL, n,
                        &src, &c, n_threads)


# ---- With momentum: the given rows only (tables: var, rms, mom[, mg]) -------

cdef inline void momentum_row(floating** p, const floating* g, Py_ssize_t width,
                              const void* coefs, bint centered) noexcept nogil:
    cdef const RMSpropCoefs* c = <const RMSpropCoefs*>coefs
    cdef floating rho = <floating>c.rho, one_minus_rho = <floating>c.one_minus_rho
    cdef floating momentum = <floating>c.momentum, lr = <floating>c.lr_t
    cdef floating epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* s = p[1]
    cdef floating* mom = p[2]
    cdef floating* a = p[3] if centered else NULL
    cdef floating den
    cdef Py_ssize_t j
    cdef floating one = 1          # a bare `1 / x` would be computed in double
    for j in range(width):
        s[j] = s[j] * rho + (g[j] * g[j]) * one_minus_rho
        if centered:
            a[j] = a[j] * rho + g[j] * one_minus_rho
            den = (s[j] + epsilon) - a[j] * a[j]
        else:
            den = s[j] + epsilon
        mom[j] = mom[j] * momentum + ((one / f_sqrt(den)) * lr) * g[j]
        w[j] = w[j] - mom[j]


cdef void rms_momentum_row(floating** p, const floating* g, Py_ssize_t width,
                           const void* coefs) noexcept nogil:
    momentum_row(p, g, width, coefs, False)


cdef void rms_centered_momentum_row(floating** p, const floating* g, Py_ssize_t width,
                                    const void* coefs) noexcept nogil:
    momentum_row(p, g, width, coefs, True)


def rmsprop_momentum_rows(floating[:, ::1] var, floating[:, ::1] rms, floating[:, ::1] mom,
                          mg, const index_t[::1] rows, values,
                          RMSpropCoefs c, int n_threads=1):
    """RMSprop with momentum on the given rows only (``SparseApply[Centered]RMSProp``)::

        rms[r] = rms[r] * rho + (g * g) * one_minus_rho
        mg[r]  = mg[r] * rho + g * one_minus_rho                      (centered)
        den    = rms[r] + epsilon   or   (rms[r] + epsilon) - mg[r]**2 (centered)
        mom[r] = mom[r] * momentum + ((1 / sqrt(den)) * lr_t) * g
        var[r] -= mom[r]

    ``mg`` is None unless centered.
    """
    cdef Py_ssize_t n = rows.shape[0]
    cdef Tables t
    cdef GradientRows src
    if var.shape[1] == 0 or n == 0:
        return
    cdef bint centered = add_rmsprop_tables[floating](&t, var, rms, mom, mg) == 4
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        if centered:
            update_rows(rms_centered_momentum_row[floating], &t, &rows[0], n, &src,
                        &c, n_threads)
        else:
            update_rows(rms_momentum_row[floating], &t, &rows[0], n, &src, &c,
                        n_threads)
