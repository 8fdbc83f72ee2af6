"""LazyAdam: Adam whose sparse step touches only the given rows."""
from ._kernels.adam import adam_lazy_rows
from .adam import Adam
from .sparse import as_rows
from .threads import threads_for

__all__ = ["LazyAdam"]


class LazyAdam(Adam):
    """Adam that updates only the rows a sparse gradient names (TensorFlow Addons' ``LazyAdam``).

    Dense gradients get `Adam`'s dense update, unchanged.  On a sparse step
    (rows ``R``, repeated indices summed first), for each touched row r with
    summed gradient row g::

        m[r] = beta_1 * m[r] + (1 - beta_1) * g
        v[r] = beta_2 * v[r] + (1 - beta_2) * (g * g)
        w[r] = w[r] - (lr_t * m[r]) / (sqrt(v[r]) + epsilon),
        lr_t = (lr * sqrt(1 - beta_2**t)) / (1 - beta_1**t)

    with ``t = iterations + 1`` the *global* step (as TensorFlow Addons'
    ``local_step``) and ``lr`` the step's learning rate after a schedule and
    the legacy ``decay``.  Rows not in ``R`` are neither read nor written,
    in ``w``, ``m`` or ``v``: their moments are not decayed, so a step costs
    the touched rows, not the table.  The bias correction still uses the
    global step, so a row seen rarely gets moments that are too small for
    its correction (the usual LazyAdam trade-off).

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
    Slots: all ``m``, then all ``v``.  `~optimizers.Optimizer.get_config` has `Adam`'s keys.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="LazyAdam", **kwargs):
        if amsgrad:
            raise ValueError(
                "`amsgrad` is not supported by LazyAdam and can only be False. Received: "
                f"amsgrad={amsgrad!r}.")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=False, name=name, **kwargs)

    _sparse_rows_only = True      # a sparse step reads and writes only its rows

    def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
        c = self._coefficients(var, apply_state)
        w, m, v = self._rows(var, "m", "v")
        g = as_rows(grad, len(indices))
        adam_lazy_rows(w, m, v, v, indices, g, c["beta_1"], c["one_minus_beta_1"],
                       c["beta_2"], c["one_minus_beta_2"], c["alpha"], c["epsilon"],
                       w.dtype.type(0), False, threads_for(g.size))
