"""AdamW: Adam with decoupled weight decay."""
import math
import numbers

from ._declare import Hyper
from ._kernels.adam import adam_lazy_rows
from .adam import Adam
from .threads import threads_for

__all__ = ["AdamW"]


def _check_weight_decay(name, value):
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < 0):
        raise ValueError(
            f"`{name}` must be a finite number >= 0. Received: {name}={value!r}.")
    return float(value)


class AdamW(Adam):
    r"""Adam with decoupled weight decay, lazy on sparse steps.

    Before each Adam step the variable decays towards zero, independently of
    the gradient and of the moments.  With ``weight_decay=0`` this is exactly
    `Adam` on dense gradients and `LazyAdam` on sparse ones.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    weight_decay : float, default=0.004
        Decay per unit of learning rate; a finite number >= 0.  The default
        is Keras 3's ``AdamW`` default.  A plain attribute (not a float32
        hyperparameter), so it may be changed between steps.
    beta_1 : float or callable, default=0.9
    beta_2 : float or callable, default=0.999
    epsilon : float, default=1e-7
        A falsy value means 1e-7, as in `Adam`.
    amsgrad : bool, default=False
        Use the AMSGrad variant (adds the ``vhat`` slot), on both paths.
    name : str, default="AdamW"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``;
        see `Optimizer`.

    Notes
    -----
    With :math:`\eta` the step's learning rate (after a schedule and the legacy
    ``decay``) in the variable's dtype and :math:`\lambda` the
    ``weight_decay`` (converted exactly to that dtype), a step first decays
    the variable:

    .. math:: w \leftarrow w - w\, (\eta \lambda)

    and then applies the Adam update:

    - **dense** gradient: every element decays, then `Adam`'s dense step
      (TensorFlow's ``ResourceApplyAdam`` formulas, amsgrad included);
    - **sparse** gradient (rows :math:`R`, repeated indices summed into
      :math:`G`): lazy, like `LazyAdam`.  Only the touched rows decay and move:

      .. math::

         w_R \leftarrow w_R - w_R\, (\eta \lambda)

         m_R \leftarrow \beta_1\, m_R + (1 - \beta_1)\, G

         v_R \leftarrow \beta_2\, v_R + (1 - \beta_2)\, G^2

         w_R \leftarrow w_R - \frac{\eta_t\, m_R}{\sqrt{v_R} + \hat\epsilon},
         \qquad \eta_t = \frac{\eta \sqrt{1 - \beta_2^{\,t}}}{1 - \beta_1^{\,t}}

      with :math:`\hat v_R \leftarrow \max(\hat v_R, v_R)` in :math:`v_R`'s
      place when ``amsgrad``, and :math:`t = \text{iterations} + 1`.  Untouched
      rows of ``w`` and of every slot stay as they are (they are not decayed
      either), so a sparse step costs the touched rows.

    The decay is decoupled from the gradient as in [1]_, and scaled by the
    learning rate (the paper's :math:`\eta_t \lambda`, with its schedule
    multiplier folded into :math:`\eta`).

    Slots: all ``m``, then all ``v``, then (amsgrad) all ``vhat``.
    `~optimizers.Optimizer.get_config` has `Adam`'s keys followed by ``weight_decay``.

    References
    ----------
    .. [1] I. Loshchilov, F. Hutter, "Decoupled Weight Decay Regularization",
       ICLR 2019, https://arxiv.org/abs/1711.05101
    """

    _declared_hypers = Adam._declared_hypers + (
        Hyper("weight_decay", _check_weight_decay, store="private"),)

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="AdamW", **kwargs):
        self._init_declared(locals())

    @property
    def weight_decay(self):
        """float: decay per unit of learning rate, applied before each step."""
        return self._weight_decay

    @weight_decay.setter
    def weight_decay(self, value):
        self._weight_decay = _check_weight_decay("weight_decay", value)

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        coef = apply_state[(var_device, var_dtype)]
        coef["lr_weight_decay"] = coef["lr_t"] * var_dtype.type(self._weight_decay)

    _sparse_rows_only = True      # a sparse step reads and writes only its rows
    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w, m, v, *vhat = self._rows(var, *self._slot_list())
        adam_lazy_rows(w, m, v, vhat[0] if vhat else None, rows, g, c, c["alpha"],
                       c["lr_weight_decay"], threads_for(g.size))
