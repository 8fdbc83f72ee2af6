"""Checks run on every ``apply_gradients`` call before any state changes.

`filter_empty_gradients` drops ``None`` gradients (warning, as TensorFlow
does); `check_pairs` turns each remaining ``(gradient, variable)`` pair into
``(ndarray | IndexedSlices, variable)`` with shapes, dtypes and indices
checked, or raises an error that names the variable.
"""
import warnings

import numpy as np

from ._kernels import checks
from .sparse import IndexedSlices, check_indexed_slices, is_sparse, to_indexed_slices
from .variables import Variable, as_array, var_name

checks.register(Variable, IndexedSlices)
plain_pairs = checks.plain_pairs

__all__ = ["filter_empty_gradients", "check_variable", "check_gradient", "check_pairs"]

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
COMPLEX_DTYPES = (np.dtype(np.complex64), np.dtype(np.complex128))
UPDATABLE_DTYPES = FLOAT_DTYPES + COMPLEX_DTYPES
"""Variables of these dtypes can be updated (complex ones by the optimizers
that TensorFlow updates them with; see `optimizers._complex`)."""


def _pairs(grads_and_vars, source):
    try:
        items = list(grads_and_vars)
    except TypeError:
        raise TypeError(
            f"{source} must be an iterable of (gradient, variable) pairs; received "
            f"{type(grads_and_vars).__name__}.") from None
    for i, item in enumerate(items):
        if type(item) is not tuple or len(item) != 2:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(
                    f"Element {i} of {source} is not a (gradient, variable) pair; received "
                    f"{type(item).__name__}.")
            items[i] = tuple(item)
    return items


def filter_empty_gradients(grads_and_vars, source="`grads_and_vars`"):
    """Materialise the pairs and drop those whose gradient is ``None``.

    Raises `ValueError` when every gradient is ``None``; warns, naming the
    variables, when only some are.
    """
    items = _pairs(grads_and_vars, source)
    kept = [pair for pair in items if pair[0] is not None]
    if items and not kept:
        names = [var_name(v) for _, v in items]
        raise ValueError(f"No gradients provided for any variable: {names}.")
    if len(kept) < len(items):
        names = [var_name(v) for g, v in items if g is None]
        warnings.warn(
            f"Gradients do not exist for variables {names} when minimizing the loss.",
            UserWarning, stacklevel=3)
    return kept


class VariableTypeError(TypeError, ValueError):
    """Something other than a variable was given where a variable is expected.

    A `TypeError`, and a `ValueError` too, which is what TensorFlow's
    ``minimize`` documents for this case.
    """


def check_variable(var, position):
    """Return the array that updates of ``var`` write into, or raise."""
    if (type(var) is Variable and var._value.dtype in UPDATABLE_DTYPES
            and var._value.flags.writeable):
        return var._value                            # the common case, checked fast
    if isinstance(var, Variable):
        arr = var._value
        what = f"Variable '{var.name}'"
    elif isinstance(var, (np.matrix, np.ma.MaskedArray)):
        raise VariableTypeError(
            f"Variable {position} is a {type(var).__name__}; pass a plain ndarray or an "
            "optimizers.Variable (np.asarray(x) gives one).")
    elif isinstance(var, np.ndarray):
        arr = var
        what = f"Variable {position} (an ndarray)"
    else:
        raise VariableTypeError(
            f"Variable {position} must be an optimizers.Variable or a writable C-contiguous "
            f"float ndarray; received {type(var).__name__}.")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{what} must be C-contiguous to be updated in place.")
    if not arr.flags.writeable:
        raise ValueError(f"{what} is read-only; it cannot be updated in place.")
    if arr.dtype not in UPDATABLE_DTYPES:
        raise TypeError(
            f"{what} has dtype {arr.dtype}; optimizers update float16, float32, float64, "
            f"complex64 or complex128 variables only.")
    return arr


