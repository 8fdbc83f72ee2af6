"""Hyperparameters and slots declared as data.

An optimizer class lists the hyperparameters of its constructor in
``_declared_hypers`` (`Hyper` entries, in the order of its config) and its
slots in ``_declared_slots`` (`Slot` entries, in TensorFlow's creation
order); `~optimizers.Optimizer` reads them once, when the class is created:

- ``__init__`` keeps its explicit signature (defaults live there, and only
  there) and hands its arguments over with ``self._init_declared(locals())``,
  which runs the base ``__init__``, checks every declared value (each error
  names the argument), then stores them: as `_set_hyper` hyperparameters, as
  attributes, or as private attributes (a subclass of a built-in that adds
  one calls ``super().__init__(**kwargs)``, then
  ``self._store_declared(locals())``);
- the base ``_create_slots`` creates the declared slots (each slot for every
  variable in turn, or with ``_slot_order = "variable"`` every slot of one
  variable in turn), zero or filled from a hyperparameter, shaped like the
  variable or by a function of its shape, and only while the attribute named
  by ``when`` is true;
- ``get_config`` writes the declared names, in declaration order;
- `~optimizers.Optimizer.set_weights` prepends a zero ``iterations`` to a
  list one weight short when the class sets ``_weights_may_lack_iterations``
  (TensorFlow's Keras 1 checkpoints).

TensorFlow's hooks (``_set_hyper`` in ``__init__``, ``_create_slots``,
``add_slot``, ``get_config``) still work for any subclass, and take
precedence where a class defines them.

Each check is ``check(name, value) -> value``: it raises an error naming the
argument, or returns the value to store (``epsilon`` returns 1e-7 for a
falsy value, as TensorFlow does).
"""
from ._validation import check_number, default_epsilon, is_real_number, momentum_needs_slot

__all__ = ["Hyper", "Slot", "LEARNING_RATE", "DECAY", "EPSILON", "STORES", "replaced",
           "per_row", "non_negative", "sign", "epsilon", "momentum", "as_bool", "nonzero"]

STORES = ("hyper", "attribute", "private")
"""Where a declared value is kept: ``_set_hyper(name, value)``, ``self.name``
or ``self._name``."""


class _Declaration:
    __slots__ = ()

    def __repr__(self):
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__[1:]
                           if getattr(self, f) != self._DEFAULTS[f])
        return f"{type(self).__name__}({self.name!r}{', ' if fields else ''}{fields})"


class Hyper(_Declaration):
    """One constructor argument of an optimizer.

    Parameters
    ----------
    name : str
        The argument's name, which is also its config key.  ``"decay"`` is
        the legacy keyword `Optimizer` reads; it takes that value.
    check : callable, optional
        ``check(name, value) -> value``, run before anything is stored.
    store : {"hyper", "attribute", "private"}, default="hyper"
        See `STORES`.
    alias : str, optional
        A keyword of ``**kwargs`` that overrides the argument (``lr``).
    flag : str, optional
        An attribute set at construction to whether the value is anything
        but the number 0 (a callable or a variable counts as nonzero): the
        test by which TensorFlow decides that an optional slot exists.
    config : bool, default=True
        Whether ``get_config`` writes it.
    """

    __slots__ = ("name", "check", "store", "alias", "flag", "config")
    _DEFAULTS = dict(check=None, store="hyper", alias=None, flag=None, config=True)

    def __init__(self, name, check=None, store="hyper", alias=None, flag=None, config=True):
        if store not in STORES:
            raise ValueError(
                f"Hyper {name!r}: `store` must be one of {STORES}; received {store!r}.")
        self.name, self.check, self.store = name, check, store
        self.alias, self.flag, self.config = alias, flag, config


class Slot(_Declaration):
    """One slot an optimizer keeps for each variable.

    Parameters
    ----------
    name : str
        The slot's name (``get_slot(var, name)``).
    initial : str, optional
        The name of a declared hyperparameter whose value, in the variable's
        dtype, fills the slot; zeros if None.
    shape : callable, optional
        ``shape(variable_shape) -> slot_shape``; the variable's shape if None.
    when : str, optional
        An attribute of the optimizer: the slot is created only while it is
        true (``"amsgrad"``, a `Hyper` ``flag``).  It is read when it is
        assigned, so it must be a plain attribute (not a property).
    """

    __slots__ = ("name", "initial", "shape", "when")
    _DEFAULTS = dict(initial=None, shape=None, when=None)

    def __init__(self, name, initial=None, shape=None, when=None):
        self.name, self.initial, self.shape, self.when = name, initial, shape, when


