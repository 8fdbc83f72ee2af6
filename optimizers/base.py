"""`Optimizer`: the base class every optimizer shares.

It holds the whole flow of a step once (filter, validate, aggregate, clip,
transform, create slots, prepare coefficients, update, constrain, count),
and the state every optimizer has: hyperparameters, slots, ``iterations``,
weights and config.  Subclasses supply only ``_create_slots``,
``_prepare_local``, ``_resource_apply_dense``, ``_resource_apply_sparse`` and
`~optimizers.Optimizer.get_config`, with TensorFlow 2.4's signatures; the
built-in ones declare their hyperparameters and slots instead of writing
``__init__`` bodies and ``_create_slots`` (see `optimizers._declare`).
"""
import difflib
import functools
import inspect
import itertools
import re
import threading
from collections import defaultdict

import numpy as np

from . import _complex, _declare, _fpe, clip, schedules
from . import threads as _threads
from ._kernels import checks as _checks, fpmode as _fpmode, packing as _packing
from ._config import plain_configs_in_subclasses, returns_plain
from ._registry import register
from ._dense import BLOCK, Scratch, block_constants, run_blocks
from ._validation import (_pairs, check_global_clip_dtypes, check_pairs, check_sparse_constraints,
                          check_variable, filter_empty_gradients, is_real_number, plain_pairs)
from .sparse import IndexedSlices, RowPositionMap, as_rows
from .threads import threads_for
from .variables import DEVICE, Variable, as_array, var_name

__all__ = ["Optimizer"]


_ALLOWED_KWARGS = ("clipnorm", "clipvalue", "lr", "decay", "global_clipnorm",
                   "gradient_accumulation_steps", "use_ema", "ema_momentum",
                   "ema_overwrite_frequency")
_VALID_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
                 ) + _complex.COMPLEX_DTYPES
_name_counts = defaultdict(itertools.count)
_MISSING = object()


def _snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def compute_dtype(dtype):
    """The dtype coefficients and arithmetic use for a variable of ``dtype``.

    float16 variables are updated in float32 and rounded once.
    """
    try:
        return _COMPUTE_DTYPES[dtype]
    except (KeyError, TypeError):
        dtype = np.dtype(dtype)
        return np.dtype(np.float32) if dtype == np.float16 else dtype


_COMPUTE_DTYPES = {np.dtype(t): np.dtype(np.float32 if t is np.float16 else t)
                   for t in (np.float16, np.float32, np.float64, np.complex64, np.complex128)}


def _to_dtype(value, dtype, name="learning_rate", source="value"):
    """Cast a hyperparameter value to ``dtype`` the way TensorFlow does.

    Python numbers go through float32 first (``tf.cast`` of a Python float),
    so a float64 variable sees ``f64(f32(x))``.  Anything but a real scalar
    (a vector, ``None``, a string, a bool) raises an error naming the
    hyperparameter ``name``; ``source`` says where the value came from.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dtype.type(np.float32(value))
    try:
        array = np.asarray(value)
    except Exception:  # an object NumPy cannot read
        array = np.asarray(None)
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"Hyperparameter `{name}` must be a real number; its {source} is {value!r}.")
    if array.ndim != 0:
        raise ValueError(
            f"Hyperparameter `{name}` must be a scalar; its {source} has shape "
            f"{array.shape}.")
    return array.astype(dtype)[()]


def _var_key(var):
    """The key of a variable's slots: a `Variable`'s ``_uid`` (kept by copies),
    a bare ndarray's ``id()``."""
    return var._uid if isinstance(var, Variable) else id(var)


def _note(exc, message):
    """Add ``message`` to an exception from user code (Python >= 3.11)."""
    if hasattr(exc, "add_note"):
        exc.add_note(message)


@functools.lru_cache(maxsize=None)
def _takes_apply_state(func):
    return "apply_state" in inspect.signature(func).parameters


def _with_apply_state(method, declared_by=None):
    """Call ``method`` with ``apply_state`` only if ``declared_by`` (default: the
    method itself) declares it, as TensorFlow does."""
    if _takes_apply_state((declared_by or method).__func__):
        return lambda *args: method(*args[:-1], apply_state=args[-1])
    return lambda *args: method(*args[:-1])


