"""Learning-rate schedules with the numerics of ``tf.keras.optimizers.schedules`` (TF 2.4).

A schedule is a callable ``schedule(step) -> learning rate`` that an optimizer
calls once per step with its ``iterations`` count (before the increment).
Every schedule here reproduces TensorFlow 2.4 operation by operation: the
computation dtype is the dtype TensorFlow gives ``initial_learning_rate``
(``float32`` for a Python number), the step and all parameters are cast to it,
every intermediate result is rounded to it, and the operations are applied in
the same order. The result is a NumPy scalar of that dtype (``np.float32``
for Python-number arguments).

Notes
-----
Where TensorFlow accepts arguments that make a schedule meaningless, this
module raises at construction instead of producing ``inf``/``nan`` or failing
later:

- ``decay_steps`` (``first_decay_steps`` for :class:`CosineDecayRestarts`)
  must be a number greater than zero; TensorFlow divides by it silently.
- ``t_mul`` must be greater than zero; TensorFlow takes its logarithm.
- :class:`PiecewiseConstantDecay` needs at least one boundary and boundaries
  in non-decreasing order; TensorFlow fails with an ``IndexError`` or an
  exclusivity error only when the schedule is called.

Scalar ``pow``, ``cos`` and ``log`` call the C library's function of the
computation dtype (``powf``/``cosf``/``logf`` for ``float32``), as
TensorFlow's CPU kernels do for a scalar, never NumPy's run-time-dispatched
SIMD code, which can differ by an ulp: the numbers are the same on every CPU.

Floating-point edge cases that TensorFlow lets through (a negative step, a
``t_mul < 1`` schedule run past its total length) give the same ``nan`` or
``inf`` as TensorFlow, without NumPy warnings.
"""
import abc
import math
import numbers

import numpy as np

from . import _libm
from ._config import plain_configs_in_subclasses

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
           "LinearCosineDecay", "NoisyLinearCosineDecay", "serialize", "deserialize"]

_INT32 = np.iinfo(np.int32)


# ---------------------------------------------------------------------- #
# Conversions mirroring ``tf.convert_to_tensor`` and ``tf.cast``
def _as_tensor(value):
    """Convert ``value`` the way ``tf.convert_to_tensor`` would.

    Python floats become ``float32``, Python integers ``int32`` (``int64``
    when out of range) and Python booleans ``bool``; NumPy scalars, arrays
    and array-likes (``__array__``) keep their dtype.
    """
    if isinstance(value, np.generic):  # np.float64 is also a Python float
        return np.asarray(value)
    if isinstance(value, bool):
        return np.asarray(value, dtype=np.bool_)
    if isinstance(value, int):
        in_range = _INT32.min <= value <= _INT32.max
        return np.asarray(value, dtype=np.int32 if in_range else np.int64)
    if isinstance(value, float):
        return np.asarray(value, dtype=np.float32)
    return np.asarray(value)


def _compute_dtype(initial_learning_rate):
    """Dtype a schedule computes in: that of ``initial_learning_rate`` as a tensor.

    Integer and boolean learning rates (which TensorFlow cannot decay) are
    computed in ``float32``.
    """
    dtype = _as_tensor(initial_learning_rate).dtype
    return dtype if dtype.kind == "f" else np.dtype(np.float32)


def _cast(value, dtype):
    """``tf.cast(value, dtype)`` for a scalar, returned as a NumPy scalar."""
    return _as_tensor(value).astype(dtype)[()]


def _step_array(step):
    """Convert ``step`` to a 0-d array, checking that it is a real scalar."""
    try:
        array = _as_tensor(step)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`step` must be a real number or a 0-d array. Received: step={step!r}") from exc
    if array.ndim != 0:
        raise ValueError(
            f"`step` must be a scalar; received an array of shape {array.shape}.")
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"`step` must be a real number or a 0-d array. Received: step={step!r} "
            f"with dtype {array.dtype}.")
    return array


def _cast_step(step, dtype):
    """The step cast to the computation dtype, as a NumPy scalar."""
    return _step_array(step).astype(dtype)[()]