def replaced(declarations, *new):
    """``declarations`` with each entry named as one of ``new`` replaced by it."""
    by_name = {d.name: d for d in new}
    return tuple(by_name.get(d.name, d) for d in declarations)


def per_row(shape):
    """One element per row (a scalar variable is one row)."""
    return shape[:1] or (1,)


# Checks ---------------------------------------------------------------------
def non_negative(name, value):
    """A real number >= 0 (Adagrad's wording)."""
    if check_number(name, value) < 0.0:
        raise ValueError(f"{name} must be non-negative: {value}")
    return value


def sign(which):
    """A real number ``which`` ("positive" or "negative") or zero (Ftrl's wording)."""
    def check(name, value):
        check_number(name, value)
        if value > 0 if which == "negative" else value < 0:
            raise ValueError(f"`{name}` needs to be {which} or zero. Received: {name}={value}.")
        return value
    check.__qualname__ = f"sign({which!r})"
    return check


def epsilon(name, value):
    """TensorFlow's ``epsilon or 1e-7``, for real numbers only."""
    return default_epsilon(value)


def momentum(name, value):
    """TensorFlow's check of a momentum: a number in [0, 1], or a callable or
    a variable."""
    momentum_needs_slot(value)
    return value


def as_bool(name, value):
    """Any value, kept as a bool."""
    return bool(value)


def nonzero(value):
    """What a `Hyper` ``flag`` records: anything but the number 0."""
    return not (is_real_number(value) and value == 0)


# Declarations shared by the built-in optimizers ------------------------------
LEARNING_RATE = Hyper("learning_rate", alias="lr")
DECAY = Hyper("decay")
EPSILON = Hyper("epsilon", check=epsilon, store="attribute")


SLOT_ORDERS = ("slot", "variable")
"""``_slot_order``: each slot for every variable in turn (Adam: every ``m``,
then every ``v``), or every slot of one variable in turn (Ftrl)."""


def read(cls):
    """Check the declarations of optimizer class ``cls`` and derive what the
    base class uses per call: ``_config_keys`` (when ``cls`` declares its
    hyperparameters and not its config keys), ``_slot_conditions`` and
    ``_slot_lists`` (the slot names for each combination of the ``when``
    attributes, indexed by a bit mask) and ``_declared_slot_list`` (the slot
    names while no ``when`` attribute is true; an instance keeps its own
    whenever one of them is assigned)."""
    own = vars(cls)
    hypers, slots = cls._declared_hypers, cls._declared_slots
    where = f"{cls.__qualname__}._declared_hypers"
    if not isinstance(hypers, tuple) or not all(isinstance(h, Hyper) for h in hypers):
        raise TypeError(f"{where} must be a tuple of Hyper; received {hypers!r}.")
    _check_unique(where, [h.name for h in hypers])
    where = f"{cls.__qualname__}._declared_slots"
    if not isinstance(slots, tuple) or not all(isinstance(s, Slot) for s in slots):
        raise TypeError(f"{where} must be a tuple of Slot; received {slots!r}.")
    _check_unique(where, [s.name for s in slots])
    names = {h.name for h in hypers}
    for slot in slots:
        if slot.initial is not None and slot.initial not in names:
            raise ValueError(
                f"{where}: slot {slot.name!r} is filled from {slot.initial!r}, which is not "
                f"a declared hyperparameter (declared: {sorted(names)}).")
    if cls._slot_order not in SLOT_ORDERS:
        raise ValueError(
            f"{cls.__qualname__}._slot_order must be one of {SLOT_ORDERS}; received "
            f"{cls._slot_order!r}.")
    if "_declared_hypers" in own and "_config_keys" not in own:
        cls._config_keys = tuple(h.name for h in hypers if h.config)
    # The slot list for each combination of the conditions: the list in use
    # is picked when a condition is assigned, not on every call.
    conditions = list(dict.fromkeys(s.when for s in slots if s.when is not None))
    cls._slot_conditions = tuple((1 << i, attribute) for i, attribute in enumerate(conditions))
    cls._slot_lists = tuple(
        tuple(s.name for s in slots
              if s.when is None or key & (1 << conditions.index(s.when)))
        for key in range(1 << len(conditions)))
    cls._slot_condition_names = frozenset(conditions)
    cls._declared_slot_list = cls._slot_lists[0]


def _check_unique(where, names):
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{where} declares {repeated} more than once.")
