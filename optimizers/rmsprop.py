"""RMSprop, plain or centered, with optional momentum."""
import numpy as np

from ._declare import DECAY, EPSILON, LEARNING_RATE, Hyper, Slot, as_bool, momentum
from ._kernels.rmsprop import rmsprop_momentum_rows, rmsprop_sparse_whole
from .base import Optimizer
from .threads import threads_for

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, plain or centered, with optional momentum (TensorFlow 2.4 ``RMSprop``).

    Sparse steps follow TensorFlow: with momentum only the given rows (of
    ``w`` and every slot) change; without momentum ``rms`` (and ``mg``) decay
    over the whole variable while ``w`` moves on the given rows only.

    Parameters
    ----------
    learning_rate : float, callable or LearningRateSchedule, default=0.001
    rho : float, default=0.9
    momentum : float, default=0.0
        In ``[0, 1]``.
    epsilon : float, default=1e-7
        A falsy value means 1e-7, as in TensorFlow.
    centered : bool, default=False
    name : str, default="RMSprop"
    **kwargs
        ``clipvalue``, ``clipnorm``, ``global_clipnorm``, ``lr``, ``decay``.

    Notes
    -----
    With :math:`g` the gradient, :math:`\eta` the step's learning rate (after
    a schedule and the legacy ``decay``), :math:`r` the ``rms`` slot,
    :math:`\bar g` the ``mg`` slot (centered only) and :math:`p` the
    ``momentum`` slot, TensorFlow has two forms, and they put
    :math:`\epsilon` in different places.

    Without momentum (the default), :math:`\epsilon` is outside the square root:

    .. math::

       r \leftarrow \rho\, r + (1 - \rho)\, g^2

       \bar g \leftarrow \rho\, \bar g + (1 - \rho)\, g \qquad \text{(centered)}

       w \leftarrow w - \frac{\eta\, g}{\sqrt{d} + \epsilon},
       \qquad d = r - \bar g^2 \text{ (centered)}, \quad d = r \text{ (plain)}

    On a sparse step :math:`r` (and :math:`\bar g`) decay over every row,
    :math:`r \leftarrow \rho\, r`, before the rows :math:`R` add
    :math:`(1 - \rho) G^2` (and :math:`(1 - \rho) G`); only :math:`w_R` moves.

    With momentum :math:`\mu > 0` (``ResourceApplyRMSProp`` and
    ``ResourceApplyCenteredRMSProp``), :math:`\epsilon` is inside the square
    root:

    .. math::

       r \leftarrow r + (g^2 - r)(1 - \rho)

       \bar g \leftarrow \bar g + (g - \bar g)(1 - \rho) \qquad \text{(centered)}

       p \leftarrow \mu\, p + \frac{\eta\, g}{\sqrt{d}}, \qquad
       d = (r - \bar g^2) + \epsilon \text{ (centered)}, \quad
       d = r + \epsilon \text{ (plain)}

       w \leftarrow w - p

    A sparse step with momentum is lazy: the touched rows go through
    :math:`r \leftarrow \rho\, r + (1 - \rho) G^2` (and
    :math:`\bar g \leftarrow \rho\, \bar g + (1 - \rho) G`) and the last
    two lines, with TensorFlow's sparse placement of :math:`\epsilon` in the
    centered case, :math:`d = (r + \epsilon) - \bar g^2`; other rows do not
    change.

    RMSprop was proposed in lecture 6e of [1]_; the centered form divides by
    an estimate of the variance instead of the second moment, as in [2]_.

    References
    ----------
    .. [1] G. Hinton, N. Srivastava, K. Swersky, "Neural Networks for Machine
       Learning", lecture 6e, Coursera,
       http://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf
    .. [2] A. Graves, "Generating Sequences With Recurrent Neural Networks",
       2013, https://arxiv.org/abs/1308.0850
    """

    _aliases = ("RMSProp",)

    _HAS_AGGREGATE_GRAD = True
    _complex = "rmsprop"  # complex variables: see optimizers._complex

    _declared_hypers = (LEARNING_RATE, DECAY, Hyper("rho"),
                        Hyper("momentum", momentum, flag="_momentum"), EPSILON,
                        Hyper("centered", as_bool, store="attribute"))
    _declared_slots = (Slot("rms"), Slot("momentum", when="_momentum"),
                       Slot("mg", when="centered"))
    _weights_may_lack_iterations = True

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="RMSprop", **kwargs):
        self._init_declared(locals())

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        coef = apply_state[(var_device, var_dtype)]
        rho = self._get_hyper("rho", var_dtype)
        coef.update(
            neg_lr_t=-coef["lr_t"], epsilon=var_dtype.type(self.epsilon), rho=rho,
            momentum=self._get_hyper("momentum", var_dtype),
            one_minus_rho=var_dtype.type(1) - rho)

    def _dense_block(self, c, g, w, rms, *rest):
        mom = rest[0] if self._momentum else None
        mg = rest[-1] if self.centered else None
        rho, omr, eps, lr = c["rho"], c["one_minus_rho"], c["epsilon"], c["lr_t"]
        t, u = self._scratch.get(w.dtype, w.size, 2)
        if mom is None:
            np.multiply(rms, rho, out=rms)              # rms = rho * rms + (1 - rho) * g^2
            np.multiply(g, g, out=t)
            np.multiply(t, omr, out=t)
            np.add(rms, t, out=rms)
            den = rms
            if mg is not None:                          # mg = rho * mg + (1 - rho) * g
                np.multiply(mg, rho, out=mg)
                np.multiply(g, omr, out=t)
                np.add(mg, t, out=mg)
                np.multiply(mg, mg, out=u)              # den = rms - mg^2
                np.subtract(rms, u, out=u)
                den = u
            np.sqrt(den, out=u)                         # w -= (lr * g) / (sqrt(den) + eps)
            np.add(u, eps, out=u)
            np.multiply(g, lr, out=t)
            np.divide(t, u, out=t)
            np.subtract(w, t, out=w)
            return
        np.multiply(g, g, out=t)                        # rms += (g^2 - rms) * (1 - rho)
        np.subtract(t, rms, out=t)
        np.multiply(t, omr, out=t)
        np.add(rms, t, out=rms)
        if mg is not None:                              # mg += (g - mg) * (1 - rho)
            np.subtract(g, mg, out=t)
            np.multiply(t, omr, out=t)
            np.add(mg, t, out=mg)
            np.multiply(mg, mg, out=u)                  # den = (rms - mg^2) + eps
            np.subtract(rms, u, out=u)
            np.add(u, eps, out=u)
        else:
            np.add(rms, eps, out=u)                     # den = rms + eps
        np.sqrt(u, out=u)                               # mom = mom * mu + (g * lr) / sqrt(den)
        np.multiply(g, lr, out=t)
        np.divide(t, u, out=t)
        np.multiply(mom, c["momentum"], out=mom)
        np.add(mom, t, out=mom)
        np.subtract(w, mom, out=w)                      # w -= mom

    def _sparse_rows_only(self):
        # With momentum a sparse step updates only its rows; without, `rms`
        # (and `mg`) decay over the whole table.
        return bool(self._momentum)

    _sparse_rows_read_csr = True  # `g` may be a CSR gradient's rows or linked repeats

    def _sparse_rows(self, c, var, rows, g):
        w, rms, *rest = self._rows(var, *self._slot_list())
        if self._momentum:
            mg = rest[1] if self.centered else None
            rmsprop_momentum_rows(w, rms, rest[0], mg, rows, g, c, threads_for(g.size))
        else:
            mg = rest[0] if self.centered else None
            rmsprop_sparse_whole(w, rms, mg, rows, np.argsort(rows, kind="stable"), g, c,
                                 threads_for(w.size))
