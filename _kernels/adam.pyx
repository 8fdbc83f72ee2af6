"""Sparse Adam updates: TensorFlow's whole-table step and the lazy (rows-only) step."""
from _driver cimport GradientRows, Tables, read_gradient, add_table, sweep_table, update_rows
from _types cimport f_max, f_sqrt, floating, index_t


cdef struct AdamCoefs:
    # Values of the variable's dtype (a float32 is carried exactly).
    double beta_1
    double one_minus_beta_1
    double beta_2
    double one_minus_beta_2
    double epsilon


cdef struct WholeTableCoefs:
    AdamCoefs adam
    double lr_sparse


cdef struct LazyCoefs:
    AdamCoefs adam
    double alpha
    double weight_decay


# ---- TensorFlow's whole-table step (tables: var, m, v[, vhat]) ------------
#
# Each rule is written once, for Adam and AMSGrad: ``amsgrad`` is a constant
# in each of the two functions the sweep is given, so the compiler drops the
# other branch and ``s`` (the second moment the step divides by: ``vhat``, or
# ``v`` itself) is ``v`` in Adam's.

cdef inline void untouched_elements(floating** p, Py_ssize_t n, const void* coefs,
                                    bint amsgrad) noexcept nogil:
    """Elements without a gradient: moments decay, then the variable moves."""
    cdef const WholeTableCoefs* c = <const WholeTableCoefs*>coefs
    cdef floating beta_1 = <floating>c.adam.beta_1, beta_2 = <floating>c.adam.beta_2
    cdef floating lr = <floating>c.lr_sparse, epsilon = <floating>c.adam.epsilon
    cdef floating* w = p[0]
    cdef floating* m = p[1]
    cdef floating* v = p[2]
    cdef floating* s = p[3] if amsgrad else p[2]
    cdef Py_ssize_t j
    for j in range(n):
        m[j] = m[j] * beta_1
        v[j] = v[j] * beta_2
        if amsgrad:
            s[j] = f_max(s[j], v[j])
        w[j] = w[j] - (lr * m[j]) / (f_sqrt(s[j]) + epsilon)


cdef inline void touched_row(floating** p, const floating* g, Py_ssize_t width,
                             const void* coefs, bint amsgrad) noexcept nogil:
    """Elements of a touched row: decay, add the scaled gradient, then move."""
    cdef const WholeTableCoefs* c = <const WholeTableCoefs*>coefs
    cdef floating beta_1 = <floating>c.adam.beta_1, beta_2 = <floating>c.adam.beta_2
    cdef floating one_minus_beta_1 = <floating>c.adam.one_minus_beta_1
    cdef floating one_minus_beta_2 = <floating>c.adam.one_minus_beta_2
    cdef floating lr = <floating>c.lr_sparse, epsilon = <floating>c.adam.epsilon
    cdef floating* w = p[0]
    cdef floating* m = p[1]
    cdef floating* v = p[2]
    cdef floating* s = p[3] if amsgrad else p[2]
    cdef Py_ssize_t j
    for j in range(width):
        m[j] = m[j] * beta_1 + g[j] * one_minus_beta_1
        v[j] = v[j] * beta_2 + (g[j] * g[j]) * one_minus_beta_2
        if amsgrad:
            s[j] = f_max(s[j], v[j])
        w[j] = w[j] - (lr * m[j]) / (f_sqrt(s[j]) + epsilon)


cdef void adam_untouched(floating** p, Py_ssize_t n, const void* coefs) noexcept nogil:
    untouched_elements(p, n, coefs, False)


cdef void amsgrad_untouched(floating** p, Py_ssize_t n, const void* coefs) noexcept nogil:
    untouched_elements(p, n, coefs, True)


cdef void adam_touched(floating** p, const floating* g, Py_ssize_t width,
                       const void* coefs) noexcept nogil:
    touched_row(p, g, width, coefs, False)


cdef void amsgrad_touched(floating** p, const floating* g, Py_ssize_t width,
                          const void* coefs) noexcept nogil:
    touched_row(p, g, width, coefs, True)


cdef int add_adam_tables(Tables* t, floating[:, ::1] var, floating[:, ::1] m,
                         floating[:, ::1] v, object vhat) except -1:
    """Tables ``var, m, v`` and (amsgrad, when not None) ``vhat``; return their count."""
    cdef floating[:, ::1] vh
    t.width = var.shape[1]
    t.count = 0
    add_table(t, &var[0, 0], t.width)
    add_table(t, &m[0, 0], t.width)
    add_table(t, &v[0, 0], t.width)
    if vhat is not None:
        vh = vhat
        add_table(t, &vh[0, 0], t.width)
    return t.count


