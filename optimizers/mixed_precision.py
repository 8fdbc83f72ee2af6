"""Loss scaling for float16 training: `LossScaleOptimizer`.

A float16 gradient underflows to zero below about 6e-8.  Multiplying the
loss by a large factor (the *loss scale*) before the backward pass lifts
small gradients into float16's range; dividing the gradients by the same
factor before the update gives the true gradients back.  A scale that is too
large makes some gradient overflow to inf: that step is skipped and the
scale halved.  This module is TensorFlow 2.4's
``tf.keras.mixed_precision.LossScaleOptimizer``.
"""
import numbers

import numpy as np

from . import _fpe, _registry
from ._config import returns_plain
from ._registry import deserialize, serialize
from ._validation import (check_pairs, check_sparse_constraints, filter_empty_gradients,
                          is_real_number)
from .base import Optimizer
from .sparse import IndexedSlices, is_sparse
from .variables import Variable, as_array, var_name

__all__ = ["LossScaleOptimizer"]

_DEFAULT_INITIAL_SCALE = 2.0 ** 15
_DEFAULT_GROWTH_STEPS = 2000
_MULTIPLIER = np.float32(2)


def _grad_dtype(grad):
    """The dtype of a gradient's values, or None if it has none."""
    if isinstance(grad, np.ndarray):
        return grad.dtype
    if is_sparse(grad):
        data = getattr(grad, "data", None)
        if data is None:
            data = getattr(grad, "values", None)
        return getattr(data, "dtype", None)
    return getattr(grad, "dtype", None)


def _all_finite(pairs):
    """Whether every gradient of checked ``pairs`` holds only finite numbers."""
    for grad, _ in pairs:
        values = grad.values if isinstance(grad, IndexedSlices) else grad
        if not np.isfinite(values).all():
            return False
    return True


def _scaled(grad, factor):
    """``grad`` times ``factor`` (cast to the gradient's dtype), same kind of gradient."""
    if isinstance(grad, IndexedSlices):
        values = np.asarray(grad.values)
        return IndexedSlices(values * values.dtype.type(factor), grad.indices, grad.dense_shape)
    if is_sparse(grad) and hasattr(grad, "data"):        # scipy.sparse
        out = grad.copy()
        out.data = out.data * out.data.dtype.type(factor)
        return out
    if hasattr(grad, "values") and hasattr(grad, "indices") and hasattr(grad, "dense_shape"):
        values = np.asarray(grad.values)
        return IndexedSlices(values * values.dtype.type(factor), np.asarray(grad.indices),
                             tuple(np.asarray(grad.dense_shape).tolist()))
    array = np.asarray(grad)
    if array.dtype.kind != "f":
        raise TypeError(f"Gradients must be float arrays; received dtype {array.dtype}.")
    return array * array.dtype.type(factor)


