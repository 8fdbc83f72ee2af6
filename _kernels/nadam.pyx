"""Sparse Nadam update (TensorFlow's: moments decay everywhere, var moves on given rows)."""
from cython.parallel cimport prange

from _rows cimport decay_row, mark_rows, unmark_rows
from _types cimport f_sqrt, floating, index_t


cdef inline void nadam_row(floating* w, floating* m, floating* v, const floating* g,
                           Py_ssize_t width, floating beta_1, floating one_minus_beta_1,
                           floating beta_2, floating one_minus_beta_2,
                           floating one_minus_m_schedule_new,
                           floating one_minus_m_schedule_next, floating one_minus_m_t,
                           floating m_t_1, floating v_denominator, floating neg_lr,
                           floating epsilon) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating m_bar
    for j in range(width):
        m[j] = m[j] * beta_1 + g[j] * one_minus_beta_1
        v[j] = v[j] * beta_2 + (g[j] * g[j]) * one_minus_beta_2
        m_bar = (one_minus_m_t * (g[j] / one_minus_m_schedule_new)
                 + m_t_1 * (m[j] / one_minus_m_schedule_next))
        w[j] = w[j] + (neg_lr * m_bar) / (f_sqrt(v[j] / v_denominator) + epsilon)


def nadam_sparse_whole(floating[:, ::1] var, floating[:, ::1] m, floating[:, ::1] v,
                       const index_t[::1] rows, const floating[:, ::1] values,
                       int[::1] row_slot, floating beta_1, floating one_minus_beta_1,
                       floating beta_2, floating one_minus_beta_2,
                       floating one_minus_m_schedule_new, floating one_minus_m_schedule_next,
                       floating one_minus_m_t, floating m_t_1, floating v_denominator,
                       floating neg_lr, floating epsilon, int n_threads=1):
    """TensorFlow's sparse Nadam step in one pass over the table::

        m = m * beta_1;  m[rows] += g * one_minus_beta_1              (every row)
        v = v * beta_2;  v[rows] += (g * g) * one_minus_beta_2        (every row)
        m_bar = one_minus_m_t * (g / one_minus_m_schedule_new)
                + m_t_1 * (m[rows] / one_minus_m_schedule_next)
        var[rows] += (neg_lr * m_bar) / (sqrt(v[rows] / v_denominator) + epsilon)

    ``row_slot`` (int32, all -1) maps a row to its gradient row during the
    pass and is reset before returning.
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
            decay_row(&m[r, 0], width, beta_1)
            decay_row(&v[r, 0], width, beta_2)
        else:
            nadam_row(&var[r, 0], &m[r, 0], &v[r, 0], &values[slot, 0], width, beta_1,
                      one_minus_beta_1, beta_2, one_minus_beta_2, one_minus_m_schedule_new,
                      one_minus_m_schedule_next, one_minus_m_t, m_t_1, v_denominator, neg_lr,
                      epsilon)
    with nogil:
        unmark_rows(row_slot, rows)