# ---------------------------------------------------------------------- #
# Scalar cos and log as TensorFlow's CPU kernels compute them (the C library's)
def _cos(x):
    return _libm.cos(x)


def _log(x):
    return _libm.log(x)


# ---------------------------------------------------------------------- #
# Argument checks
def _is_real_scalar(value):
    if isinstance(value, numbers.Real):
        return True
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return False
    return array.ndim == 0 and array.dtype.kind in "biuf"


def _check_real(name, value):
    """Raise ``TypeError`` unless ``value`` is a real scalar."""
    if not _is_real_scalar(value):
        raise TypeError(f"`{name}` must be a real number. Received: {name}={value!r}")


def _check_positive(name, value):
    """Raise unless ``value`` is a real scalar greater than zero."""
    _check_real(name, value)
    if not value > 0:
        raise ValueError(f"`{name}` must be greater than 0. Received: {name}={value!r}")


def _check_name(name):
    if name is not None and not isinstance(name, str):
        raise TypeError(f"`name` must be a string or None. Received: name={name!r}")


# ---------------------------------------------------------------------- #
# Schedules
class LearningRateSchedule(abc.ABC):
    """Base class of serializable learning-rate schedules.

    Subclasses implement ``__call__(step)``, returning the learning rate for
    ``step``, and ``get_config()``, returning the constructor arguments as a
    dict, so that ``cls.from_config(schedule.get_config())`` rebuilds an
    equal schedule.

    See Also
    --------
    serialize, deserialize
    """

    @abc.abstractmethod
    def __call__(self, step):
        """Learning rate at ``step``.

        Parameters
        ----------
        step : int, float, NumPy scalar, 0-d array or array-like
            The optimizer's step count before this step's increment.

        Returns
        -------
        numpy.floating
            The learning rate.
        """
        raise NotImplementedError("Learning rate schedule must override __call__")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        plain_configs_in_subclasses(cls)

    @abc.abstractmethod
    def get_config(self):
        """Constructor arguments of this schedule, as a dict of plain Python values."""
        raise NotImplementedError("Learning rate schedule must override get_config")

    @classmethod
    def from_config(cls, config):
        """Build a schedule from the output of :meth:`get_config`.

        Parameters
        ----------
        config : dict
            Keyword arguments for the constructor. Not modified.

        Returns
        -------
        LearningRateSchedule
        """
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _StepDecay(LearningRateSchedule):
    """Shared arguments of `ExponentialDecay` and `InverseTimeDecay`.

    Both compute ``p = step / decay_steps`` (floored when ``staircase``) in
    the computation dtype and apply ``_decay(lr0, decay_rate, p)``.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        _check_real("initial_learning_rate", initial_learning_rate)
        _check_positive("decay_steps", decay_steps)
        _check_real("decay_rate", decay_rate)
        _check_name(name)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        dtype = _compute_dtype(self.initial_learning_rate)
        lr0 = _cast(self.initial_learning_rate, dtype)
        decay_steps = _cast(self.decay_steps, dtype)
        decay_rate = _cast(self.decay_rate, dtype)
        step = _cast_step(step, dtype)
        with np.errstate(all="ignore"):
            p = step / decay_steps
            if self.staircase:
                p = np.floor(p)
            return self._decay(lr0, decay_rate, p)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_StepDecay):
    r"""Exponential decay of the learning rate.

    Parameters
    ----------
    initial_learning_rate : float
        Learning rate at step 0. Its dtype as a tensor (``float32`` for a
        Python number) is the computation dtype.
    decay_steps : int or float
        Number of steps over which the rate is multiplied by ``decay_rate``.
        Must be greater than 0.
    decay_rate : float
        Multiplier applied every ``decay_steps`` steps.
    staircase : bool, default=False
        Decay in discrete intervals (the exponent is floored).
    name : str, optional
        Name kept in the config.

    Raises
    ------
    TypeError
        If a numeric argument is not a real number.
    ValueError
        If ``decay_steps`` is not greater than 0.

    Notes
    -----
    In the computation dtype, with ``p = step / decay_steps`` (floored when
    ``staircase``):

    .. math:: \mathrm{lr} = \mathrm{lr}_0 \cdot \mathrm{decay\_rate}^{p}

    Examples
    --------
    >>> s = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> s(10)
    np.float32(0.05)
    """

    def _decay(self, lr0, decay_rate, p):
        return lr0 * _libm.power(decay_rate, p)


class PiecewiseConstantDecay(LearningRateSchedule):
    r"""Piecewise-constant learning rate between step boundaries.

    Parameters
    ----------
    boundaries : sequence of numbers
        Increasing step boundaries, one fewer than ``values``.
    values : sequence of numbers
        Learning rate for each interval: ``values[0]`` up to and including
        ``boundaries[0]``, ``values[i]`` for
        ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after
        ``boundaries[-1]``.
    name : str, optional
        Name kept in the config.

    Raises
    ------
    ValueError
        If ``len(boundaries) != len(values) - 1`` (TensorFlow's message), if
        there are no boundaries, or if they decrease.
    TypeError
        If a boundary or value is not a real number.

    Notes
    -----
    With boundaries :math:`b_0 \le \dots \le b_{n-1}` and values
    :math:`v_0, \dots, v_n`, the learning rate at step :math:`s` is

    .. math::

       \mathrm{lr}(s) = \begin{cases}
       v_0 & \text{if } s \le b_0 \\
       v_i & \text{if } b_{i-1} < s \le b_i \\
       v_n & \text{if } s > b_{n-1}
       \end{cases}

    As in TensorFlow, the step keeps its own dtype (a Python ``int`` is an
    integer, the optimizer passes a float) and each boundary whose dtype
    differs is cast to the step's dtype before comparing: with an integer
    step, a boundary ``10.5`` becomes ``10`` (truncation).

    The result is ``values[i]`` converted as TensorFlow converts it (a
    Python float becomes ``np.float32``, a NumPy float keeps its dtype).
    Integer values, which TensorFlow would return as ``int32``, are
    returned as ``np.float32``. A ``nan`` step gives ``values[0]``.

    Examples
    --------
    >>> s = PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1])
    >>> s(10), s(11), s(101)
    (np.float32(1.0), np.float32(0.5), np.float32(0.1))
    """

    def __init__(self, boundaries, values, name=None):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries!r} of length {len(boundaries)}, "
                f"values={values!r} of length {len(values)}.")
        if len(boundaries) == 0:
            raise ValueError(
                "`boundaries` must contain at least one step boundary. "
                f"Received: boundaries={boundaries!r}")
        _check_sequence("boundaries", boundaries)
        _check_sequence("values", values)
        if not _non_decreasing(boundaries):
            raise ValueError(
                "`boundaries` must be in non-decreasing order. "
                f"Received: boundaries={boundaries!r}")
        _check_name(name)
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        x = _step_array(step)
        boundaries = [_boundary_as(b, x.dtype) for b in self.boundaries]
        index = _interval_index(x, boundaries)
        return _value_scalar(self.values[index])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


def _check_sequence(name, items):
    for i, item in enumerate(items):
        if not _is_real_scalar(item):
            raise TypeError(
                f"`{name}` must contain real numbers; {name}[{i}]={item!r}.")


def _non_decreasing(items):
    return all(a <= b for a, b in zip(items[:-1], items[1:]))


def _boundary_as(boundary, dtype):
    """A boundary as TensorFlow compares it: converted, then cast to ``dtype``."""
    array = _as_tensor(boundary)
    if array.dtype != dtype:
        with np.errstate(all="ignore"):
            array = array.astype(dtype)
    return array


def _interval_index(x, boundaries):
    """Index of the value for step ``x``; 0 when no interval matches (``nan``)."""
    if x <= boundaries[0]:
        return 0
    if x > boundaries[-1]:
        return len(boundaries)
    for i in range(1, len(boundaries)):
        if boundaries[i - 1] < x <= boundaries[i]:
            return i
    return 0


def _value_scalar(value):
    array = _as_tensor(value)
    if array.dtype.kind != "f":
        array = array.astype(np.float32)
    return array[()]


class PolynomialDecay(LearningRateSchedule):
    r"""Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate``.

    Parameters
    ----------
    initial_learning_rate : float
        Learning rate at step 0; its tensor dtype is the computation dtype.
    decay_steps : int or float
        Steps over which to decay. Must be greater than 0.
    end_learning_rate : float, default=0.0001
        Learning rate reached at ``decay_steps``.
    power : float, default=1.0
        Exponent of the polynomial.
    cycle : bool, default=False
        Restart the decay every ``decay_steps`` (stretching the period to
        the next multiple of ``decay_steps`` past the step) instead of
        staying at ``end_learning_rate``.
    name : str, optional
        Name kept in the config.

    Raises
    ------
    TypeError
        If a numeric argument is not a real number.
    ValueError
        If ``decay_steps`` is not greater than 0.

    Notes
    -----
    In the computation dtype, with ``d = decay_steps``: if ``cycle``,
    ``d = d * (1 if step == 0 else ceil(step / decay_steps))``; otherwise
    ``step = min(step, d)``. Then, with ``p = step / d``:

    .. math:: \mathrm{lr} = (\mathrm{lr}_0 - \mathrm{end}) (1 - p)^{\mathrm{power}}
              + \mathrm{end}

    Examples
    --------
    >>> s = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0)
    >>> s(5), s(20)
    (np.float32(0.05), np.float32(0.0))
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name=None):
        _check_real("initial_learning_rate", initial_learning_rate)
        _check_positive("decay_steps", decay_steps)
        _check_real("end_learning_rate", end_learning_rate)
        _check_real("power", power)
        _check_name(name)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        dtype = _compute_dtype(self.initial_learning_rate)
        lr0 = _cast(self.initial_learning_rate, dtype)
        end = _cast(self.end_learning_rate, dtype)
        power = _cast(self.power, dtype)
        step = _cast_step(step, dtype)
        decay_steps = _cast(self.decay_steps, dtype)
        one = dtype.type(1)
        with np.errstate(all="ignore"):
            if self.cycle:
                multiplier = one if step == 0 else np.ceil(step / decay_steps)
                decay_steps = decay_steps * multiplier
            else:
                step = np.minimum(step, decay_steps)
            p = step / decay_steps
            return (lr0 - end) * _libm.power(one - p, power) + end

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(_StepDecay):
    r"""Inverse-time decay of the learning rate.

    Parameters
    ----------
    initial_learning_rate : float
        Learning rate at step 0; its tensor dtype is the computation dtype.
    decay_steps : int or float
        Steps per unit of decay. Must be greater than 0.
    decay_rate : float
        Decay rate.
    staircase : bool, default=False
        Decay in discrete intervals (``p`` is floored).
    name : str, optional
        Name kept in the config.

    Raises
    ------
    TypeError
        If a numeric argument is not a real number.
    ValueError
        If ``decay_steps`` is not greater than 0.

    Notes
    -----
    In the computation dtype, with ``p = step / decay_steps`` (floored when
    ``staircase``):

    .. math:: \mathrm{lr} = \frac{\mathrm{lr}_0}{1 + \mathrm{decay\_rate} \cdot p}

    Examples
    --------
    >>> s = InverseTimeDecay(0.1, decay_steps=1, decay_rate=1.0)
    >>> s(1)
    np.float32(0.05)
    """

    def _decay(self, lr0, decay_rate, p):
        return lr0 / (lr0.dtype.type(1) + decay_rate * p)


