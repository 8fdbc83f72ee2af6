"""`Variable`: a named, mutable NumPy array that optimizers update in place."""
import secrets

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

__all__ = ["Variable", "DType", "as_array", "var_name"]

DEVICE = "cpu"
"""The one device of this library: every `Variable`'s ``device``."""


class DType:
    """A NumPy dtype that also answers TensorFlow's ``DType`` attributes.

    `Variable.dtype` is one, so optimizer code written for TensorFlow
    (``var.dtype.base_dtype``, ``var.dtype.as_numpy_dtype``) runs unchanged.
    It compares and hashes equal to the `numpy.dtype` it wraps, NumPy
    accepts it wherever a dtype is expected (``np.zeros(n, var.dtype)``), and
    every `numpy.dtype` attribute (``kind``, ``itemsize``, ``type``...) reads
    through.

    Examples
    --------
    >>> import numpy as np
    >>> from optimizers import Variable
    >>> d = Variable(np.zeros(2, np.float32)).dtype
    >>> d == np.float32, d.base_dtype == d, d.itemsize, np.zeros(1, d).dtype
    (True, True, 4, dtype('float32'))
    """

    __slots__ = ("_dtype",)
    _cache = {}

    def __new__(cls, dtype):
        dtype = np.dtype(dtype)
        self = cls._cache.get(dtype)
        if self is None:
            self = object.__new__(cls)
            self._dtype = dtype
            cls._cache[dtype] = self
        return self

    @property
    def dtype(self):
        """`numpy.dtype`: the NumPy dtype (what ``np.dtype(d)`` returns)."""
        return self._dtype

    @property
    def base_dtype(self):
        """The dtype itself (TensorFlow's non-reference dtype)."""
        return self

    @property
    def as_numpy_dtype(self):
        """The NumPy scalar type, e.g. `numpy.float32`."""
        return self._dtype.type

    @property
    def is_floating(self):
        """Whether the dtype is a real floating type."""
        return self._dtype.kind == "f"

    @property
    def is_complex(self):
        """Whether the dtype is a complex type."""
        return self._dtype.kind == "c"

    def __getattr__(self, name):
        return getattr(self._dtype, name)

    def __eq__(self, other):
        try:
            return self._dtype == np.dtype(other)
        except TypeError:
            return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self):
        return hash(self._dtype)

    def __str__(self):
        return str(self._dtype)

    def __repr__(self):
        return repr(self._dtype)

    def __reduce__(self):
        return (DType, (self._dtype,))


