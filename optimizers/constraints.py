"""Weight constraints with the formulas of ``tf.keras.constraints`` (TF 2.4).

A constraint is a callable ``constraint(w) -> ndarray`` applied to a whole
variable after each dense update (never on the sparse path). The classes
here compute in the dtype of ``w``, with Keras's ``epsilon = 1e-7`` cast to
that dtype, and return a new array of that dtype; any other callable taking
and returning an array works as a constraint too.

Norms are Euclidean norms over ``axis`` (kept as a size-1 dimension so they
broadcast): for a ``Dense`` kernel of shape ``(input_dim, units)``,
``axis=0`` constrains each unit's incoming weight vector.
"""
import numbers

import numpy as np

__all__ = ["Constraint", "NonNeg", "MaxNorm", "MinMaxNorm", "UnitNorm", "get", "serialize",
           "deserialize"]

EPSILON = 1e-7
"""Keras's fuzz factor (``backend.epsilon()``), added to norms before dividing."""


# ---------------------------------------------------------------------- #
# Helpers
def _as_float_array(w):
    """``w`` as an ndarray; non-float input is converted to ``float64``."""
    array = np.asarray(w)
    if array.dtype.kind not in "fc":
        array = array.astype(np.float64)
    return array


def _norms(w, axis):
    """``sqrt(sum(w**2, axis, keepdims=True))`` in the dtype of ``w``."""
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


def _clip(x, min_value, max_value):
    """Keras ``backend.clip``: ``max_value`` below ``min_value`` is raised to it."""
    if max_value < min_value:
        max_value = min_value
    dtype = x.dtype.type
    return np.maximum(np.minimum(x, dtype(max_value)), dtype(min_value))


def _check_axis(axis):
    """Validate ``axis`` (int or sequence of ints); return it in NumPy form."""
    if isinstance(axis, (numbers.Integral, np.integer)) and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (list, tuple)) and all(
            isinstance(a, (numbers.Integral, np.integer)) and not isinstance(a, bool)
            for a in axis):
        return tuple(int(a) for a in axis)
    raise TypeError(
        f"`axis` must be an int or a list/tuple of ints. Received: axis={axis!r}")


def _check_real(name, value):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be a real number. Received: {name}={value!r}")


def _scale_to(w, desired, norms):
    """``w * (desired / (epsilon + norms))``, in Keras's order of operations."""
    eps = w.dtype.type(EPSILON)
    return w * (desired / (eps + norms))


