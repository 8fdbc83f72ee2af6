"""Row-sparse gradients: `IndexedSlices`, adapters and duplicate summing.

Every sparse gradient an optimizer accepts (an `IndexedSlices`, any object
with ``values``/``indices``/``dense_shape``, any ``scipy.sparse`` matrix or
array) is turned into one checked `IndexedSlices` whose ``values`` and
``indices`` are C-contiguous arrays of the variable's dtype and int64.
"""
import numpy as np
import scipy.sparse

from ._kernels.dedup import (MalformedCSR, csr_columns, csr_gather, csr_row_block, csr_rows,
                             csr_values, dedup_rows, first_index_out_of_range, link_repeats)

__all__ = ["IndexedSlices", "GradientIndexError", "is_sparse", "check_indexed_slices", "from_scipy", "as_rows",
           "RowPositionMap"]


class GradientIndexError(ValueError, IndexError):
    """A gradient names a row (or column) outside its variable: both a
    `ValueError` (TensorFlow's ``InvalidArgumentError`` family) and an
    `IndexError` (NumPy's)."""


class IndexedSlices:
    """A row-sparse gradient: rows ``indices`` of a tensor of ``dense_shape``.

    ``values[k]`` is the slice for row ``indices[k]``; repeated indices are
    summed by the optimizers (except plain SGD, which adds each in turn, as
    TensorFlow's scatter-add does).  Optimizers also take any object with
    ``values``, ``indices`` and ``dense_shape`` (TensorFlow's
    ``tf.IndexedSlices``), and any `scipy.sparse` matrix or array (a
    `scipy.sparse.csr_matrix`, `~scipy.sparse.csr_array`,
    `~scipy.sparse.coo_matrix`, ...) for a 2-D variable, whose rows with a
    stored entry are its touched rows.

    Parameters
    ----------
    values : array_like
        Array of shape ``(len(indices),) + dense_shape[1:]``.
    indices : array_like of int
        1-D row numbers in ``[0, dense_shape[0])``; may repeat.
    dense_shape : tuple of int, optional
        Shape of the dense tensor these rows belong to.

    Examples
    --------
    >>> import numpy as np
    >>> from optimizers import IndexedSlices
    >>> g = IndexedSlices(np.ones((2, 3), np.float32), [4, 4], (10, 3))
    >>> g.values.shape, g.indices.tolist(), g.dense_shape
    ((2, 3), [4, 4], (10, 3))
    """

    __slots__ = ("_values", "indices", "dense_shape", "_unique", "_csr")

    def __init__(self, values, indices, dense_shape=None):
        self._values = np.asarray(values)
        self.indices = np.asarray(indices)
        self.dense_shape = (None if dense_shape is None
                            else _shape_tuple(dense_shape, "IndexedSlices"))
        # True only when ``indices`` are known to hold no repeats (rows
        # extracted from a CSR matrix), so duplicate summing can be skipped.
        self._unique = False
        # The checked CSR matrix these rows were read from (`CSRRows`) while
        # ``values`` has not been built: an update can read it directly.
        self._csr = None

    @property
    def values(self):
        values = self._values
        if values is None:                  # rows of a CSR matrix, built on first use
            values = self._values = self._csr.block()
        return values

    @values.setter
    def values(self, values):
        self._values = values

    @classmethod
    def _checked(cls, values, indices, dense_shape):
        """An instance of arrays and a shape tuple already checked (no conversion)."""
        out = cls.__new__(cls)
        out._values, out.indices, out.dense_shape, out._unique, out._csr = (
            values, indices, dense_shape, False, None)
        return out

    def __repr__(self):
        return (f"IndexedSlices(values=<{self.values.dtype.name} {self.values.shape}>, "
                f"indices={np.array2string(self.indices, threshold=10)}, "
                f"dense_shape={self.dense_shape})")


def is_sparse(grad):
    """True for the gradient kinds that take the sparse path."""
    return scipy.sparse.issparse(grad) or (
        hasattr(grad, "values") and hasattr(grad, "indices") and hasattr(grad, "dense_shape")
        and not isinstance(grad, np.ndarray))


