"""Sparse Adam updates: TensorFlow's whole-table step and the lazy (rows-only) step."""
from cython.parallel cimport prange

from _prefetch cimport PREFETCH_ROWS, prefetch_bytes
from _types cimport f_max, f_sqrt, floating, index_t

# Elements per unit of work of the whole-table sweep: big enough that runs
# of untouched rows go through one vectorised loop, small enough to share
# the table evenly between threads.
cdef enum:
    SWEEP_ELEMENTS = 4096


cdef inline void adam_decay_step(floating* w, floating* m, floating* v, floating* vhat,
                                 Py_ssize_t n, floating beta_1, floating beta_2, floating lr,
                                 floating epsilon, bint amsgrad) noexcept nogil:
    """Elements without a gradient: moments decay, then the variable moves."""
    cdef Py_ssize_t j
    if amsgrad:
        for j in range(n):
            m[j] = m[j] * beta_1
            v[j] = v[j] * beta_2
            vhat[j] = f_max(vhat[j], v[j])
            w[j] = w[j] - (lr * m[j]) / (f_sqrt(vhat[j]) + epsilon)
    else:
        for j in range(n):
            m[j] = m[j] * beta_1
            v[j] = v[j] * beta_2
            w[j] = w[j] - (lr * m[j]) / (f_sqrt(v[j]) + epsilon)


cdef inline void adam_scatter_step(floating* w, floating* m, floating* v, floating* vhat,
                                   const floating* g, Py_ssize_t n, floating beta_1,
                                   floating one_minus_beta_1, floating beta_2,
                                   floating one_minus_beta_2, floating lr, floating epsilon,
                                   bint amsgrad) noexcept nogil:
    """Elements of a touched row: decay, add the scaled gradient, then move."""
    cdef Py_ssize_t j
    if amsgrad:
        for j in range(n):
            m[j] = m[j] * beta_1 + g[j] * one_minus_beta_1
            v[j] = v[j] * beta_2 + (g[j] * g[j]) * one_minus_beta_2
            vhat[j] = f_max(vhat[j], v[j])
            w[j] = w[j] - (lr * m[j]) / (f_sqrt(vhat[j]) + epsilon)
    else:
        for j in range(n):
            m[j] = m[j] * beta_1 + g[j] * one_minus_beta_1
            v[j] = v[j] * beta_2 + (g[j] * g[j]) * one_minus_beta_2
            w[j] = w[j] - (lr * m[j]) / (f_sqrt(v[j]) + epsilon)


cdef inline Py_ssize_t first_at_or_after(const index_t[::1] rows, const Py_ssize_t[::1] order,
                                         Py_ssize_t row) noexcept nogil:
    """Smallest k with ``rows[order[k]] >= row`` (``order`` sorts ``rows``)."""
    cdef Py_ssize_t lo = 0, hi = order.shape[0], mid
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if rows[order[mid]] < row:
            lo = mid + 1
        else:
            hi = mid
    return lo


