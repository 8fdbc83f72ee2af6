# Pieces shared by the whole-table kernels (Adam, Nadam, RMSprop without
# momentum): they sweep every row and must know which rows have a gradient.
from _types cimport floating, index_t


cdef inline void decay_row(floating* x, Py_ssize_t width, floating rate) noexcept nogil:
    """``x *= rate`` over one row."""
    cdef Py_ssize_t j
    for j in range(width):
        x[j] = x[j] * rate


cdef inline void mark_rows(int[::1] row_slot, const index_t[::1] rows) noexcept nogil:
    """``row_slot[rows[k]] = k``: where each touched row's gradient is."""
    cdef Py_ssize_t k
    for k in range(rows.shape[0]):
        row_slot[rows[k]] = <int>k


cdef inline void unmark_rows(int[::1] row_slot, const index_t[::1] rows) noexcept nogil:
    """Undo `mark_rows`, leaving ``row_slot`` all -1 again."""
    cdef Py_ssize_t k
    for k in range(rows.shape[0]):
        row_slot[rows[k]] = -1
