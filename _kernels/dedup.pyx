"""Duplicate-index summing and CSR row extraction."""
import numpy as np

from libc.stdlib cimport calloc, free

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


# ``indptr`` is scanned CHECK_ROWS rows at a time.  A block is first
# checked by one loop that only ORs comparisons together (no branch, no early
# exit, so the compiler makes vector instructions of it, SSE2 included); in a
# block that holds a stored entry, the runs of RUN_ROWS rows whose ends differ
# are listed (in a non-decreasing block the others hold only empty rows), and
# only their rows are looked at one by one.  Every step but "does this block
# hold an entry" is free of branches: where the touched rows lie cannot be
# predicted.
cdef enum:
    CHECK_ROWS = 64
    RUN_ROWS = 8
    RUNS_PER_BLOCK = 8          # CHECK_ROWS // RUN_ROWS


class MalformedCSR(ValueError):
    """The CSR arrays contradict each other or the matrix shape."""


cdef inline bint decreases(const index_t* p, Py_ssize_t n) noexcept nogil:
    """Whether ``p[0], ..., p[n]`` ever decreases (64-bit entries: or leaves
    ``[0, 2**63)``).  Every step is looked at and the answers are combined
    with OR only, so that the loop is vectorised, even for SSE2."""
    cdef Py_ssize_t i
    cdef int down = 0
    cdef unsigned long long bits = 0
    if index_t is int:
        for i in range(n):
            down = down | (-(p[i + 1] < p[i]))      # -1 or 0: a comparison's own mask
        return down != 0
    else:
        # SSE2 compares no 64-bit integers.  With both in [0, 2**63), the
        # difference of two neighbours is negative (bit 63 set) exactly when
        # they decrease; a negative entry sets bit 63 itself.
        for i in range(n):
            bits = bits | <unsigned long long>p[i + 1] | (
                <unsigned long long>p[i + 1] - <unsigned long long>p[i])
        return (bits >> 63) != 0


cdef inline Py_ssize_t touched_in_run(const index_t* p, Py_ssize_t first, Py_ssize_t n,
                                      index_t* rows, index_t* starts,
                                      Py_ssize_t out) noexcept nogil:
    """Append the touched rows among ``first, ..., first + n - 1`` (whose
    ``indptr`` entries are ``p[0..n]``) to ``rows`` and ``starts`` at
    position ``out``; return the new count.  No branch: every row is
    written and kept only if touched, so ``n`` entries must be free."""
    cdef Py_ssize_t i
    for i in range(n):
        rows[out] = <index_t>(first + i)
        starts[out] = p[i]
        out += p[i + 1] != p[i]
    return out


