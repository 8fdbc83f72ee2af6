"""Adamax: Adam with the infinity norm."""
import numpy as np

from ._declare import DECAY, EPSILON, LEARNING_RATE, Hyper, Slot
from ._dense import cwise_max
from ._libm import power
from ._kernels.adamax import adamax_rows
from .base import Optimizer
from .threads import threads_for

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax, Adam with the infinity norm (TensorFlow 2.4 ``Adamax``).

    A sparse gradient updates only the rows it names (their ``m`` and ``v``
    too); repeated indices are summed first.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    beta_1, beta_2 : float, default 0.9 and 0.999
    epsilon : float, default=1e-7
        A falsy value means 1e-7, as in TensorFlow.
    name : str, default="Adamax"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``.

    Notes
    -----
    With :math:`g` the gradient, :math:`\eta` the step's learning rate (after
    a schedule and the legacy ``decay``), :math:`t` the step number
    (``iterations + 1``) and :math:`u` the slot named ``v`` (the exponentially
    weighted infinity norm), a dense step is TensorFlow's
    ``ResourceApplyAdaMax``:

    .. math::

       m \leftarrow m + (g - m)(1 - \beta_1)

       u \leftarrow \max(\beta_2\, u, |g|)

       w \leftarrow w - \frac{\eta}{1 - \beta_1^{\,t}} \cdot \frac{m}{u + \epsilon}

    A sparse step (rows :math:`R`, summed gradient rows :math:`G`) is lazy and
    writes the first moment in TensorFlow's sparse form:

    .. math::

       m_R \leftarrow \beta_1\, m_R + (1 - \beta_1)\, G

       u_R \leftarrow \max(\beta_2\, u_R, |G|)

       w_R \leftarrow w_R - \frac{\eta}{1 - \beta_1^{\,t}} \cdot \frac{m_R}{u_R + \epsilon}

    Adamax is section 7.1 of [1]_; :math:`\epsilon` is TensorFlow's addition.

    References
    ----------
    .. [1] D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, https://arxiv.org/abs/1412.6980
    """

    _HAS_AGGREGATE_GRAD = True
    _complex = None  # complex variables: see optimizers._complex

    _declared_hypers = (LEARNING_RATE, DECAY, Hyper("beta_1"), Hyper("beta_2"), EPSILON)
    _declared_slots = (Slot("m"), Slot("v"))

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="Adamax", **kwargs):
        self._init_declared(locals())

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        coef = apply_state[(var_device, var_dtype)]
        one = var_dtype.type(1)
        beta_1 = self._get_hyper("beta_1", var_dtype)
        beta_1_power = power(beta_1, var_dtype.type(self._step_count() + 1))
        lr = coef["lr_t"]
        coef.update(
            beta_1=beta_1, one_minus_beta_1=one - beta_1,
            beta_2=self._get_hyper("beta_2", var_dtype), epsilon=var_dtype.type(self.epsilon),
            scaled_lr=lr / (one - beta_1_power), neg_scaled_lr=(-lr) / (one - beta_1_power))

    def _dense_block(self, c, g, w, m, v):
        t, u = self._scratch.get(w.dtype, w.size, 2)
        np.subtract(g, m, out=t)                        # m += (g - m) * (1 - b1)
        np.multiply(t, c["one_minus_beta_1"], out=t)
        np.add(m, t, out=m)
        np.multiply(v, c["beta_2"], out=v)              # v = max(b2 * v, |g|)
        np.abs(g, out=t)
        cwise_max(v, t, *self._scratch.get(np.dtype(bool), w.size))
        np.add(v, c["epsilon"], out=u)                  # w -= (lr / (1 - b1p)) * (m / (v + eps))
        np.divide(m, u, out=u)
        np.multiply(u, c["scaled_lr"], out=u)
        np.subtract(w, u, out=w)

    _sparse_rows_only = True      # a sparse step reads and writes only its rows
    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w, m, v = self._rows(var, "m", "v")
        adamax_rows(w, m, v, rows, g, c, threads_for(g.size))