# ---------------------------------------------------------------------- #
# Constraints
class Constraint:
    """Base class of weight constraints; the base itself changes nothing.

    Subclasses override ``__call__(w)`` and, when they take arguments,
    ``get_config()``.
    """

    def __call__(self, w):
        """Return the constrained weights.

        Parameters
        ----------
        w : array_like
            Weights.

        Returns
        -------
        numpy.ndarray
            ``w`` itself as an array (the base class is the identity).
        """
        return np.asarray(w)

    def get_config(self):
        """Constructor arguments as a dict (empty for the base class)."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Build the constraint from :meth:`get_config` output."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


class NonNeg(Constraint):
    """Zero out negative weights.

    Notes
    -----
    Computed as ``w * (w >= 0)`` with the mask cast to the dtype of ``w``,
    as Keras does, so negative entries become ``-0.0`` and ``nan`` stays
    ``nan``. (Keras casts the mask to ``float32``, which fails on
    ``float64`` weights; here it follows ``w``.)

    Examples
    --------
    >>> NonNeg()(np.array([-1.0, 0.0, 2.0], dtype=np.float32))
    array([-0.,  0.,  2.], dtype=float32)
    """

    def __call__(self, w):
        w = _as_float_array(w)
        return w * (w >= 0).astype(w.dtype)


class MaxNorm(Constraint):
    r"""Rescale weight vectors whose norm exceeds ``max_value``.

    Parameters
    ----------
    max_value : float, default=2
        Maximum norm.
    axis : int or sequence of int, default=0
        Axis (axes) along which norms are computed.

    Raises
    ------
    TypeError
        If ``max_value`` is not a number or ``axis`` is not an int or a
        sequence of ints.

    Notes
    -----
    With :math:`n = \sqrt{\sum_{axis} w^2}` and
    :math:`d = \mathrm{clip}(n, 0, \mathrm{max\_value})`:

    .. math:: w \leftarrow w \cdot \frac{d}{\epsilon + n}

    Examples
    --------
    >>> MaxNorm(1.0)(np.array([[3.0], [4.0]]))
    array([[0.59999999],
           [0.79999998]])
    """

    def __init__(self, max_value=2, axis=0):
        _check_real("max_value", max_value)
        self._axis = _check_axis(axis)
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = _as_float_array(w)
        norms = _norms(w, self._axis)
        desired = _clip(norms, 0, self.max_value)
        return _scale_to(w, desired, norms)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    r"""Move weight-vector norms towards the range ``[min_value, max_value]``.

    Parameters
    ----------
    min_value : float, default=0.0
        Minimum norm.
    max_value : float, default=1.0
        Maximum norm. A value below ``min_value`` is treated as
        ``min_value`` (Keras's ``clip``).
    rate : float, default=1.0
        How far to move: 1 rescales into the range at once, smaller values
        move the norm part of the way.
    axis : int or sequence of int, default=0
        Axis (axes) along which norms are computed.

    Raises
    ------
    TypeError
        If a bound or ``rate`` is not a number, or ``axis`` is not an int
        or a sequence of ints.

    Notes
    -----
    With :math:`n = \sqrt{\sum_{axis} w^2}`:

    .. math:: d = \mathrm{rate} \cdot \mathrm{clip}(n, \mathrm{min}, \mathrm{max})
              + (1 - \mathrm{rate})\, n, \qquad
              w \leftarrow w \cdot \frac{d}{\epsilon + n}

    ``1 - rate`` is computed in Python before it is cast, as in Keras.

    Examples
    --------
    >>> MinMaxNorm(min_value=1.0, max_value=2.0)(np.array([[0.3], [0.4]]))
    array([[0.59999988],
           [0.79999984]])
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        _check_real("min_value", min_value)
        _check_real("max_value", max_value)
        _check_real("rate", rate)
        self._axis = _check_axis(axis)
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = _as_float_array(w)
        dtype = w.dtype.type
        norms = _norms(w, self._axis)
        clipped = _clip(norms, self.min_value, self.max_value)
        desired = dtype(self.rate) * clipped + dtype(1 - self.rate) * norms
        return _scale_to(w, desired, norms)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class UnitNorm(Constraint):
    r"""Scale weight vectors to unit norm.

    Parameters
    ----------
    axis : int or sequence of int, default=0
        Axis (axes) along which norms are computed.

    Raises
    ------
    TypeError
        If ``axis`` is not an int or a sequence of ints.

    Notes
    -----
    .. math:: w \leftarrow \frac{w}{\epsilon + \sqrt{\sum_{axis} w^2}}

    Examples
    --------
    >>> UnitNorm(axis=1)(np.array([[3.0, 4.0]]))
    array([[0.59999999, 0.79999998]])
    """

    def __init__(self, axis=0):
        self._axis = _check_axis(axis)
        self.axis = axis

    def __call__(self, w):
        w = _as_float_array(w)
        eps = w.dtype.type(EPSILON)
        return w / (eps + _norms(w, self._axis))

    def get_config(self):
        return {"axis": self.axis}


# Keras's snake-case and legacy names.
max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm
maxnorm = MaxNorm
nonneg = NonNeg
unitnorm = UnitNorm

_CONSTRAINTS = {
    "Constraint": Constraint, "NonNeg": NonNeg, "MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm,
    "UnitNorm": UnitNorm, "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
    "min_max_norm": MinMaxNorm, "maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm,
}


# ---------------------------------------------------------------------- #
# Serialization
def serialize(constraint):
    """Serialize a constraint.

    Parameters
    ----------
    constraint : Constraint or callable
        A constraint object, or a plain function.

    Returns
    -------
    dict or str
        ``{"class_name": ..., "config": ...}`` for objects with
        ``get_config()``; the function's ``__name__`` for a plain function
        (as Keras does).

    Raises
    ------
    ValueError
        If ``constraint`` has neither ``get_config`` nor ``__name__``.
    """
    if callable(getattr(constraint, "get_config", None)):
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    if hasattr(constraint, "__name__"):
        return constraint.__name__
    raise ValueError(
        "Cannot serialize `constraint`: it has neither get_config() nor __name__. "
        f"Received: constraint={constraint!r}")


def deserialize(config, custom_objects=None):
    """Build a constraint from :func:`serialize` output or a name.

    Parameters
    ----------
    config : dict or str
        ``{"class_name": name, "config": kwargs}``, or a name such as
        ``"NonNeg"``, ``"non_neg"`` or ``"max_norm"`` (built with default
        arguments).
    custom_objects : dict, optional
        Extra classes or functions by name, looked up first. A function
        found by name is returned as is.

    Returns
    -------
    Constraint or callable

    Raises
    ------
    ValueError
        If the name is unknown (``"Unknown constraint: <name>"``), or the
        dict lacks ``class_name`` or ``config``.
    """
    if isinstance(config, str):
        obj = _lookup(config, custom_objects)
        return obj() if isinstance(obj, type) else obj
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(f"Improper config format: {config!r}")
    cls = _lookup(config["class_name"], custom_objects)
    if hasattr(cls, "from_config"):
        return cls.from_config(config["config"])
    return cls(**config["config"])


def _lookup(name, custom_objects):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _CONSTRAINTS:
        return _CONSTRAINTS[name]
    raise ValueError(
        f"Unknown constraint: {name}. Known names: {sorted(_CONSTRAINTS)}; "
        "pass other classes in `custom_objects`.")


def get(identifier):
    """Resolve a constraint identifier.

    Parameters
    ----------
    identifier : None, str, dict or callable
        ``None`` gives ``None``; a string is a class name or alias
        (``"NonNeg"``, ``"non_neg"``, ``"max_norm"``, ...) built with
        default arguments; a dict is passed to :func:`deserialize`; a
        callable is returned as is.

    Returns
    -------
    Constraint, callable or None

    Raises
    ------
    ValueError
        If ``identifier`` is none of these, or names an unknown constraint.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
