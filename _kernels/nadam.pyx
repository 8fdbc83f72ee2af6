"""Sparse Nadam update (TensorFlow's: moments decay everywhere, var moves on given rows)."""
from cython.parallel cimport prange

from _types cimport f_sqrt, floating, index_t


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
    cdef Py_ssize_t r, j, k
    cdef int slot
    cdef floating* w
    cdef floating* mr
    cdef floating* vr
    cdef const floating* g
    cdef floating m_bar
    if width == 0:
        return
    with nogil:
        for k in range(n):
            row_slot[rows[k]] = <int>k
    for r in prange(n_rows, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        mr = &m[r, 0]
        vr = &v[r, 0]
        slot = row_slot[r]
        if slot < 0:
            for j in range(width):
                mr[j] = mr[j] * beta_1
                vr[j] = vr[j] * beta_2
        else:
            w = &var[r, 0]
            g = &values[slot, 0]
            for j in range(width):
                mr[j] = mr[j] * beta_1 + g[j] * one_minus_beta_1
                vr[j] = vr[j] * beta_2 + (g[j] * g[j]) * one_minus_beta_2
                m_bar = (one_minus_m_t * (g[j] / one_minus_m_schedule_new)
                         + m_t_1 * (mr[j] / one_minus_m_schedule_next))
                w[j] = w[j] + (neg_lr * m_bar) / (f_sqrt(vr[j] / v_denominator) + epsilon)
    with nogil:
        for k in range(n):
            row_slot[rows[k]] = -1
