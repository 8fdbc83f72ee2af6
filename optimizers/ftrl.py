"""FTRL-Proximal, for linear models on sparse features."""
import numpy as np

from ._declare import DECAY, Hyper, Slot, sign
from ._libm import power_into
from ._kernels.ftrl import ftrl_rows
from .base import DEVICE, Optimizer, compute_dtype
from .sparse import IndexedSlices
from .threads import threads_for
from .variables import as_array

__all__ = ["Ftrl"]


class Ftrl(Optimizer):
    r"""FTRL-Proximal (TensorFlow 2.4 ``Ftrl``).

    A sparse gradient updates only the rows it names (their ``accumulator``
    and ``linear`` too); repeated indices are summed first.  Like TensorFlow,
    ``lr=`` is ignored: pass ``learning_rate``.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    learning_rate_power : float, default=-0.5
        <= 0.
    initial_accumulator_value : float, default=0.1
        >= 0.
    l1_regularization_strength, l2_regularization_strength : float, default=0.0
        >= 0.
    name : str, default="Ftrl"
    l2_shrinkage_regularization_strength : float, default=0.0
        >= 0.
    beta : float, default=0.0
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``decay``.

    Notes
    -----
    Write :math:`g` for the gradient, :math:`\eta` for the step's learning
    rate (after a schedule and the legacy ``decay``), :math:`p` for
    ``learning_rate_power``, :math:`n` for the ``accumulator`` slot,
    :math:`z` for the ``linear`` slot, :math:`\lambda_1`, :math:`\lambda_2`,
    :math:`\lambda_s` for the l1, l2 and l2-shrinkage strengths and
    :math:`\beta` for ``beta``.  Per element, a step is TensorFlow's
    ``ResourceApplyFtrl`` (``ResourceApplyFtrlV2`` when :math:`\lambda_s > 0`):

    .. math::

       n' = n + g^2

       \sigma = \frac{(n')^{-p} - n^{-p}}{\eta}

       z \leftarrow z + (\tilde g - \sigma\, w),
       \qquad \tilde g = g + 2 \lambda_s w \;\; (\tilde g = g \text{ when } \lambda_s = 0)

       w \leftarrow \begin{cases}
       \dfrac{\lambda_1 \operatorname{sign}(z) - z}{(n')^{-p} / \eta + 2 \lambda_2'}
       & \text{if } |z| > \lambda_1 \\
       0 & \text{otherwise}
       \end{cases}
       \qquad \lambda_2' = \lambda_2 + \frac{\beta}{2 \eta}

       n \leftarrow n'

    The accumulator grows with the raw gradient :math:`g`, not
    :math:`\tilde g`, and :math:`w` on the right-hand sides is the value before
    the step.  With :math:`p = -1/2` (the default) the powers are square roots,
    :math:`\sigma = (\sqrt{n'} - \sqrt{n}) / \eta`: the per-coordinate
    learning rates of [1]_, where :math:`z` and :math:`n` are the paper's
    :math:`z_i` and :math:`n_i`, and :math:`\beta` its :math:`\beta`.
    Sparse steps apply the same lines to the touched rows; on a 1-D variable
    they follow TensorFlow's scalar kernel, which computes
    :math:`z \leftarrow (z + \tilde g) - \sigma w` and always uses ``pow``
    for :math:`\sigma`.  ``pow`` is the C library's, so results do not depend
    on the CPU.

    References
    ----------
    .. [1] H. B. McMahan et al., "Ad Click Prediction: a View from the
       Trenches", KDD 2013, https://research.google.com/pubs/archive/41159.pdf
    """

    _HAS_AGGREGATE_GRAD = False
    _complex = None  # complex variables: see optimizers._complex

    _declared_hypers = (
        Hyper("learning_rate"), DECAY,               # (no `lr` alias, as in TensorFlow)
        Hyper("initial_accumulator_value", sign("positive"), store="private"),
        Hyper("learning_rate_power", sign("negative")),
        Hyper("l1_regularization_strength", sign("positive")),
        Hyper("l2_regularization_strength", sign("positive")),
        Hyper("beta"),
        Hyper("l2_shrinkage_regularization_strength", sign("positive"), store="private"))
    # TensorFlow's order: the `accumulator` and `linear` of one variable, then the next.
    _declared_slots = (Slot("accumulator", initial="initial_accumulator_value"), Slot("linear"))
    _slot_order = "variable"

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, name="Ftrl",
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        self._init_declared(locals())

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        coef = apply_state[(var_device, var_dtype)]
        two = var_dtype.type(2)
        lr = coef["lr_t"]
        l2 = self._get_hyper("l2_regularization_strength", var_dtype)
        l2_adjusted = l2 + self._get_hyper("beta", var_dtype) / (two * lr)
        shrinkage = var_dtype.type(np.float32(self._l2_shrinkage_regularization_strength))
        coef.update(
            lr_power=self._get_hyper("learning_rate_power", var_dtype),
            l1=self._get_hyper("l1_regularization_strength", var_dtype),
            two_l2=two * l2_adjusted, two_shrinkage=two * shrinkage,
            shrinkage=self._l2_shrinkage_regularization_strength > 0)

    def _check_step(self, pairs):
        # TensorFlow's sparse kernels check their scalar inputs (the dense ones do not):
        # lr > 0, l1 >= 0, the beta-adjusted l2 >= 0, shrinkage >= 0, lr_power <= 0.
        dtypes = {compute_dtype(as_array(v).dtype) for g, v in pairs
                  if isinstance(g, IndexedSlices)}
        for dtype in sorted(dtypes, key=str):
            coef = {}
            with np.errstate(all="ignore"):             # lr == 0 makes beta / (2 lr) inf
                self._prepare_local(DEVICE, dtype, {(DEVICE, dtype): coef})
            lr = coef["lr_t"]
            if not lr > 0:
                raise ValueError(
                    f"Ftrl's sparse update needs a learning rate > 0; this step's is {lr}.")
            checks = [("l1_regularization_strength", coef["l1"] >= 0),
                      ("l2_regularization_strength + beta / (2 * learning_rate)",
                       coef["two_l2"] >= 0),
                      ("l2_shrinkage_regularization_strength", coef["two_shrinkage"] >= 0),
                      ("learning_rate_power", coef["lr_power"] <= 0)]
            for name, ok in checks:
                if not ok:
                    sign = "positive" if name != "learning_rate_power" else "negative"
                    raise ValueError(
                        f"Ftrl's sparse update needs `{name}` to be {sign} or zero.")

    def _dense_block(self, c, g, w, acc, lin):
        lr, l1, power = c["lr_t"], c["l1"], c["lr_power"]
        gg, pa, pn, t = self._scratch.get(w.dtype, w.size, 4)
        np.multiply(g, g, out=gg)                       # n = acc + g * g, into acc once
        if power == -0.5:                               # the old acc's power is read first
            np.sqrt(acc, out=pa)
            np.add(acc, gg, out=acc)
            np.sqrt(acc, out=pn)
        else:
            power_into(acc, -power, pa)                 # the C library's pow, on every CPU
            np.add(acc, gg, out=acc)
            power_into(acc, -power, pn)
        np.subtract(pn, pa, out=pa)                     # sigma = (pn - pa) / lr
        np.divide(pa, lr, out=pa)
        np.multiply(pa, w, out=pa)                      # linear += gs - sigma * w
        if c["shrinkage"]:
            np.multiply(w, c["two_shrinkage"], out=t)
            np.add(g, t, out=t)
            np.subtract(t, pa, out=t)
        else:
            np.subtract(g, pa, out=t)
        np.add(lin, t, out=lin)
        # w = |z| > l1 ? x / y : 0, with x = l1 sign(z) - z, y = pn / lr + 2 * l2'
        if l1 == 0:
            # x = -z wherever |z| > 0, and -z / y = z / -y bit for bit (IEEE
            # rounding is symmetric), with -y = pn / -lr - 2 * l2': no negation pass.
            np.divide(pn, -lr, out=pn)
            np.subtract(pn, c["two_l2"], out=pn)
            t = lin
        else:
            np.divide(pn, lr, out=pn)
            np.add(pn, c["two_l2"], out=pn)
            np.sign(lin, out=t)
            np.multiply(t, l1, out=t)
            np.subtract(t, lin, out=t)
        keep, = self._scratch.get(np.dtype(bool), w.size)
        np.abs(lin, out=pa)
        np.greater(pa, l1, out=keep)
        w.fill(0)                                       # a select: 0 even where y == 0
        np.divide(t, pn, out=w, where=keep)

    _sparse_rows_only = True      # a sparse step reads and writes only its rows
    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w, acc, lin = self._rows(var, "accumulator", "linear")
        ftrl_rows(w, acc, lin, rows, g, c, np.ndim(var) == 1, threads_for(g.size))
