"""RowwiseAdagrad: Adagrad with one accumulator per row."""
import numpy as np

from ._declare import Slot
from ._kernels.adagrad import rowwise_adagrad_all, rowwise_adagrad_rows
from .adagrad import Adagrad
from .sparse import as_rows
from .threads import kernel_timer, threads_for
from .variables import as_array

__all__ = ["RowwiseAdagrad"]


class RowwiseAdagrad(Adagrad):
    r"""Adagrad with a single accumulator per row, as embedding systems use.

    The ``accumulator`` slot has shape ``(N,)`` for an ``(N, ...)`` variable:
    N numbers for an (N, D) embedding table instead of Adagrad's N * D, which
    makes it the memory-saving choice for large tables.  A 1-D variable of
    shape ``(N,)`` has rows of width 1, which is plain `Adagrad`.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    initial_accumulator_value : float, default=0.1
        Starting value of every row's accumulator; must be >= 0.
    epsilon : float, default=1e-7
        A falsy value means 1e-7.
    name : str, default="RowwiseAdagrad"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``.

    Notes
    -----
    For each row :math:`r` of the variable (rows are the first axis; the rest
    of the shape is flattened into a row of width :math:`D`) with gradient row
    :math:`g_r`, and :math:`\eta` the step's learning rate (after a schedule
    and the legacy ``decay``):

    .. math::

       a_r \leftarrow a_r + \frac{1}{D} \sum_{j=1}^{D} g_{r,j}^2

       w_r \leftarrow w_r - \frac{\eta\, g_r}{\sqrt{a_r} + \epsilon}

    The mean is a left-to-right sum over the row divided by :math:`D`.  This is
    `Adagrad` ([1]_) with one step size per row.

    A sparse gradient updates only the rows it names (and their
    accumulators); repeated indices are summed first.  A dense gradient
    updates every row: a row whose gradient is all zeros is left unchanged.
    A dense step equals, bit for bit, a sparse step naming every row.

    Not a TensorFlow optimizer; arguments, ``get_config`` keys and
    `~optimizers.Optimizer.from_config` are `Adagrad`'s.

    References
    ----------
    .. [1] J. Duchi, E. Hazan, Y. Singer, "Adaptive Subgradient Methods for
       Online Learning and Stochastic Optimization", JMLR 12, 2011,
       https://jmlr.org/papers/v12/duchi11a.html

    Examples
    --------
    >>> import numpy as np
    >>> from optimizers import IndexedSlices, RowwiseAdagrad, Variable
    >>> table = Variable(np.zeros((1000, 16), dtype=np.float32))
    >>> opt = RowwiseAdagrad(learning_rate=0.1)
    >>> grad = IndexedSlices(np.ones((2, 16), np.float32), np.array([3, 7]), table.shape)
    >>> _ = opt.apply_gradients([(grad, table)])
    >>> opt.get_slot(table, "accumulator").shape
    (1000,)
    """

    # One accumulator per row (a scalar variable's is a scalar).
    _declared_slots = (Slot("accumulator", initial="initial_accumulator_value",
                            shape=lambda shape: shape[:1]),)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="RowwiseAdagrad", **kwargs):
        self._init_declared(locals())

    def _resource_apply_dense(self, grad, var, apply_state=None):
        coef = self._coefficients(var, apply_state)
        arr = as_array(var)
        w = as_rows(arr)                                     # a scalar is one row
        acc = as_array(self.get_slot(var, "accumulator")).reshape(len(w))
        g = as_rows(np.ascontiguousarray(grad, dtype=arr.dtype).reshape(w.shape))
        with kernel_timer(rowwise_adagrad_all):
            rowwise_adagrad_all(w, acc, g, coef, threads_for(w.size))

    _sparse_rows_only = True      # a sparse step reads and writes only its rows
    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w = as_rows(as_array(var))
        acc = as_array(self.get_slot(var, "accumulator"))
        rowwise_adagrad_rows(w, acc, rows, g, c, threads_for(g.size))
