# The walk shared by the sparse kernels.  A kernel module declares what
# happens to one row (a *row rule*) and hands it to one of the walks below,
# which own the thread split, the prefetch of rows ahead and the pointer
# arithmetic.  Every walk gives each row to exactly one thread and a row's
# arithmetic does not depend on the split, so results are the same bits for
# any thread count.  Every thread of a walk reads subnormals as zero and
# flushes subnormal results to zero, as TensorFlow's kernels do.
from cpython.bytearray cimport PyByteArray_AS_STRING
from cython.parallel cimport parallel, prange
from libc.string cimport memset

from _fpmode cimport flush_denormals, restore_fp_mode
from _openmp cimport omp_get_thread_num
from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport floating, index_t

cdef enum:
    MAX_TABLES = 5        # the variable and up to four slots
    # Elements per unit of work of the whole-table sweep: big enough that
    # runs of untouched rows go through one vectorised loop, small enough to
    # share the table evenly between threads.
    SWEEP_ELEMENTS = 4096
    # Rows per unit of work of `update_rows`.
    ROWS_PER_CHUNK = 64
    CACHE_LINE = 64                   # bytes


cdef struct Tables:
    # The variable (table 0) and its slots, each a C-contiguous table with
    # one row per row of the variable.
    Py_ssize_t width                  # elements in a row of the variable
    int count                         # tables in use
    void* base[MAX_TABLES]            # first element of each table
    Py_ssize_t row_len[MAX_TABLES]    # elements per row: `width`, or 1 (one per row)


cdef struct GradientRows:
    # Where the gradient row of the k-th given row comes from: row k of a
    # dense ``(n, width)`` block; the stored entries of a CSR matrix row,
    # summed into a zeroed per-thread row of ``scratch`` in storage order; or
    # the value rows of a row given several times (linked duplicates), summed
    # into a per-thread row of ``scratch`` from zero in input order.
    const void* block          # the dense block, or NULL
    const void* starts         # CSR: entries of the k-th row are starts[k]:starts[k + 1]
    const void* columns        # CSR column of each entry (same type)
    const void* data           # CSR entries (the variable's dtype)
    const int* first           # linked: position of the k-th row's first value row
    const int* next            # linked: position of the next value row of the same row, or -1
    const void* values         # linked: the ``(len(indices), width)`` value rows
    void* scratch              # CSR and linked: one row of `width` per thread,
    Py_ssize_t scratch_stride  # ``scratch_stride`` elements apart (whole cache lines)


cdef inline object read_gradient(GradientRows* src, object values, floating[:, ::1] var,
                                 const index_t[::1] rows, int n_threads):
    """Fill ``src`` from ``values``: a C-contiguous ``(len(rows), width)``
    array; an object with ``starts``, ``indices`` and ``data`` arrays (a
    checked CSR matrix whose rows ``rows`` are read, with ``starts`` of the
    rows' integer type and ``data`` of the variable's dtype); or an object
    with ``first``, ``next`` and ``values`` (linked duplicates: ``values`` a
    C-contiguous block of the variable's dtype with one row per given index,
    ``first[k]`` the position of row ``rows[k]``'s first value row and
    ``next[p]`` that of the value row after position ``p`` of the same row,
    -1 after the last).  Returns what must stay alive while ``src`` is used.

    Linked positions are trusted (they come from `dedup.link_repeats`): only
    the array sizes are checked here."""
    cdef const floating[:, ::1] block
    cdef const index_t[::1] starts, columns
    cdef const floating[::1] data
    cdef const int[::1] first, following
    src.block = src.starts = src.columns = src.data = src.values = src.scratch = NULL
    src.first = src.next = NULL
    src.scratch_stride = 0
    if hasattr(values, "first"):
        first = values.first
        following = values.next
        block = values.values
        if first.shape[0] != rows.shape[0]:
            raise ValueError("first must have len(rows) entries")
        if block.shape[0] != following.shape[0] or block.shape[1] != var.shape[1]:
            raise ValueError("values must have shape (len(next), var.shape[1])")
        if block.shape[0] < rows.shape[0]:
            raise ValueError("values must have at least len(rows) rows")
        scratch = thread_rows(src, n_threads, var.shape[1], sizeof(floating))
        if rows.shape[0] and block.shape[1]:
            src.first = &first[0]
            src.next = &following[0]
            src.values = &block[0, 0]
        return (values, scratch)
    if not hasattr(values, "starts"):
        block = values
        if block.shape[0] != rows.shape[0] or block.shape[1] != var.shape[1]:
            raise ValueError("values must have shape (len(rows), var.shape[1])")
        if block.shape[0] and block.shape[1]:
            src.block = &block[0, 0]
        return values
    starts = values.starts
    columns = values.indices
    data = values.data
    if starts.shape[0] != rows.shape[0] + 1:
        raise ValueError("starts must have len(rows) + 1 entries")
    scratch = thread_rows(src, n_threads, var.shape[1], sizeof(floating))
    src.starts = &starts[0]
    src.columns = &columns[0] if columns.shape[0] else NULL
    src.data = &data[0] if data.shape[0] else NULL
    return (values, scratch)