def _pi(dtype):
    """π as TF 2.4 uses it: a ``float32`` constant (in ``dtype`` for other dtypes)."""
    return dtype.type(np.float32(math.pi)) if dtype == np.float32 else dtype.type(math.pi)


class CosineDecay(LearningRateSchedule):
    r"""Cosine decay of the learning rate (no restarts).

    Parameters
    ----------
    initial_learning_rate : float
        Learning rate at step 0; its tensor dtype is the computation dtype.
    decay_steps : int or float
        Steps over which to decay. Must be greater than 0.
    alpha : float, default=0.0
        Final learning rate as a fraction of ``initial_learning_rate``.
    name : str, optional
        Name kept in the config.

    Raises
    ------
    TypeError
        If a numeric argument is not a real number.
    ValueError
        If ``decay_steps`` is not greater than 0.

    Notes
    -----
    With ``f = min(step, decay_steps) / decay_steps`` in the computation dtype:

    .. math:: c = \tfrac12 (1 + \cos(\pi f)), \qquad
              \mathrm{lr} = \mathrm{lr}_0 ((1 - \alpha) c + \alpha)

    As in TF 2.4, ``1 - alpha`` is computed in Python (double precision)
    before it meets the ``float32`` value, and π is the ``float32``
    constant. (TF 2.4 cannot run this schedule in ``float64``; here a
    ``float64`` learning rate uses π in ``float64``, as later TF versions.)

    Examples
    --------
    >>> s = CosineDecay(0.1, decay_steps=10)
    >>> s(0), s(10)
    (np.float32(0.1), np.float32(0.0))
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None):
        _check_real("initial_learning_rate", initial_learning_rate)
        _check_positive("decay_steps", decay_steps)
        _check_real("alpha", alpha)
        _check_name(name)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        dtype = _compute_dtype(self.initial_learning_rate)
        lr0 = _cast(self.initial_learning_rate, dtype)
        decay_steps = _cast(self.decay_steps, dtype)
        step = np.minimum(_cast_step(step, dtype), decay_steps)
        half, one = dtype.type(0.5), dtype.type(1)
        with np.errstate(all="ignore"):
            fraction = step / decay_steps
            cosine = half * (one + _cos(_pi(dtype) * fraction))
            decayed = _cast(1 - self.alpha, dtype) * cosine + _cast(self.alpha, dtype)
            return lr0 * decayed

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
        }


class CosineDecayRestarts(LearningRateSchedule):
    r"""Cosine decay with warm restarts (SGDR).

    Parameters
    ----------
    initial_learning_rate : float
        Learning rate at step 0; its tensor dtype is the computation dtype.
    first_decay_steps : int or float
        Length of the first period. Must be greater than 0.
    t_mul : float, default=2.0
        Each period is ``t_mul`` times longer than the previous one. Must be
        greater than 0.
    m_mul : float, default=1.0
        Each period starts at ``m_mul`` times the previous starting rate.
    alpha : float, default=0.0
        Minimum learning rate as a fraction of ``initial_learning_rate``.
    name : str, optional
        Name kept in the config.

    Raises
    ------
    TypeError
        If a numeric argument is not a real number.
    ValueError
        If ``first_decay_steps`` or ``t_mul`` is not greater than 0.

    Notes
    -----
    Everything is computed in the computation dtype, ``alpha`` included.
    With ``f = step / first_decay_steps``: if ``t_mul`` equals 1 in that
    dtype, ``i = floor(f)`` and ``f = f - i``; otherwise

    .. math:: i = \left\lfloor \frac{\log(1 - f (1 - t))}{\log t} \right\rfloor,
              \quad f \leftarrow \frac{f - (1 - t^i)/(1 - t)}{t^i}

    then :math:`c = (\tfrac12 m^i)(1 + \cos(\pi f))` and
    :math:`\mathrm{lr} = \mathrm{lr}_0 ((1 - \alpha) c + \alpha)`, with the
    ``float32`` π of TF 2.4. With ``t_mul < 1`` the periods sum to a finite
    length, past which the result is ``nan``, as in TensorFlow.

    Examples
    --------
    >>> s = CosineDecayRestarts(0.1, first_decay_steps=10)
    >>> s(0), s(10), s(30)
    (np.float32(0.1), np.float32(0.1), np.float32(0.1))
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name=None):
        _check_real("initial_learning_rate", initial_learning_rate)
        _check_positive("first_decay_steps", first_decay_steps)
        _check_positive("t_mul", t_mul)
        _check_real("m_mul", m_mul)
        _check_real("alpha", alpha)
        _check_name(name)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        dtype = _compute_dtype(self.initial_learning_rate)
        lr0 = _cast(self.initial_learning_rate, dtype)
        first_decay_steps = _cast(self.first_decay_steps, dtype)
        alpha = _cast(self.alpha, dtype)
        t_mul = _cast(self._t_mul, dtype)
        m_mul = _cast(self._m_mul, dtype)
        step = _cast_step(step, dtype)
        half, one = dtype.type(0.5), dtype.type(1)
        with np.errstate(all="ignore"):
            fraction = step / first_decay_steps
            restart, fraction = _restart_position(fraction, t_mul, one)
            m_fac = _libm.power(m_mul, restart)
            cosine = half * m_fac * (one + _cos(_pi(dtype) * fraction))
            decayed = (one - alpha) * cosine + alpha
            return lr0 * decayed

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


