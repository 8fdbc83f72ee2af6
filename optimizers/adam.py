"""Adam (with the AMSGrad variant), as TensorFlow 2.4 computes it."""
import numpy as np

from ._dense import blocks
from ._kernels.adam import adam_sparse_whole
from .base import Optimizer
from .sparse import as_rows
from .threads import threads_for

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam (TensorFlow 2.4 ``Adam``)::

        m = m + (g - m) * (1 - beta_1)
        v = v + (g * g - v) * (1 - beta_2)
        w -= m * alpha / (sqrt(v) + epsilon),
        alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)

    With ``amsgrad``, ``vhat = max(vhat, v)`` takes ``v``'s place in the last
    line.

    A sparse gradient follows TensorFlow: ``m`` and ``v`` decay and ``w``
    moves over the **whole** variable, not just the given rows (done in one
    pass at memory speed).  `LazyAdam` is the rows-only variant.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    beta_1, beta_2 : float, default 0.9 and 0.999
    epsilon : float, default=1e-7
        A falsy value means 1e-7, as in TensorFlow.
    amsgrad : bool, default=False
    name : str, default="Adam"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``.
    """

    _HAS_AGGREGATE_GRAD = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="Adam", **kwargs):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", kwargs.get("lr", learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("beta_1", beta_1)
        self._set_hyper("beta_2", beta_2)
        self.epsilon = epsilon or 1e-7
        self.amsgrad = bool(amsgrad)

    def _create_slots(self, var_list):
        for name in ("m", "v") + (("vhat",) if self.amsgrad else ()):
            for var in var_list:
                self.add_slot(var, name)

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        coef = apply_state[(var_device, var_dtype)]
        one = var_dtype.type(1)
        step = var_dtype.type(self._step_count() + 1)
        beta_1 = self._get_hyper("beta_1", var_dtype)
        beta_2 = self._get_hyper("beta_2", var_dtype)
        beta_1_power = np.power(beta_1, step)
        beta_2_power = np.power(beta_2, step)
        lr = coef["lr_t"]
        coef.update(
            beta_1=beta_1, beta_2=beta_2,
            one_minus_beta_1=one - beta_1, one_minus_beta_2=one - beta_2,
            epsilon=var_dtype.type(self.epsilon),
            # dense kernel: (lr * sqrt(1 - b2p)) / (1 - b1p)
            alpha=(lr * np.sqrt(one - beta_2_power)) / (one - beta_1_power),
            # sparse path: lr * (sqrt(1 - b2p) / (1 - b1p))
            lr_sparse=lr * (np.sqrt(one - beta_2_power) / (one - beta_1_power)),
        )

    def set_weights(self, weights):
        # Weights of an amsgrad Adam load into a plain one (TensorFlow's rule).
        weights = list(weights)
        n = int((len(self.weights) - 1) / 2)
        if len(weights) == 3 * n + 1:
            weights = weights[:len(self.weights)]
        super().set_weights(weights)

    def _resource_apply_dense(self, grad, var, apply_state=None):
        c = self._coefficients(var, apply_state)
        slots = ("m", "v", "vhat") if self.amsgrad else ("m", "v")
        w, m, v, *vhat = self._flat(var, *slots)
        g = grad.reshape(-1)
        for sl in blocks(w.size):
            t, u = self._scratch.get(w.dtype, sl.stop - sl.start, 2)
            gb, mb, vb = g[sl], m[sl], v[sl]
            np.subtract(gb, mb, out=t)                  # m += (g - m) * (1 - b1)
            np.multiply(t, c["one_minus_beta_1"], out=t)
            np.add(mb, t, out=mb)
            np.multiply(gb, gb, out=t)                  # v += (g * g - v) * (1 - b2)
            np.subtract(t, vb, out=t)
            np.multiply(t, c["one_minus_beta_2"], out=t)
            np.add(vb, t, out=vb)
            if vhat:
                np.maximum(vhat[0][sl], vb, out=vhat[0][sl])
                vb = vhat[0][sl]
            np.multiply(mb, c["alpha"], out=t)          # w -= (m * a) / (sqrt(v) + eps)
            np.sqrt(vb, out=u)
            np.add(u, c["epsilon"], out=u)
            np.divide(t, u, out=t)
            np.subtract(w[sl], t, out=w[sl])

    def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
        c = self._coefficients(var, apply_state)
        w, m, v, *vhat = self._rows(var, "m", "v", *(("vhat",) if self.amsgrad else ()))
        g = as_rows(grad, len(indices))
        adam_sparse_whole(
            w, m, v, vhat[0] if vhat else v, indices, g, self._row_slots.array(w.shape[0]),
            c["beta_1"], c["one_minus_beta_1"], c["beta_2"], c["one_minus_beta_2"],
            c["lr_sparse"], c["epsilon"], self.amsgrad, threads_for(w.size))

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate": self._serialize_hyperparameter("learning_rate"),
            "decay": self._initial_decay,
            "beta_1": self._serialize_hyperparameter("beta_1"),
            "beta_2": self._serialize_hyperparameter("beta_2"),
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        })
        return config
