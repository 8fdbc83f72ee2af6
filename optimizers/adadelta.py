"""Adadelta: step sizes from running averages of gradients and updates."""
import numpy as np

from ._declare import DECAY, EPSILON, LEARNING_RATE, Hyper, Slot
from ._kernels.adadelta import adadelta_rows
from .base import Optimizer
from .threads import threads_for

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (TensorFlow 2.4 ``Adadelta``).

    A sparse gradient updates only the rows it names (their accumulators
    too); repeated indices are summed first.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    rho : float, default=0.95
    epsilon : float, default=1e-7
        A falsy value means 1e-7, as in TensorFlow.
    name : str, default="Adadelta"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``.

    Notes
    -----
    With :math:`g` the gradient, :math:`\eta` the step's learning rate (after
    a schedule and the legacy ``decay``), :math:`A` the ``accum_grad`` slot
    and :math:`U` the ``accum_var`` slot, each step (dense, or on each touched
    row) is TensorFlow's ``ResourceApplyAdadelta``:

    .. math::

       A \leftarrow \rho\, A + (1 - \rho)\, g^2

       \Delta = \frac{\sqrt{U + \epsilon}}{\sqrt{A + \epsilon}}\, g

       w \leftarrow w - \eta\, \Delta

       U \leftarrow \rho\, U + (1 - \rho)\, \Delta^2

    with the new :math:`A` and the old :math:`U` in :math:`\Delta`.  The
    method of [1]_ has no learning rate (:math:`\eta = 1`); Keras's default
    is 0.001.

    TensorFlow computes :math:`1/\sqrt{A + \epsilon}` with ``rsqrt``; here it is
    ``1 / sqrt`` in the variable's dtype.  float64 results are TensorFlow's bit
    for bit, and so are float32 sparse steps in the test fixtures;
    TensorFlow's vectorised float32 dense kernel uses an approximate rsqrt,
    which float32 dense steps match to about 1e-6 relative.

    Checkpoints without ``iterations`` (one weight short) load through
    `~optimizers.Optimizer.set_weights` as in TensorFlow.

    References
    ----------
    .. [1] M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012,
       https://arxiv.org/abs/1212.5701
    """

    _HAS_AGGREGATE_GRAD = True
    _complex = "rows"  # complex variables: see optimizers._complex

    _declared_hypers = (LEARNING_RATE, DECAY, Hyper("rho"), EPSILON)
    _declared_slots = (Slot("accum_grad"), Slot("accum_var"))
    _weights_may_lack_iterations = True

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="Adadelta", **kwargs):
        self._init_declared(locals())

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        coef = apply_state[(var_device, var_dtype)]
        rho = self._get_hyper("rho", var_dtype)
        coef.update(epsilon=var_dtype.type(self.epsilon), rho=rho,
                    one_minus_rho=var_dtype.type(1) - rho)

    def _dense_block(self, c, g, w, acc, acc_upd):
        rho, omr, eps, lr = c["rho"], c["one_minus_rho"], c["epsilon"], c["lr_t"]
        t, u = self._scratch.get(w.dtype, w.size, 2)
        np.multiply(acc, rho, out=acc)                  # A = A * rho + (g * g) * (1 - rho)
        np.multiply(g, g, out=t)
        np.multiply(t, omr, out=t)
        np.add(acc, t, out=acc)
        np.add(acc, eps, out=t)                         # upd = sqrt(U + eps) * rsqrt(A + eps) * g
        np.sqrt(t, out=t)
        np.divide(1, t, out=t)
        np.add(acc_upd, eps, out=u)
        np.sqrt(u, out=u)
        np.multiply(u, t, out=t)
        np.multiply(t, g, out=t)
        np.multiply(t, lr, out=u)                       # w -= upd * lr
        np.subtract(w, u, out=w)
        np.multiply(acc_upd, rho, out=acc_upd)          # U = U * rho + (upd * upd) * (1 - rho)
        np.multiply(t, t, out=t)
        np.multiply(t, omr, out=t)
        np.add(acc_upd, t, out=acc_upd)

    _sparse_rows_only = True      # a sparse step reads and writes only its rows
    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w, acc, acc_upd = self._rows(var, "accum_grad", "accum_var")
        adadelta_rows(w, acc, acc_upd, rows, g, c, threads_for(g.size))
