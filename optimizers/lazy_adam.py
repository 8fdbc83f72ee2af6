"""LazyAdam: Adam whose sparse step touches only the given rows."""
from ._kernels.adam import adam_lazy_rows
from .adam import Adam
from .sparse import as_rows
from .threads import threads_for

__all__ = ["LazyAdam"]


class LazyAdam(Adam):
    """Adam that updates only the rows a sparse gradient names (TensorFlow Addons' ``LazyAdam``).

    On a sparse step, for each touched row r (repeated indices summed first)::

        m[r] = beta_1 * m[r] + (1 - beta_1) * g
        v[r] = beta_2 * v[r] + (1 - beta_2) * g * g
        w[r] -= alpha * m[r] / (sqrt(v[r]) + epsilon)

    with ``alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` from
    the global step ``t``.  Untouched rows of ``w``, ``m`` and ``v`` do not
    change (their moments are not decayed), so a step costs the touched rows,
    not the table.  Dense gradients get `Adam`'s dense update.

    Parameters are `Adam`'s, without ``amsgrad``.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="LazyAdam", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad=False, name=name,
                         **kwargs)

    def _sparse_decay(self, coef):
        """Decoupled weight decay of the touched rows (none for LazyAdam)."""
        return coef["alpha"].dtype.type(0)

    def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
        c = self._coefficients(var, apply_state)
        w, m, v = self._rows(var, "m", "v")
        g = as_rows(grad, len(indices))
        adam_lazy_rows(w, m, v, indices, g, c["beta_1"], c["one_minus_beta_1"], c["beta_2"],
                       c["one_minus_beta_2"], c["alpha"], c["epsilon"], self._sparse_decay(c),
                       threads_for(g.size))

    def get_config(self):
        config = super().get_config()
        del config["amsgrad"]
        return config
