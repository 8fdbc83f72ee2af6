"""Row-sparse gradients: `IndexedSlices`, adapters and duplicate summing.

Every sparse gradient an optimizer accepts (an `IndexedSlices`, any object
with ``values``/``indices``/``dense_shape``, any ``scipy.sparse`` matrix or
array) is turned into one checked `IndexedSlices` whose ``values`` and
``indices`` are C-contiguous arrays of the variable's dtype and int64.
"""
import numpy as np
import scipy.sparse

from ._kernels.dedup import MalformedCSR, csr_touched_rows, dedup_rows

__all__ = ["IndexedSlices", "is_sparse", "check_indexed_slices", "from_scipy", "as_rows",
           "RowSlotMap"]


class IndexedSlices:
    """A row-sparse gradient: rows ``indices`` of a tensor of ``dense_shape``.

    ``values[k]`` is the slice for row ``indices[k]``; repeated indices are
    summed by the optimizers (except plain SGD, which adds each in turn, as
    TensorFlow's scatter-add does).

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

    __slots__ = ("values", "indices", "dense_shape", "_unique")

    def __init__(self, values, indices, dense_shape=None):
        self.values = np.asarray(values)
        self.indices = np.asarray(indices)
        self.dense_shape = None if dense_shape is None else tuple(int(d) for d in dense_shape)
        # True only when ``indices`` are known to hold no repeats (rows
        # extracted from a CSR matrix), so duplicate summing can be skipped.
        self._unique = False

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
    if dtype.kind != "f":
        raise TypeError(
            f"{what} for variable '{name}' has dtype {dtype}; expected a floating dtype "
            f"({var.dtype}, the variable's).")
    if dtype != var.dtype:
        raise TypeError(
            f"{what} for variable '{name}' has dtype {dtype}; expected {var.dtype} "
            f"(the variable's dtype).")


def check_indices(indices, n_rows, name):
    """Validate row indices; return them C-contiguous, int32 or int64."""
    indices = np.asarray(indices)
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
    if indices.size:
        low, high = indices.min(), indices.max()
        if low < 0:
            k = int(np.argmax(indices < 0))
            raise ValueError(
                f"Gradient for variable '{name}' has a negative index {indices[k]} at "
                f"position {k}; indices must be in [0, {n_rows}).")
        if high >= n_rows:
            k = int(np.argmax(indices >= n_rows))
            raise ValueError(
                f"Gradient for variable '{name}' has index {indices[k]} at position {k}, "
                f"out of range [0, {n_rows}).")
    if indices.dtype not in (np.int32, np.int64):
        indices = indices.astype(np.int64)
    return np.ascontiguousarray(indices)


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
    if dense_shape is not None:
        dense_shape = tuple(int(d) for d in np.asarray(dense_shape).reshape(-1))
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


def from_scipy(grad, var, name):
    """Turn a ``scipy.sparse`` gradient into the `IndexedSlices` of its rows.

    Every row with at least one stored entry (explicit zeros included) is
    a touched row; its values are the dense row.  Reads CSR directly: cost
    is O(nnz + touched rows x columns).
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
    csr = grad if grad.format == "csr" else grad.tocsr()
    indptr, indices, data = csr.indptr, csr.indices, csr.data
    if indices.dtype != indptr.dtype:
        indices = indices.astype(indptr.dtype)
    if len(indptr) != var.shape[0] + 1:
        raise ValueError(f"Gradient for variable '{name}' is a malformed CSR matrix: "
                         f"indptr has {len(indptr)} entries for {var.shape[0]} rows.")
    try:
        rows, values = csr_touched_rows(np.ascontiguousarray(indptr),
                                        np.ascontiguousarray(indices),
                                        np.ascontiguousarray(data), var.shape[1])
    except MalformedCSR as exc:
        raise ValueError(f"Gradient for variable '{name}' is a malformed CSR matrix: "
                         f"{exc}.") from None
    out = IndexedSlices(values, rows, var.shape)
    out._unique = True
    return out


def to_indexed_slices(grad, var, name):
    """Validate any sparse gradient; return a checked `IndexedSlices`."""
    if scipy.sparse.issparse(grad):
        return from_scipy(grad, var, name)
    values, indices = check_indexed_slices(grad, var, name)
    out = IndexedSlices(values, indices, var.shape)
    out._unique = getattr(grad, "_unique", False)
    return out


class RowSlotMap:
    """Scratch ``row -> position`` map for O(batch) duplicate summing.

    One int32 array, all -1 between calls, grown to the largest row count
    seen; `dedup_rows` resets the entries it used before returning.
    """

    def __init__(self):
        self._map = np.empty(0, dtype=np.int32)

    def array(self, n_rows):
        """The map itself (all -1), at least ``n_rows`` long."""
        if len(self._map) < n_rows:
            self._map = np.full(n_rows, -1, dtype=np.int32)
        return self._map

    def dedup(self, values, indices, n_rows):
        """Return ``(unique_indices, summed_values)``; see `dedup_rows`.

        ``values`` is 2-D ``(len(indices), width)``; ``indices`` must lie in
        ``[0, n_rows)``.
        """
        if len(self._map) < n_rows:
            self._map = np.full(n_rows, -1, dtype=np.int32)
        return dedup_rows(indices, values, self._map)


def as_rows(array, n_rows=None):
    """View ``array`` as 2-D ``(n_rows, row width)`` without copying.

    ``n_rows`` defaults to ``array.shape[0]``; pass it for a values block
    whose leading dimension is the number of indices.
    """
    n = array.shape[0] if n_rows is None else n_rows
    width = 1
    for d in array.shape[1:]:
        width *= d
    return array.reshape(n, width)
