"""Nadam: Adam with Nesterov momentum and a momentum schedule."""
import numpy as np

from ._declare import DECAY, EPSILON, Hyper, Slot
from ._libm import power
from ._kernels.nadam import nadam_sparse_whole
from .base import Optimizer, compute_dtype
from .schedules import LearningRateSchedule
from .threads import threads_for
from .variables import as_array

__all__ = ["Nadam"]


def _no_schedule(name, value):
    if isinstance(value, LearningRateSchedule):
        raise ValueError(
            "The Nadam optimizer does not support "
            "tf.keras.optimizers.LearningRateSchedules as the learning rate.")
    return value


class Nadam(Optimizer):
    r"""Nadam, Adam with Nesterov momentum (TensorFlow 2.4 ``Nadam``).

    A sparse step follows TensorFlow: ``m`` and ``v`` decay over the whole
    variable (one pass at memory speed) while ``w`` moves on the given rows.
    As in TensorFlow, the learning rate is used as is (no schedule, no legacy
    ``decay``); ``schedule_decay`` is stored under the config key ``decay``.
    Unlike TensorFlow, `~optimizers.Optimizer.from_config` reads that key back, so a config round
    trip keeps ``schedule_decay``.

    Parameters
    ----------
    learning_rate : float or callable, default=0.001
        A `~optimizers.schedules.LearningRateSchedule` is refused, as in TensorFlow.
    beta_1, beta_2 : float, default 0.9 and 0.999
    epsilon : float, default=1e-7
        A falsy value means 1e-7, as in TensorFlow.
    name : str, default="Nadam"
    **kwargs
        ``schedule_decay`` (default 0.004), ``clipvalue``, ``clipnorm``,
        ``global_clipnorm``, ``lr``.  A ``decay`` argument is overridden by
        ``schedule_decay``, as in TensorFlow.

    Notes
    -----
    With :math:`g` the gradient, :math:`\eta` the learning rate, :math:`t` the
    step number (``iterations + 1``) and :math:`\psi` the ``schedule_decay``,
    the momentum schedule of [1]_ is

    .. math::

       \mu_t = \beta_1 \left(1 - \tfrac12 \cdot 0.96^{\,\psi t}\right)

    and the ``momentum_cache`` weight holds the running product
    :math:`\Pi_t = \prod_{i \le t} \mu_i` (it becomes :math:`\Pi_t` at the
    start of step :math:`t`).  A dense step is

    .. math::

       m \leftarrow \beta_1\, m + (1 - \beta_1)\, g

       v \leftarrow \beta_2\, v + (1 - \beta_2)\, g^2

       \bar m = (1 - \mu_t) \frac{g}{1 - \Pi_t}
       + \mu_{t+1} \frac{m}{1 - \Pi_t\, \mu_{t+1}}

       w \leftarrow w - \frac{\eta\, \bar m}{\sqrt{v / (1 - \beta_2^{\,t})} + \epsilon}

    On a sparse step (rows :math:`R`, summed gradient rows :math:`G`),
    :math:`m \leftarrow \beta_1 m` and :math:`v \leftarrow \beta_2 v` over
    every row, then :math:`G` is added to the rows :math:`R` of :math:`m` and
    :math:`v` as above, and only :math:`w_R` moves (with :math:`G`, :math:`m_R`,
    :math:`v_R` in the last two lines).  The constant 0.96 is
    ``float32(0.96)`` in the variable's dtype, as in TensorFlow.

    References
    ----------
    .. [1] T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016
       workshop, https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ
    """

    _HAS_AGGREGATE_GRAD = True
    _complex = "nadam"  # complex variables: see optimizers._complex

    _declared_hypers = (Hyper("learning_rate", _no_schedule, alias="lr"), DECAY,
                        Hyper("beta_1"), Hyper("beta_2"), EPSILON)
    _declared_slots = (Slot("m"), Slot("v"))
    _m_cache = None          # the `momentum_cache` weight, once created
    _m_cache_read = None     # its value at the start of the step
    _m_cache_next = None     # its value after the step, stored when the step is written

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="Nadam", **kwargs):
        kwargs["decay"] = kwargs.pop("schedule_decay", 0.004)
        self._init_declared(locals())

    def _create_slots(self, var_list):
        # The `momentum_cache` weight comes first, in the first variable's compute dtype.
        if self._m_cache is None and var_list:
            dtype = compute_dtype(as_array(var_list[0]).dtype)
            self._m_cache = self.add_weight("momentum_cache", shape=(), dtype=dtype,
                                            initializer="ones")
        super()._create_slots(var_list)

    def _prepare(self, var_list):
        self._m_cache_read = np.asarray(self._m_cache).copy()
        self._m_cache_next = None
        return super()._prepare(var_list)

    def _finish_call(self):
        # The cache TensorFlow assigns while preparing the step is stored
        # once the step is written, so a step that fails midway (out of
        # memory, say) leaves it as it was.
        if self._m_cache_next is not None:
            self._m_cache.assign(self._m_cache_next)
            self._m_cache_next = None
        super()._finish_call()

    def _prepare_local(self, var_device, var_dtype, apply_state):
        T = var_dtype.type
        one = T(1)
        lr = self._get_hyper("learning_rate", var_dtype)
        beta_1 = self._get_hyper("beta_1", var_dtype)
        beta_2 = self._get_hyper("beta_2", var_dtype)
        step = self._step_count()
        local_step, next_step = T(step + 1), T(step + 2)
        decay_base = T(np.float32(0.96))
        decay = T(self._initial_decay)
        m_t = beta_1 * (one - T(0.5) * power(decay_base, decay * local_step))
        m_t_1 = beta_1 * (one - T(0.5) * power(decay_base, decay * next_step))
        # From the cache as it was read at the start of the step: computing
        # these again (TensorFlow's fallback, for an update called without
        # `apply_state`) gives the same values and stores the same cache.
        m_schedule_new = T(self._m_cache_read) * m_t
        if var_dtype == self._m_cache.dtype:
            self._m_cache_next = m_schedule_new     # stored with the step's count
        m_schedule_next = m_schedule_new * m_t_1
        apply_state[(var_device, var_dtype)] = dict(
            lr_t=lr, neg_lr_t=-lr, epsilon=T(self.epsilon),
            beta_1=beta_1, beta_2=beta_2, m_t=m_t, m_t_1=m_t_1,
            one_minus_beta_1=one - beta_1, one_minus_beta_2=one - beta_2,
            one_minus_m_t=one - m_t, m_schedule_new=m_schedule_new,
            m_schedule_next=m_schedule_next,
            one_minus_m_schedule_new=one - m_schedule_new,
            one_minus_m_schedule_next=one - m_schedule_next,
            v_t_prime_denominator=one - power(beta_2, local_step))

    def _dense_block(self, c, g, w, m, v):
        t, u, p = self._scratch.get(w.dtype, w.size, 3)
        np.divide(g, c["one_minus_m_schedule_new"], out=p)    # g' = g / (1 - msn)
        np.multiply(m, c["beta_1"], out=m)                    # m = b1 m + (1 - b1) g
        np.multiply(g, c["one_minus_beta_1"], out=t)
        np.add(m, t, out=m)
        np.divide(m, c["one_minus_m_schedule_next"], out=t)   # m' = m / (1 - msnext)
        np.multiply(v, c["beta_2"], out=v)                    # v = b2 v + (1 - b2) g^2
        np.multiply(g, g, out=u)
        np.multiply(u, c["one_minus_beta_2"], out=u)
        np.add(v, u, out=v)
        np.multiply(p, c["one_minus_m_t"], out=p)             # m_bar
        np.multiply(t, c["m_t_1"], out=t)
        np.add(p, t, out=p)
        np.divide(v, c["v_t_prime_denominator"], out=u)       # sqrt(v') + eps
        np.sqrt(u, out=u)
        np.add(u, c["epsilon"], out=u)
        np.multiply(p, c["lr_t"], out=p)                      # w -= (lr m_bar) / (...)
        np.divide(p, u, out=p)
        np.subtract(w, p, out=w)

    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w, m, v = self._rows(var, "m", "v")
        nadam_sparse_whole(w, m, v, rows, np.argsort(rows, kind="stable"), g, c,
                           threads_for(w.size))

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # `decay` holds schedule_decay (TensorFlow loses it here; we keep it).
        config = dict(config)
        if "decay" in config and "schedule_decay" not in config:
            config["schedule_decay"] = config.pop("decay")
        return super().from_config(config, custom_objects=custom_objects)