def _linear_cosine_parts(schedule, step, dtype):
    """``(step, linear, cosine)`` of `LinearCosineDecay` and its noisy variant."""
    decay_steps = _cast(schedule.decay_steps, dtype)
    num_periods = _cast(schedule.num_periods, dtype)
    step = np.minimum(_cast_step(step, dtype), decay_steps)
    half, one, two = dtype.type(0.5), dtype.type(1), dtype.type(2)
    linear = (decay_steps - step) / decay_steps
    fraction = two * num_periods * (step / decay_steps)
    cosine = half * (one + _cos(_pi(dtype) * fraction))
    return step, linear, cosine


class LinearCosineDecay(LearningRateSchedule):
    r"""Linear cosine decay of the learning rate (TF 2.4's ``tf.keras.experimental``).

    A cosine of ``num_periods`` periods over ``decay_steps`` steps, damped by
    a linear decay; from "Neural Optimizer Search with Reinforcement
    Learning" (Bello et al., 2017).

    Parameters
    ----------
    initial_learning_rate : float
        Learning rate at step 0; its tensor dtype is the computation dtype.
    decay_steps : int or float
        Steps over which to decay. Must be greater than 0.
    num_periods : float, default=0.5
        Number of periods of the cosine part.
    alpha : float, default=0.0
        See the formula.
    beta : float, default=0.001
        See the formula.
    name : str, optional
        Name kept in the config.

    Raises
    ------
    TypeError
        If a numeric argument is not a real number.
    ValueError
        If ``decay_steps`` is not greater than 0.

    Notes
    -----
    With :math:`s = \min(\text{step}, D)` for ``decay_steps`` :math:`D`, all in
    the computation dtype:

    .. math:: \ell = \frac{D - s}{D}, \qquad
              c = \tfrac12 \left(1 + \cos\left(\pi \cdot 2 P \frac{s}{D}\right)\right),
              \qquad \mathrm{lr} = \mathrm{lr}_0 \left((\alpha + \ell)\, c + \beta\right)

    where :math:`P` is ``num_periods``; π is the ``float32`` constant of
    TF 2.4 (``float64`` for a ``float64`` learning rate).

    Examples
    --------
    >>> s = LinearCosineDecay(0.1, decay_steps=100)
    >>> s(0), s(100)
    (np.float32(0.1001), np.float32(0.000100000005))
    """

    def __init__(self, initial_learning_rate, decay_steps, num_periods=0.5, alpha=0.0,
                 beta=0.001, name=None):
        _check_real("initial_learning_rate", initial_learning_rate)
        _check_positive("decay_steps", decay_steps)
        _check_real("num_periods", num_periods)
        _check_real("alpha", alpha)
        _check_real("beta", beta)
        _check_name(name)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.num_periods = num_periods
        self.alpha = alpha
        self.beta = beta
        self.name = name

    def __call__(self, step):
        dtype = _compute_dtype(self.initial_learning_rate)
        lr0 = _cast(self.initial_learning_rate, dtype)
        with np.errstate(all="ignore"):
            _, linear, cosine = _linear_cosine_parts(self, step, dtype)
            decayed = (_cast(self.alpha, dtype) + linear) * cosine + _cast(self.beta, dtype)
            return lr0 * decayed

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "num_periods": self.num_periods,
            "alpha": self.alpha,
            "beta": self.beta,
            "name": self.name,
        }


