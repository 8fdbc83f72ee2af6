"""Adam (with the AMSGrad variant), as TensorFlow 2.4 computes it."""
import numpy as np

from ._declare import DECAY, EPSILON, LEARNING_RATE, Hyper, Slot
from ._dense import cwise_max
from ._libm import power
from ._kernels.adam import adam_sparse_whole
from .base import Optimizer
from .threads import threads_for

__all__ = ["Adam"]


class Adam(Optimizer):
    r"""Adam (TensorFlow 2.4 ``tf.keras.optimizers.Adam``).

    A sparse gradient follows TensorFlow's sparse composition, which is
    **not lazy**: the moments decay and the variable moves over the *whole*
    variable, so a sparse step costs O(table), not O(touched rows) (one fused
    pass at memory speed); `LazyAdam` is the rows-only variant.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    beta_1 : float or callable, default=0.9
        Decay rate of the first moment ``m``.
    beta_2 : float or callable, default=0.999
        Decay rate of the second moment ``v``.
    epsilon : float, default=1e-7
        Added to ``sqrt(v)``; a falsy value (0, None) means 1e-7, as in
        TensorFlow.
    amsgrad : bool, default=False
        Use the AMSGrad variant (adds the ``vhat`` slot).
    name : str, default="Adam"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``;
        see `Optimizer`.

    Notes
    -----
    With :math:`g` the gradient, :math:`\eta` the step's learning rate (after
    a schedule and the legacy ``decay``) and :math:`t` the step number
    (``iterations + 1``), a dense step is TensorFlow's ``ResourceApplyAdam``:

    .. math::

       \eta_t = \frac{\eta \sqrt{1 - \beta_2^{\,t}}}{1 - \beta_1^{\,t}}

       m \leftarrow m + (g - m)(1 - \beta_1)

       v \leftarrow v + (g^2 - v)(1 - \beta_2)

       w \leftarrow w - \frac{\eta_t\, m}{\sqrt{v} + \hat\epsilon}

    The bias corrections are folded into :math:`\eta_t`, and
    :math:`\hat\epsilon` (``epsilon``) is added to :math:`\sqrt{v}` after
    that: the "epsilon hat" of the efficient form at the end of section 2 of
    [1]_, not the :math:`\epsilon` of Algorithm 1.  With ``amsgrad``,
    :math:`\hat v \leftarrow \max(\hat v, v)` takes :math:`v`'s place in the
    last line.

    A sparse gradient (rows :math:`R`, repeated indices summed into
    :math:`G`) follows TensorFlow's sparse composition, over every row:

    .. math::

       m \leftarrow \beta_1\, m, \qquad m_R \leftarrow m_R + (1 - \beta_1)\, G

       v \leftarrow \beta_2\, v, \qquad v_R \leftarrow v_R + (1 - \beta_2)\, G^2

       w \leftarrow w - \frac{\eta'_t\, m}{\sqrt{v} + \hat\epsilon},
       \qquad \eta'_t = \eta\, \frac{\sqrt{1 - \beta_2^{\,t}}}{1 - \beta_1^{\,t}}

    (with ``amsgrad``, :math:`\hat v \leftarrow \max(\hat v, v)` over every
    row, in :math:`v`'s place).  The two paths are equal mathematically but not
    bit for bit (different association), exactly as in TensorFlow.

    Slots are created as all ``m``, then all ``v``, then (amsgrad) all
    ``vhat``, so `~optimizers.Optimizer.get_weights` lists them in TensorFlow's order.
    `~optimizers.Optimizer.set_weights` accepts the weights of an amsgrad Adam (or a Keras 1
    Adam) on an Adam without amsgrad and drops the ``vhat`` part, as
    TensorFlow does.

    References
    ----------
    .. [1] D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, https://arxiv.org/abs/1412.6980

    Examples
    --------
    >>> import numpy as np
    >>> from optimizers import Adam, Variable
    >>> w = Variable(np.ones(2, dtype=np.float32))
    >>> opt = Adam(learning_rate=0.1)
    >>> _ = opt.apply_gradients([(np.ones(2, dtype=np.float32), w)])
    >>> w.numpy().round(4)    # the first step moves each element by about lr
    array([0.9, 0.9], dtype=float32)
    """

    _HAS_AGGREGATE_GRAD = True
    _complex = "adam"  # complex variables: see optimizers._complex

    _declared_hypers = (LEARNING_RATE, DECAY, Hyper("beta_1"), Hyper("beta_2"), EPSILON,
                        Hyper("amsgrad", store="attribute"))
    # TensorFlow's order: every `m`, then every `v`, then (amsgrad) every `vhat`.
    _declared_slots = (Slot("m"), Slot("v"), Slot("vhat", when="amsgrad"))

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="Adam", **kwargs):
        self._init_declared(locals())

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        adam_coefficients(self, var_dtype, apply_state[(var_device, var_dtype)])

    def set_weights(self, weights):
        """Set the weights; see `Optimizer.set_weights`.

        As in TensorFlow, a list of ``3 * n + 1`` arrays given to an Adam
        holding ``2 * n + 1`` weights (amsgrad weights, or Keras 1's, which
        always kept ``vhat``) is cut to the first ``2 * n + 1``.
        """
        weights = list(weights)
        num_vars = int((len(self._weights) - 1) / 2)
        if len(weights) == 3 * num_vars + 1:
            weights = weights[:len(self._weights)]
        super().set_weights(weights)

    def _dense_block(self, c, g, w, m, v, vhat=None):
        """TensorFlow's dense Adam step on one block.

        With a nonzero ``c["lr_weight_decay"]`` (`AdamW`), the block first
        does ``w -= w * decay``.
        """
        t, u = self._scratch.get(w.dtype, w.size, 2)
        decay = c.get("lr_weight_decay")
        if decay:
            np.multiply(w, decay, out=t)                # w -= w * decay
            np.subtract(w, t, out=w)
        np.subtract(g, m, out=t)                        # m += (g - m) * (1 - b1)
        np.multiply(t, c["one_minus_beta_1"], out=t)
        np.add(m, t, out=m)
        np.multiply(g, g, out=t)                        # v += (g * g - v) * (1 - b2)
        np.subtract(t, v, out=t)
        np.multiply(t, c["one_minus_beta_2"], out=t)
        np.add(v, t, out=v)
        if vhat is not None:                            # vhat = max(vhat, v)
            cwise_max(vhat, v, *self._scratch.get(np.dtype(bool), w.size))
            v = vhat
        np.multiply(m, c["alpha"], out=t)               # w -= (m * a) / (sqrt(v) + eps)
        np.sqrt(v, out=u)
        np.add(u, c["epsilon"], out=u)
        np.divide(t, u, out=t)
        np.subtract(w, t, out=w)

    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w, m, v, *vhat = self._rows(var, *self._slot_list())
        adam_sparse_whole(w, m, v, vhat[0] if vhat else None, rows,
                          np.argsort(rows, kind="stable"), g, c, c["lr_sparse"],
                          threads_for(w.size))