def _check_float_dtype(dtype, var, name, what):
    if dtype.kind not in "fc":
        raise TypeError(
            f"{what} for variable '{name}' has dtype {dtype}; expected a floating dtype "
            f"({var.dtype}, the variable's).")
    if dtype != var.dtype:
        raise TypeError(
            f"{what} for variable '{name}' has dtype {dtype}; expected {var.dtype} "
            f"(the variable's dtype).")


def check_indices(indices, n_rows, name):
    """Validate row indices; return a private C-contiguous int32 or int64 copy.

    The copy is taken first and checked: nothing that runs later in the step
    (another thread, a schedule, a constraint) can change the indices the
    kernels read.
    """
    indices = np.array(indices, order="C", copy=True)
    if indices.dtype.kind not in "iu":
        detail = ""
        if indices.dtype.kind in "fc" and indices.size and not np.all(np.isfinite(indices)):
            detail = " and contain NaN or inf"
        raise TypeError(
            f"Indices of the gradient for variable '{name}' must be integers; received "
            f"dtype {indices.dtype}{detail}.")
    if indices.ndim != 1:
        raise ValueError(
            f"Indices of the gradient for variable '{name}' must be 1-D; received shape "
            f"{indices.shape}.")
    if len(indices) > _INT32_MAX:
        raise ValueError(
            f"Gradient for variable '{name}' has {len(indices)} indices; at most 2**31 - 1 "
            "are supported in one step.")
    if indices.dtype in _KERNEL_INDEX_DTYPES:
        k = first_index_out_of_range(indices, n_rows)
    elif indices.size and (indices.min() < 0 or indices.max() >= n_rows):
        k = int(np.argmax((indices < 0) | (indices >= n_rows)))
    else:
        k = -1
    if k >= 0:
        if indices[k] < 0:
            raise GradientIndexError(
                f"Gradient for variable '{name}' has a negative index {indices[k]} at "
                f"position {k}; indices must be in [0, {n_rows}).")
        raise GradientIndexError(
            f"Gradient for variable '{name}' has index {indices[k]} at position {k}, "
            f"out of range [0, {n_rows}).")
    if indices.dtype not in _KERNEL_INDEX_DTYPES:
        indices = indices.astype(np.int64)
    return indices


_INT32_MAX = 2 ** 31 - 1
_KERNEL_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def _shape_tuple(dense_shape, what):
    """``dense_shape`` as a tuple of ints; non-integral or non-finite entries
    are a `ValueError` starting with ``what``."""
    try:
        shape = np.asarray(dense_shape)
        if shape.dtype.kind in "iu":
            return tuple(int(d) for d in shape.reshape(-1))
        shape = shape.astype(np.float64).reshape(-1)
    except (TypeError, ValueError):
        shape = None
    if shape is None or not np.all(np.isfinite(shape)) or np.any(shape != np.floor(shape)):
        raise ValueError(f"{what} has dense_shape {dense_shape!r}; expected whole numbers.")
    return tuple(int(d) for d in shape)


def check_indexed_slices(grad, var, name):
    """Validate a row-sparse gradient against the array ``var``.

    Returns ``(values, indices)`` with ``values`` C-contiguous in ``var``'s
    dtype and shape ``(len(indices),) + var.shape[1:]``, and ``indices`` int32 or int64.
    Raises `TypeError` or `ValueError` naming ``name`` on any mismatch.
    """
    if var.ndim == 0:
        raise ValueError(
            f"Variable '{name}' is a scalar; it cannot take a row-sparse gradient.")
    dense_shape = getattr(grad, "dense_shape", None)
    if dense_shape is not None and not (type(dense_shape) is tuple
                                        and dense_shape == var.shape):
        dense_shape = _shape_tuple(dense_shape, f"Gradient for variable '{name}'")
        if dense_shape != var.shape:
            raise ValueError(
                f"Gradient for variable '{name}' has dense_shape {dense_shape}; expected "
                f"{var.shape}.")
    values = np.asarray(grad.values)
    _check_float_dtype(values.dtype, var, name, "Gradient values")
    indices = check_indices(grad.indices, var.shape[0], name)
    expected = (len(indices),) + var.shape[1:]
    if values.shape != expected:
        raise ValueError(
            f"Gradient for variable '{name}' has values of shape {values.shape}; expected "
            f"{expected} (one row per index).")
    return np.ascontiguousarray(values), indices


