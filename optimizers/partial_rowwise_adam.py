"""PartialRowwiseAdam: Adam with one second moment per row."""

from ._kernels.partial_rowwise_adam import (partial_rowwise_adam_all,
                                            partial_rowwise_adam_rows)
from ._declare import DECAY, EPSILON, LEARNING_RATE, Hyper, Slot, per_row
from .adam import adam_coefficients
from .base import Optimizer
from .sparse import as_rows
from .threads import kernel_timer, threads_for
from .variables import as_array

__all__ = ["PartialRowwiseAdam"]


class PartialRowwiseAdam(Optimizer):
    r"""Adam with a per-element first moment and a per-row second moment.

    The memory-saving Adam of large embedding tables: for an ``(N, D)``
    table the slots hold :math:`N D + N` numbers instead of Adam's
    :math:`2 N D`.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    beta_1 : float or callable, default=0.9
        Decay rate of the first moment ``m`` (one per element).
    beta_2 : float or callable, default=0.999
        Decay rate of the second moment ``v`` (one per row).
    epsilon : float, default=1e-7
        Added to ``sqrt(v)``; a falsy value means 1e-7, as in `Adam`.
    name : str, default="PartialRowwiseAdam"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``;
        see `Optimizer`.

    Notes
    -----
    For each updated row :math:`r` of the variable (rows are the first axis;
    the rest of the shape is flattened into a row of width :math:`D`) with
    gradient row :math:`g_r` (repeated indices summed first), :math:`t` the
    global step (``iterations + 1``) and :math:`\eta` the step's learning rate
    (after a schedule and the legacy ``decay``):

    .. math::

       v_r \leftarrow \beta_2 v_r + (1 - \beta_2) \frac{1}{D} \sum_{j=1}^{D} g_{r,j}^2

       m_r \leftarrow \beta_1 m_r + (1 - \beta_1) g_r

       w_r \leftarrow w_r - \frac{\hat\eta\, m_r}{\sqrt{v_r} + \epsilon},
       \qquad \hat\eta = \frac{\eta \sqrt{1 - \beta_2^t}}{1 - \beta_1^t}

    The mean is a left-to-right sum over the row divided by :math:`D`.  This is
    Adam ([1]_) with one second moment per row, as `RowwiseAdagrad` is
    Adagrad with one accumulator per row.

    A sparse step is lazy, as `LazyAdam`'s: only the named rows (and their
    moments) are read or written, so it costs the touched rows; the bias
    correction uses the global step.  A dense step updates every row and
    equals, bit for bit, a sparse step naming every row.  Not a TensorFlow
    optimizer.

    Slots: all ``m`` (the variable's shape), then all ``v`` (shape
    ``(N,)``; a scalar variable is one row of width 1).

    References
    ----------
    .. [1] D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization",
       2014, https://arxiv.org/abs/1412.6980

    Examples
    --------
    >>> import numpy as np
    >>> from optimizers import IndexedSlices, PartialRowwiseAdam, Variable
    >>> table = Variable(np.zeros((1000, 16), dtype=np.float32))
    >>> opt = PartialRowwiseAdam(learning_rate=0.1)
    >>> grad = IndexedSlices(np.ones((2, 16), np.float32), np.array([3, 7]), table.shape)
    >>> _ = opt.apply_gradients([(grad, table)])
    >>> opt.get_slot(table, "m").shape, opt.get_slot(table, "v").shape
    ((1000, 16), (1000,))
    >>> float(table.numpy()[3, 0]).__round__(4)    # the first step moves by about lr
    -0.1
    """

    _HAS_AGGREGATE_GRAD = True

    _declared_hypers = (LEARNING_RATE, DECAY, Hyper("beta_1"), Hyper("beta_2"), EPSILON)
    _declared_slots = (Slot("m"), Slot("v", shape=per_row))

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="PartialRowwiseAdam", **kwargs):
        self._init_declared(locals())

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        adam_coefficients(self, var_dtype, apply_state[(var_device, var_dtype)])

    def _row_views(self, var):
        """2-D ``(N, width)`` views of the variable and ``m``, 1-D ``v``."""
        return (as_rows(as_array(var)), as_rows(as_array(self.get_slot(var, "m"))),
                as_array(self.get_slot(var, "v")))

    def _resource_apply_dense(self, grad, var, apply_state=None):
        c = self._coefficients(var, apply_state)
        w, m, v = self._row_views(var)
        g = grad.reshape(w.shape)
        with kernel_timer(partial_rowwise_adam_all):
            partial_rowwise_adam_all(w, m, v, g, c, threads_for(w.size))

    _sparse_rows_only = True      # a sparse step reads and writes only its rows
    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w, m, v = self._row_views(var)
        partial_rowwise_adam_rows(w, m, v, rows, g, c, threads_for(g.size))