def adam_coefficients(opt, var_dtype, coef):
    """Add Adam's coefficients of this step for ``var_dtype`` to ``coef``
    (which holds the step's learning rate ``lr_t``); ``opt`` has the
    ``beta_1`` and ``beta_2`` hyperparameters and ``epsilon``."""
    one = var_dtype.type(1)
    local_step = var_dtype.type(opt._step_count() + 1)
    beta_1 = opt._get_hyper("beta_1", var_dtype)
    beta_2 = opt._get_hyper("beta_2", var_dtype)
    beta_1_power = power(beta_1, local_step)
    beta_2_power = power(beta_2, local_step)
    lr = coef["lr_t"]
    coef.update(
        beta_1=beta_1, beta_2=beta_2,
        beta_1_power=beta_1_power, beta_2_power=beta_2_power,
        one_minus_beta_1=one - beta_1, one_minus_beta_2=one - beta_2,
        epsilon=var_dtype.type(opt.epsilon),
        # ResourceApplyAdam (dense) and TensorFlow Addons' LazyAdam:
        # (lr * sqrt(1 - b2p)) / (1 - b1p)
        alpha=(lr * np.sqrt(one - beta_2_power)) / (one - beta_1_power),
        # Adam's sparse composition: lr * (sqrt(1 - b2p) / (1 - b1p))
        lr_sparse=lr * (np.sqrt(one - beta_2_power) / (one - beta_1_power)),
    )