class NoisyLinearCosineDecay(LearningRateSchedule):
    r"""Linear cosine decay with Gaussian noise on the linear part (TF 2.4's
    ``tf.keras.experimental``).

    Parameters
    ----------
    initial_learning_rate : float
        Learning rate at step 0; its tensor dtype is the computation dtype.
    decay_steps : int or float
        Steps over which to decay. Must be greater than 0.
    initial_variance : float, default=1.0
        Variance of the noise at step 0. Must be >= 0.
    variance_decay : float, default=0.55
        Decay exponent of the noise variance.
    num_periods : float, default=0.5
        Number of periods of the cosine part.
    alpha : float, default=0.0
        See `LinearCosineDecay`.
    beta : float, default=0.001
        See `LinearCosineDecay`.
    seed : int, optional
        Seed of the `numpy.random.Generator` the noise is drawn from (one
        standard normal number per call); ``None`` seeds it from the
        operating system.
    name : str, optional
        Name kept in the config.

    Raises
    ------
    TypeError
        If a numeric argument is not a real number, or ``seed`` is not an
        integer or None.
    ValueError
        If ``decay_steps`` is not greater than 0, ``initial_variance`` is
        negative or ``seed`` is negative.

    Notes
    -----
    As `LinearCosineDecay` with the linear part :math:`\ell` replaced by
    :math:`\ell + \sigma z`, :math:`z` a standard normal number drawn at each
    call and

    .. math:: \sigma^2 = \frac{v_0}{(1 + s)^{\gamma}}, \qquad
              \mathrm{lr} = \mathrm{lr}_0 \left((\alpha + \ell + \sigma z)\, c + \beta\right)

    for ``initial_variance`` :math:`v_0` and ``variance_decay``
    :math:`\gamma` (`variance` gives :math:`\sigma^2`).  TensorFlow draws
    :math:`z` from its own generator: the noise, not its distribution, differs
    from TensorFlow's.  A copy (or pickle) of the schedule continues the same
    stream; `~LearningRateSchedule.from_config` starts it again from ``seed``.

    Examples
    --------
    >>> s = NoisyLinearCosineDecay(0.1, decay_steps=100, seed=7)
    >>> t = NoisyLinearCosineDecay(0.1, decay_steps=100, seed=7)
    >>> [s(i) for i in range(3)] == [t(i) for i in range(3)]
    True
    >>> s.variance(0), s.variance(100) < s.variance(10)
    (np.float32(1.0), np.True_)
    """

    def __init__(self, initial_learning_rate, decay_steps, initial_variance=1.0,
                 variance_decay=0.55, num_periods=0.5, alpha=0.0, beta=0.001, seed=None,
                 name=None):
        _check_real("initial_learning_rate", initial_learning_rate)
        _check_positive("decay_steps", decay_steps)
        _check_real("initial_variance", initial_variance)
        if not initial_variance >= 0:
            raise ValueError(f"`initial_variance` must be >= 0. Received: "
                             f"initial_variance={initial_variance!r}")
        _check_real("variance_decay", variance_decay)
        _check_real("num_periods", num_periods)
        _check_real("alpha", alpha)
        _check_real("beta", beta)
        if seed is not None and (isinstance(seed, (bool, np.bool_))
                                 or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"`seed` must be an integer or None. Received: seed={seed!r}")
        if seed is not None and seed < 0:
            raise ValueError(f"`seed` must be >= 0. Received: seed={seed!r}")
        _check_name(name)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.initial_variance = initial_variance
        self.variance_decay = variance_decay
        self.num_periods = num_periods
        self.alpha = alpha
        self.beta = beta
        self.seed = seed
        self.name = name
        self._rng = np.random.default_rng(seed)

    def _variance(self, step, dtype):
        one = dtype.type(1)
        return (_cast(self.initial_variance, dtype)
                / _libm.power(one + step, _cast(self.variance_decay, dtype)))

    def variance(self, step):
        """Variance of the noise at ``step`` (deterministic), in the computation dtype."""
        dtype = _compute_dtype(self.initial_learning_rate)
        decay_steps = _cast(self.decay_steps, dtype)
        with np.errstate(all="ignore"):
            return self._variance(np.minimum(_cast_step(step, dtype), decay_steps), dtype)

    def __call__(self, step):
        dtype = _compute_dtype(self.initial_learning_rate)
        lr0 = _cast(self.initial_learning_rate, dtype)
        with np.errstate(all="ignore"):
            step, linear, cosine = _linear_cosine_parts(self, step, dtype)
            std = np.sqrt(self._variance(step, dtype))
            noisy = linear + dtype.type(self._rng.standard_normal()) * std
            decayed = (_cast(self.alpha, dtype) + noisy) * cosine + _cast(self.beta, dtype)
            return lr0 * decayed

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "initial_variance": self.initial_variance,
            "variance_decay": self.variance_decay,
            "num_periods": self.num_periods,
            "alpha": self.alpha,
            "beta": self.beta,
            "seed": self.seed,
            "name": self.name,
        }