def check_gradient(grad, var, arr):
    """Validate one gradient against its variable's array ``arr``.

    Returns a C-contiguous ndarray (dense path) or a checked `IndexedSlices`
    (sparse path).
    """
    if (type(grad) is np.ndarray and grad.dtype == arr.dtype and grad.shape == arr.shape
            and grad.flags.c_contiguous):
        return grad                                  # the common case, checked fast
    name = var_name(var)
    if type(grad) is IndexedSlices:
        return IndexedSlices._checked(*check_indexed_slices(grad, arr, name), arr.shape)
    if is_sparse(grad):
        return to_indexed_slices(grad, arr, name)
    if isinstance(grad, (str, bytes, dict, set)):
        raise TypeError(
            f"Gradient for variable '{name}' must be an array, an IndexedSlices or a "
            f"scipy.sparse matrix; received {type(grad).__name__}.")
    try:
        g = np.asarray(grad)
    except Exception as exc:
        raise TypeError(
            f"Gradient for variable '{name}' could not be read as an array "
            f"({type(grad).__name__}): {exc}") from None
    if g.dtype.kind not in "fc":
        raise TypeError(
            f"Gradient for variable '{name}' has dtype {g.dtype}; expected {arr.dtype} "
            f"(the variable's dtype).")
    if g.dtype != arr.dtype:
        raise TypeError(
            f"Gradient for variable '{name}' has dtype {g.dtype}; expected {arr.dtype} "
            f"(the variable's dtype).")
    if g.shape != arr.shape:
        raise ValueError(
            f"Gradient for variable '{name}' has shape {g.shape}; expected {arr.shape}.")
    return np.ascontiguousarray(g)


def check_pairs(pairs, known=None):
    """Check every ``(gradient, variable)`` pair; return the checked pairs.

    ``known(array) -> bool`` tells whether an array is a variable the
    optimizer already updates: such an array (or any `Variable`) in the
    gradient position means the pair is swapped, which would otherwise
    overwrite the gradient.
    """
    checked = []
    for i, (grad, var) in enumerate(pairs):
        if isinstance(grad, Variable) or (known is not None and type(grad) is np.ndarray
                                          and known(grad)):
            raise TypeError(
                f"Element {i} of the pairs has a variable ({var_name(grad)}) in the gradient "
                "position: pairs are (gradient, variable); is this one swapped?")
        arr = check_variable(var, i)
        checked.append((check_gradient(grad, var, arr), var))
    return checked


def check_sparse_constraints(pairs):
    """TensorFlow refuses sparse updates of constrained variables."""
    for grad, var in pairs:
        if isinstance(grad, IndexedSlices) and getattr(var, "constraint", None) is not None:
            raise RuntimeError(
                "Cannot use a constraint function on a sparse variable. "
                f"Received: variable '{var_name(var)}', constraint={var.constraint!r}.")


def check_global_clip_dtypes(pairs):
    """``global_clipnorm`` sums norms over all gradients: one dtype only."""
    dtypes = {as_array(v).dtype for _, v in pairs}
    if len(dtypes) > 1:
        raise ValueError(
            "`global_clipnorm` needs every gradient in one dtype; received "
            f"{sorted(d.name for d in dtypes)}.")


def is_real_number(value):
    """A real number: a Python or NumPy integer or float (not a bool)."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool))


def check_number(name, value):
    """Return ``value`` if it is a real number (a Python or NumPy scalar, or a
    0-d real array); raise `TypeError` naming the argument ``name`` if not."""
    if not (is_real_number(value)
            or (isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf")):
        raise TypeError(f"`{name}` must be a real number; received {value!r}.")
    return value


def default_epsilon(epsilon):
    """TensorFlow's ``epsilon or 1e-7``, for real numbers only."""
    return 1e-7 if epsilon is None else (check_number("epsilon", epsilon) or 1e-7)


def momentum_needs_slot(momentum):
    """TensorFlow's check of SGD's and RMSprop's ``momentum``: a number must lie
    in [0, 1] (`ValueError`); returns whether a momentum slot is needed (a
    callable or a variable always does, a number when > 0)."""
    if isinstance(momentum, bool) or isinstance(momentum, (str, bytes)):
        raise TypeError(f"`momentum` must be a number or a callable; received {momentum!r}.")
    if is_real_number(momentum):
        if not 0 <= momentum <= 1:
            raise ValueError(
                f"`momentum` must be between [0, 1]. Received: momentum={momentum} (of type "
                f"{type(momentum)}).")
        return momentum > 0
    return True