cdef inline object thread_rows(GradientRows* src, int n_threads, Py_ssize_t width,
                               Py_ssize_t itemsize):
    """Point ``src.scratch`` at one row of ``width`` elements per thread, each
    starting on its own cache line (threads writing rows that share a line
    would pass it back and forth at every store); returns the owner."""
    cdef Py_ssize_t line = CACHE_LINE, n = n_threads if n_threads > 1 else 1
    cdef Py_ssize_t stride = (width * itemsize + line - 1) // line * line
    cdef char* base
    owner = bytearray(n * stride + line)
    base = PyByteArray_AS_STRING(owner)
    src.scratch = base + (line - <Py_ssize_t>(<size_t>base % line)) % line
    src.scratch_stride = stride // itemsize
    return owner


cdef inline const floating* linked_row(const GradientRows* src, Py_ssize_t k,
                                       Py_ssize_t width, floating* buf) noexcept nogil:
    """The sum, from zero and in input order, of the value rows linked to
    the k-th given row, written to ``buf`` (what `dedup_rows` computes)."""
    cdef const floating* values = <const floating*>src.values
    cdef const floating* v
    cdef Py_ssize_t j
    cdef int p = src.first[k]
    cdef int q = src.next[p]
    if q >= 0:                  # the chain's rows are far apart: ask for the next early
        prefetch_bytes(values + q * width, width * sizeof(floating))
    v = values + p * width
    for j in range(width):
        buf[j] = <floating>0 + v[j]
    p = q
    while p >= 0:
        q = src.next[p]
        if q >= 0:
            prefetch_bytes(values + q * width, width * sizeof(floating))
        v = values + p * width
        for j in range(width):
            buf[j] = buf[j] + v[j]
        p = q
    return buf


cdef inline const floating* gradient_row(const GradientRows* src, Py_ssize_t k,
                                         Py_ssize_t row, Py_ssize_t width, floating* scratch,
                                         int part, const index_t* starts) noexcept nogil:
    """The gradient row of the k-th given row (row ``row``); ``scratch`` is
    ``src.scratch`` typed, with one row for each part of the work (-1: the
    calling thread's); ``starts`` is ``src.starts`` typed."""
    cdef const index_t* columns
    cdef const floating* data
    cdef floating* buf
    cdef index_t e
    if src.block != NULL:
        return <const floating*>src.block + k * width
    buf = scratch + (part if part >= 0 else omp_get_thread_num()) * src.scratch_stride
    if src.first != NULL:
        return linked_row(src, k, width, buf)
    columns = <const index_t*>src.columns
    data = <const floating*>src.data
    memset(buf, 0, width * sizeof(floating))
    for e in range(starts[k], starts[k + 1]):
        buf[columns[e]] = buf[columns[e]] + data[e]
    return buf


cdef inline void add_table(Tables* t, void* base, Py_ssize_t row_len) noexcept nogil:
    t.base[t.count] = base
    t.row_len[t.count] = row_len
    t.count += 1


cdef inline void apply_row(void (*rule)(floating**, const floating*, Py_ssize_t,
                                        const void*) noexcept nogil,
                           const Tables* t, Py_ssize_t r, const floating* g,
                           const void* c) noexcept nogil:
    """``rule`` on row ``r`` of every table, with gradient row ``g``."""
    cdef floating* p[MAX_TABLES]
    cdef int i
    for i in range(t.count):
        p[i] = <floating*>t.base[i] + r * t.row_len[i]
    rule(p, g, t.width, c)


cdef inline void prefetch_row(const Tables* t, Py_ssize_t r, Py_ssize_t itemsize) noexcept nogil:
    cdef int i
    for i in range(t.count):
        prefetch_bytes(<char*>t.base[i] + r * t.row_len[i] * itemsize, t.row_len[i] * itemsize)


cdef inline int team(int n_threads) noexcept nogil:
    return n_threads if n_threads > 1 else 1


cdef inline void update_rows(void (*rule)(floating**, const floating*, Py_ssize_t,
                                          const void*) noexcept nogil,
                             const Tables* t, const index_t* rows, Py_ssize_t n,
                             const GradientRows* src, const void* c,
                             int n_threads) noexcept nogil:
    """``rule`` on each row ``rows[k]`` (unique) with its gradient row from ``src``.

    Threads take chunks of `ROWS_PER_CHUNK` rows as they finish the last:
    rows cost more or less (a row given many times sums all its value rows,
    and such rows come first), and a thread slowed down by another process
    takes fewer chunks."""
    cdef Py_ssize_t k
    cdef floating* scratch = <floating*>src.scratch
    cdef unsigned long long mode = 0
    with parallel(num_threads=team(n_threads)):
        mode = flush_denormals()
        for k in prange(n, schedule="dynamic", chunksize=ROWS_PER_CHUNK):
            if k + PREFETCH_ROWS < n:
                prefetch_row(t, rows[k + PREFETCH_ROWS], sizeof(floating))
            apply_row(rule, t, rows[k],
                      gradient_row(src, k, rows[k], t.width, scratch, -1,
                                   <const index_t*>src.starts), c)
        restore_fp_mode(mode)


