"""Sparse Nadam update (TensorFlow's: moments decay everywhere, var moves on given rows)."""
from _driver cimport GradientRows, Tables, read_gradient, add_table, sweep_table
from _types cimport f_sqrt, floating, index_t


cdef struct NadamCoefs:
    # Values of the variable's dtype (a float32 is carried exactly).
    double beta_1
    double one_minus_beta_1
    double beta_2
    double one_minus_beta_2
    double one_minus_m_schedule_new
    double one_minus_m_schedule_next
    double one_minus_m_t
    double m_t_1
    double v_t_prime_denominator
    double neg_lr_t
    double epsilon


cdef void nadam_untouched(floating** p, Py_ssize_t n, const void* coefs) noexcept nogil:
    """Elements without a gradient: the moments decay."""
    cdef const NadamCoefs* c = <const NadamCoefs*>coefs
    cdef floating beta_1 = <floating>c.beta_1, beta_2 = <floating>c.beta_2
    cdef floating* m = p[1]
    cdef floating* v = p[2]
    cdef Py_ssize_t j
    for j in range(n):
        m[j] = m[j] * beta_1
    for j in range(n):
        v[j] = v[j] * beta_2


cdef void nadam_row(floating** p, const floating* g, Py_ssize_t width,
                    const void* coefs) noexcept nogil:
    cdef const NadamCoefs* c = <const NadamCoefs*>coefs
    cdef floating beta_1 = <floating>c.beta_1, one_minus_beta_1 = <floating>c.one_minus_beta_1
    cdef floating beta_2 = <floating>c.beta_2, one_minus_beta_2 = <floating>c.one_minus_beta_2
    cdef floating one_minus_m_schedule_new = <floating>c.one_minus_m_schedule_new
    cdef floating one_minus_m_schedule_next = <floating>c.one_minus_m_schedule_next
    cdef floating one_minus_m_t = <floating>c.one_minus_m_t, m_t_1 = <floating>c.m_t_1
    cdef floating v_denominator = <floating>c.v_t_prime_denominator
    cdef floating neg_lr = <floating>c.neg_lr_t, epsilon = <floating>c.epsilon
    cdef floating* w = p[0]
    cdef floating* m = p[1]
    cdef floating* v = p[2]
    cdef Py_ssize_t j
    cdef floating m_bar
    for j in range(width):
        m[j] = m[j] * beta_1 + g[j] * one_minus_beta_1
        v[j] = v[j] * beta_2 + (g[j] * g[j]) * one_minus_beta_2
        m_bar = (one_minus_m_t * (g[j] / one_minus_m_schedule_new)
                 + m_t_1 * (m[j] / one_minus_m_schedule_next))
        w[j] = w[j] + (neg_lr * m_bar) / (f_sqrt(v[j] / v_denominator) + epsilon)


def nadam_sparse_whole(floating[:, ::1] var, floating[:, ::1] m, floating[:, ::1] v,
                       const index_t[::1] rows, const Py_ssize_t[::1] order,
                       values, NadamCoefs c, int n_threads=1):
    """TensorFlow's sparse Nadam step in one pass over the table::

        m = m * beta_1;  m[rows] += g * one_minus_beta_1              (every row)
        v = v * beta_2;  v[rows] += (g * g) * one_minus_beta_2        (every row)
        m_bar = one_minus_m_t * (g / one_minus_m_schedule_new)
                + m_t_1 * (m[rows] / one_minus_m_schedule_next)
        var[rows] += (neg_lr_t * m_bar) / (sqrt(v[rows] / v_t_prime_denominator) + epsilon)

    ``order`` sorts ``rows`` (see `_driver.sweep_table`).
    """
    cdef Py_ssize_t n_rows = var.shape[0], width = var.shape[1], n = rows.shape[0]
    cdef Tables t
    cdef GradientRows src
    if width == 0 or n_rows == 0:
        return
    t.width = width
    t.count = 0
    add_table(&t, &var[0, 0], width)
    add_table(&t, &m[0, 0], width)
    add_table(&t, &v[0, 0], width)
    keep = read_gradient(&src, values, var, rows, n_threads)
    with nogil:
        sweep_table(nadam_row[floating], nadam_untouched[floating], &t, n_rows,
                    &rows[0] if n else NULL, &order[0] if n else NULL, n,
                    &src, &c, n_threads)
