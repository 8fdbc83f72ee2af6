"""Duplicate-index summing and CSR row extraction."""
import numpy as np

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport floating, index_t


def dedup_rows(const index_t[::1] indices, const floating[:, ::1] values,
               int[::1] row_slot):
    """Sum the values of repeated indices.

    Returns ``(unique, summed)``: the distinct indices in order of first
    occurrence (int64) and, for each, the sum of its value rows taken in
    input order, starting from zero (a sequential left fold).  Cost is
    O(len(indices) x width), with no sort.

    Preconditions (checked by the caller): ``0 <= indices[k] <
    len(row_slot)``; ``values.shape[0] == len(indices) < 2**31``; every
    entry of ``row_slot`` (int32) is -1.  ``row_slot`` is scratch that maps a
    row to its position in ``unique``; it is reset to -1 before returning,
    so one array serves every call.
    """
    cdef Py_ssize_t n = indices.shape[0], width = values.shape[1]
    cdef Py_ssize_t k, j, n_unique = 0
    cdef long long row
    cdef int slot
    unique_arr = np.empty(n, dtype=np.int64)
    pos_arr = np.empty(n, dtype=np.int32)
    cdef long long[::1] unique = unique_arr
    cdef int[::1] pos = pos_arr
    with nogil:
        for k in range(n):
            if k + 4 * PREFETCH_ROWS < n:
                prefetch_bytes(&row_slot[indices[k + 4 * PREFETCH_ROWS]], 1)
            row = indices[k]
            slot = row_slot[row]
            if slot < 0:
                slot = <int>n_unique
                row_slot[row] = slot
                unique[slot] = row
                n_unique += 1
            pos[k] = slot
    summed_arr = np.zeros((n_unique, width),
                          dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, ::1] summed = summed_arr
    cdef floating* dst
    cdef const floating* src
    with nogil:
        if width:
            for k in range(n):
                dst = &summed[pos[k], 0]
                src = &values[k, 0]
                for j in range(width):
                    dst[j] = dst[j] + src[j]
        for k in range(n_unique):
            row_slot[unique[k]] = -1
    return unique_arr[:n_unique], summed_arr


# Rows skipped at once when a CSR matrix has a run of empty rows.
cdef enum:
    SKIP_ROWS = 16


class MalformedCSR(ValueError):
    """The CSR arrays contradict each other or the matrix shape."""


def csr_touched_rows(const index_t[::1] indptr, const index_t[::1] indices,
                     const floating[::1] data, Py_ssize_t n_cols):
    """Gather the rows of a CSR matrix that hold at least one stored entry.

    Returns ``(rows, values)``: the row numbers in ascending order (int64)
    and a dense ``(len(rows), n_cols)`` block with each row's entries (a
    column stored twice is summed in storage order).  Cost is
    O(rows + nnz + len(rows) * n_cols); the matrix is never densified.

    The arrays are checked on the way (``indptr`` starting at 0 and
    non-decreasing, ``indptr[-1] <= len(indices), len(data)``, every column
    in ``[0, n_cols)``); `MalformedCSR` is raised if they are not.
    """
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1
    cdef Py_ssize_t i, k, n_touched = 0, out = 0, col
    cdef bint bad = n_rows < 0
    cdef index_t start, stop
    if not bad:
        with nogil:
            bad = indptr[0] != 0
            for i in range(n_rows):
                start = indptr[i]
                stop = indptr[i + 1]
                bad = bad | (stop < start)
                n_touched += stop > start
            bad = bad | (indptr[n_rows] > indices.shape[0]) | (indptr[n_rows] > data.shape[0])
    if bad:
        raise MalformedCSR("indptr must start at 0, never decrease and end within the data")
    rows_arr = np.empty(n_touched, dtype=np.int64)
    values_arr = np.zeros((n_touched, n_cols),
                          dtype=np.float32 if floating is float else np.float64)
    cdef long long[::1] rows = rows_arr
    cdef floating[:, ::1] values = values_arr
    cdef floating* dst
    with nogil:
        i = 0
        while i < n_rows:
            # indptr never decreases: equal ends mean a run of empty rows.
            if i + SKIP_ROWS <= n_rows and indptr[i + SKIP_ROWS] == indptr[i]:
                i += SKIP_ROWS
                continue
            start = indptr[i]
            stop = indptr[i + 1]
            i += 1
            if stop > start:
                rows[out] = i - 1
                dst = &values[out, 0]
                for k in range(start, stop):
                    col = indices[k]
                    if col < 0 or col >= n_cols:
                        bad = True
                        break
                    dst[col] = dst[col] + data[k]
                out += 1
    if bad:
        raise MalformedCSR(f"column indices must lie in [0, {n_cols})")
    return rows_arr, values_arr


def first_index_out_of_range(const index_t[::1] indices, long long n_rows):
    """Position of the first index outside ``[0, n_rows)``, or -1 if none is
    (one pass, for the check every sparse gradient gets)."""
    cdef Py_ssize_t k, n = indices.shape[0], bad = -1
    cdef long long row
    with nogil:
        for k in range(n):
            row = indices[k]
            if row < 0 or row >= n_rows:
                bad = k
                break
    return bad
