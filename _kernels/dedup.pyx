"""Duplicate-index summing and CSR row extraction."""
import numpy as np

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport floating, index_t


def dedup_rows(const index_t[::1] indices, const floating[:, ::1] values,
               int[::1] row_position):
    """Sum the values of repeated indices.

    Returns ``(unique, summed)``: the distinct indices in order of first
    occurrence (int64) and, for each, the sum of its value rows taken in
    input order, starting from zero (a sequential left fold).  Cost is
    O(len(indices) x width), with no sort.

    Preconditions (checked by the caller): ``0 <= indices[k] <
    len(row_position)``; ``values.shape[0] == len(indices) < 2**31``; every
    entry of ``row_position`` (int32) is -1.  ``row_position`` is scratch
    that maps a row to its position in ``unique``; it is reset to -1 before
    returning, so one array serves every call.
    """
    cdef Py_ssize_t n = indices.shape[0], width = values.shape[1]
    cdef Py_ssize_t k, j, n_unique = 0
    cdef long long row
    cdef int position
    unique_arr = np.empty(n, dtype=np.int64)
    pos_arr = np.empty(n, dtype=np.int32)
    cdef long long[::1] unique = unique_arr
    cdef int[::1] pos = pos_arr
    with nogil:
        for k in range(n):
            if k + 4 * PREFETCH_ROWS < n:
                prefetch_bytes(&row_position[indices[k + 4 * PREFETCH_ROWS]], 1)
            row = indices[k]
            position = row_position[row]
            if position < 0:
                position = <int>n_unique
                row_position[row] = position
                unique[position] = row
                n_unique += 1
            pos[k] = position
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
            row_position[unique[k]] = -1
    return unique_arr[:n_unique], summed_arr


def link_repeats(const index_t[::1] indices, int[::1] row_position):
    """Link the repeats of each index, for a kernel to sum them itself.

    Returns ``(unique, first, next)``: the distinct indices in order of
    first occurrence (int64); for each, the position in ``indices`` of its
    first occurrence (int32); and for each position ``p`` of ``indices``, the
    next position holding the same index, or -1 after the last (int32).  A
    kernel summing the value rows ``first[k], next[first[k]], ...`` from zero
    gets, bit for bit, the k-th row of `dedup_rows`'s sums.  One pass over
    ``indices``; the values are not read.

    Preconditions (checked by the caller): ``0 <= indices[k] <
    len(row_position)``; ``len(indices) < 2**31``; every entry of
    ``row_position`` (int32) is -1.  ``row_position`` is scratch that maps a
    row to the last position seen holding it; it is reset to -1 before
    returning, so one array serves every call.
    """
    cdef Py_ssize_t n = indices.shape[0]
    cdef Py_ssize_t k, n_unique = 0
    cdef long long row
    cdef int last
    unique_arr = np.empty(n, dtype=np.int64)
    first_arr = np.empty(n, dtype=np.int32)
    next_arr = np.empty(n, dtype=np.int32)
    cdef long long[::1] unique = unique_arr
    cdef int[::1] first = first_arr
    cdef int[::1] following = next_arr
    with nogil:
        for k in range(n):
            if k + 4 * PREFETCH_ROWS < n:
                prefetch_bytes(&row_position[indices[k + 4 * PREFETCH_ROWS]], 1)
            row = indices[k]
            last = row_position[row]
            if last < 0:
                unique[n_unique] = row
                first[n_unique] = <int>k
                n_unique += 1
            else:
                following[last] = <int>k
            following[k] = -1
            row_position[row] = <int>k
        for k in range(n_unique):
            row_position[unique[k]] = -1
    return unique_arr[:n_unique], first_arr[:n_unique], next_arr


# Rows of ``indptr`` checked as one block: a block whose first and last
# starts are equal holds only empty rows and is not searched for touched rows.
cdef enum:
    BLOCK_ROWS = 16


class MalformedCSR(ValueError):
    """The CSR arrays contradict each other or the matrix shape."""


def csr_rows(const index_t[::1] indptr, const index_t[::1] indices, Py_ssize_t n_data,
             Py_ssize_t n_cols):
    """Check a CSR matrix's structure; return the rows with a stored entry.

    ``indptr`` must start at 0, never decrease and end within the data
    (``indptr[-1] <= len(indices), n_data``), and every column index in
    ``[0, indptr[-1])`` must lie in ``[0, n_cols)``; `MalformedCSR` is raised
    if not (the ``indptr`` fault first).  Returns ``(rows, starts)``: the
    touched rows in ascending order and ``starts[k] = indptr[rows[k]]``, with
    ``starts[-1] = indptr[-1]`` (the k-th touched row's entries are
    ``starts[k]:starts[k + 1]``), both of ``indptr``'s integer type.  One pass over ``indptr``
    (block by block, so the check and the search share each cache line) and
    one over the column indices; nothing is written but the result.
    """
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1
    cdef Py_ssize_t b, i, end, out = 0, nnz
    cdef int bad = n_rows < 0
    cdef index_t first, col, spread
    if bad:
        raise MalformedCSR("indptr must start at 0, never decrease and end within the data")
    rows_arr = np.empty(n_rows + 1, dtype=np.int32 if index_t is int else np.int64)
    starts_arr = np.empty(n_rows + 1, dtype=rows_arr.dtype)
    cdef index_t[::1] rows = rows_arr
    cdef index_t[::1] starts = starts_arr
    with nogil:
        bad = indptr[0] != 0
        b = 0
        while b < n_rows:
            end = b + BLOCK_ROWS if b + BLOCK_ROWS < n_rows else n_rows
            first = indptr[b]
            if indptr[end] == first:
                # No stored entry unless indptr decreases in between.
                spread = 0
                for i in range(b + 1, end):
                    spread = spread | (indptr[i] ^ first)
                bad |= spread != 0
            else:
                for i in range(b, end):          # written always, kept if touched
                    bad |= indptr[i + 1] < indptr[i]
                    rows[out] = <index_t>i
                    starts[out] = indptr[i]
                    out += indptr[i + 1] > indptr[i]
            b = end
        bad |= (indptr[n_rows] > indices.shape[0]) | (indptr[n_rows] > n_data)
        starts[out] = indptr[n_rows]
    if bad:
        raise MalformedCSR("indptr must start at 0, never decrease and end within the data")
    nnz = indptr[n_rows]
    with nogil:
        for i in range(nnz):
            col = indices[i]
            bad |= (col < 0) | (col >= n_cols)
    if bad:
        raise MalformedCSR(f"column indices must lie in [0, {n_cols})")
    return rows_arr[:out], starts_arr[:out + 1]


def csr_gather(const index_t[::1] starts, const index_t[::1] indices,
               const floating[::1] data, Py_ssize_t n_cols):
    """The dense ``(len(starts) - 1, n_cols)`` block of the CSR rows whose
    entries are ``starts[k]:starts[k + 1]`` (see `csr_rows`): each row's
    entries, a column stored twice summed in storage order.

    Preconditions: the structure passed `csr_rows`.
    """
    values_arr = np.zeros((starts.shape[0] - 1, n_cols),
                          dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, ::1] values = values_arr
    cdef Py_ssize_t k
    cdef index_t e
    cdef floating* dst
    if n_cols == 0:
        return values_arr
    with nogil:
        for k in range(starts.shape[0] - 1):
            dst = &values[k, 0]
            for e in range(starts[k], starts[k + 1]):
                dst[indices[e]] = dst[indices[e]] + data[e]
    return values_arr


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