def adam_sparse_whole(floating[:, ::1] var, floating[:, ::1] m, floating[:, ::1] v,
                      floating[:, ::1] vhat, const index_t[::1] rows,
                      const Py_ssize_t[::1] order, const floating[:, ::1] values,
                      floating beta_1, floating one_minus_beta_1, floating beta_2,
                      floating one_minus_beta_2, floating lr, floating epsilon,
                      bint amsgrad, int n_threads=1):
    """TensorFlow's sparse Adam step, in one sweep over the whole table.

    TensorFlow runs these lines one after another, each over the table::

        m = m * beta_1;            m[rows] += g * one_minus_beta_1
        v = v * beta_2;            v[rows] += (g * g) * one_minus_beta_2
        vhat = max(vhat, v)                                   (amsgrad)
        var -= (lr * m) / (sqrt(v or vhat) + epsilon)         (every row)

    Every element goes through exactly those operations in that order
    (decay, then the scatter-add of its gradient if its row is touched, then
    the variable step), so the results are TensorFlow's bit for bit; the
    sweep just does all lines for one element before the next, reading and
    writing each array once.  The touched rows are visited in sorted order
    (``order``, e.g. ``np.argsort(rows)``), and each run of untouched rows
    between two of them goes through one flat loop; no per-row lookup table
    is read, which matters for 1-D variables.  ``vhat`` is ignored unless
    ``amsgrad`` (pass any array of ``var``'s shape).

    Preconditions (checked by the caller): rows unique and in range;
    ``order`` a permutation of ``range(len(rows))`` that sorts ``rows``;
    ``m``, ``v`` (and ``vhat``) have ``var``'s shape;
    ``values.shape == (len(rows), width)``.
    """
    cdef Py_ssize_t n_rows = var.shape[0], width = var.shape[1], n = rows.shape[0]
    cdef Py_ssize_t chunk_rows, n_chunks, c, start, end, r, k, nxt, slot
    if width == 0 or n_rows == 0:
        return
    chunk_rows = SWEEP_ELEMENTS // width if width < SWEEP_ELEMENTS else 1
    n_chunks = (n_rows + chunk_rows - 1) // chunk_rows
    # Chunk c owns rows [c * chunk_rows, (c + 1) * chunk_rows): no two threads
    # write the same element, and each element's arithmetic does not depend
    # on the split, so any thread count gives the same bits.
    for c in prange(n_chunks, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        start = c * chunk_rows
        end = start + chunk_rows
        if end > n_rows:
            end = n_rows
        k = first_at_or_after(rows, order, start)
        r = start
        while r < end:
            nxt = end
            if k < n and rows[order[k]] < end:
                nxt = rows[order[k]]
            if nxt > r:                                  # untouched rows [r, nxt)
                adam_decay_step(&var[r, 0], &m[r, 0], &v[r, 0], &vhat[r, 0],
                                (nxt - r) * width, beta_1, beta_2, lr, epsilon, amsgrad)
            if nxt < end:                                # touched row nxt
                slot = order[k]
                adam_scatter_step(&var[nxt, 0], &m[nxt, 0], &v[nxt, 0], &vhat[nxt, 0],
                                  &values[slot, 0], width, beta_1, one_minus_beta_1, beta_2,
                                  one_minus_beta_2, lr, epsilon, amsgrad)
                k = k + 1
            r = nxt + 1


cdef inline void lazy_adam_row(floating* w, floating* m, floating* v, floating* vhat,
                               const floating* g, Py_ssize_t width, floating beta_1,
                               floating one_minus_beta_1, floating beta_2,
                               floating one_minus_beta_2, floating lr, floating epsilon,
                               floating decay, bint amsgrad) noexcept nogil:
    cdef Py_ssize_t j
    if decay != 0:
        for j in range(width):
            w[j] = w[j] - w[j] * decay
    if amsgrad:
        for j in range(width):
            m[j] = beta_1 * m[j] + one_minus_beta_1 * g[j]
            v[j] = beta_2 * v[j] + one_minus_beta_2 * (g[j] * g[j])
            vhat[j] = f_max(vhat[j], v[j])
            w[j] = w[j] - (lr * m[j]) / (f_sqrt(vhat[j]) + epsilon)
    else:
        for j in range(width):
            m[j] = beta_1 * m[j] + one_minus_beta_1 * g[j]
            v[j] = beta_2 * v[j] + one_minus_beta_2 * (g[j] * g[j])
            w[j] = w[j] - (lr * m[j]) / (f_sqrt(v[j]) + epsilon)


def adam_lazy_rows(floating[:, ::1] var, floating[:, ::1] m, floating[:, ::1] v,
                   floating[:, ::1] vhat, const index_t[::1] rows,
                   const floating[:, ::1] values, floating beta_1, floating one_minus_beta_1,
                   floating beta_2, floating one_minus_beta_2, floating lr, floating epsilon,
                   floating decay, bint amsgrad, int n_threads=1):
    """Adam on the given rows only (TensorFlow Addons' ``LazyAdam``; `AdamW`).

    For each row r with gradient row g::

        var[r] -= var[r] * decay                           (AdamW; 0 skips it)
        m[r] = beta_1 * m[r] + one_minus_beta_1 * g
        v[r] = beta_2 * v[r] + one_minus_beta_2 * (g * g)
        vhat[r] = max(vhat[r], v[r])                       (amsgrad)
        var[r] -= (lr * m[r]) / (sqrt(v[r] or vhat[r]) + epsilon)

    ``lr`` already holds the bias correction.  Rows not in ``rows`` are not
    read or written.  ``vhat`` is ignored unless ``amsgrad``.

    Preconditions (checked by the caller): rows unique and in range; ``m``,
    ``v`` (and ``vhat``) have ``var``'s shape; ``values.shape == (len(rows),
    width)``.
    """
    cdef Py_ssize_t n = rows.shape[0], width = var.shape[1], k
    if width == 0 or n == 0:
        return
    for k in prange(n, nogil=True, num_threads=n_threads if n_threads > 1 else 1,
                    schedule="static"):
        if k + PREFETCH_ROWS < n:
            prefetch_bytes(&var[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&m[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            prefetch_bytes(&v[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
            if amsgrad:
                prefetch_bytes(&vhat[rows[k + PREFETCH_ROWS], 0], width * sizeof(floating))
        lazy_adam_row(&var[rows[k], 0], &m[rows[k], 0], &v[rows[k], 0], &vhat[rows[k], 0],
                      &values[k, 0], width, beta_1, one_minus_beta_1, beta_2,
                      one_minus_beta_2, lr, epsilon, decay, amsgrad)