def _malformed(name, fmt, problem, error=ValueError):
    return error(f"Gradient for variable '{name}' is a malformed {fmt.upper()} matrix: "
                 f"{problem}.")


def _index_array(array, what, name, fmt):
    """One index array of a scipy.sparse gradient: 1-D integers, as int32 or int64."""
    array = np.asarray(array)
    if array.dtype.kind not in "iu":
        raise TypeError(f"Gradient for variable '{name}' is a malformed {fmt.upper()} matrix: "
                        f"`{what}` has dtype {array.dtype}; expected integers.")
    if array.ndim != 1:
        raise _malformed(name, fmt, f"`{what}` has shape {array.shape}; expected 1-D")
    if array.dtype not in (np.int32, np.int64):
        if array.size and array.dtype.kind == "u" and array.max() > np.iinfo(np.int64).max:
            raise _malformed(name, fmt, f"`{what}` holds {array.max()}, beyond int64")
        array = array.astype(np.int64)
    return np.ascontiguousarray(array)


def _check_range(array, limit, what, name, fmt):
    if array.size and (array.min() < 0 or array.max() >= limit):
        bad = array[(array < 0) | (array >= limit)][0]
        raise _malformed(name, fmt, f"`{what}` holds {bad}, out of range [0, {limit})",
                         GradientIndexError)


def _data_array(data, ndim, name, fmt):
    data = np.asarray(data)
    if data.ndim != ndim:
        raise _malformed(name, fmt, f"`data` has {data.ndim} dimensions; expected {ndim}")
    return data


def _check_compressed(grad, n_major, n_minor, name):
    """Check the arrays of a CSC or BSR matrix before SciPy converts it."""
    fmt = grad.format
    indptr = _index_array(grad.indptr, "indptr", name, fmt)
    indices = _index_array(grad.indices, "indices", name, fmt)
    data = _data_array(grad.data, 1 if fmt == "csc" else 3, name, fmt)
    if len(indptr) != n_major + 1:
        raise _malformed(name, fmt, f"`indptr` has {len(indptr)} entries; expected "
                                    f"{n_major + 1}")
    nnz = int(indptr[-1])
    if indptr[0] != 0 or np.any(indptr[1:] < indptr[:-1]) or nnz > min(len(indices), len(data)):
        raise _malformed(name, fmt, "`indptr` must start at 0, never decrease and end within "
                                    "the data")
    _check_range(indices[:nnz], n_minor, "indices", name, fmt)


def _check_coo(grad, shape, name):
    coords = grad.coords if hasattr(grad, "coords") else (grad.row, grad.col)
    if len(coords) != 2:
        raise _malformed(name, "coo", f"{len(coords)} coordinate arrays; expected 2")
    data = _data_array(grad.data, 1, name, "coo")
    for what, array, limit in zip(("row", "col"), coords, shape):
        array = _index_array(array, what, name, "coo")
        if len(array) != len(data):
            raise _malformed(name, "coo", f"`{what}` has {len(array)} entries for "
                                          f"{len(data)} values")
        _check_range(array, limit, what, name, "coo")