def _check_ema(use_ema, momentum, frequency):
    """Keras 3's checks of the moving-average arguments (made when ``use_ema``)."""
    if not isinstance(use_ema, (bool, np.bool_)):
        raise TypeError(f"`use_ema` must be a bool. Received: use_ema={use_ema!r}")
    if use_ema:
        if not is_real_number(momentum) or not 0 <= momentum <= 1:
            raise ValueError(
                f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={momentum}")
        if frequency is not None and (isinstance(frequency, bool) or not isinstance(
                frequency, (int, np.integer)) or frequency < 1):
            raise ValueError(
                "`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                f"ema_overwrite_frequency={frequency}")
    return (bool(use_ema), float(momentum) if is_real_number(momentum) else momentum,
            None if frequency is None else int(frequency))


_FLOAT32_TINY = np.finfo(np.float32).smallest_normal


def _check_accumulation_steps(steps):
    """Keras 3's check of ``gradient_accumulation_steps``: None or an integer >= 2."""
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(
            "`gradient_accumulation_steps` must be an integer >= 2. Received: "
            f"gradient_accumulation_steps={steps!r}")
    return int(steps)


_ENGINE_SLOTS = ("average", "average_step", "gradient_accumulator", "accumulated_rows")
"""Slots the base class keeps for every optimizer; an update does not read them."""


def _integer_power(base, exponents):
    """``base ** k`` for an array of positive integers, in float64, by repeated
    squaring: IEEE products only, so the same bits on every CPU."""
    result = np.ones(len(exponents))
    square = np.full(len(exponents), base)
    k = np.asarray(exponents, np.int64).copy()
    while k.any():
        odd = (k & 1).astype(bool)
        result[odd] *= square[odd]
        square *= square
        k >>= 1
    return result


PACK_MAX_ELEMENTS = 1024
"""Dense variables up to this size are updated packed together (see
`Optimizer._apply_dense_packed`).  Measured on D2 (100 x 4,096 + 100 x 64
elements, Adam): packing up to 256 or 1,024 elements cut the step by 20%;
up to 4,096 by 12% (copying a large variable in and out costs about what
its own calls cost)."""


@functools.lru_cache(maxsize=None)
def _packs_dense(cls):
    """Whether ``cls``'s dense update is its element-wise `_dense_block`
    (not a ``_resource_apply_dense`` of its own)."""
    return (cls._resource_apply_dense is Optimizer._resource_apply_dense
            and cls._dense_block is not Optimizer._dense_block)


@functools.lru_cache(maxsize=None)
def _checks_steps(cls):
    """Whether ``cls`` overrides the `Optimizer._check_step` hook."""
    return cls._check_step is not Optimizer._check_step


@functools.lru_cache(maxsize=None)
def _creates_own_slots(cls):
    """Whether ``cls`` overrides `Optimizer._create_slots` (the base class's
    creates the declared slots only)."""
    return cls._create_slots is not Optimizer._create_slots


_SPARSE_UPDATE = ("_resource_apply_sparse", "_resource_apply_sparse_duplicate_indices",
                  "_sparse_rows")


@functools.lru_cache(maxsize=None)
def _sparse_rule(cls):
    """Whether ``cls``'s sparse update is its `_sparse_rows` rule (it keeps the
    base class's ``_resource_apply_sparse*`` methods)."""
    return (cls._resource_apply_sparse is Optimizer._resource_apply_sparse
            and cls._resource_apply_sparse_duplicate_indices
            is Optimizer._resource_apply_sparse_duplicate_indices
            and cls._sparse_rows is not Optimizer._sparse_rows)


@functools.lru_cache(maxsize=None)
def _csr_declaration(cls):
    """Whether the sparse update of ``cls`` takes a `CSRRows` for its values
    (``_sparse_rows_read_csr``, declared by the class that defines it).  Such
    a rule hands its values to a kernel that reads them through
    `_driver.read_gradient`, so it takes a `LinkedRows` as well."""
    for klass in cls.__mro__:
        own = vars(klass)
        if any(name in own for name in _SPARSE_UPDATE):
            return own.get("_sparse_rows_read_csr", False)
    return False


def _rows_only_declaration(cls):
    """``_sparse_rows_only`` as declared by the class of ``cls``'s MRO that
    defines its sparse update (False if that class does not declare it)."""
    for klass in cls.__mro__:
        own = vars(klass)
        if any(name in own for name in _SPARSE_UPDATE):
            return own.get("_sparse_rows_only", False)
    return False


_UPDATE_METHODS = ("_dense_block", "_resource_apply_dense", "_sparse_rows",
                   "_resource_apply_sparse", "_resource_apply_sparse_duplicate_indices",
                   "_prepare_local", "_create_slots")


@functools.lru_cache(maxsize=None)
def _complex_declaration(cls):
    """How ``cls`` updates complex variables: ``_complex`` as declared by the
    class of its MRO that defines its update (see `optimizers._complex`).

    A class of this package that does not declare it refuses complex
    variables; another one (a user's optimizer with update methods of its
    own) gets them as they are, as in TensorFlow (\"custom\").
    """
    for klass in cls.__mro__:
        own = vars(klass)
        if klass is Optimizer or any(name in own for name in _UPDATE_METHODS):
            if "_complex" in own:
                return own["_complex"]
            return None if klass.__module__.startswith(__package__ + ".") else "custom"
    return None


class _Hyperparameter:
    """A hyperparameter read as an attribute (``opt.learning_rate``): the
    value, variable or schedule the optimizer holds.  An instance attribute
    of the same name, or an instance without that hyperparameter, reads as
    usual."""

    __slots__ = ("name", "key")

    def __init__(self, name, key=None):
        self.name, self.key = name, key or name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        d = obj.__dict__
        if self.name in d:
            return d[self.name]
        if self.key in d.get("_hyper", ()):
            return obj._get_hyper(self.key)
        raise AttributeError(f"{type(obj).__name__!r} object has no attribute {self.name!r}")


class Optimizer:
    """Base class for optimizers, with TensorFlow 2.4's ``OptimizerV2`` API.

    Do not instantiate it directly; use a subclass such as `SGD` or `Adam`,
    or write one: override ``_create_slots``, ``_resource_apply_dense``,
    ``_resource_apply_sparse`` and `~optimizers.Optimizer.get_config` (and ``_prepare_local`` to
    compute per-dtype coefficients once per step).

    Parameters
    ----------
    name : str
        Prefix of the names of the optimizer's weights.  A falsy name is
        replaced by a unique snake-case class name (``"sgd"``, ``"sgd_1"``).
    gradient_aggregator : callable, optional
        ``list[(grad, var)] -> list[(grad, var)]``, run first on the
        gradients of each `apply_gradients` call (unless it is called with
        ``experimental_aggregate_gradients=False``); for example
        `optimizers.distribute.MPIAllReduce`.  Default: none.
    gradient_transformers : list of callable, optional
        Each ``list[(grad, var)] -> list[(grad, var)]``, run in order after
        aggregation.  Exclusive with the clipping arguments.
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm`` (clip gradients by
        value, per-gradient norm, or global norm), ``lr`` (alias of
        ``learning_rate``), ``decay`` (legacy inverse-time decay of the
        learning rate: ``lr / (1 + decay * iterations)``) and
        ``gradient_accumulation_steps`` (Keras 3's gradient accumulation: an
        integer k >= 2; each call adds its gradients to accumulators, and
        every k-th call applies their mean; see the guide), ``use_ema``,
        ``ema_momentum`` (default 0.99) and ``ema_overwrite_frequency``
        (Keras 3's moving average of the variables; see
        `~optimizers.Optimizer.finalize_variable_values`).

    Raises
    ------
    TypeError
        For a keyword argument not in the list above.
    ValueError
        For a negative keyword value, or ``clipnorm`` with ``global_clipnorm``.
    """

    _HAS_AGGREGATE_GRAD = False
    lr = _Hyperparameter("lr", "learning_rate")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        plain_configs_in_subclasses(cls)
        _declare.read(cls)
        # The package's own optimizers register themselves for `get` and
        # `deserialize`, by class name and module name ("lazy_adam"); user
        # subclasses go through ``custom_objects``, as in Keras.
        module = cls.__module__
        if module.startswith(__package__ + ".") and not cls.__name__.startswith("_"):
            register(cls, module.rsplit(".", 1)[-1], *getattr(cls, "_aliases", ()))

    def __init__(self, name, gradient_aggregator=None, gradient_transformers=None, **kwargs):
        accumulation = _check_accumulation_steps(kwargs.pop("gradient_accumulation_steps", None))
        ema = _check_ema(kwargs.pop("use_ema", False), kwargs.pop("ema_momentum", 0.99),
                         kwargs.pop("ema_overwrite_frequency", None))
        for key, value in kwargs.items():
            if key not in _ALLOWED_KWARGS:
                raise TypeError(self._unknown_keyword_message(key))
            if is_real_number(value) and value < 0:
                raise ValueError(f"Expected {key} >= 0, received: {value}")
            if key != "lr" and value is not None and not is_real_number(value):
                raise TypeError(f"`{key}` must be a number; received {value!r}.")
        if gradient_aggregator is not None and not callable(gradient_aggregator):
            raise TypeError(
                f"`gradient_aggregator` must be callable; received {gradient_aggregator!r}.")
        transformers = list(gradient_transformers or [])
        for fn in transformers:
            if not callable(fn):
                raise TypeError(
                    f"Every element of `gradient_transformers` must be callable; received "
                    f"{fn!r}.")
        d = self.__dict__
        d["_hyper"] = {}
        d["_hypers_created"] = False
        d["_slots"] = {}
        d["_slot_owners"] = {}
        d["_slot_names"] = []
        d["_weights"] = []
        d["_iterations"] = None
        d["_own_weights"] = []          # weights that are not slots (iterations, ...)
        d["_layouts"] = {}              # slot key -> [var shape, [(slot, slot shape)]]
        d["_row_positions"] = RowPositionMap()
        d["_scratch"] = Scratch()
        # One step at a time: scratch, row maps and slots are written with the
        # GIL released, so concurrent calls are serialised (see `apply_gradients`).
        d["_lock"] = threading.RLock()
        self._init_set_name(name)
        self._initial_decay = float(kwargs.get("decay") or 0.0)
        self._accumulation = accumulation
        self.use_ema, self.ema_momentum, self.ema_overwrite_frequency = ema
        self.gradient_aggregator = gradient_aggregator
        self.gradient_transformers = transformers
        self._clipnorm = self._global_clipnorm = self._clipvalue = None
        self.clipnorm = kwargs.get("clipnorm")
        self.global_clipnorm = kwargs.get("global_clipnorm")
        self.clipvalue = kwargs.get("clipvalue")

    # Pickling and copying: caches and scratch are not copied (a copy makes its
    # own), nor are the Variables whose slots the optimizer holds: they are
    # found again by identity (see `_slot_key`).  Bare ndarrays travel with
    # the optimizer and key their slots by the copies' ids.
    _TRANSIENT = ("_lock", "_scratch", "_row_positions", "_view_cache", "_appliers_cache")

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in self._TRANSIENT}
        state["_slot_owners"] = {key: None if isinstance(owner, Variable) else owner
                                 for key, owner in self._slot_owners.items()}
        return state

    def __setstate__(self, state):
        rekey = {key: id(owner) for key, owner in state["_slot_owners"].items()
                 if owner is not None}
        for field in ("_slots", "_slot_owners", "_layouts"):
            state[field] = {rekey.get(key, key): value for key, value in state[field].items()}
        self.__dict__.update(state)
        self.__dict__.update(_lock=threading.RLock(), _scratch=Scratch(),
                             _row_positions=RowPositionMap())
        for name in self._hyper:
            self._expose_hyper(name)

    def _unknown_keyword_message(self, key):
        """Name the parameters this class takes, and the nearest to ``key``."""
        params = [p for p in inspect.signature(type(self).__init__).parameters
                  if p not in ("self", "kwargs", "args")]
        near = difflib.get_close_matches(key, params + list(_ALLOWED_KWARGS), n=1)
        hint = f" Did you mean `{near[0]}`?" if near else ""
        # TensorFlow's and Keras' wording: code may match on it.
        return (f"Unexpected keyword argument passed to optimizer: {key}.{hint} "
                f"{type(self).__name__} takes {', '.join(params)}; Allowed kwargs are "
                f"{{{', '.join(_ALLOWED_KWARGS)}}}.")

    def _init_set_name(self, name):
        if not name:
            base = _snake_case(type(self).__name__)
            n = next(_name_counts[base])
            name = base if n == 0 else f"{base}_{n}"
        self._name = name

    @property
    def name(self):
        """The optimizer's name (prefix of its weights' names)."""
        return self._name

    # ------------------------------------------------------------------ #
    # Clipping settings
    def _check_clip_setting(self, field, value):
        if value is not None and self.gradient_transformers:
            raise ValueError(
                f"`{field}` cannot be set when `gradient_transformers` is set. Instead, use "
                "the `gradient_transformers` to specify clipping and other transformations. "
                f"Received: val={value}, gradient_transformers={self.gradient_transformers}.")
        if value is not None and (not is_real_number(value) or value < 0):
            raise ValueError(f"`{field}` must be a number >= 0; received {value!r}.")

    def _check_norm_exclusive(self, clipnorm, global_clipnorm):
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(
                "Cannot accept both `clipnorm` and `global_clipnorm`. Received: "
                f"`clipnorm`={clipnorm}, `global_clipnorm`={global_clipnorm}.")

    @property
    def clipnorm(self):
        """float or None: clip each gradient to this L2 norm."""
        return self._clipnorm

    @clipnorm.setter
    def clipnorm(self, value):
        self._check_clip_setting("clipnorm", value)
        self._check_norm_exclusive(value, self._global_clipnorm)
        self._clipnorm = value

    @property
    def global_clipnorm(self):
        """float or None: clip all gradients together to this global L2 norm."""
        return self._global_clipnorm

    @global_clipnorm.setter
    def global_clipnorm(self, value):
        self._check_clip_setting("global_clipnorm", value)
        self._check_norm_exclusive(self._clipnorm, value)
        self._global_clipnorm = value

    @property
    def clipvalue(self):
        """float or None: clip each gradient element to ``[-clipvalue, clipvalue]``."""
        return self._clipvalue

    @clipvalue.setter
    def clipvalue(self, value):
        self._check_clip_setting("clipvalue", value)
        self._clipvalue = value

    # ------------------------------------------------------------------ #
    # Hyperparameters
    # Hyperparameters read as attributes (``opt.learning_rate``, ``opt.lr``)
    # go through a `_Hyperparameter` descriptor on the class, installed when a
    # hyperparameter of that name is first set.  (A ``__getattr__`` would do it
    # too, but it makes every attribute lookup on the optimizer a slow one.)
    def _expose_hyper(self, name):
        cls = type(self)
        for klass in cls.__mro__:
            if name in vars(klass):
                return                 # a hyperparameter attribute, or a name the class uses
        setattr(cls, name, _Hyperparameter(name))

    def __setattr__(self, name, value):
        if name == "lr":
            name = "learning_rate"
        if name in self.__dict__.get("_hyper", ()):
            self._set_hyper(name, value)
        else:
            super().__setattr__(name, value)
            if name in self._slot_condition_names:
                self._update_slot_list()

    def __dir__(self):
        names = set(super().__dir__()) | set(self._hyper)
        if "learning_rate" in self._hyper:
            names.add("lr")
        return sorted(names)

    def _set_hyper(self, name, value):
        """Set hyperparameter ``name`` to a number, a callable or a schedule.

        Once hyperparameter variables exist, a number is assigned into the
        existing float32 variable (holders of it see the change); a schedule
        replaces it.  Setting a created variable to a callable raises
        `TypeError`, as in TensorFlow.
        """
        if isinstance(value, Variable):
            if value.shape != () or value.dtype.kind not in "iuf":
                raise ValueError(
                    f"Hyperparameter `{name}` must be a scalar; received a Variable of shape "
                    f"{value.shape} and dtype {value.dtype}.")
        elif not (is_real_number(value) or callable(value)
                  or (isinstance(value, np.ndarray) and value.ndim == 0
                      and value.dtype.kind in "fiu")):
            raise TypeError(
                f"Hyperparameter `{name}` must be a number, a zero-argument callable or a "
                f"LearningRateSchedule; received {value!r}.")
        prev = self._hyper.get(name)
        if prev is None and name not in self._hyper:
            self._expose_hyper(name)
        if (not isinstance(prev, Variable)
                or isinstance(value, (schedules.LearningRateSchedule, Variable))):
            self._hyper[name] = value
            return
        if callable(value):
            raise TypeError(
                f"Hyperparameter `{name}` is already a variable; it can be set to a number "
                f"or a LearningRateSchedule, not to {value!r}.")
        prev.assign(np.asarray(value).astype(prev.dtype))

    # Declared hyperparameters and slots (see `optimizers._declare`): a class
    # lists them in ``_declared_hypers`` and ``_declared_slots``, and its
    # ``__init__`` is its signature and ``self._init_declared(locals())``.
    _declared_hypers = ()
    _declared_slots = ()
    _slot_order = "slot"
    _slot_conditions = ()
    _slot_condition_names = frozenset()
    _slot_lists = ((),)
    _declared_slot_list = ()
    _weights_may_lack_iterations = False
    """Whether `set_weights` takes a list without ``iterations`` (one weight
    short), as TensorFlow's Adagrad, Adadelta and RMSprop do for Keras 1
    checkpoints: ``iterations`` is then set to 0."""

    def _init_declared(self, args):
        """Initialise the optimizer from its constructor's arguments ``args``
        (the ``locals()`` of ``__init__``: ``name``, ``kwargs`` and the
        declared arguments): `Optimizer.__init__` with ``name`` and
        ``kwargs``, then `_store_declared`."""
        kwargs = args.get("kwargs") or {}
        Optimizer.__init__(self, args.get("name"), **kwargs)
        self._store_declared(args, kwargs)

    def _store_declared(self, args, kwargs=None):
        """Check, then store, the declared arguments found in ``args``.

        Every check runs before anything is stored, in declaration order;
        the values are then stored in that order.  ``decay`` (the legacy
        keyword `Optimizer.__init__` read) goes with ``learning_rate``; a
        declared argument not in ``args`` is left alone, so a subclass that
        adds a hyperparameter to a built-in can call ``super().__init__``
        and then ``self._store_declared(locals())``.  An alias is looked up
        in ``kwargs``.
        """
        kwargs = kwargs or {}
        values = []
        for hyper in self._declared_hypers:
            name = hyper.name
            if name in args:
                value = args[name]
                if hyper.alias is not None:
                    value = kwargs.get(hyper.alias, value)
                if hyper.check is not None:
                    value = hyper.check(name, value)
            elif name == "decay" and "learning_rate" in args:
                value = self._initial_decay
            else:
                continue
            values.append((hyper, value))
        for hyper, value in values:
            if hyper.store == "hyper":
                self._set_hyper(hyper.name, value)
            elif hyper.store == "attribute":
                setattr(self, hyper.name, value)
            else:
                setattr(self, "_" + hyper.name, value)
            if hyper.flag is not None:
                setattr(self, hyper.flag, _declare.nonzero(value))

    def _declared_value(self, name):
        """The stored value of declared hyperparameter ``name``."""
        hyper = next(h for h in self._declared_hypers if h.name == name)
        if hyper.store == "hyper":
            return self._serialize_hyperparameter(name)
        return getattr(self, name if hyper.store == "attribute" else "_" + name)

    def _create_hypers(self):
        if self._hypers_created:
            return
        for name, value in sorted(self._hyper.items()):
            if isinstance(value, Variable) or callable(value):
                continue
            self._hyper[name] = Variable(np.float32(value), name=name, trainable=False)
        self._hypers_created = True

    def _get_hyper(self, name, dtype=None):
        """Return hyperparameter ``name``, cast to ``dtype`` when given.

        A `~optimizers.schedules.LearningRateSchedule` is returned as is; a callable is called.
        """
        if not self._hypers_created:
            self._create_hypers()
        value = self._hyper[name]
        if type(value) is Variable and dtype is not None:
            # The common case: a number held in a float32 variable (a real
            # scalar, checked when it was set), cast as TensorFlow casts it.
            raw = value._value
            if raw.dtype is dtype:
                return raw[()]
            if 0 < abs(raw) < _FLOAT32_TINY:
                raw = raw * 0       # TensorFlow's cast reads a subnormal as (signed) zero
            return compute_dtype(dtype).type(raw)
        if isinstance(value, schedules.LearningRateSchedule):
            return value
        source = "value"
        if callable(value) and not isinstance(value, Variable):
            try:
                value = value()
            except Exception as exc:
                _note(exc, f"(raised by the callable of hyperparameter `{name}`)")
                raise
            source = "callable's result"
        if dtype is None:
            return value
        return _to_dtype(np.asarray(value) if isinstance(value, Variable) else value,
                         compute_dtype(dtype), name, source)

    def _serialize_hyperparameter(self, name):
        value = self._hyper[name]
        if isinstance(value, schedules.LearningRateSchedule):
            return schedules.serialize(value)
        if isinstance(value, Variable):
            return np.asarray(value)[()]
        if callable(value):
            return value()
        return value

    # ------------------------------------------------------------------ #
    # iterations, weights and slots
    @property
    def iterations(self):
        """`Variable`: int64 count of applied steps (created on first read).

        With ``gradient_accumulation_steps=k`` it counts the optimizer's steps,
        ``calls // k`` (Keras 3), and is a snapshot; the weight ``iter`` counts
        the calls.
        """
        count = self._count_variable()
        if not self._accumulation:
            return count
        return Variable(np.int64(int(count) // self._accumulation),
                        name=f"{self._name}/iter", trainable=False)

    def _count_variable(self):
        """The ``iter`` weight: every `apply_gradients` call adds one."""
        if self._iterations is None:
            self.iterations = Variable(np.int64(0), name=f"{self._name}/iter", trainable=False)
        return self._iterations

    @iterations.setter
    def iterations(self, variable):
        if self._iterations is not None:
            raise RuntimeError(
                "Cannot set `iterations` to a new Variable after the Optimizer weights have "
                "been created.")
        if not isinstance(variable, Variable):
            variable = Variable(np.int64(variable), name=f"{self._name}/iter", trainable=False)
        if variable.shape != () or variable.dtype.kind not in "iu":
            raise ValueError(
                f"`iterations` must be a scalar integer Variable; received shape "
                f"{variable.shape} and dtype {variable.dtype}.")
        self._iterations = variable
        self._weights.append(variable)
        self._own_weights.append(variable)

    def _call_count(self):
        """`apply_gradients` calls so far (what schedules see)."""
        return 0 if self._iterations is None else int(self._iterations)

    def _step_count(self):
        """Optimizer steps so far (what bias corrections see): the calls, or
        with gradient accumulation the calls that applied an update."""
        calls = self._call_count()
        return calls // self._accumulation if self._accumulation else calls

    @property
    def weights(self):
        """list of `Variable`: ``iterations`` and the slots, in creation order."""
        return list(self._weights)

    def variables(self):
        """Return `weights` (the optimizer's variables, in creation order)."""
        return list(self._weights)

    def add_weight(self, name, shape, dtype=None, initializer="zeros", trainable=None,
                   synchronization=None, aggregation=None):
        """Create a non-slot weight of the optimizer and append it to `weights`.

        ``dtype`` defaults to float32; ``trainable``, ``synchronization`` and
        ``aggregation`` are accepted for compatibility and ignored.
        """
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        variable = Variable(self._initial_value(initializer, tuple(shape), dtype),
                            name=f"{self._name}/{name}", trainable=False)
        self._weights.append(variable)
        self._own_weights.append(variable)
        return variable

    @staticmethod
    def _initial_value(initializer, shape, dtype):
        if isinstance(initializer, str):
            kind = initializer.lower()
            if kind == "zeros":
                return np.zeros(shape, dtype)
            if kind == "ones":
                return np.ones(shape, dtype)
            raise ValueError(
                f"Unknown initializer {initializer!r}: use 'zeros', 'ones', a callable "
                "(shape, dtype) -> array, or a value.")
        value = initializer(shape=shape, dtype=dtype) if callable(initializer) else initializer
        value = np.asarray(value, dtype=dtype)
        if value.shape != shape:
            value = np.broadcast_to(value, shape)
        return np.array(value, dtype=dtype, order="C")

    def add_slot(self, var, slot_name, initializer="zeros", shape=None, dtype=None):
        """Create (once) the slot ``slot_name`` of ``var`` and return it.

        Parameters
        ----------
        var : Variable or ndarray
            The variable the slot belongs to.
        slot_name : str
            Name of the slot, e.g. ``"m"``.
        initializer : {"zeros", "ones"}, callable or array_like
            A callable is called as ``initializer(shape=..., dtype=...)``;
            any other value is broadcast to the slot's shape.
        shape : tuple, optional
            Shape of the slot; defaults to the variable's shape.
        dtype : dtype, optional
            Defaults to the variable's dtype (TensorFlow's only choice).
        """
        key = self._slot_key(var, create=True)
        per_var = self._slots.setdefault(key, {})
        if slot_name not in self._slot_names:
            self._slot_names.append(slot_name)
        if slot_name not in per_var:
            arr = as_array(var)
            slot_shape = arr.shape if shape is None else tuple(shape)
            slot = per_var[slot_name] = Variable(
                self._initial_value(initializer, slot_shape,
                                    arr.dtype if dtype is None else np.dtype(dtype)),
                name=f"{self._name}/{var_name(var)}/{slot_name}", trainable=False)
            self._weights.append(slot)
            self._layouts.setdefault(key, [arr.shape, []])[1].append((slot, slot.shape))
        return per_var[slot_name]

    def get_slot(self, var, slot_name):
        """Return the slot ``slot_name`` of ``var``; `KeyError` if there is none."""
        key = self._slot_key(var)
        slots = None if key is None else self._slots.get(key)
        if slots is None:
            raise KeyError(f"The optimizer has no slots for variable '{var_name(var)}'.")
        if slot_name not in slots:
            raise KeyError(
                f"Variable '{var_name(var)}' has no slot {slot_name!r}; it has "
                f"{sorted(slots)}.")
        return slots[slot_name]

    def _slot_key(self, var, create=False):
        """The key of ``var``'s slots; None if it has none (unless ``create``).

        A `Variable` is known by its ``_uid``, which copies and pickles keep:
        an optimizer copied alone continues on the original variables, one
        copied together with its variables on the copies (a copied optimizer
        holds no reference to its Variables: the first Variable of a known
        identity to come along adopts the slots).  A bare ndarray is known by
        its ``id()``; the optimizer keeps it alive, so the id is not reused.
        A second Variable object of an identity that already has an owner
        here (a copy of a trained variable) is an error.
        """
        key = _var_key(var)
        owners = self._slot_owners
        owner = owners.get(key, _MISSING)
        if owner is var:
            return key
        if owner is None or (owner is _MISSING and create):
            owners[key] = var
            return key
        if owner is _MISSING:
            return None
        raise ValueError(
            f"Variable '{var_name(var)}' is a copy of variable '{var_name(owner)}', whose slots "
            "this optimizer holds; a copy cannot share them. Create a new variable from its "
            "value (Variable(x.numpy())) to train both.")

    def _flat(self, var, *slot_names):
        """Flat views of ``var``'s array and of the named slots, for dense updates."""
        return self._views(var, slot_names, flat=True)

    def _rows(self, var, *slot_names):
        """2-D row views of ``var``'s array and of the named slots, for sparse kernels."""
        return self._views(var, slot_names, flat=False)

    def _views(self, var, slot_names, flat):
        # Variables and slots keep their arrays for life, so the views are
        # made once.  Only variables with slots are cached: the optimizer
        # already keeps those alive, so their ids cannot be reused.
        if not slot_names:
            arr = as_array(var)
            return [arr.ravel() if flat else as_rows(arr)]
        shape = (lambda a: a.ravel()) if flat else as_rows
        key = (id(var), slot_names, flat)
        cache = self.__dict__.setdefault("_view_cache", {})
        hit = cache.get(key)
        if hit is not None and hit[0] is var:
            return hit[1]
        views = [shape(as_array(var))] + [
            shape(as_array(self.get_slot(var, name))) for name in slot_names]
        cache[key] = (var, views)
        return views

    def get_slot_names(self):
        """Names of the slots this optimizer has created, in creation order."""
        return list(self._slot_names)

    def _slot_list(self):
        """Names of the declared slots this optimizer has, in creation order."""
        return self._declared_slot_list

    def _update_slot_list(self):
        # Called when a slot's `when` attribute is assigned (see `__setattr__`).
        key = 0
        for bit, attribute in self._slot_conditions:
            if getattr(self, attribute, False):
                key |= bit
        self.__dict__["_declared_slot_list"] = self._slot_lists[key]

    def _create_slots(self, var_list):
        """Create the slots of the variables in ``var_list`` (override).

        This one creates the declared slots (``_declared_slots``), in
        TensorFlow's order: each slot for every variable in turn, or every
        slot of one variable in turn with ``_slot_order = "variable"``.
        """
        names = self._slot_list()
        if not names:
            return
        slots = [slot for slot in self._declared_slots if slot.name in names]
        if self._slot_order == "variable":
            pairs = [(var, slot) for var in var_list for slot in slots]
        else:
            pairs = [(var, slot) for slot in slots for var in var_list]
        for var, slot in pairs:
            arr = as_array(var)
            initializer = ("zeros" if slot.initial is None
                           else arr.dtype.type(self._declared_value(slot.initial)))
            self.add_slot(var, slot.name, initializer,
                          shape=None if slot.shape is None else slot.shape(arr.shape))

    def build(self, var_list):
        """Create `iterations` and every slot of the variables in ``var_list``
        without taking a step (Keras 3's name); idempotent.

        Use it to restore weights (`~optimizers.Optimizer.set_weights`,
        `~optimizers.Checkpoint.restore`) into an optimizer that has not
        stepped yet.  The variables are checked as `apply_gradients` checks
        them; on an error nothing is created.
        """
        with self._lock:
            var_list = self._flatten_var_list(var_list)
            for i, var in enumerate(var_list):
                check_variable(var, i)
            self._check_distinct(var_list)
            mark = self._mark()
            try:
                self._create_all_weights(var_list)
            except BaseException:
                self._undo(mark)
                raise

    def _create_all_weights(self, var_list):
        if self._iterations is None:
            self._count_variable()
        if not self._hypers_created:
            self._create_hypers()
        # ``_create_slots`` is idempotent; variables that have slots are skipped
        # (creation order among the new ones is unchanged).
        if self._declared_slot_list or _creates_own_slots(type(self)):
            new = _checks.variables_without_slots(var_list, self._slot_owners)
            if new is None:
                new = [v for v in var_list if self._slot_key(v) is None]
            if new:
                self._create_slots(new)
        if self.use_ema:
            for var in var_list:
                self.add_slot(var, "average", initializer=as_array(var))
            calls = self._call_count()
            for var in var_list:
                self.add_slot(var, "average_step", initializer=calls,
                              shape=as_array(var).shape[:1] or (1,), dtype=np.int64)
        if self._accumulation:
            for var in var_list:
                self.add_slot(var, "gradient_accumulator")
            for var in var_list:
                shape = as_array(var).shape[:1] or (1,)
                self.add_slot(var, "accumulated_rows", shape=shape)

    def get_weights(self):
        """Return the values of `weights` as NumPy arrays (``iterations`` first).

        Scalars are returned as NumPy scalars (``iterations`` as ``np.int64``).
        """
        return [w.numpy()[()] if w.shape == () else w.numpy() for w in self._weights]

    def set_weights(self, weights):
        """Set the optimizer's weights from a list of arrays, as
        `~optimizers.Optimizer.get_weights` gives them.

        The list must have one array per weight, each of the weight's shape
        and a real dtype; nothing is assigned unless all match.  Where
        TensorFlow takes Keras 1 checkpoints (Adagrad, Adadelta, RMSprop), a
        list without ``iterations`` (one weight short) sets it to 0.
        """
        with self._lock:
            if self._weights_may_lack_iterations:
                weights = list(weights)
                if len(self._weights) == len(weights) + 1:
                    weights = [np.array(0)] + weights
            self._set_weights(weights)

    def _set_weights(self, weights):
        params = self._weights
        weights = list(weights)
        if len(params) != len(weights):
            raise ValueError(
                "You called `set_weights(weights)` on optimizer " + self._name + " with a "
                " weight list of length " + str(len(weights)) + ", but the optimizer was "
                "expecting " + str(len(params)) + " weights. Provided weights: "
                + str(weights)[:50] + "...")
        if not params:
            return
        values = []
        for param, weight in zip(params, weights):
            try:
                value = np.asarray(weight)
                if value.dtype.kind == "O":             # numbers stored as objects
                    if not all(is_real_number(x) for x in value.flat):
                        raise TypeError
                    value = value.astype(np.float64)
                if value.dtype.kind not in "biuf" and not (
                        value.dtype.kind == "c" and param.dtype.kind == "c"):
                    raise TypeError
            except (TypeError, ValueError):
                raise TypeError(
                    f"Weight '{param.name}' must be set from a real array; received "
                    f"{type(weight).__name__} {str(weight)[:40]}.") from None
            if param.shape != value.shape:
                raise ValueError(
                    f"Optimizer weight shape {param.shape} not compatible with provided "
                    f"weight shape {value.shape} (weight '{param.name}').")
            if not param._value.flags.writeable:
                raise ValueError(f"Weight '{param.name}' is read-only; it cannot be set.")
            values.append(value.astype(param.dtype))
        for param, value in zip(params, values):
            param._value[...] = value

    # ------------------------------------------------------------------ #
    # Coefficients
    def _decayed_lr(self, var_dtype):
        """Learning rate of this step in ``var_dtype``: schedule, then legacy decay."""
        dtype = compute_dtype(var_dtype)
        lr = self._get_hyper("learning_rate", dtype)
        if type(lr) is dtype.type and not self._initial_decay > 0.0:
            return lr                                # a number: the common case
        step = dtype.type(self._call_count())
        if isinstance(lr, schedules.LearningRateSchedule):
            try:
                value = lr(step)
            except Exception as exc:
                _note(exc, "(raised by the learning-rate schedule)")
                raise
            lr = _to_dtype(value, dtype, "learning_rate", "schedule's result")
        if self._initial_decay > 0.0:
            decay = self._get_hyper("decay", dtype)
            lr = lr / (dtype.type(1) + decay * step)
        return lr

    def _prepare(self, var_list):
        """Compute per-dtype coefficients once for this step."""
        dtypes = _checks.array_dtypes(var_list)
        if dtypes is None:
            dtypes = {as_array(v).dtype for v in var_list}
        if len(dtypes) == 1:
            dtype, = dtypes
            dtypes = (compute_dtype(dtype),)
        else:
            dtypes = sorted({compute_dtype(d) for d in dtypes}, key=lambda dtype: dtype.itemsize)
        apply_state = {}
        for dtype in dtypes:
            apply_state[(DEVICE, dtype)] = {}
            self._prepare_local(DEVICE, dtype, apply_state)
        return apply_state

    def _prepare_local(self, var_device, var_dtype, apply_state):
        """Put this step's coefficients for ``var_dtype`` in ``apply_state``.

        The base class puts ``lr_t``; subclasses add their own after calling
        it.
        """
        if "learning_rate" in self._hyper:
            apply_state[(var_device, var_dtype)]["lr_t"] = self._decayed_lr(var_dtype)

    def _fallback_apply_state(self, var_device, var_dtype):
        apply_state = {(var_device, var_dtype): {}}
        self._prepare_local(var_device, var_dtype, apply_state)
        return apply_state[(var_device, var_dtype)]

    def _coefficients(self, var, apply_state=None):
        """This step's coefficient dict for ``var``'s dtype."""
        key = (DEVICE, compute_dtype(as_array(var).dtype))
        if apply_state and key in apply_state:
            return apply_state[key]
        return self._fallback_apply_state(*key)

    # ------------------------------------------------------------------ #
    # Applying gradients
    def apply_gradients(self, grads_and_vars, name=None, experimental_aggregate_gradients=True):
        """Apply gradients to variables; return `iterations`.

        Parameters
        ----------
        grads_and_vars : iterable of (gradient, variable)
            A gradient is an ndarray of the variable's shape and dtype (dense
            update), an `~optimizers.IndexedSlices` or any ``scipy.sparse`` matrix
            (sparse update of the touched rows), or ``None`` (the variable is
            skipped, with a warning).  Variables are float16, float32, float64,
            or complex64 and complex128 for the optimizers TensorFlow updates
            complex variables with (see the guide's "Complex variables").
        name : str, optional
            Ignored (kept for TensorFlow compatibility).
        experimental_aggregate_gradients : bool, default=True
            Run ``gradient_aggregator`` (if any) first.

        Raises
        ------
        TypeError, ValueError
            For malformed input, naming the variable (`TypeError` for a
            complex variable this optimizer, like TensorFlow's, cannot
            update).  All or nothing: every
            gradient, hyperparameter and constraint is checked (and user
            callbacks run) before anything changes, so a rejected call
            leaves variables, slots, hyperparameters and `iterations` as
            they were.
        FloatingPointError
            Or a `RuntimeWarning` turned into an error, when NumPy's error
            state (``numpy.errstate``) asks for one on a floating-point error
            of the update (a NaN or an overflow made from the gradients):
            acted on once the step is complete, every variable, slot and
            `iterations` updated (as a NumPy call acts after writing its
            output), never halfway through.  An error met before the update
            (in clipping, say) stops the step with nothing changed.

        Notes
        -----
        One optimizer may be shared by several Python threads: its calls
        run one at a time (a lock per optimizer), each as a whole step, so
        concurrent calls give the result of some serial order.
        """
        with self._lock:
            fp_errors = self._apply_gradients(grads_and_vars, experimental_aggregate_gradients)
            if fp_errors:
                _fpe.report(fp_errors)
            return self.iterations

    def _apply_gradients(self, grads_and_vars, experimental_aggregate_gradients):
        """`apply_gradients` without acting on the floating-point errors of
        the update: returns them (for `_fpe.report`), so that a caller with
        state of its own to update (`LossScaleOptimizer`) does so first.
        Call it holding the lock."""
        accumulating = bool(self._accumulation)
        if type(grads_and_vars) is not list:
            grads_and_vars = _pairs(grads_and_vars, "`grads_and_vars`")
        plain = self._plain_pairs(grads_and_vars, experimental_aggregate_gradients)
        if plain is None:
            pairs = self._checked_pairs(grads_and_vars, experimental_aggregate_gradients,
                                        transform=not accumulating)
            var_list = [v for _, v in pairs]
        else:
            pairs, var_list = plain
        mark = self._mark()
        try:
            if plain is None:
                self._check_complex(pairs)      # (plain pairs are real)
            if _checks_steps(type(self)):
                self._check_step(pairs)
            self._create_all_weights(var_list)
            if not pairs:
                return None
            owners = self._check_layouts(var_list)
            if _checks.gradients_alias(pairs, owners):
                pairs = self._unalias(pairs, owners)
            # Every accumulation step but the last only adds to the accumulators.
            only_accumulate = accumulating and (self._call_count() + 1) % self._accumulation
            apply_state, staged = None, {}
            if not only_accumulate:
                if accumulating:
                    pairs = self._transform_gradients(
                        [(self._accumulated_mean(g, v), v) for g, v in pairs])
                    check_sparse_constraints(pairs)
                    var_list = [v for _, v in pairs]
                    self._check_distinct(var_list)
                    self._create_all_weights(var_list)
                    owners = self._check_layouts(var_list)
                apply_state = self._prepare(var_list)
                # (plain pairs have no constraint)
                if plain is None:
                    staged = self._stage_constrained(pairs, apply_state)
        except BaseException:
            self._undo(mark)
            raise
        # Commit: every check has passed and no user code runs from here.
        # NumPy's floating-point errors are acted on once the step is whole;
        # subnormals are zero meanwhile, as in TensorFlow's kernels.
        fp_errors, token = _fpe.defer()
        mode = _fpmode.flush_denormals()
        try:
            if only_accumulate:
                for grad, var in pairs:
                    self._accumulate(grad, var)
            else:
                self._commit(pairs, staged, apply_state, accumulating)
            self._finish_call()
        finally:
            _fpmode.restore_fp_mode(mode)
            _fpe.restore(token)
        return fp_errors

    def _commit(self, pairs, staged, apply_state, accumulating):
        """Write a checked step: staged (constrained) values, dense blocks,
        every other update, the accumulators' reset, the moving averages."""
        averaged = self._ema_catch_up(pairs) if self.use_ema else ()
        blocks = {} if _packs_dense(type(self)) else None
        for grad, var in pairs:
            if id(var) in staged:
                self._write_back(var, *staged[id(var)])
            elif (blocks is not None and type(grad) is np.ndarray
                  and grad.size <= BLOCK and grad.dtype != np.float16):
                blocks.setdefault(grad.dtype, []).append((grad, var))
            else:
                self._apply_one(grad, var, apply_state)
        if blocks:
            self._apply_dense_blocks(blocks, apply_state)
        if accumulating:
            self._reset_accumulators()
        for var, rows in averaged:
            self._ema_step(var, rows)

    def _finish_call(self):
        """End of a call: the moving averages' overwrite (every
        ``ema_overwrite_frequency`` steps), then count the call."""
        if self.use_ema and self.ema_overwrite_frequency and \
                (self._step_count() + 1) % self.ema_overwrite_frequency == 0:
            self._overwrite_with_averages(self._averaged_variables(), self._call_count() + 1)
        count = self._iterations._value
        count[()] += 1          # (a scalar add: np.add on a 0-d array costs 10x more)

    def _plain_pairs(self, grads_and_vars, aggregate):
        """``(pairs, variables)`` checked in one pass when the step runs
        nothing between the checks (no aggregator, clipping, transformers or
        accumulation) and every pair is of a common kind (see
        `optimizers._kernels.checks`); else None."""
        if ((aggregate and self.gradient_aggregator is not None) or self.gradient_transformers
                or self._accumulation or self._clipvalue is not None
                or self._clipnorm is not None or self._global_clipnorm is not None):
            return None
        return plain_pairs(grads_and_vars, self._slot_owners)

    def _checked_pairs(self, grads_and_vars, aggregate, transform=True):
        """Filter, check, aggregate, clip and transform; check what came back.

        With gradient accumulation (``transform=False``) clipping and the
        transformers run on the mean, when it is applied.
        """
        pairs = check_pairs(filter_empty_gradients(grads_and_vars),
                            known=lambda a: self._slot_owners.get(id(a)) is a)
        if aggregate and self.gradient_aggregator is not None:
            pairs = check_pairs(filter_empty_gradients(
                self.gradient_aggregator(pairs), "the output of `gradient_aggregator`"))
        if transform:
            pairs = self._transform_gradients(pairs)
        check_sparse_constraints(pairs)
        self._check_distinct([v for _, v in pairs])
        return pairs

    # ------------------------------------------------------------------ #
    # Gradient accumulation (Keras 3's ``gradient_accumulation_steps``)
    #
    # ``gradient_accumulator`` holds the sum of the gradients since the last
    # update; ``accumulated_rows`` marks the rows it holds: 1 for rows of sparse
    # gradients, 2 everywhere once a dense gradient came.  A sparse gradient is
    # added row by row (summed first, as TensorFlow densifies it); the update
    # reads back only the marked rows, so nothing is densified.
    def _accumulate(self, grad, var):
        acc = as_array(self.get_slot(var, "gradient_accumulator"))
        marks = as_array(self.get_slot(var, "accumulated_rows"))
        if type(grad) is not IndexedSlices:
            np.add(grad, acc, out=acc)                 # Keras: g + acc
            marks.fill(2)
            return
        rows, summed = self._summed_rows(grad, acc.shape)
        acc2 = as_rows(acc)
        acc2[rows] = summed + acc2[rows]
        marks[rows] = np.maximum(marks[rows], 1)

    def _summed_rows(self, grad, shape):
        """``(rows, values)`` of an `IndexedSlices` for a variable of ``shape``:
        repeats summed left to right, values 2-D."""
        values = as_rows(grad.values, len(grad.indices))
        if grad._unique:
            return grad.indices, values
        return self._row_positions.dedup(values, grad.indices, shape[0] if shape else 1)

    def _repeats_summed(self, grad, arr, linked):
        """``(rows, values)`` for a sparse rule, repeats summed: `_summed_rows`,
        or with ``linked`` (the rule's kernel reads `CSRRows`, and so any
        gradient-row object of `_driver.read_gradient`) and float32 or float64
        values, `LinkedRows`: the repeats are only linked here and the kernel
        sums them as it updates each row, with the same bits."""
        if len(grad.indices) == 1 and not grad._unique:
            # One row: its sum is 0 + values (a -0.0 becomes +0.0, as when summed).
            values = as_rows(grad.values, 1)
            return grad.indices, values + values.dtype.type(0)
        if linked and not grad._unique:
            values = as_rows(grad.values, len(grad.indices))
            if (values.dtype == arr.dtype and arr.dtype.kind == "f" and arr.dtype.itemsize >= 4
                    and values.flags.c_contiguous):
                rows = self._row_positions.links(values, grad.indices,
                                                 arr.shape[0] if arr.shape else 1)
                return rows.rows, rows
        return self._summed_rows(grad, arr.shape)

    def _accumulated_mean(self, grad, var):
        """``(grad + accumulated) / k`` for the update call: an ndarray if any
        gradient of the window was dense, else an `IndexedSlices` of the rows."""
        acc = as_array(self.get_slot(var, "gradient_accumulator"))
        marks = as_array(self.get_slot(var, "accumulated_rows"))
        k = acc.dtype.type(self._accumulation)
        if type(grad) is not IndexedSlices or marks[0] == 2:
            if type(grad) is IndexedSlices:
                rows, summed = self._summed_rows(grad, acc.shape)
                dense = np.zeros_like(acc)
                as_rows(dense)[rows] = summed
                grad = dense
            return (grad + acc) / k
        held = np.flatnonzero(marks)
        acc2 = as_rows(acc)
        both = IndexedSlices._checked(
            np.concatenate([as_rows(grad.values, len(grad.indices)), acc2[held]]),
            np.concatenate([grad.indices.astype(np.int64), held]), acc.shape)
        rows, summed = self._summed_rows(both, acc.shape)
        mean = IndexedSlices._checked(
            (summed / k).reshape((len(rows),) + acc.shape[1:]), rows, acc.shape)
        mean._unique = True
        return mean

    def _reset_accumulators(self):
        """Zero every accumulator (Keras resets them all after an update)."""
        for slots in self._slots.values():
            acc = slots.get("gradient_accumulator")
            if acc is None:
                continue
            acc, marks = as_array(acc), as_array(slots["accumulated_rows"])
            if marks.size and marks[0] == 2:
                acc.fill(0)
                marks.fill(0)
            else:
                held = np.flatnonzero(marks)
                as_rows(acc)[held] = 0
                marks[held] = 0

    # ------------------------------------------------------------------ #
    # Moving averages of the variables (Keras 3's ``use_ema``)
    #
    # Keras updates every average on every call: ``a = m * a + (1 - m) * w``
    # with ``m = 0`` while the optimizer has taken no step, else
    # ``ema_momentum``.  Here a row's average is brought up to date when its
    # row changes: ``average_step`` holds, per row, how many of those updates
    # its average includes.  A row that no step touched kept its value, so
    # k missed updates are ``a = m**k * a + (1 - m**k) * w`` (or ``a = w`` if
    # one of them had ``m = 0``).  Rows updated on every call are averaged
    # exactly as Keras does; a sparse step of a rows-only optimizer costs the
    # touched rows.
    def _ema_momentum(self, dtype):
        return np.dtype(dtype).type(self.ema_momentum)

    def _first_full_update(self):
        """The first update index whose momentum is not 0 (Keras: the first
        call after the optimizer's first step)."""
        return self._accumulation or 1

    def _ema_rows(self, grad, var):
        """Rows of ``var`` this call changes: its sparse rows on a rows-only
        step, else None (every row)."""
        if type(grad) is IndexedSlices and self._sparse_touches_only_rows() \
                and getattr(var, "constraint", None) is None:
            return np.unique(grad.indices)
        return None

    def _ema_views(self, var):
        slots = self._slots[self._slot_key(var)]
        return (as_rows(as_array(var)), as_rows(as_array(slots["average"])),
                as_array(slots["average_step"]))

    def _catch_up(self, var, rows, upto):
        """Bring the averages of ``rows`` (None: all) of ``var`` up to update
        ``upto`` with the variable's current value."""
        w, avg, done = self._ema_views(var)
        where = slice(None) if rows is None else rows
        behind = upto - done[where]
        if not behind.any():
            return
        wr, ar = w[where], avg[where]
        m = self._ema_momentum(w.dtype)
        one = w.dtype.type(1)
        reset = (done[where] < self._first_full_update()) & (behind > 0)
        once = (behind == 1) & ~reset
        many = (behind > 1) & ~reset
        ar[reset] = wr[reset]
        ar[once] = m * ar[once] + (one - m) * wr[once]
        if many.any():
            power = _integer_power(float(m), behind[many])[:, None]
            ar[many] = (power * ar[many] + (1.0 - power) * wr[many]).astype(w.dtype)
        avg[where] = ar
        done[where] = upto

    def _ema_catch_up(self, pairs):
        """Before the commit: the rows this call changes catch up with the
        updates they missed (their values are still the old ones)."""
        upto = self._call_count()
        averaged = []
        for grad, var in pairs:
            rows = self._ema_rows(grad, var)
            self._catch_up(var, rows, upto)
            averaged.append((var, rows))
        return averaged

    def _ema_step(self, var, rows):
        """After the commit: this call's update of the averages of ``rows``."""
        w, avg, done = self._ema_views(var)
        where = slice(None) if rows is None else rows
        upto = self._call_count()
        if upto < self._first_full_update():
            avg[where] = w[where]
        else:
            m = self._ema_momentum(w.dtype)
            avg[where] = m * avg[where] + (w.dtype.type(1) - m) * w[where]
        done[where] = upto + 1

    def _averaged_variables(self):
        return [owner for key, owner in self._slot_owners.items()
                if owner is not None and "average" in self._slots.get(key, {})]

    def _overwrite_with_averages(self, var_list, upto):
        for var in var_list:
            self._catch_up(var, None, upto)
            as_array(var)[...] = as_array(self.get_slot(var, "average"))

    def moving_average(self, var):
        """The moving average of ``var`` as of now (a copy), with ``use_ema``."""
        with self._lock:
            if not self.use_ema:
                raise ValueError("This optimizer keeps no moving averages (use_ema=False).")
            self._catch_up(var, None, self._call_count())
            return self.get_slot(var, "average").numpy()

    def finalize_variable_values(self, var_list):
        """Set each variable of ``var_list`` to its moving average (Keras 3;
        nothing without ``use_ema``)."""
        with self._lock:
            if self.use_ema:
                var_list = self._flatten_var_list(var_list)
                for var in var_list:
                    self.get_slot(var, "average")          # KeyError if unknown
                self._overwrite_with_averages(var_list, self._call_count())

    def _mark(self):
        """What `_undo` needs to put the optimizer back as it is now.

        Before the commit a step may create ``iterations``, hyperparameter
        variables, weights and slots, and change non-slot weights (Nadam's
        momentum cache).
        """
        return (self.__dict__.copy(), self._hyper.copy(),
                len(self._weights), len(self._own_weights), len(self._slot_names),
                _checks.weight_values(self._own_weights))

    def _undo(self, mark):
        """Put the optimizer back as it was at `_mark` (a failed step)."""
        attributes, hyper, n_weights, n_own, n_names, values = mark
        created = {id(w) for w in self._weights[n_weights:]}
        if created:
            self._forget_slots(created)
        del self._weights[n_weights:]
        del self._own_weights[n_own:]
        del self._slot_names[n_names:]
        for key in set(self.__dict__) - set(attributes):
            del self.__dict__[key]
        self.__dict__.update(attributes)
        self._hyper.clear()
        self._hyper.update(hyper)
        for array, value in values:
            array[...] = value

    def _forget_slots(self, slot_ids):
        """Remove the slots whose ids are in ``slot_ids`` (an undone step's)."""
        for key in list(self._slots):
            per_var = self._slots[key]
            for name in [n for n, s in per_var.items() if id(s) in slot_ids]:
                del per_var[name]
            if not per_var:
                del self._slots[key]
                self._slot_owners.pop(key, None)
        for key in list(self._layouts):
            layout = self._layouts[key]
            layout[1] = [(s, shape) for s, shape in layout[1] if id(s) not in slot_ids]
            if not layout[1]:
                del self._layouts[key]
        self.__dict__.get("_view_cache", {}).clear()

    def _check_layouts(self, var_list):
        """Refuse variables that overlap in memory, and variables whose array,
        or a slot's, changed shape or became read-only since the slots were
        made (updates would write out of bounds).  Returns the ids of the
        arrays owning the memory of these variables and their slots."""
        owners = _checks.plain_layouts(var_list, self._slot_owners, self._layouts)
        if owners is not None:
            return owners                       # (the common case, checked in one pass)
        owners = {}
        layouts = self._layouts
        for var in var_list:
            key = self._slot_key(var)           # adopts, or refuses a copy
            arr = var._value if type(var) is Variable else var
            owner = id(arr if arr.base is None else _checks.memory_owner(arr))
            other = owners.get(owner)
            if other is not None and np.may_share_memory(arr, as_array(other)):
                raise ValueError(
                    f"Variables '{var_name(other)}' and '{var_name(var)}' share memory; "
                    "each variable of a step must have its own.")
            owners[owner] = var
            layout = None if key is None else layouts.get(key)
            if layout is None:
                continue
            if arr.shape != layout[0]:
                raise ValueError(
                    f"Variable '{var_name(var)}' has shape {arr.shape}, but its slots were made "
                    f"for shape {layout[0]}: was its array reshaped in place? Restore the "
                    "shape, or use a new variable.")
            for slot, shape in layout[1]:
                value = slot._value
                if value.shape != shape or not value.flags.writeable:
                    raise ValueError(
                        f"Slot '{slot.name}' of variable '{var_name(var)}' was reshaped or made "
                        "read-only; it cannot be updated.")
                owners[id(value)] = slot
        return owners

    @staticmethod
    def _unalias(pairs, owners):
        """Copy gradients that share memory with a variable or slot of this step.

        TensorFlow's gradients are values taken before the step; a gradient
        that is a view of an array the step writes (AdamW given the variable
        itself) must not see the update.
        """
        out = None
        for i, (grad, var) in enumerate(pairs):
            if type(grad) is IndexedSlices:
                # (indices are always a private copy: see `check_indices`; so are
                # the rows of a CSR matrix while ``values`` is unbuilt, None)
                values = grad._values
                if values is None or id(_checks.memory_owner(values)) not in owners:
                    continue
                copy = IndexedSlices(values.copy(), grad.indices, grad.dense_shape)
                copy._unique = grad._unique
                grad = copy
            elif id(grad if grad.base is None else _checks.memory_owner(grad)) in owners:
                grad = grad.copy()
            else:
                continue
            if out is None:
                out = list(pairs)
            out[i] = (grad, var)
        return pairs if out is None else out

    def _check_complex(self, pairs):
        """Refuse complex variables the optimizer has no complex update for."""
        _complex.check_complex(self, _complex_declaration(type(self)), pairs)

    def _check_step(self, pairs):
        """Subclass hook: refuse a step before anything changes (checked pairs)."""

    @staticmethod
    def _check_distinct(var_list):
        seen = {}
        for var in var_list:
            key = _var_key(var)
            if key in seen:
                what = ("appears more than once in one `apply_gradients` call; sum its "
                        "gradients first" if seen[key] is var else
                        f"is a copy of variable '{var_name(seen[key])}' of the same call; "
                        "make a new Variable from its value to train both")
                raise ValueError(f"Variable '{var_name(var)}' {what}.")
            seen[key] = var

    def _transform_gradients(self, pairs):
        """Clip (value, norm, global norm), then run ``gradient_transformers``."""
        _complex.check_clipping(self, pairs)
        if (self._clipvalue is not None or self._clipnorm is not None
                or self._global_clipnorm is not None):
            mode = _fpmode.flush_denormals()    # TensorFlow's ops: subnormals are zero
            try:
                pairs = self._clipped(pairs)
            finally:
                _fpmode.restore_fp_mode(mode)
        for i, fn in enumerate(self.gradient_transformers):
            pairs = check_pairs(filter_empty_gradients(
                fn(pairs), f"the output of `gradient_transformers[{i}]`"))
        return pairs

    def _clipped(self, pairs):
        """Clip by value, then by norm, then by global norm (as configured)."""
        if self._clipvalue is not None:
            pairs = [(clip.clip_by_value(g, self._clipvalue), v) for g, v in pairs]
        if self._clipnorm is not None:
            pairs = [(clip.clip_by_norm(g, self._clipnorm), v) for g, v in pairs]
        if self._global_clipnorm is not None and pairs:
            check_global_clip_dtypes(pairs)
            grads = clip.clip_by_global_norm([g for g, _ in pairs], self._global_clipnorm)
            pairs = list(zip(grads, [v for _, v in pairs]))
        return pairs

    def _stage_constrained(self, pairs, apply_state):
        """Update constrained variables on copies and apply their constraints.

        Returns ``{id(var): (new value, new slot values)}`` to write back at
        commit; raises (naming the variable) if a constraint raises or
        returns anything but a float array of the variable's shape.
        """
        staged = {}
        for grad, var in pairs:
            constraint = getattr(var, "constraint", None)
            if constraint is None:
                continue
            value, slots = self._update_copy(grad, var, apply_state)
            try:
                result = constraint(value)
            except Exception as exc:
                _note(exc, f"(raised by the constraint of variable '{var_name(var)}')")
                raise
            result = self._check_constraint_output(result, var)
            staged[id(var)] = (result, slots)
        return staged

    @staticmethod
    def _check_constraint_output(result, var):
        arr = as_array(var)
        try:
            result = np.asarray(result)
        except Exception:  # an object NumPy cannot read
            result = np.asarray(None)
        if result.dtype.kind != "f" and not (result.dtype.kind == arr.dtype.kind == "c"):
            raise TypeError(
                f"The constraint of variable '{var_name(var)}' returned "
                f"{type(result).__name__} of dtype {result.dtype}; expected a float array of "
                f"shape {arr.shape}.")
        if result.shape != arr.shape:
            raise ValueError(
                f"The constraint of variable '{var_name(var)}' returned shape {result.shape}; "
                f"expected {arr.shape}.")
        return result

    def _apply_dense_blocks(self, groups, apply_state):
        """Dense steps of variables of at most `BLOCK` elements (``groups``:
        dtype -> ``[(gradient, variable)]``), for a class whose dense update is
        the base class's: what `_resource_apply_dense` does on one block, one
        `_dense_block` call a variable, or one for several small variables
        packed together."""
        names = self._dense_slots()
        for dtype, group in groups.items():
            c = apply_state[(DEVICE, dtype)]
            if len(group) > 1:
                c = block_constants(c)
                small = [pair for pair in group if pair[0].size <= PACK_MAX_ELEMENTS]
                if len(small) > 1:
                    self._apply_dense_packed(small, c, names)
                    group = [pair for pair in group if pair[0].size > PACK_MAX_ELEMENTS]
            for grad, var in group:
                if names:
                    self._dense_block(c, grad.ravel(), *self._flat(var, *names))
                else:                               # (no slots: no view cache to look up)
                    self._dense_block(c, grad.ravel(), as_array(var).ravel())

    def _apply_dense_packed(self, pairs, c, names):
        """Dense steps of small variables of one dtype, through `_dense_block`
        on packed copies: up to `BLOCK` elements of gradients, variables and
        slots (``names``, from `_dense_slots`) are copied one after another
        into blocks, updated in one call and copied back."""
        # (grad, var, *slots) of each variable, flat
        pieces = [(grad.ravel(), *self._flat(var, *names)) for grad, var in pairs]
        dtype = pieces[0][1].dtype
        start = 0
        while start < len(pieces):
            stop, total = start, 0
            while stop < len(pieces) and total + pieces[stop][0].size <= BLOCK:
                total += pieces[stop][0].size
                stop += 1
            chunk = pieces[start:stop]
            packed = [np.empty(total, dtype) for _ in range(len(names) + 2)]
            for k, block in enumerate(packed):
                _packing.pack(chunk, k, block)
            self._dense_block(c, *packed)
            for k in range(1, len(packed)):
                _packing.unpack(packed[k], chunk, k)
            start = stop

    def _apply_one(self, grad, var, apply_state):
        """Update ``var`` in place (float16: in float32, rounded once).

        A float16 sparse step of an optimizer whose sparse update touches only
        the given rows (`_sparse_touches_only_rows`) copies, updates and
        writes back just those rows of the variable and its slots.
        """
        if as_array(var).dtype != np.float16:
            self._apply_update(grad, var, apply_state)
        elif type(grad) is IndexedSlices and self._sparse_touches_only_rows():
            rows, positions = np.unique(grad.indices, return_inverse=True)
            local = IndexedSlices(grad.values, positions.reshape(-1),
                                  (len(rows),) + tuple(grad.dense_shape[1:]))
            local._unique = grad._unique
            self._write_back(var, *self._update_copy(local, var, apply_state, rows), rows)
        else:
            self._write_back(var, *self._update_copy(grad, var, apply_state))

    def _sparse_touches_only_rows(self):
        """Whether a sparse step reads and writes only the rows it names, of
        the variable and of its slots.

        A class declares it with ``_sparse_rows_only`` (a bool, or a method of
        the optimizer returning one) beside its sparse update; a subclass that
        rewrites the sparse update without declaring it again gets False,
        which is always safe (float16 steps then copy whole arrays).
        """
        declared = _rows_only_declaration(type(self))
        return bool(declared(self) if callable(declared) else declared)

    def _apply_update(self, grad, var, apply_state):
        if type(grad) is IndexedSlices and _sparse_rule(type(self)):
            arr = as_array(var)
            csr = grad._csr
            if (csr is not None and grad._values is None and arr.dtype == csr.data.dtype
                    and _csr_declaration(type(self))):
                # A CSR gradient nothing has read: the kernel reads its rows directly.
                indices, values = csr.rows, csr
            elif self._sparse_sums_repeats():
                indices, values = self._repeats_summed(grad, arr, _csr_declaration(type(self)))
            else:
                indices, values = grad.indices, as_rows(grad.values, len(grad.indices))
            c = apply_state[(DEVICE, compute_dtype(arr.dtype))]
            if arr.dtype.kind == "c":
                self._complex_sparse_rows(c, var, indices, values)
            elif arr.size < _threads.PARALLEL_MIN_ELEMENTS:       # one thread, not timed
                self._sparse_rows(c, var, indices, values)
            else:
                _threads.timed(self._sparse_rows, c, var, indices, values)
            return
        dense, sparse, sparse_dup = self._appliers()
        if type(grad) is IndexedSlices:
            if grad._unique:
                sparse(grad.values, var, grad.indices, apply_state)
            else:
                sparse_dup(grad.values, var, grad.indices, apply_state)
        else:
            dense(grad, var, apply_state)

    def _appliers(self):
        """The three update methods, each called as ``f(*args, apply_state)``."""
        appliers = self.__dict__.get("_appliers_cache")
        if appliers is None:
            # As in TensorFlow, ``_resource_apply_sparse``'s signature decides
            # whether the duplicate-indices entry point gets `apply_state`.
            sparse = self._resource_apply_sparse
            appliers = (_with_apply_state(self._resource_apply_dense),
                        _with_apply_state(sparse, sparse),
                        _with_apply_state(self._resource_apply_sparse_duplicate_indices, sparse))
            self.__dict__["_appliers_cache"] = appliers
        return appliers

    @staticmethod
    def _call(method, *args):
        # TensorFlow passes `apply_state` only to methods that declare it.
        *args, apply_state = args
        if _takes_apply_state(method.__func__):
            return method(*args, apply_state=apply_state)
        return method(*args)

    def _update_copy(self, grad, var, apply_state, rows=None):
        """Apply ``var``'s update to copies of it and its slots, in the compute
        dtype (float32 for float16); return ``(new value, {slot name: new
        value})``.  ``var`` and its slots are not touched.

        With ``rows``, the copies hold only those rows (of the variable and of
        every slot) and ``grad`` indexes them by position.
        """
        def copy(array):
            return (array if rows is None else array[rows]).astype(dtype)

        dtype = compute_dtype(as_array(var).dtype)
        shadow = Variable(copy(as_array(var)), name=var_name(var))
        key = shadow._uid
        self._slots[key] = {n: Variable(copy(as_array(s)), name=s.name)
                            for n, s in self._slots.get(self._slot_key(var), {}).items()
                            if n not in _ENGINE_SLOTS}
        self._slot_owners[key] = shadow
        try:
            if isinstance(grad, IndexedSlices):
                cast = IndexedSlices(grad.values.astype(dtype), grad.indices, grad.dense_shape)
                cast._unique = grad._unique
            else:
                cast = grad.astype(dtype)
            self._apply_update(cast, shadow, apply_state)
            return shadow._value, {n: s._value for n, s in self._slots[key].items()}
        finally:
            del self._slots[key]
            del self._slot_owners[key]
            cache = self.__dict__.get("_view_cache", {})
            for k in [k for k in cache if k[0] == id(shadow)]:
                del cache[k]

    def _write_back(self, var, value, slots, rows=None):
        """Commit `_update_copy`'s results (rounded to the variable's dtype)."""
        where = Ellipsis if rows is None else rows
        as_array(var)[where] = value
        for name, slot_value in slots.items():
            as_array(self._slots[self._slot_key(var)][name])[where] = slot_value

    def _resource_apply_dense(self, grad, handle, apply_state=None):
        """Update ``handle`` in place with the dense gradient ``grad`` (override).

        Built-in optimizers do not override it: they declare their update as
        an element-wise `_dense_block`, which this method runs over
        cache-sized blocks.
        """
        c = self._coefficients(handle, apply_state)
        w, *slots = self._flat(handle, *self._dense_slots())
        g = grad.ravel()
        if w.size <= BLOCK:
            self._dense_block(c, g, w, *slots)
            return
        # (timed, so that the adaptive thread choice applies: see `optimizers.threads`)
        with _threads.kernel_timer(type(self)._dense_block):
            run_blocks(self._dense_block, block_constants(c), g, w, slots, threads_for(w.size))

    # An optimizer whose dense update is element-wise declares it as a block
    # rule: `_dense_slots` names the slots it reads and writes, in order, and
    # `_dense_block` updates equal-length flat blocks of the gradient, the
    # variable and those slots in place, with this step's coefficients ``c``
    # (scratch from ``self._scratch``).  The engine may run a block over
    # several small variables packed together: same numbers, fewer calls.
    def _dense_slots(self):
        """Names of the slots `_dense_block` takes, in order (by default the
        declared slots the optimizer has)."""
        return self._declared_slot_list

    def _dense_block(self, c, g, w, *slots):
        """Update the flat blocks ``w`` and ``slots`` in place from ``g``."""
        raise NotImplementedError("Must be implemented in subclasses.")

    def _resource_apply_sparse(self, grad, handle, indices, apply_state=None):
        """Update rows ``indices`` (unique) of ``handle`` with ``grad`` (override).

        Built-in optimizers do not override it: they declare their sparse
        update as `_sparse_rows`, which this method runs on 2-D views.
        """
        self._sparse_rows(self._coefficients(handle, apply_state), handle, indices,
                          as_rows(grad, len(indices)))

    def _resource_apply_sparse_duplicate_indices(self, grad, handle, indices, **kwargs):
        """Sum the rows of repeated indices (input order), then ``_resource_apply_sparse``
        (unless `_sparse_sums_repeats` says the update takes repeats in turn)."""
        if self._sparse_sums_repeats():
            grad, indices = self._deduplicate(grad, handle, indices)
        return self._call(self._resource_apply_sparse, grad, handle, indices,
                          kwargs.get("apply_state"))

    def _resource_scatter_add(self, x, i, v):
        """``x[i] += v`` row by row (repeated rows add up); returns ``x``.

        TensorFlow's helper for ``_resource_apply_sparse`` of custom optimizers;
        ``i`` are the rows given to that method (checked), ``v`` has shape
        ``(len(i),) + x.shape[1:]``.
        """
        np.add.at(as_array(x), np.asarray(i), np.asarray(v))
        return x

    def _resource_scatter_update(self, x, i, v):
        """``x[i] = v`` (with repeated rows, the last wins); returns ``x``."""
        as_array(x)[np.asarray(i)] = np.asarray(v)
        return x

    # An optimizer declares its sparse update as a rule: `_sparse_rows`
    # updates the variable and its slots at the given rows from 2-D values,
    # with this step's coefficients; `_sparse_sums_repeats` says whether
    # repeated indices are summed first (TensorFlow's default) or applied in
    # turn (a scatter-add); `_sparse_rows_only` whether rows not named are
    # left alone.  The engine calls `_sparse_rows` directly when the class
    # keeps the base `_resource_apply_sparse*` methods.
    def _sparse_rows(self, c, var, rows, values):
        """Update ``var`` at ``rows`` from ``values`` (``(len(rows), width)``)."""
        raise NotImplementedError("Must be implemented in subclasses.")

    def _complex_sparse_rows(self, c, var, rows, values):
        """`_sparse_rows` of a complex variable, in NumPy (the kernels are real):
        the rule the class declares in ``_complex``, or its own `_sparse_rows`
        for a class of the user's."""
        declaration = _complex_declaration(type(self))
        if declaration == "custom":
            self._sparse_rows(c, var, rows, values)
        else:
            _complex.sparse_step(self, declaration, c, var, rows, values)

    def _sparse_sums_repeats(self):
        """Whether repeated indices are summed before `_sparse_rows`."""
        return True

    def _deduplicate(self, values, var, indices):
        """Return ``(summed_values, unique_indices)``, unique in first-seen order."""
        arr = as_array(var)
        width = int(np.prod(arr.shape[1:], dtype=np.int64))
        unique, summed = self._row_positions.dedup(
            values.reshape(len(indices), width), indices, arr.shape[0])
        return summed.reshape((len(unique),) + arr.shape[1:]), unique

    # ------------------------------------------------------------------ #
    # Gradients from a loss
    def _compute_gradients(self, loss, var_list, grad_loss=None, tape=None):
        if not callable(loss) and tape is None:
            raise ValueError(
                "`tape` is required when a `Tensor` loss is passed. Received: "
                f"loss={loss!r}, tape={tape!r}.")
        if tape is None:
            if grad_loss is not None:
                raise ValueError(
                    "`grad_loss` needs a `tape`: without one, `loss()` itself returns the "
                    "gradients.")
            result = loss()
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise TypeError(
                    "Without a `tape`, `loss` must be a callable returning "
                    f"(loss_value, grads); it returned {type(result).__name__}.")
            _, grads = result
            var_list = self._flatten_var_list(var_list)
        else:
            loss_value = loss() if callable(loss) else loss
            var_list = self._flatten_var_list(var_list)
            if grad_loss is None:
                grads = tape.gradient(loss_value, var_list)
            else:
                grads = tape.gradient(loss_value, var_list, output_gradients=grad_loss)
        grads = list(grads)
        if len(grads) != len(var_list):
            raise ValueError(
                f"Got {len(grads)} gradients for {len(var_list)} variables; they must be "
                "aligned.")
        self._assert_valid_dtypes([v for g, v in zip(grads, var_list) if g is not None])
        return list(zip(grads, var_list))

    @staticmethod
    def _flatten_var_list(var_list):
        if callable(var_list):
            var_list = var_list()
        if isinstance(var_list, (Variable, np.ndarray)):
            return [var_list]
        if isinstance(var_list, dict):
            return [var_list[k] for k in sorted(var_list)]
        return list(var_list)

    @staticmethod
    def _assert_valid_dtypes(var_list):
        for i, var in enumerate(var_list):
            dtype = np.asarray(var).dtype if not isinstance(var, Variable) else var.dtype
            if dtype not in _VALID_DTYPES:
                raise ValueError(
                    f"Invalid type {dtype} for {var_name(var)}, expected: "
                    f"{[d.name for d in _VALID_DTYPES]}.")

    def minimize(self, loss, var_list, grad_loss=None, name=None, tape=None):
        """Compute gradients of ``loss`` and apply them; return `iterations`.

        Parameters
        ----------
        loss : callable or value
            Without ``tape``: a zero-argument callable returning
            ``(loss_value, grads)``, ``grads`` aligned with ``var_list``
            (SciPy's ``jac=True`` convention).  With ``tape``: the loss value
            or a callable returning it.
        var_list : list of Variable, or callable
            The variables to update; a callable is called after ``loss``.
        grad_loss : optional
            Passed to ``tape.gradient`` as ``output_gradients``.
        name : str, optional
            Ignored.
        tape : object, optional
            Anything with ``gradient(loss, var_list)``.
        """
        grads_and_vars = self._compute_gradients(loss, var_list, grad_loss=grad_loss, tape=tape)
        return self.apply_gradients(grads_and_vars, name=name)

    def get_gradients(self, loss, params):
        """Return the gradients of ``loss`` for ``params`` (legacy entry point).

        ``loss`` follows the `minimize` protocol (a callable returning
        ``(loss_value, grads)``).  A ``None`` gradient raises `ValueError`.
        """
        params = self._flatten_var_list(params)
        grads = [g for g, _ in self._compute_gradients(loss, params)]
        for grad, param in zip(grads, params):
            if grad is None:
                raise ValueError(
                    f"Variable {var_name(param)} has `None` for gradient. Please make sure "
                    "that all of your ops have a gradient defined (i.e. are differentiable). "
                    "Common ops without gradient: K.argmax, K.round, K.eval.")
        return grads

    def get_updates(self, loss, params):
        """Apply one step from ``loss`` (legacy entry point); return ``[iterations]``."""
        params = self._flatten_var_list(params)
        grads = self.get_gradients(loss, params)
        return [self.apply_gradients(zip(grads, params))]

    # ------------------------------------------------------------------ #
    # Config
    _config_keys = ()
    """The class's own config keys, in TensorFlow's order (a declaration:
    `get_config` reads each from the hyperparameter of that name, ``decay``
    from the legacy decay, anything else from the attribute of that name or,
    failing that, of that name with a leading underscore)."""

    @returns_plain
    def get_config(self):
        """Return the optimizer's configuration (TensorFlow's keys), with plain
        Python values."""
        config = {"name": self._name}
        if self._clipnorm is not None:
            config["clipnorm"] = self._clipnorm
        if self._clipvalue is not None:
            config["clipvalue"] = self._clipvalue
        if self._global_clipnorm is not None:
            config["global_clipnorm"] = self._global_clipnorm
        if self._accumulation:
            config["gradient_accumulation_steps"] = self._accumulation
        if self.use_ema:
            config.update(use_ema=True, ema_momentum=self.ema_momentum,
                          ema_overwrite_frequency=self.ema_overwrite_frequency)
        for key in self._config_keys:
            if key == "decay":
                config[key] = self._initial_decay
            elif key in self._hyper:
                config[key] = self._serialize_hyperparameter(key)
            else:
                value = getattr(self, key, _MISSING)
                config[key] = getattr(self, "_" + key) if value is _MISSING else value
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Create an optimizer from `~optimizers.Optimizer.get_config` output.

        ``lr`` is renamed to ``learning_rate``; a dict learning rate is
        deserialized as a schedule.  The given dict is not modified.
        """
        config = dict(config)
        if "lr" in config:
            config["learning_rate"] = config.pop("lr")
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(
                config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self._name!r}>"
