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


# ---- Without momentum: a whole-table sweep (tables: var, rms[, mg]) --------

cdef void rms_untouched(floating** p, Py_ssize_t n, const void* coefs) noexcept nogil:
    """Elements without a gradient: the mean square decays."""
    cdef floating rho = <floating>(<const RMSpropCoefs*>coefs).rho
    cdef floating* s = p[1]
    cdef Py_ssize_t j
    for j in range(n):
        s[j] = s[j] * rho


cdef void rms_centered_untouched(floating** p, Py_ssize_t n, const void* coefs) noexcept nogil:
    """Elements without a gradient: the mean square and mean gradient decay."""
    cdef floating rho = <floating>(<const RMSpropCoefs*>coefs).rho
    cdef floating* s = p[1]
    cdef floating* a = p[2]
    cdef Py_ssize_t j
    for j in range(n):
        s[j] = s[j] * rho
    for j in range(n):
        a[j] = a[j] * rho


cdef void rms_row(floating** p, const floating* g, Py_ssize_t width,
                  const void* coefs) noexcept nogil:
    cdef const RMSpropCoefs* c = <const RMSpropCoefs*>coefs
    cdef floating rho = <floating>c.rho, one_minus_rho = <floating>c.one_minus_rho
    cdef floating neg_lr = <floating>c.neg_lr_t, epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* s = p[1]
    cdef Py_ssize_t j
    for j in range(width):
        s[j] = s[j] * rho + (g[j] * g[j]) * one_minus_rho
        w[j] = w[j] + (neg_lr * g[j]) / (f_sqrt(s[j]) + epsilon)


cdef void rms_centered_row(floating** p, const floating* g, Py_ssize_t width,
                           const void* coefs) noexcept nogil:
    cdef const RMSpropCoefs* c = <const RMSpropCoefs*>coefs
    cdef floating rho = <floating>c.rho, one_minus_rho = <floating>c.one_minus_rho
    cdef floating neg_lr = <floating>c.neg_lr_t, epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* s = p[1]
    cdef floating* a = p[2]
    cdef Py_ssize_t j
    for j in range(width):
        s[j] = s[j] * rho + (g[j] * g[j]) * one_minus_rho
        a[j] = a[j] * rho + g[j] * one_minus_rho
        w[j] = w[j] + (neg_lr * g[j]) / (f_sqrt(s[j] - a[j] * a[j]) + epsilon)


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
    cdef Py_ssize_t n_rows = var.shape[0], width = var.shape[1], n = rows.shape[0]
    cdef floating[:, ::1] mean_grad
    cdef Tables t
    cdef GradientRows src
    if width == 0 or n_rows == 0:
        return
    t.width = width
    t.count = 0
    add_table(&t, &var[0, 0], width)
    add_table(&t, &rms[0, 0], width)
    if mg is not None:
        mean_grad = mg
        add_table(&t, &mean_grad[0, 0], width)
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        if t.count == 3:
            sweep_table(rms_centered_row[floating], rms_centered_untouched[floating], &t,
                        n_rows, &rows[0] if n else NULL, &order[0] if n else NULL, n,
                        &src, &c, n_threads)
        else:
            sweep_table(rms_row[floating], rms_untouched[floating], &t,
                        n_rows, &rows[0] if n else NULL, &order[0] if n else NULL, n,
                        &src, &c, n_threads)


# ---- With momentum: the given rows only (tables: var, rms, mom[, mg]) -------

cdef void rms_momentum_row(floating** p, const floating* g, Py_ssize_t width,
                           const void* coefs) noexcept nogil:
    cdef const RMSpropCoefs* c = <const RMSpropCoefs*>coefs
    cdef floating rho = <floating>c.rho, one_minus_rho = <floating>c.one_minus_rho
    cdef floating momentum = <floating>c.momentum, lr = <floating>c.lr_t
    cdef floating epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* s = p[1]
    cdef floating* mom = p[2]
    cdef Py_ssize_t j
    cdef floating one = 1          # a bare `1 / x` would be computed in double
    for j in range(width):
        s[j] = s[j] * rho + (g[j] * g[j]) * one_minus_rho
        mom[j] = mom[j] * momentum + ((one / f_sqrt(s[j] + epsilon)) * lr) * g[j]
        w[j] = w[j] - mom[j]


cdef void rms_centered_momentum_row(floating** p, const floating* g, Py_ssize_t width,
                                    const void* coefs) noexcept nogil:
    cdef const RMSpropCoefs* c = <const RMSpropCoefs*>coefs
    cdef floating rho = <floating>c.rho, one_minus_rho = <floating>c.one_minus_rho
    cdef floating momentum = <floating>c.momentum, lr = <floating>c.lr_t
    cdef floating epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* s = p[1]
    cdef floating* mom = p[2]
    cdef floating* a = p[3]
    cdef Py_ssize_t j
    cdef floating one = 1
    for j in range(width):
        s[j] = s[j] * rho + (g[j] * g[j]) * one_minus_rho
        a[j] = a[j] * rho + g[j] * one_minus_rho
        mom[j] = mom[j] * momentum + ((one / f_sqrt((s[j] + epsilon) - a[j] * a[j])) * lr) * g[j]
        w[j] = w[j] - mom[j]


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
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1]
    cdef floating[:, ::1] mean_grad
    cdef Tables t
    cdef GradientRows src
    if width == 0 or n == 0:
        return
    t.width = width
    t.count = 0
    add_table(&t, &var[0, 0], width)
    add_table(&t, &rms[0, 0], width)
    add_table(&t, &mom[0, 0], width)
    if mg is not None:
        mean_grad = mg
        add_table(&t, &mean_grad[0, 0], width)
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        if t.count == 4:
            update_rows(rms_centered_momentum_row[floating], &t, &rows[0], n, &src,
                        &c, n_threads)
        else:
            update_rows(rms_momentum_row[floating], &t, &rows[0], n, &src, &c,
                        n_threads)