def adam_sparse_whole(floating[:, ::1] var, floating[:, ::1] m, floating[:, ::1] v,
                      vhat, const index_t[::1] rows, const Py_ssize_t[::1] order,
                      values, AdamCoefs c, double lr_sparse,
                      int n_threads=1):
    """TensorFlow's sparse Adam step, in one sweep over the whole table.

    TensorFlow runs these lines one after another, each over the table::

        m = m * beta_1;            m[rows] += g * one_minus_beta_1
        v = v * beta_2;            v[rows] += (g * g) * one_minus_beta_2
        vhat = max(vhat, v)                                   (amsgrad)
        var -= (lr_sparse * m) / (sqrt(v or vhat) + epsilon)  (every row)

    Every element goes through exactly those operations in that order
    (decay, then the scatter-add of its gradient if its row is touched, then
    the variable step), so the results are TensorFlow's bit for bit; the
    sweep just does all lines for one element before the next, reading and
    writing each array once (see `_driver.sweep_table`).  ``order`` sorts
    ``rows`` (e.g. ``np.argsort(rows)``).  ``vhat`` is None unless amsgrad.
    ``c`` holds ``beta_1``, ``one_minus_beta_1``, ``beta_2``,
    ``one_minus_beta_2`` and ``epsilon``, values of ``var``'s dtype.

    Preconditions (checked by the caller): rows unique and in range;
    ``order`` a permutation of ``range(len(rows))`` that sorts ``rows``;
    ``m``, ``v`` (and ``vhat``) have ``var``'s shape;
    ``values.shape == (len(rows), width)``.
    """
    cdef Py_ssize_t n_rows = var.shape[0], n = rows.shape[0]
    cdef WholeTableCoefs wc
    cdef Tables t
    cdef GradientRows src
    if var.shape[1] == 0 or n_rows == 0:
        return
    wc.adam = c
    wc.lr_sparse = lr_sparse
    cdef bint amsgrad = add_adam_tables(&t, var, m, v, vhat) == 4
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        if amsgrad:
            sweep_table(amsgrad_touched[floating], amsgrad_untouched[floating], &t, n_rows,
                        &rows[0] if n else NULL, &order[0] if n else NULL, n,
                        &src, &wc, n_threads)
        else:
            sweep_table(adam_touched[floating], adam_untouched[floating], &t, n_rows,
                        &rows[0] if n else NULL, &order[0] if n else NULL, n,
                        &src, &wc, n_threads)


# ---- The lazy step (tables: var, m, v[, vhat]) ------------------------------

cdef inline void decay_weights(floating* w, Py_ssize_t width, floating decay) noexcept nogil:
    cdef Py_ssize_t j
    if decay != 0:
        for j in range(width):
            w[j] = w[j] - w[j] * decay


cdef inline void lazy_row(floating** p, const floating* g, Py_ssize_t width,
                          const void* coefs, bint amsgrad) noexcept nogil:
    cdef const LazyCoefs* c = <const LazyCoefs*>coefs
    cdef floating beta_1 = <floating>c.adam.beta_1, beta_2 = <floating>c.adam.beta_2
    cdef floating one_minus_beta_1 = <floating>c.adam.one_minus_beta_1
    cdef floating one_minus_beta_2 = <floating>c.adam.one_minus_beta_2
    cdef floating lr = <floating>c.alpha, epsilon = <floating>c.adam.epsilon
    cdef floating* w = p[0]
    cdef floating* m = p[1]
    cdef floating* v = p[2]
    cdef floating* s = p[3] if amsgrad else p[2]
    cdef Py_ssize_t j
    decay_weights(w, width, <floating>c.weight_decay)
    for j in range(width):
        m[j] = beta_1 * m[j] + one_minus_beta_1 * g[j]
        v[j] = beta_2 * v[j] + one_minus_beta_2 * (g[j] * g[j])
        if amsgrad:
            s[j] = f_max(s[j], v[j])
        w[j] = w[j] - (lr * m[j]) / (f_sqrt(s[j]) + epsilon)


cdef void lazy_adam_row(floating** p, const floating* g, Py_ssize_t width,
                        const void* coefs) noexcept nogil:
    lazy_row(p, g, width, coefs, False)


cdef void lazy_amsgrad_row(floating** p, const floating* g, Py_ssize_t width,
                           const void* coefs) noexcept nogil:
    lazy_row(p, g, width, coefs, True)


def adam_lazy_rows(floating[:, ::1] var, floating[:, ::1] m, floating[:, ::1] v,
                   vhat, const index_t[::1] rows, values,
                   AdamCoefs c, double alpha, double weight_decay=0, int n_threads=1):
    """Adam on the given rows only (TensorFlow Addons' ``LazyAdam``; `AdamW`).

    For each row r with gradient row g::

        var[r] -= var[r] * weight_decay                    (AdamW; 0 skips it)
        m[r] = beta_1 * m[r] + one_minus_beta_1 * g
        v[r] = beta_2 * v[r] + one_minus_beta_2 * (g * g)
        vhat[r] = max(vhat[r], v[r])                       (amsgrad)
        var[r] -= (alpha * m[r]) / (sqrt(v[r] or vhat[r]) + epsilon)

    ``alpha`` already holds the bias correction.  Rows not in ``rows`` are
    not read or written.  ``vhat`` is None unless amsgrad.  ``c`` is as for
    `adam_sparse_whole`; all coefficients are values of ``var``'s dtype.

    Preconditions (checked by the caller): rows unique and in range; ``m``,
    ``v`` (and ``vhat``) have ``var``'s shape; ``values.shape == (len(rows),
    width)``.
    """
    cdef Py_ssize_t n = rows.shape[0]
    cdef LazyCoefs lc
    cdef Tables t
    cdef GradientRows src
    if var.shape[1] == 0 or n == 0:
        return
    lc.adam = c
    lc.alpha = alpha
    lc.weight_decay = weight_decay
    cdef bint amsgrad = add_adam_tables(&t, var, m, v, vhat) == 4
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        if amsgrad:
            update_rows(lazy_amsgrad_row[floating], &t, &rows[0], n, &src, &lc,
                        n_threads)
        else:
            update_rows(lazy_adam_row[floating], &t, &rows[0], n, &src, &lc,
                        n_threads)
