"""LazyAdam: Adam whose sparse step touches only the given rows."""
from ._declare import Hyper, replaced
from ._kernels.adam import adam_lazy_rows
from .adam import Adam
from .threads import threads_for

__all__ = ["LazyAdam"]


def _no_amsgrad(name, value):
    if value:
        raise ValueError(
            "`amsgrad` is not supported by LazyAdam and can only be False. Received: "
            f"amsgrad={value!r}.")
    return False


class LazyAdam(Adam):
    r"""Adam that updates only the rows a sparse gradient names (TensorFlow Addons' ``LazyAdam``).

    Dense gradients get `Adam`'s dense update, unchanged.  On a sparse step,
    rows not named are neither read nor written, in ``w``, ``m`` or ``v``:
    their moments are not decayed, so a step costs the touched rows, not the
    table.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    beta_1 : float or callable, default=0.9
    beta_2 : float or callable, default=0.999
    epsilon : float, default=1e-7
        A falsy value means 1e-7, as in `Adam`.
    amsgrad : bool, default=False
        Only ``False`` is accepted.  TensorFlow Addons documents that
        LazyAdam does not support AMSGrad (its sparse step ignores it while
        its dense step would use it); here ``True`` is a `ValueError` rather
        than a half-applied variant.  The argument exists so that configs
        (which carry ``amsgrad``, like `Adam`'s) round-trip.
    name : str, default="LazyAdam"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``;
        see `Optimizer`.

    Notes
    -----
    On a sparse step (rows :math:`R`, repeated indices summed first), each
    touched row :math:`r` with summed gradient row :math:`G_r` is updated as

    .. math::

       m_r \leftarrow \beta_1\, m_r + (1 - \beta_1)\, G_r

       v_r \leftarrow \beta_2\, v_r + (1 - \beta_2)\, G_r^2

       w_r \leftarrow w_r - \frac{\eta_t\, m_r}{\sqrt{v_r} + \hat\epsilon},
       \qquad \eta_t = \frac{\eta \sqrt{1 - \beta_2^{\,t}}}{1 - \beta_1^{\,t}}

    where :math:`\eta` is the step's learning rate (after a schedule and the
    legacy ``decay``) and :math:`t = \text{iterations} + 1` the *global* step
    (TensorFlow Addons' ``local_step``).  The bias correction uses the global
    step, so a row seen rarely gets moments that are too small for its
    correction (the usual LazyAdam trade-off).  Adam itself is [1]_; see
    `Adam` for :math:`\hat\epsilon`.

    Slots: all ``m``, then all ``v``.  `~optimizers.Optimizer.get_config` has `Adam`'s keys.

    References
    ----------
    .. [1] D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, https://arxiv.org/abs/1412.6980
    """

    _declared_hypers = replaced(Adam._declared_hypers,
                                Hyper("amsgrad", _no_amsgrad, store="attribute"))

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="LazyAdam", **kwargs):
        self._init_declared(locals())

    _sparse_rows_only = True      # a sparse step reads and writes only its rows
    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w, m, v = self._rows(var, "m", "v")
        adam_lazy_rows(w, m, v, None, rows, g, c, c["alpha"], 0, threads_for(g.size))