def _restart_position(fraction, t_mul, one):
    """Index of the current period and the fraction of it completed."""
    if t_mul == one:
        restart = np.floor(fraction)
        return restart, fraction - restart
    restart = np.floor(_log(one - fraction * (one - t_mul)) / _log(t_mul))
    t_pow = _libm.power(t_mul, restart)
    done = (one - t_pow) / (one - t_mul)
    return restart, (fraction - done) / t_pow


# ---------------------------------------------------------------------- #
# Serialization
_SCHEDULES = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
    InverseTimeDecay, CosineDecay, CosineDecayRestarts, LinearCosineDecay,
    NoisyLinearCosineDecay)}


def serialize(schedule):
    """Serialize a schedule as ``{"class_name": ..., "config": ...}``.

    Parameters
    ----------
    schedule : LearningRateSchedule
        Any object with a ``get_config()`` method.

    Returns
    -------
    dict
        ``class_name`` is the class's name, ``config`` its ``get_config()``.

    Raises
    ------
    TypeError
        If ``schedule`` has no ``get_config`` method.
    """
    if not callable(getattr(schedule, "get_config", None)):
        raise TypeError(
            "`schedule` must be a LearningRateSchedule (an object with get_config()). "
            f"Received: schedule={schedule!r}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config, custom_objects=None):
    """Build a schedule from the output of :func:`serialize`.

    Parameters
    ----------
    config : dict
        ``{"class_name": name, "config": kwargs}``.
    custom_objects : dict, optional
        Extra classes by name, looked up before the built-in schedules.

    Returns
    -------
    LearningRateSchedule

    Raises
    ------
    ValueError
        If ``config`` is not a dict (``"Could not interpret serialized
        decay: ..."``), lacks ``class_name`` or ``config`` (``"Improper
        config format: ..."``), or names an unknown class (``"Unknown
        decay: <name>"``).
    """
    if not isinstance(config, dict):
        raise ValueError(f"Could not interpret serialized decay: {config!r}")
    if "class_name" not in config or "config" not in config:
        raise ValueError(f"Improper config format: {config!r}")
    class_name = config["class_name"]
    cls = _lookup(class_name, custom_objects)
    return cls.from_config(config["config"])


def _lookup(class_name, custom_objects):
    if custom_objects and class_name in custom_objects:
        return custom_objects[class_name]
    if class_name in _SCHEDULES:
        return _SCHEDULES[class_name]
    raise ValueError(
        f"Unknown decay: {class_name}. Known schedules: {sorted(_SCHEDULES)}; "
        "pass other classes in `custom_objects`.")