class Variable(NDArrayOperatorsMixin):
    """A mutable array that optimizers update in place.

    The variable owns one C-contiguous, writable `numpy.ndarray` for its
    whole life: every update (``assign``, an optimizer step) writes into that
    array, so model code may keep a reference to ``np.asarray(var)``
    (`numpy.asarray` returns that array itself, not a copy;
    `~optimizers.Variable.numpy` returns a copy).  NumPy arithmetic and
    ufuncs work on a variable as on its array.

    Parameters
    ----------
    initial_value : array_like or callable
        The initial value; a zero-argument callable is called first.
    name : str, optional
        Name used in error messages and slot names.  Defaults to
        ``"Variable"``.
    dtype : dtype, optional
        Data type of the array; by default that of ``initial_value``
        (Python floats give float32, as in TensorFlow).
    trainable : bool, default=True
        Recorded for compatibility; optimizers do not read it.
    constraint : callable, optional
        Function ``ndarray -> ndarray`` applied by an optimizer after each
        dense update of this variable.

    Examples
    --------
    >>> import numpy as np
    >>> from optimizers import Variable
    >>> v = Variable(np.zeros(3, dtype=np.float32), name="w")
    >>> v.assign_add(np.ones(3, dtype=np.float32)).numpy()
    array([1., 1., 1.], dtype=float32)
    """

    __array_priority__ = 100

    def __init__(self, initial_value, name=None, dtype=None, trainable=True,
                 constraint=None):
        if callable(initial_value):
            initial_value = initial_value()
        if isinstance(initial_value, Variable):
            initial_value = initial_value._value
        if dtype is None and isinstance(initial_value, (float, list, tuple)):
            probe = np.asarray(initial_value)
            dtype = np.float32 if probe.dtype == np.float64 else probe.dtype
        value = np.array(initial_value, dtype=dtype, order="C", copy=True)
        if constraint is not None and not callable(constraint):
            raise ValueError(
                f"The `constraint` argument must be a callable. Received: constraint={constraint!r}")
        self._value = value
        self._name = "Variable" if name is None else str(name)
        self._trainable = bool(trainable)
        self._constraint = constraint
        # The variable's identity for optimizers (the key of its slots): kept by
        # copies and pickles; random, with the top bit set, so it never equals
        # the id() that keys a bare ndarray's slots.
        self._uid = secrets.randbits(63) | (1 << 63)

    # ------------------------------------------------------------------ #
    # Array protocol
    def __array__(self, dtype=None, copy=None):
        if copy:
            return self._value.astype(dtype, copy=True) if dtype else self._value.copy()
        if dtype is not None and np.dtype(dtype) != self._value.dtype:
            if copy is False:
                raise ValueError("Unable to avoid a copy while casting a Variable.")
            return self._value.astype(dtype)
        return self._value

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs:
            kwargs["out"] = tuple(as_array(o) for o in kwargs["out"])
        inputs = tuple(x._value if isinstance(x, Variable) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    # ------------------------------------------------------------------ #
    # Attributes
    @property
    def name(self):
        return self._name

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        """`DType`: the array's dtype (a `numpy.dtype` with TensorFlow's
        ``base_dtype``)."""
        return DType(self._value.dtype)

    @property
    def device(self):
        """Always ``"cpu"``: the key TensorFlow-style code reads with ``dtype``."""
        return DEVICE

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def size(self):
        return self._value.size

    @property
    def trainable(self):
        return self._trainable

    @property
    def constraint(self):
        return self._constraint

    def numpy(self):
        """Return a copy of the value (TensorFlow semantics)."""
        return self._value.copy()

    def value(self):
        """Return a copy of the value."""
        return self._value.copy()

    # ------------------------------------------------------------------ #
    # In-place updates
    def _coerce(self, value, what):
        value = np.asarray(value)
        if value.shape != self._value.shape:
            try:
                np.broadcast_to(value, self._value.shape)
            except ValueError:
                raise ValueError(
                    f"Cannot {what} variable '{self._name}' of shape {self._value.shape} "
                    f"with a value of shape {value.shape}.") from None
        return value

    def assign(self, value):
        """Write ``value`` into the variable's array; returns the variable."""
        np.copyto(self._value, self._coerce(value, "assign"), casting="same_kind")
        return self

    def assign_add(self, delta):
        """Add ``delta`` in place; returns the variable."""
        np.add(self._value, self._coerce(delta, "add to"), out=self._value, casting="same_kind")
        return self

    def assign_sub(self, delta):
        """Subtract ``delta`` in place; returns the variable."""
        np.subtract(self._value, self._coerce(delta, "subtract from"), out=self._value,
                    casting="same_kind")
        return self

    def _scatter(self, sparse_delta, op):
        from .sparse import check_indexed_slices

        values, indices = check_indexed_slices(sparse_delta, self._value, self._name)
        if op == "update":
            self._value[indices] = values
        else:
            (np.add if op == "add" else np.subtract).at(self._value, indices, values)
        return self

    def scatter_add(self, sparse_delta):
        """Add ``IndexedSlices`` rows in place (repeats accumulate)."""
        return self._scatter(sparse_delta, "add")

    def scatter_sub(self, sparse_delta):
        """Subtract ``IndexedSlices`` rows in place (repeats accumulate)."""
        return self._scatter(sparse_delta, "sub")

    def scatter_update(self, sparse_delta):
        """Overwrite the rows named by an ``IndexedSlices``."""
        return self._scatter(sparse_delta, "update")

    # ------------------------------------------------------------------ #
    # Python protocol
    def __len__(self):
        return len(self._value)

    def __getitem__(self, key):
        return self._value[key]

    def __iter__(self):
        return iter(self._value)

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __index__(self):
        return self._value.__index__()

    def __bool__(self):
        return bool(self._value)

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return (f"<Variable '{self._name}' shape={self.shape} dtype={self.dtype.name}, "
                f"numpy={np.array2string(self._value, threshold=20)}>")


def as_array(var):
    """Return the ndarray an update writes into: the live array of a
    `Variable`, or the array itself."""
    return var._value if isinstance(var, Variable) else var


def var_name(var):
    """Name of a variable for messages: its ``name``, or a description of a
    bare array."""
    if isinstance(var, Variable):
        return var.name
    if isinstance(var, np.ndarray):
        return f"<ndarray shape={var.shape} dtype={var.dtype.name}>"
    return repr(var)
