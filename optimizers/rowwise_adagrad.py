"""RowwiseAdagrad: Adagrad with one accumulator per row."""
import numpy as np

from ._kernels.adagrad import rowwise_adagrad_rows
from .adagrad import Adagrad
from .sparse import as_rows
from .threads import threads_for

__all__ = ["RowwiseAdagrad"]


class RowwiseAdagrad(Adagrad):
    """Adagrad with a single accumulator per row, as embedding systems use.

    For each row r of the variable (rows are the first axis) with gradient
    row ``g``::

        accumulator[r] += mean(g * g)
        w[r] -= learning_rate * g / (sqrt(accumulator[r]) + epsilon)

    The accumulator has one float per row: N numbers for an (N, D)
    embedding table instead of N * D, which is the memory-saving choice for
    large tables.  A sparse gradient updates only the rows it names
    (repeated indices summed first); a dense gradient updates every row.

    Parameters are `Adagrad`'s.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="RowwiseAdagrad", **kwargs):
        super().__init__(learning_rate, initial_accumulator_value, epsilon, name, **kwargs)

    def _create_slots(self, var_list):
        for var in var_list:
            arr = np.asarray(var)
            self.add_slot(var, "accumulator", arr.dtype.type(self._initial_accumulator_value),
                          shape=arr.shape[:1])

    def _resource_apply_dense(self, grad, var, apply_state=None):
        coef = self._coefficients(var, apply_state)
        lr, eps = coef["lr_t"], coef["epsilon"]
        arr = np.asarray(var)
        rows = 1 if arr.ndim == 0 else arr.shape[0]          # a scalar is one row
        w = as_rows(arr.reshape(rows, *arr.shape[1:]))
        acc = np.asarray(self.get_slot(var, "accumulator")).reshape(rows)
        g = as_rows(grad.reshape(w.shape[0], *arr.shape[1:]))
        mean_sq = np.einsum("ij,ij->i", g, g) / w.dtype.type(w.shape[1])
        np.add(acc, mean_sq, out=acc)
        denom = np.sqrt(acc)
        denom += eps
        step = g * lr
        step /= denom[:, None]
        w -= step

    def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
        coef = self._coefficients(var, apply_state)
        w = as_rows(np.asarray(var))
        acc = np.asarray(self.get_slot(var, "accumulator"))
        g = as_rows(grad, len(indices))
        rowwise_adagrad_rows(w, acc, indices, g, coef["lr_t"], coef["epsilon"],
                             threads_for(g.size))