cdef inline Py_ssize_t touched_in_block(const index_t* p, Py_ssize_t first, Py_ssize_t n,
                                        index_t* rows, index_t* starts,
                                        Py_ssize_t out) noexcept nogil:
    """`touched_in_run` for a non-decreasing block of ``n <= CHECK_ROWS``
    rows: only the runs of ``RUN_ROWS`` whose ends differ are looked at."""
    cdef Py_ssize_t at[RUNS_PER_BLOCK]
    cdef Py_ssize_t k, n_runs = 0, full = n - n % RUN_ROWS
    for k in range(0, full // RUN_ROWS):
        at[n_runs] = k * RUN_ROWS
        n_runs += p[k * RUN_ROWS + RUN_ROWS] != p[k * RUN_ROWS]
    for k in range(n_runs):
        out = touched_in_run(p + at[k], first + at[k], RUN_ROWS, rows, starts, out)
    if full < n:
        out = touched_in_run(p + full, first + full, n - full, rows, starts, out)
    return out


cdef inline Py_ssize_t scan_block(const index_t* p, Py_ssize_t b, Py_ssize_t n, index_t nnz,
                                  index_t* rows, index_t* starts, Py_ssize_t out,
                                  Py_ssize_t capacity) noexcept nogil:
    """Check the ``n <= CHECK_ROWS`` rows from row ``b`` (``indptr`` never
    decreases there and stays within ``nnz``) and append their touched rows
    at position ``out``; return the new count, or -1 for a malformed block
    (or for rows that would not fit: only if ``indptr`` changed meanwhile)."""
    if decreases(p + b, n) or p[b + n] > nnz:
        return -1
    if p[b + n] != p[b]:
        if out + CHECK_ROWS >= capacity:
            return -1
        out = touched_in_block(p + b, b, n, rows, starts, out)
    return out


def csr_rows(const index_t[::1] indptr, Py_ssize_t n_entries):
    """Check a CSR matrix's ``indptr``; return the rows with a stored entry.

    ``indptr`` must start at 0, never decrease and end within the data
    (``indptr[-1] <= n_entries``, the smaller of the lengths of ``indices``
    and ``data``); `MalformedCSR` is raised if not.  Returns ``(rows,
    starts)``: the touched rows in ascending order and ``starts[k] =
    indptr[rows[k]]``, with ``starts[-1] = indptr[-1]`` (the k-th touched
    row's entries are ``starts[k]:starts[k + 1]``), both of ``indptr``'s
    integer type.  One pass over ``indptr``, a block of ``CHECK_ROWS`` at a
    time; nothing is written but the result.

    The result is checked again once written (``starts`` non-decreasing from
    0 to ``indptr[-1]``): a kernel reading entries ``starts[k]:starts[k + 1]``
    of arrays of ``indptr[-1]`` entries stays inside them even if another
    thread changes ``indptr`` while it is scanned.
    """
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1
    cdef Py_ssize_t b = 0, out = 0, capacity
    cdef const index_t* p
    cdef index_t nnz = 0
    cdef int bad = n_rows < 0
    if not bad:
        nnz = indptr[n_rows]
        bad = indptr[0] != 0 or nnz < 0 or nnz > n_entries
    if bad:
        raise MalformedCSR("indptr must start at 0, never decrease and end within the data")
    p = &indptr[0]
    # At most min(n_rows, nnz) rows are touched (each holds an entry); a
    # block's rows are all written, kept or not.
    capacity = (n_rows if n_rows < nnz else nnz) + CHECK_ROWS + 1
    rows_arr = np.empty(capacity, dtype=np.int32 if index_t is int else np.int64)
    starts_arr = np.empty(capacity, dtype=rows_arr.dtype)
    cdef index_t[::1] rows = rows_arr
    cdef index_t[::1] starts = starts_arr
    with nogil:
        # (full blocks with CHECK_ROWS as a constant, so each check is one
        # unrolled vector loop; a non-decreasing block that ends above nnz
        # decreases later)
        while b + CHECK_ROWS <= n_rows and out >= 0:
            out = scan_block(p, b, CHECK_ROWS, nnz, &rows[0], &starts[0], out, capacity)
            b += CHECK_ROWS
        if out >= 0 and b < n_rows:
            out = scan_block(p, b, n_rows - b, nnz, &rows[0], &starts[0], out, capacity)
        bad = out < 0
        if not bad:
            starts[out] = nnz
            if out:
                bad = (starts[0] < 0) | decreases(&starts[0], out)
    if bad:
        raise MalformedCSR("indptr must start at 0, never decrease and end within the data")
    return rows_arr[:out], starts_arr[:out + 1]


def csr_columns(const index_t[::1] starts, const index_t[::1] indices, Py_ssize_t n_cols):
    """A private copy of the column indices of the rows found by `csr_rows`
    (entries ``[0, starts[-1])``), each checked to lie in ``[0, n_cols)``
    (`MalformedCSR` if one does not).  What was checked is the copy: one
    vectorised pass reads each index once.

    Preconditions: ``starts`` from `csr_rows`; ``starts[-1] <= len(indices)``.
    """
    cdef Py_ssize_t e, nnz = starts[starts.shape[0] - 1]
    cdef int bad = 0
    cdef index_t col, last
    # the largest valid column, in the indices' type (every one if it is wider)
    if index_t is int:
        last = <index_t>(n_cols - 1 if n_cols <= 2147483647 else 2147483647)
    else:
        last = <index_t>(n_cols - 1)
    columns_arr = np.empty(nnz, dtype=np.int32 if index_t is int else np.int64)
    if nnz == 0:
        return columns_arr
    cdef index_t[::1] columns = columns_arr
    cdef const index_t* src = &indices[0]
    cdef index_t* dst = &columns[0]
    with nogil:
        for e in range(nnz):
            col = src[e]
            dst[e] = col
            bad = bad | (-(col < 0)) | (-(col > last))
    if bad:
        raise MalformedCSR(f"column indices must lie in [0, {n_cols})")
    return columns_arr


cdef int shared_order(const index_t* starts, Py_ssize_t n, const index_t* indices,
                      Py_ssize_t n_cols, Py_ssize_t* to) noexcept nogil:
    """How the ``n`` rows of ``n_cols`` entries each (``starts`` checked
    here) store their columns: -1 if not every row holds every column once,
    in the order of the first row; else 0 (columns in order), 1 (last to
    first) or 2 (another order), with ``to[j]`` the column of each row's
    j-th entry (the checked copy: the indices are read once).  One
    vectorised pass over the indices."""
    cdef Py_ssize_t k, j, e, nnz = <Py_ssize_t>n * n_cols
    cdef index_t expected = 0, step = <index_t>n_cols, differ = 0, col
    cdef unsigned char* seen
    cdef bint moved = 0, unreversed = 0
    for k in range(n + 1):                  # every row n_cols entries long
        differ = differ | (starts[k] ^ expected)
        expected = expected + step
    if differ:
        return -1
    seen = <unsigned char*>calloc(n_cols, 1)
    if seen == NULL:
        return -1                           # (read entry by entry instead)
    for j in range(n_cols):                 # the first row: each column once
        col = indices[j]
        if col < 0 or col >= n_cols or seen[col]:
            differ = 1
            break
        seen[col] = 1
        to[j] = col
        moved = moved | (col != j)
        unreversed = unreversed | (col != n_cols - 1 - j)
    free(seen)
    if not differ:                          # each other row: the one before's columns
        for e in range(n_cols, nnz):
            differ = differ | (indices[e] ^ indices[e - n_cols])
    if differ:
        return -1
    return 0 if not moved else 1 if not unreversed else 2


cdef inline void copy_from_zero(const floating* src, floating* dst,
                                Py_ssize_t n) noexcept nogil:
    """``dst[e] = 0 + src[e]`` (the bits a sum into a zeroed row gives)."""
    cdef Py_ssize_t e
    cdef floating zero = 0
    for e in range(n):
        dst[e] = zero + src[e]


cdef inline void reverse_rows(const floating* src, floating* dst, Py_ssize_t n,
                              Py_ssize_t width) noexcept nogil:
    """``dst[k, j] = 0 + src[k, width - 1 - j]`` for ``n`` rows."""
    cdef Py_ssize_t k, j
    cdef floating zero = 0
    for k in range(n):
        for j in range(width):
            dst[j] = zero + src[width - 1 - j]
        src += width
        dst += width


def csr_row_block(const index_t[::1] starts, const index_t[::1] indices,
                  const floating[::1] data, Py_ssize_t n_cols):
    """The dense ``(len(starts) - 1, n_cols)`` block of the rows found by
    `csr_rows` if each of them stores every column exactly once, in one
    order shared by all (the rows of a product with a dense matrix do); else
    None.  The block is a private copy, each value ``0 + data[e]``: the bits
    of `csr_gather` (a stored ``-0.0`` summed into a zeroed row is
    ``+0.0``).  Cost: one vectorised read of the column indices and one
    copy of the data.

    Preconditions: ``starts`` from `csr_rows`; ``starts[-1] <= len(indices),
    len(data)``.
    """
    cdef Py_ssize_t n = starts.shape[0] - 1, k, j
    cdef int order
    cdef floating zero = 0
    cdef const floating* src
    cdef floating* dst
    cdef Py_ssize_t* to
    if n == 0 or n_cols == 0 or starts[n] != <long long>n * n_cols:
        return None
    to_arr = np.empty(n_cols, dtype=np.intp)
    cdef Py_ssize_t[::1] to_view = to_arr
    to = &to_view[0]
    with nogil:
        order = shared_order(&starts[0], n, &indices[0], n_cols, to)
    if order < 0:
        return None
    block_arr = np.empty((n, n_cols), dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, ::1] block = block_arr
    src, dst = &data[0], &block[0, 0]
    with nogil:
        if order == 0:
            copy_from_zero(src, dst, n * n_cols)
        elif order == 1:                    # columns stored last to first
            # (common widths as constants: each row one unrolled vector loop)
            if n_cols == 8:
                reverse_rows(src, dst, n, 8)
            elif n_cols == 16:
                reverse_rows(src, dst, n, 16)
            elif n_cols == 32:
                reverse_rows(src, dst, n, 32)
            elif n_cols == 64:
                reverse_rows(src, dst, n, 64)
            else:
                reverse_rows(src, dst, n, n_cols)
        else:
            for k in range(n):
                for j in range(n_cols):
                    dst[to[j]] = zero + src[j]
                src += n_cols
                dst += n_cols
    return block_arr


def csr_values(const floating[::1] data, Py_ssize_t nnz):
    """A private copy of ``data[:nnz]``, each entry ``0 + data[e]`` (the
    bits a sum of the entry into a zeroed row gives: ``-0.0`` becomes
    ``+0.0``; sums starting from such a copy are unchanged).

    Preconditions: ``nnz <= len(data)``.
    """
    out_arr = np.empty(nnz, dtype=np.float32 if floating is float else np.float64)
    if nnz == 0:
        return out_arr
    cdef floating[::1] out = out_arr
    with nogil:
        copy_from_zero(&data[0], &out[0], nnz)
    return out_arr


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