cdef inline void update_rows_in_turn(void (*rule)(floating**, const floating*, Py_ssize_t,
                                                  const void*) noexcept nogil,
                                     const Tables* t, const index_t* rows, Py_ssize_t n,
                                     const GradientRows* src, const void* c,
                                     int n_threads) noexcept nogil:
    """``rule`` on each ``rows[k]`` in input order, repeated rows included
    (a scatter).  Thread i takes the rows equal to i modulo the team size,
    still in input order."""
    cdef Py_ssize_t k, part, n_parts = team(n_threads)
    cdef floating* scratch = <floating*>src.scratch
    cdef unsigned long long mode = 0
    with parallel(num_threads=n_parts):
        mode = flush_denormals()
        for part in prange(n_parts, schedule="static", chunksize=1):
            for k in range(n):
                if n_parts > 1 and rows[k] % n_parts != part:
                    continue
                if k + PREFETCH_ROWS < n:
                    prefetch_row(t, rows[k + PREFETCH_ROWS], sizeof(floating))
                apply_row(rule, t, rows[k],
                          gradient_row(src, k, rows[k], t.width, scratch, part,
                                       <const index_t*>src.starts), c)
        restore_fp_mode(mode)


cdef inline void update_every_row(void (*rule)(floating**, const floating*, Py_ssize_t,
                                               const void*) noexcept nogil,
                                  const Tables* t, Py_ssize_t n_rows, const floating* grad,
                                  const void* c, int n_threads) noexcept nogil:
    """``rule`` on every row r with gradient row ``grad[r]`` (a dense step)."""
    cdef Py_ssize_t r
    cdef unsigned long long mode = 0
    with parallel(num_threads=team(n_threads)):
        mode = flush_denormals()
        for r in prange(n_rows, schedule="static"):
            apply_row(rule, t, r, grad + r * t.width, c)
        restore_fp_mode(mode)


cdef inline Py_ssize_t first_at_or_after(const index_t* rows, const Py_ssize_t* order,
                                         Py_ssize_t n, Py_ssize_t row) noexcept nogil:
    """Smallest k with ``rows[order[k]] >= row`` (``order`` sorts ``rows``)."""
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if rows[order[mid]] < row:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline void sweep_table(void (*rule)(floating**, const floating*, Py_ssize_t,
                                          const void*) noexcept nogil,
                             void (*untouched)(floating**, Py_ssize_t,
                                               const void*) noexcept nogil,
                             const Tables* t, Py_ssize_t n_rows, const index_t* rows,
                             const Py_ssize_t* order, Py_ssize_t n,
                             const GradientRows* src, const void* c,
                             int n_threads) noexcept nogil:
    """A step that changes every row: ``rule`` on the rows with a gradient
    (``rows[k]``, unique, gradient row k of ``src``), ``untouched`` on each
    run of rows between them, as one flat run of elements.

    The touched rows are met in ascending order through ``order`` (a
    permutation sorting ``rows``); no row -> position map is written.  Every
    table must have rows of ``t.width`` elements.  Chunk i owns rows
    ``[i * chunk_rows, (i + 1) * chunk_rows)``.
    """
    cdef Py_ssize_t chunk_rows, n_chunks, chunk, start, end, r, k, nxt
    cdef Py_ssize_t width = t.width
    cdef floating* scratch = <floating*>src.scratch
    cdef unsigned long long mode = 0
    chunk_rows = SWEEP_ELEMENTS // width if width < SWEEP_ELEMENTS else 1
    n_chunks = (n_rows + chunk_rows - 1) // chunk_rows
    with parallel(num_threads=team(n_threads)):
        mode = flush_denormals()
        for chunk in prange(n_chunks, schedule="static"):
            start = chunk * chunk_rows
            end = start + chunk_rows
            if end > n_rows:
                end = n_rows
            k = first_at_or_after(rows, order, n, start)
            r = start
            while r < end:
                nxt = end
                if k < n and rows[order[k]] < end:
                    nxt = rows[order[k]]
                if nxt > r:                                  # untouched rows [r, nxt)
                    sweep_run(untouched, t, r, (nxt - r) * width, c)
                if nxt < end:                                # touched row nxt
                    apply_row(rule, t, nxt,
                              gradient_row(src, order[k], nxt, width, scratch, -1,
                                           <const index_t*>src.starts), c)
                    k = k + 1
                r = nxt + 1
        restore_fp_mode(mode)


cdef inline void sweep_run(void (*untouched)(floating**, Py_ssize_t, const void*) noexcept nogil,
                           const Tables* t, Py_ssize_t r, Py_ssize_t n_elements,
                           const void* c) noexcept nogil:
    cdef floating* p[MAX_TABLES]
    cdef int i
    for i in range(t.count):
        p[i] = <floating*>t.base[i] + r * t.row_len[i]
    untouched(p, n_elements, c)
