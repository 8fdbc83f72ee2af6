"""Adagrad: per-element learning rates from the sum of squared gradients."""
import numpy as np

from ._declare import DECAY, EPSILON, LEARNING_RATE, Hyper, Slot, non_negative
from ._kernels.adagrad import adagrad_rows
from .base import Optimizer
from .threads import threads_for

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (TensorFlow 2.4 ``Adagrad``).

    A sparse gradient updates only the rows it names (and their
    accumulator rows); repeated indices are summed first.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    initial_accumulator_value : float, default=0.1
        Starting value of the accumulator; must be >= 0.
    epsilon : float, default=1e-7
        A falsy value means 1e-7, as in TensorFlow.
    name : str, default="Adagrad"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``.

    Notes
    -----
    With :math:`g` the gradient, :math:`\eta` the step's learning rate (after
    a schedule and the legacy ``decay``) and :math:`a` the ``accumulator``
    slot, each step (dense, or on each touched row) is TensorFlow's
    ``ResourceApplyAdagradV2``:

    .. math::

       a \leftarrow a + g^2

       w \leftarrow w - \frac{\eta\, g}{\sqrt{a} + \epsilon}

    This is the diagonal form of [1]_, with :math:`\epsilon` added to the
    square root.  The accumulator starts at exactly
    ``initial_accumulator_value`` in the variable's dtype.  Checkpoints
    without ``iterations`` (one weight short) load through
    `~optimizers.Optimizer.set_weights` as in TensorFlow.

    `~optimizers.Optimizer.from_config` differs from TensorFlow 2.4 in one way: a serialized
    learning-rate schedule (a dict) is deserialized.  TensorFlow's
    ``Adagrad.from_config`` leaves the dict as the learning rate, and the
    first step then fails.  As in TensorFlow, a config without
    ``initial_accumulator_value`` gets 0.1 and ``lr`` is renamed
    ``learning_rate``.

    References
    ----------
    .. [1] J. Duchi, E. Hazan, Y. Singer, "Adaptive Subgradient Methods for
       Online Learning and Stochastic Optimization", JMLR 12, 2011,
       https://jmlr.org/papers/v12/duchi11a.html

    Examples
    --------
    >>> import numpy as np
    >>> from optimizers import Adagrad, Variable
    >>> w = Variable(np.ones(2, dtype=np.float32))
    >>> opt = Adagrad(learning_rate=0.1, initial_accumulator_value=0.0)
    >>> _ = opt.apply_gradients([(np.full(2, 2.0, dtype=np.float32), w)])
    >>> w.numpy()
    array([0.9, 0.9], dtype=float32)
    """

    _HAS_AGGREGATE_GRAD = True
    _complex = "rows"  # complex variables: see optimizers._complex

    _declared_hypers = (LEARNING_RATE, DECAY,
                        Hyper("initial_accumulator_value", non_negative, store="private"),
                        EPSILON)
    _declared_slots = (Slot("accumulator", initial="initial_accumulator_value"),)
    _weights_may_lack_iterations = True

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="Adagrad", **kwargs):
        self._init_declared(locals())

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        apply_state[(var_device, var_dtype)]["epsilon"] = var_dtype.type(self.epsilon)

    def _dense_block(self, c, g, w, acc):
        t, u = self._scratch.get(w.dtype, w.size, 2)
        np.multiply(g, g, out=t)                        # acc += g * g
        np.add(acc, t, out=acc)
        np.multiply(g, c["lr_t"], out=t)                # w -= (g * lr) / (sqrt(acc) + eps)
        np.sqrt(acc, out=u)
        np.add(u, c["epsilon"], out=u)
        np.divide(t, u, out=t)
        np.subtract(w, t, out=w)

    _sparse_rows_only = True      # a sparse step reads and writes only its rows
    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w, acc = self._rows(var, "accumulator")
        adagrad_rows(w, acc, rows, g, c, threads_for(g.size))
