"""AdamW: Adam with decoupled weight decay."""
import numpy as np

from ._dense import blocks
from .lazy_adam import LazyAdam

__all__ = ["AdamW"]


class AdamW(LazyAdam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), lazy on sparse steps.

    Before each Adam step the variable decays towards zero, independently of
    the gradient::

        w -= w * (learning_rate * weight_decay)

    using the step's learning rate (after schedules and legacy ``decay``),
    then the Adam update follows.  On a sparse step only the touched rows
    decay and move, with `LazyAdam`'s update (untouched rows and their
    moments stay as they are).  Dense steps decay every element and apply
    `Adam`'s dense update.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    weight_decay : float, default=0.004
        Decay rate per unit of learning rate (Keras 3's default); >= 0.
    beta_1, beta_2, epsilon, name, **kwargs
        As for `Adam`.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, name="AdamW", **kwargs):
        if not isinstance(weight_decay, (int, float, np.floating)) or weight_decay < 0:
            raise ValueError(f"`weight_decay` must be a number >= 0; received {weight_decay!r}.")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name=name, **kwargs)
        self.weight_decay = float(weight_decay)

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        coef = apply_state[(var_device, var_dtype)]
        coef["weight_decay"] = coef["lr_t"] * var_dtype.type(self.weight_decay)

    def _sparse_decay(self, coef):
        return coef["weight_decay"]

    def _resource_apply_dense(self, grad, var, apply_state=None):
        decay = self._coefficients(var, apply_state)["weight_decay"]
        if decay != 0:
            w = self._flat(var)[0]
            for sl in blocks(w.size):
                t, = self._scratch.get(w.dtype, sl.stop - sl.start)
                np.multiply(w[sl], decay, out=t)
                np.subtract(w[sl], t, out=w[sl])
        super()._resource_apply_dense(grad, var, apply_state)

    def get_config(self):
        config = super().get_config()
        config["weight_decay"] = self.weight_decay
        return config