class LossScaleOptimizer(Optimizer):
    r"""An optimizer that scales the loss and unscales the gradients (TensorFlow 2.4's).

    Wraps ``inner_optimizer``: `get_scaled_loss` multiplies the loss by the
    loss scale :math:`S`, `get_unscaled_gradients` divides gradients by it,
    and, with ``dynamic=True`` (the default), `apply_gradients` skips the
    step of any call whose gradients hold an inf or a NaN; the scale adapts:
    halved on a non-finite step, doubled after ``dynamic_growth_steps``
    finite steps in a row.  A fixed scale (``dynamic=False``) never skips a
    step, as in TensorFlow: non-finite gradients are applied.

    Parameters
    ----------
    inner_optimizer : Optimizer
        The optimizer that applies the (unscaled) gradients.  It cannot be
        another `LossScaleOptimizer`, nor an optimizer already wrapped by one.
    dynamic : bool, default=True
        Adapt the loss scale (``True``) or keep ``initial_scale`` fixed.
    initial_scale : float, optional
        The first loss scale; default :math:`2^{15}` when ``dynamic``.
        Required when ``dynamic=False``.
    dynamic_growth_steps : int, optional
        Finite steps in a row after which a dynamic scale doubles; default
        2000.  Must be ``None`` when ``dynamic=False``.

    Raises
    ------
    TypeError
        If ``inner_optimizer`` is not an `Optimizer` or is a
        `LossScaleOptimizer`, if ``dynamic`` is not a bool, or if
        ``initial_scale`` or ``dynamic_growth_steps`` is not a number.
    ValueError
        If ``inner_optimizer`` is already wrapped, if ``initial_scale`` is
        missing with ``dynamic=False``, if ``dynamic_growth_steps`` is given
        with ``dynamic=False``, if ``initial_scale`` is not a positive finite
        number or ``dynamic_growth_steps`` not a positive integer.

    Notes
    -----
    Each `apply_gradients` call with a dynamic scale :math:`S` (float32) and a
    count :math:`c` of finite steps in a row does

    .. math::

       \text{all finite:}\quad
       (S, c) \leftarrow \begin{cases}
           (2S, 0) & \text{if } c + 1 \ge N \text{ and } 2S < \infty \\
           (S, 0) & \text{if } c + 1 \ge N \text{ and } 2S = \infty \\
           (S, c + 1) & \text{otherwise}
       \end{cases}

       \text{some inf or NaN:}\quad (S, c) \leftarrow (\max(S / 2, 1), 0)

    where :math:`N` is ``dynamic_growth_steps``.  On a finite step the inner
    optimizer applies the gradients as given (unscale them first with
    `get_unscaled_gradients`).  On a non-finite step, as in TensorFlow, no
    variable or slot changes but ``iterations`` (the inner optimizer's)
    still advances by one.  Finiteness is judged on the gradients as passed
    (after ``gradient_aggregator``, before clipping): the values of an
    `~optimizers.IndexedSlices`, the stored entries of a ``scipy.sparse``
    matrix.

    Gradients are checked first, as `Optimizer.apply_gradients` checks them:
    a malformed call raises and changes nothing, loss scale and counter
    included.  A float16 variable takes float16 gradients only: a float32
    gradient for it is refused with a `TypeError` that says to cast the
    unscaled gradient with ``.astype(np.float16)``.  (Unscale in float32
    first, then cast: a value too large for float16 becomes inf, and the
    step is skipped.)

    Attributes other than the wrapper's own (``learning_rate``, ``lr``,
    ``beta_1``, ...) are read from and written to the inner optimizer, as in
    TensorFlow; so are ``iterations``, the slots and the clipping settings.
    `weights` (and `get_weights` / `set_weights`) are the inner optimizer's
    followed by the loss scale and the counter (dynamic only); TensorFlow
    keeps those two out of ``get_weights`` and saves them in checkpoints
    only.  `~optimizers.Checkpoint` saves them as
    ``optimizer/weights/loss_scale/current_loss_scale`` and
    ``optimizer/weights/loss_scale/good_steps``.

    Without a ``tape``, `~optimizers.Optimizer.minimize` applies the
    gradients that ``loss()`` returns as they are (they are the loss's own
    gradients); with a ``tape`` the loss is scaled before ``tape.gradient``
    and the gradients unscaled after, as TensorFlow does.

    Examples
    --------
    >>> import numpy as np
    >>> from optimizers import SGD, LossScaleOptimizer, Variable
    >>> opt = LossScaleOptimizer(SGD(0.25), initial_scale=8.0, dynamic_growth_steps=2)
    >>> w = Variable(np.ones(2, np.float32), name="w")
    >>> scaled = opt.get_scaled_loss(np.float32(0.5))
    >>> float(scaled)
    4.0
    >>> grads = opt.get_unscaled_gradients([np.array([8.0, np.inf], np.float32)])
    >>> _ = opt.apply_gradients(zip(grads, [w]))      # inf: skipped, scale halved
    >>> w.numpy(), float(opt.loss_scale), int(opt.iterations)
    (array([1., 1.], dtype=float32), 4.0, 1)
    >>> for _ in range(2):
    ...     _ = opt.apply_gradients([(np.ones(2, np.float32), w)])
    >>> w.numpy(), float(opt.loss_scale)                # two finite steps: doubled
    (array([0.5, 0.5], dtype=float32), 8.0)
    """

    _is_wrapper = True

    def __init__(self, inner_optimizer, dynamic=True, initial_scale=None,
                 dynamic_growth_steps=None):
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(
                "`inner_optimizer` must be an instance of optimizers.Optimizer; received "
                f"{inner_optimizer!r} ({type(inner_optimizer).__name__}).")
        if not isinstance(dynamic, (bool, np.bool_)):
            raise TypeError(
                f"`dynamic` argument to LossScaleOptimizer must be a bool; received "
                f"{dynamic!r}.")
        if isinstance(inner_optimizer, LossScaleOptimizer):
            raise TypeError(
                "LossScaleOptimizer cannot wrap another LossScaleOptimizer; received "
                f"{inner_optimizer!r} as `inner_optimizer`.")
        if inner_optimizer.__dict__.get("_is_wrapped_by_loss_scale_optimizer", False):
            raise ValueError(
                "`inner_optimizer` is already wrapped by a LossScaleOptimizer; an optimizer "
                "can be wrapped by one LossScaleOptimizer only.")
        dynamic = bool(dynamic)
        if initial_scale is not None:
            if not is_real_number(initial_scale):
                raise TypeError(
                    f"`initial_scale` must be a number; received {initial_scale!r}.")
            if not (np.isfinite(float(initial_scale)) and float(initial_scale) > 0):
                raise ValueError(
                    f"`initial_scale` must be a positive finite number; received "
                    f"{initial_scale!r}.")
        if dynamic:
            if initial_scale is None:
                initial_scale = _DEFAULT_INITIAL_SCALE
            if dynamic_growth_steps is None:
                dynamic_growth_steps = _DEFAULT_GROWTH_STEPS
            if (isinstance(dynamic_growth_steps, (bool, np.bool_))
                    or not isinstance(dynamic_growth_steps, numbers.Integral)):
                raise TypeError(
                    f"`dynamic_growth_steps` must be an integer; received "
                    f"{dynamic_growth_steps!r}.")
            if dynamic_growth_steps < 1:
                raise ValueError(
                    f"`dynamic_growth_steps` must be >= 1; received {dynamic_growth_steps!r}.")
            dynamic_growth_steps = int(dynamic_growth_steps)
        else:
            if initial_scale is None:
                raise ValueError('"initial_scale" must be specified if "dynamic" is False.')
            if dynamic_growth_steps is not None:
                raise ValueError(
                    '"dynamic_growth_steps" must be None if "dynamic" is False, but got: '
                    f"{dynamic_growth_steps!r}.")
        d = self.__dict__
        d["_optimizer"] = inner_optimizer
        d["_dynamic"] = dynamic
        d["_initial_scale"] = float(initial_scale)
        d["_growth_steps"] = dynamic_growth_steps
        prefix = f"{inner_optimizer.name}/loss_scale/"
        if dynamic:
            d["_current_loss_scale"] = Variable(np.float32(initial_scale),
                                                name=prefix + "current_loss_scale",
                                                trainable=False)
            d["_counter"] = Variable(np.int64(0), name=prefix + "good_steps", trainable=False)
            d["_own_state"] = [d["_current_loss_scale"], d["_counter"]]
        else:
            d["_fixed_scale"] = np.float32(initial_scale)
            d["_own_state"] = []
        inner_optimizer.__dict__["_is_wrapped_by_loss_scale_optimizer"] = True

    # ------------------------------------------------------------------ #
    # Delegation to the inner optimizer
    def __getattr__(self, name):
        # Only reached when normal lookup fails: hyperparameters of the inner one.
        inner = self.__dict__.get("_optimizer")
        if inner is not None and not name.startswith("__"):
            lookup = "learning_rate" if name == "lr" else name
            if lookup in inner.__dict__.get("_hyper", {}):
                return inner._get_hyper(lookup)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        inner = self.__dict__.get("_optimizer")
        lookup = "learning_rate" if name == "lr" else name
        if (inner is not None and lookup in inner._hyper and lookup not in self.__dict__
                and not hasattr(type(self), lookup)):
            inner._set_hyper(lookup, value)
        else:
            object.__setattr__(self, name, value)

    def __dir__(self):
        names = set(object.__dir__(self)) | set(self._optimizer._hyper)
        if "learning_rate" in self._optimizer._hyper:
            names.add("lr")
        return sorted(names)

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)

    @property
    def inner_optimizer(self):
        """The wrapped `Optimizer`."""
        return self._optimizer

    @property
    def name(self):
        """The inner optimizer's name (the wrapper adds no name of its own)."""
        return self._optimizer.name

    @property
    def _name(self):
        return self._optimizer._name

    @property
    def _lock(self):
        return self._optimizer._lock

    @property
    def _hyper(self):
        return self._optimizer._hyper

    @property
    def _slots(self):
        return self._optimizer._slots

    @property
    def _slot_owners(self):
        return self._optimizer._slot_owners

    def _slot_key(self, var, create=False):
        return self._optimizer._slot_key(var, create)

    @property
    def iterations(self):
        """The inner optimizer's ``iterations``: it counts skipped steps too."""
        return self._optimizer.iterations

    @iterations.setter
    def iterations(self, variable):
        self._optimizer.iterations = variable

    @property
    def clipnorm(self):
        """The inner optimizer's ``clipnorm``."""
        return self._optimizer.clipnorm

    @clipnorm.setter
    def clipnorm(self, value):
        self._optimizer.clipnorm = value

    @property
    def global_clipnorm(self):
        """The inner optimizer's ``global_clipnorm``."""
        return self._optimizer.global_clipnorm

    @global_clipnorm.setter
    def global_clipnorm(self, value):
        self._optimizer.global_clipnorm = value

    @property
    def clipvalue(self):
        """The inner optimizer's ``clipvalue``."""
        return self._optimizer.clipvalue

    @clipvalue.setter
    def clipvalue(self, value):
        self._optimizer.clipvalue = value

    @property
    def gradient_aggregator(self):
        """The inner optimizer's ``gradient_aggregator`` (run before the finiteness
        check, so that every replica sees the same verdict)."""
        return self._optimizer.gradient_aggregator

    @gradient_aggregator.setter
    def gradient_aggregator(self, value):
        self._optimizer.gradient_aggregator = value

    @property
    def gradient_transformers(self):
        """The inner optimizer's ``gradient_transformers``."""
        return self._optimizer.gradient_transformers

    @gradient_transformers.setter
    def gradient_transformers(self, value):
        self._optimizer.gradient_transformers = value

    def _set_hyper(self, name, value):
        self._optimizer._set_hyper(name, value)

    def _get_hyper(self, name, dtype=None):
        return self._optimizer._get_hyper(name, dtype)

    def _serialize_hyperparameter(self, name):
        return self._optimizer._serialize_hyperparameter(name)

    def add_slot(self, var, slot_name, initializer="zeros", shape=None):
        """The inner optimizer's `~optimizers.Optimizer.add_slot`."""
        return self._optimizer.add_slot(var, slot_name, initializer, shape)

    def get_slot(self, var, slot_name):
        """The inner optimizer's `~optimizers.Optimizer.get_slot`."""
        return self._optimizer.get_slot(var, slot_name)

    def get_slot_names(self):
        """The inner optimizer's `~optimizers.Optimizer.get_slot_names`."""
        return self._optimizer.get_slot_names()

    def add_weight(self, *args, **kwargs):
        """The inner optimizer's `~optimizers.Optimizer.add_weight`."""
        return self._optimizer.add_weight(*args, **kwargs)

    def build(self, var_list):
        """The inner optimizer's `~optimizers.Optimizer.build`."""
        self._optimizer.build(var_list)

    def _create_all_weights(self, var_list):
        self._optimizer._create_all_weights(var_list)

    def _mark(self):
        return self._optimizer._mark(), [w._value.copy() for w in self._own_state]

    def _undo(self, mark):
        inner_mark, values = mark
        self._optimizer._undo(inner_mark)
        for weight, value in zip(self._own_state, values):
            weight._value[...] = value

    def _step_count(self):
        return self._optimizer._step_count()

    # ------------------------------------------------------------------ #
    # The loss scale
    @property
    def dynamic(self):
        """bool: whether the loss scale adapts."""
        return self._dynamic

    @property
    def loss_scale(self):
        """numpy.float32: the current loss scale (a copy)."""
        if self._dynamic:
            return np.float32(self._current_loss_scale._value[()])
        return self._fixed_scale

    @property
    def dynamic_counter(self):
        """`Variable` (int64) of finite steps since the last change of a dynamic
        scale; ``None`` when the scale is fixed."""
        return self._counter if self._dynamic else None

    @property
    def initial_scale(self):
        """float: the loss scale the optimizer started with."""
        return self._initial_scale

    @property
    def dynamic_growth_steps(self):
        """int or None: finite steps after which a dynamic scale doubles."""
        return self._growth_steps

    def get_scaled_loss(self, loss):
        """Return ``loss`` times the loss scale.

        Parameters
        ----------
        loss : float, ndarray or callable
            A value is multiplied by the scale cast to its dtype (a Python
            number by the scale as a float); a callable gives a callable
            that calls it and scales the result.
        """
        if callable(loss) and not isinstance(loss, (np.ndarray, np.generic, Variable)):
            def scaled_loss():
                return self.get_scaled_loss(loss())
            return scaled_loss
        if isinstance(loss, (np.ndarray, np.generic, Variable)):
            value = np.asarray(loss)
            if value.dtype.kind != "f":
                raise TypeError(f"`loss` must be a float value; received dtype {value.dtype}.")
            return value * value.dtype.type(self.loss_scale)
        if is_real_number(loss):
            return loss * float(self.loss_scale)
        raise TypeError(f"`loss` must be a number, an array or a callable; received "
                        f"{type(loss).__name__}.")

    def get_unscaled_gradients(self, grads):
        """Return ``grads`` divided by the loss scale, as a list.

        Each gradient is multiplied by :math:`1 / S` (computed in float32, then
        cast to the gradient's dtype, as TensorFlow does): an ndarray as a
        whole, an `~optimizers.IndexedSlices` in its values (indices kept), a
        ``scipy.sparse`` matrix in its stored entries.  ``None`` stays ``None``.
        """
        reciprocal = np.float32(1) / self.loss_scale
        return [None if g is None else _scaled(g, reciprocal) for g in grads]

    # ------------------------------------------------------------------ #
    # Steps
    @staticmethod
    def _check_half_precision(pairs):
        for grad, var in pairs:
            if grad is None or not isinstance(var, (Variable, np.ndarray)):
                continue
            if as_array(var).dtype == np.float16 and _grad_dtype(grad) == np.float32:
                raise TypeError(
                    f"Gradient for variable '{var_name(var)}' has dtype float32; the variable "
                    "is float16. Cast the unscaled gradient to the variable's dtype "
                    "(`grad.astype(np.float16)`, or the values of an IndexedSlices) before "
                    "applying it.")

    def _update_loss_scale(self, finite):
        if not self._dynamic:
            return
        scale = self._current_loss_scale._value
        counter = self._counter._value
        if finite:
            if counter + 1 >= self._growth_steps:
                with np.errstate(over="ignore"):
                    grown = scale * _MULTIPLIER
                if np.isfinite(grown):
                    scale[...] = grown
                counter[...] = 0
            else:
                counter[...] = counter + 1
        else:
            scale[...] = max(scale / _MULTIPLIER, np.float32(1))
            counter[...] = 0

    def apply_gradients(self, grads_and_vars, name=None, experimental_aggregate_gradients=True):
        """Apply the gradients with the inner optimizer unless one is not finite.

        Parameters are those of `Optimizer.apply_gradients`.  Returns
        ``iterations``, which advances on skipped steps too.  The loss scale
        is updated after the step (see the class notes).
        """
        inner = self._optimizer
        with inner._lock:
            raw = filter_empty_gradients(grads_and_vars)
            self._check_half_precision(raw)
            pairs = check_pairs(raw, known=lambda a: inner._slot_owners.get(id(a)) is a)
            if experimental_aggregate_gradients and inner.gradient_aggregator is not None:
                pairs = check_pairs(filter_empty_gradients(
                    inner.gradient_aggregator(pairs), "the output of `gradient_aggregator`"))
            # As in TensorFlow, only a dynamic scale skips steps.
            finite = _all_finite(pairs) if self._dynamic else True
            fp_errors = None
            if finite:
                # (a floating-point error of the update is acted on once the
                # loss scale is updated too)
                fp_errors = inner._apply_gradients(pairs, False)
            else:
                check_sparse_constraints(pairs)
                inner._check_distinct([v for _, v in pairs])
                count = inner.iterations._value
                np.add(count, 1, out=count)
            self._update_loss_scale(finite)
            if fp_errors:
                _fpe.report(fp_errors)
            return inner.iterations

    def _compute_gradients(self, loss, var_list, grad_loss=None, tape=None):
        if tape is None:
            return self._optimizer._compute_gradients(loss, var_list, grad_loss=grad_loss)
        pairs = self._optimizer._compute_gradients(self.get_scaled_loss(loss), var_list,
                                                   grad_loss=grad_loss, tape=tape)
        grads = self.get_unscaled_gradients([g for g, _ in pairs])
        return list(zip(grads, [v for _, v in pairs]))

    # ------------------------------------------------------------------ #
    # State
    @property
    def weights(self):
        """The inner optimizer's weights, then the loss scale and the counter
        (when dynamic)."""
        return self._optimizer.weights + list(self._own_state)

    def variables(self):
        """Return `weights`."""
        return self.weights

    def get_weights(self):
        """The values of `weights`: the inner optimizer's, then (dynamic) the
        loss scale (float32) and the counter (int64)."""
        return self._optimizer.get_weights() + [w.numpy()[()] for w in self._own_state]

    def set_weights(self, weights):
        """Set `weights` from values as `get_weights` gives them; all or nothing."""
        with self._lock:
            weights = list(weights)
            inner = self._optimizer
            n_inner = len(inner.weights)
            expected = n_inner + len(self._own_state)
            if len(weights) != expected:
                raise ValueError(
                    f"You called `set_weights(weights)` on optimizer {self.name} with a weight "
                    f"list of length {len(weights)}, but the optimizer was expecting "
                    f"{expected} weights ({n_inner} of the inner optimizer, then "
                    f"{len(self._own_state)} of the loss scale).")
            own = []
            for param, weight in zip(self._own_state, weights[n_inner:]):
                value = np.asarray(weight)
                if value.dtype.kind not in "biuf" or value.shape != ():
                    raise ValueError(
                        f"Weight '{param.name}' must be set from a real scalar; received "
                        f"{weight!r}.")
                value = value.astype(param.dtype)
                if param is self._current_loss_scale and not (
                        np.isfinite(value) and value >= 1):
                    raise ValueError(
                        f"Weight '{param.name}' (the loss scale) must be finite and >= 1; "
                        f"received {weight!r}.")
                if param is self._counter and value < 0:
                    raise ValueError(
                        f"Weight '{param.name}' (a step count) must be >= 0; received "
                        f"{weight!r}.")
                own.append(value)
            inner.set_weights(weights[:n_inner])
            for param, value in zip(self._own_state, own):
                param._value[...] = value

    # ------------------------------------------------------------------ #
    # Config
    @returns_plain
    def get_config(self):
        """TensorFlow's keys: ``inner_optimizer`` (as `optimizers.serialize` gives
        it), ``dynamic``, ``initial_scale``, ``dynamic_growth_steps``."""
        return {"inner_optimizer": serialize(self._optimizer), "dynamic": self._dynamic,
                "initial_scale": self._initial_scale,
                "dynamic_growth_steps": self._growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Create the wrapper, deserializing ``inner_optimizer``; the given dict is
        not modified."""
        config = dict(config)
        if "loss_scale" in config:
            raise ValueError(
                "This config has a `loss_scale` key (TensorFlow 2.3's experimental "
                "LossScaleOptimizer); use `dynamic`, `initial_scale` and "
                "`dynamic_growth_steps` instead.")
        inner = config.get("inner_optimizer")
        if isinstance(inner, dict):
            config["inner_optimizer"] = deserialize(inner, custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return (f"<LossScaleOptimizer inner={self._optimizer!r} dynamic={self._dynamic} "
                f"loss_scale={float(self.loss_scale):g}>")


# Registered by class name only: the module name is not an optimizer.
_registry._CLASSES.pop("mixed_precision", None)
