"""Stochastic gradient descent, with optional (Nesterov) momentum."""
import numpy as np

from ._declare import DECAY, LEARNING_RATE, Hyper, Slot, as_bool, momentum
from ._kernels.sgd import sgd_momentum_rows, sgd_scatter_rows
from .base import Optimizer
from .sparse import as_rows
from .threads import threads_for
from .variables import as_array

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Gradient descent with optional momentum (TensorFlow 2.4 ``SGD``).

    A sparse gradient updates only the rows it names.  Without momentum,
    repeated indices are applied one after another (as a scatter-add);
    with momentum they are summed first.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.01
    momentum : float, default=0.0
        In ``[0, 1]``; 0 means plain gradient descent (no slot).
    nesterov : bool, default=False
        Use Nesterov momentum (ignored when ``momentum`` is 0).
    name : str, default="SGD"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``;
        see `Optimizer`.

    Notes
    -----
    With :math:`g` the gradient, :math:`w` the variable and :math:`\eta` the
    step's learning rate (after a schedule and the legacy ``decay``), a step
    without momentum is

    .. math:: w \leftarrow w - \eta\, g

    With momentum :math:`\mu`, the ``momentum`` slot :math:`v` holds a velocity
    already scaled by the learning rate (Keras's form, TensorFlow's
    ``ResourceApplyKerasMomentum``; TensorFlow 1's ``MomentumOptimizer`` kept
    :math:`v \leftarrow \mu v + g` instead):

    .. math::

       v \leftarrow \mu\, v - \eta\, g

       w \leftarrow w + v \qquad \text{(plain)}

       w \leftarrow w + (\mu\, v - \eta\, g) \qquad \text{(Nesterov, with the new } v \text{)}

    On a sparse step these lines run on each touched row (repeated indices
    summed first).  Without momentum each slice :math:`g_k` of row
    :math:`i_k` is applied in input order, :math:`w_{i_k} \leftarrow w_{i_k}
    - \eta\, g_k`, so a repeated row gets every one of its slices.

    Nesterov momentum in this form is the one of Sutskever et al. [1]_.

    References
    ----------
    .. [1] I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of
       initialization and momentum in deep learning", ICML 2013,
       https://proceedings.mlr.press/v28/sutskever13.html

    Examples
    --------
    >>> import numpy as np
    >>> from optimizers import SGD, Variable
    >>> w = Variable(np.ones(2, dtype=np.float32))
    >>> opt = SGD(learning_rate=0.1)
    >>> _ = opt.apply_gradients([(np.ones(2, dtype=np.float32), w)])
    >>> w.numpy()
    array([0.9, 0.9], dtype=float32)
    """

    _HAS_AGGREGATE_GRAD = True
    _complex = "rows"  # complex variables: see optimizers._complex

    _declared_hypers = (LEARNING_RATE, DECAY, Hyper("momentum", momentum, flag="_momentum"),
                        Hyper("nesterov", as_bool, store="attribute"))
    _declared_slots = (Slot("momentum", when="_momentum"),)   # only with momentum > 0

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        self._init_declared(locals())

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        apply_state[(var_device, var_dtype)]["momentum"] = self._get_hyper("momentum", var_dtype)

    def _dense_block(self, c, g, w, v=None):
        lr = c["lr_t"]
        if v is None:
            scaled, = self._scratch.get(w.dtype, w.size)
            np.multiply(g, lr, out=scaled)                     # w -= g * lr
            np.subtract(w, scaled, out=w)
            return
        mu = c["momentum"]
        scaled, step = self._scratch.get(w.dtype, w.size, 2)
        np.multiply(g, lr, out=scaled)                         # v = v * mu - g * lr
        np.multiply(v, mu, out=v)
        np.subtract(v, scaled, out=v)
        if self.nesterov:                                      # w += v * mu - g * lr
            np.multiply(v, mu, out=step)
            np.subtract(step, scaled, out=step)
            np.add(w, step, out=w)
        else:                                                  # w += v
            np.add(w, v, out=w)

    def _sparse_sums_repeats(self):
        # Without momentum TensorFlow scatter-adds every slice in turn.
        return bool(self._momentum)

    _sparse_rows_only = True      # a sparse step reads and writes only its rows
    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w = as_rows(as_array(var))
        n_threads = threads_for(g.size)
        if not self._momentum:
            sgd_scatter_rows(w, rows, g, c["lr_t"], n_threads)
            return
        v = as_rows(as_array(self.get_slot(var, "momentum")))
        sgd_momentum_rows(w, v, rows, g, c, self.nesterov, n_threads)