def _to_csr(grad, var, name):
    """``grad`` as CSR, every array checked before SciPy's compiled code reads it."""
    fmt = grad.format
    if fmt == "csr":
        return grad
    if fmt == "csc":
        _check_compressed(grad, var.shape[1], var.shape[0], name)
    elif fmt == "bsr":
        rows, cols = (int(b) for b in grad.blocksize)
        if rows < 1 or cols < 1 or var.shape[0] % rows or var.shape[1] % cols or \
                np.shape(grad.data)[1:] != (rows, cols):
            raise _malformed(name, fmt, f"blocks of {grad.blocksize} do not tile "
                                        f"{var.shape} or do not match `data`")
        _check_compressed(grad, var.shape[0] // rows, var.shape[1] // cols, name)
    else:
        if fmt != "coo":
            try:                    # dok, lil, dia: SciPy converts them in Python
                grad = grad.tocoo()
            except Exception as exc:
                raise _malformed(name, fmt, f"it could not be converted ({exc})") from None
        _check_coo(grad, var.shape, name)
    return grad.tocsr()


def from_scipy(grad, var, name):
    """Turn a ``scipy.sparse`` gradient into the `IndexedSlices` of its rows.

    Every row with at least one stored entry (explicit zeros included) is
    a touched row; its values are the dense row.  Reads CSR directly: cost
    is O(nnz + touched rows x columns).  Other formats are checked (every
    index in range, consistent lengths), then converted to CSR.
    """
    if var.ndim != 2:
        raise ValueError(
            f"Gradient for variable '{name}' is a scipy.sparse matrix, which needs a 2-D "
            f"variable; the variable has shape {var.shape}.")
    if tuple(grad.shape) != var.shape:
        raise ValueError(
            f"Gradient for variable '{name}' has shape {tuple(grad.shape)}; expected "
            f"{var.shape}.")
    _check_float_dtype(np.dtype(grad.dtype), var, name, "Gradient")
    csr = _to_csr(grad, var, name)
    indptr = _index_array(csr.indptr, "indptr", name, "csr")
    indices = _index_array(csr.indices, "indices", name, "csr")
    data = _data_array(csr.data, 1, name, "csr")
    _check_float_dtype(data.dtype, var, name, "Gradient data")
    if indices.dtype != indptr.dtype:       # never narrow: int64 throughout
        indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
    if len(indptr) != var.shape[0] + 1:
        raise _malformed(name, "csr", f"`indptr` has {len(indptr)} entries for "
                                      f"{var.shape[0]} rows")
    width = var.shape[1]
    read_by_kernels = data.dtype.kind == "f" and data.dtype != np.float16
    try:
        rows, starts = csr_rows(indptr, min(len(indices), len(data)))
    except MalformedCSR as exc:
        raise _malformed(name, "csr", str(exc)) from None
    # Every array the kernels or a gather read is a private copy, the one
    # that was checked: nothing that runs later in the step (a callback,
    # another thread) can change the columns written to or the gradient.
    if read_by_kernels:
        data = np.ascontiguousarray(data)
        if int(starts[-1]) == len(rows) * width:
            # Each touched row may store every column once, in one order (a
            # product with a dense matrix): then the private copy of the
            # data, put in column order, is the block of the rows' values.
            block = csr_row_block(starts, indices, data, width)
            if block is not None:
                out = IndexedSlices._checked(block, rows.astype(np.int64), var.shape)
                out._unique = True
                return out
    try:
        columns = csr_columns(starts, indices, width)
    except MalformedCSR as exc:
        raise _malformed(name, "csr", str(exc)) from None
    if read_by_kernels:
        csr = CSRRows(rows, starts, columns, csr_values(data, int(starts[-1])), width)
        # ``indices`` a copy: a gradient transformer may rewrite it in place.
        out = IndexedSlices._checked(None, rows.astype(np.int64), var.shape)
        out._unique, out._csr = True, csr
        return out
    # float16 rows are summed in float32 and rounded once; complex ones as
    # their real and imaginary parts.
    if data.dtype.kind == "c":
        values = np.empty((len(rows), width), data.dtype)
        values.real = csr_gather(starts, columns, np.ascontiguousarray(data.real), width)
        values.imag = csr_gather(starts, columns, np.ascontiguousarray(data.imag), width)
    else:
        values = csr_gather(starts, columns, data.astype(np.float32), width).astype(data.dtype)
    out = IndexedSlices(values, rows.astype(np.int64), var.shape)
    out._unique = True
    return out


class CSRRows:
    """The touched rows of a checked CSR gradient, as the kernels read them.

    ``rows`` (ascending, of ``indptr``'s integer type) are the rows with a
    stored entry, whose entries are ``starts[k]:starts[k + 1]`` of the
    matrix's ``indices`` and ``data`` (``data`` of the variable's dtype).  A kernel given this instead
    of a values block sums each row's entries into a scratch row (a column
    stored twice in storage order) and applies its rule there: no block of
    touched rows is built.
    """

    __slots__ = ("rows", "starts", "indices", "data", "width")

    def __init__(self, rows, starts, indices, data, width):
        self.rows, self.starts, self.indices, self.data, self.width = (
            rows, starts, indices, data, width)

    @property
    def size(self):
        """Elements of the values block these rows stand for."""
        return len(self.rows) * self.width

    def block(self):
        """The dense ``(len(rows), width)`` values block (the same bits)."""
        return csr_gather(self.starts, self.indices, self.data, self.width)


def to_indexed_slices(grad, var, name):
    """Validate any sparse gradient; return a checked `IndexedSlices`.

    Only rows read from a scipy.sparse matrix here are known to be unique:
    an `IndexedSlices` that came from elsewhere (a gradient transformer may
    have rewritten its indices) has its repeats summed.
    """
    if scipy.sparse.issparse(grad):
        return from_scipy(grad, var, name)
    values, indices = check_indexed_slices(grad, var, name)
    return IndexedSlices._checked(values, indices, var.shape)


class LinkedRows:
    """Values with repeated indices, as the kernels read them: each distinct
    row's value rows linked in input order, summed by the kernel as it
    updates the row.

    ``rows`` are the distinct indices (first-seen order), ``values`` the
    ``(len(indices), width)`` block as given (the variable's dtype,
    C-contiguous), ``first[k]`` the position of ``rows[k]``'s first value
    row and ``next[p]`` the position of the value row after ``p`` of the
    same index (-1 after the last); see `link_repeats`.  The sums are those
    of `dedup_rows`, bit for bit, and no block of them is written.
    """

    __slots__ = ("rows", "first", "next", "values", "width")

    def __init__(self, rows, first, next, values):
        self.rows, self.first, self.next, self.values = rows, first, next, values
        self.width = values.shape[1]

    @property
    def size(self):
        """Elements of the summed block these rows stand for."""
        return len(self.rows) * self.width


class RowPositionMap:
    """Scratch ``row -> position`` map for O(batch) duplicate summing.

    One int32 array, all -1 between calls, grown to the largest row count
    seen; `dedup_rows` and `link_repeats` reset the entries they used before
    returning.
    """

    def __init__(self):
        self._map = np.empty(0, dtype=np.int32)

    def links(self, values, indices, n_rows):
        """`LinkedRows` of ``values`` (2-D, C-contiguous, float32 or float64)
        at ``indices`` (in ``[0, n_rows)``)."""
        if len(self._map) < n_rows:
            self._map = np.full(n_rows, -1, dtype=np.int32)
        return LinkedRows(*link_repeats(indices, self._map), values)

    def dedup(self, values, indices, n_rows):
        """Return ``(unique_indices, summed_values)``; see `dedup_rows`.

        ``values`` is 2-D ``(len(indices), width)``; ``indices`` must lie in
        ``[0, n_rows)``.
        """
        if len(self._map) < n_rows:
            self._map = np.full(n_rows, -1, dtype=np.int32)
        if values.dtype.kind == "c":
            return _dedup_complex(indices, values, self._map)
        if values.dtype == np.float16:      # summed in float32, rounded once
            unique, summed = dedup_rows(indices, values.astype(np.float32), self._map)
            return unique, summed.astype(np.float16)
        return dedup_rows(indices, values, self._map)


def _dedup_complex(indices, values, row_map):
    """`dedup_rows` of complex values: summed as (real, imaginary) pairs of
    the real dtype, which is complex addition."""
    pairs = np.ascontiguousarray(values).view(values.real.dtype)
    unique, summed = dedup_rows(indices, pairs, row_map)
    return unique, np.ascontiguousarray(summed).view(values.dtype)


def as_rows(array, n_rows=None):
    """View ``array`` as 2-D ``(n_rows, row width)`` without copying.

    ``n_rows`` defaults to ``array.shape[0]`` (a 0-d array is one row of
    width 1); pass it for a values block whose leading dimension is the
    number of indices.
    """
    if array.ndim == 2 and (n_rows is None or n_rows == array.shape[0]):
        return array
    if n_rows is None:
        n = array.shape[0] if array.ndim else 1
    else:
        n = n_rows
    width = 1
    for d in array.shape[1:]:
        width *= d
    return array.reshape(n, width)
