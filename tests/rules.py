"""The optimizer table: every optimizer class in a few settings, each with its
slots in TensorFlow's creation order and a NumPy reference of one dense and
one sparse step.

`tests/test_rules.py` drives the shared tests from `RULES`.

A reference holds the variable and its slots (``state``) in the compute dtype
(float32 for a float16 variable) and applies one step with `Reference.dense`
or `Reference.sparse`, operation by operation as TensorFlow does (section 2
of the semantics reference): every binary operation in the variable's dtype,
hyperparameters held as float32 and cast (`reference.f32`), ``epsilon`` and
initial accumulator values exact, bias corrections through the C library's
``pow`` (`reference.c_pow`), so results can be compared bit for bit.

What a sparse step (rows ``R`` after summing repeated indices) touches, read
from the code and checked against TensorFlow's formulas:

============================================  ===========================================
optimizer                                     arrays that change outside ``R``
============================================  ===========================================
SGD (plain, momentum, Nesterov), Adagrad,     none (rows only); plain SGD adds repeated
RowwiseAdagrad, Adadelta, Adamax, Ftrl,       indices one after another instead of
RMSprop with momentum, LazyAdam, AdamW,       summing them first
PartialRowwiseAdam
Adam (with or without amsgrad)                ``var``, ``m``, ``v`` (whole table)
Nadam                                         ``m``, ``v`` (``var`` only on ``R``)
RMSprop without momentum (plain, centered)    ``rms`` (and ``mg``) (``var`` only on ``R``)
============================================  ===========================================
"""
from dataclasses import dataclass

import numpy as np

from optimizers import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Ftrl, LazyAdam, Nadam,
                        PartialRowwiseAdam, RMSprop, RowwiseAdagrad, schedules)
from reference import c_pow, c_pow_array, dedup, f32


# --------------------------------------------------------------------------- #
# References
class Reference:
    """One optimizer's state and TensorFlow's steps, in one dtype.

    ``state`` maps ``"var"`` and each slot name to an array; `step` is the
    number of steps taken (TensorFlow's ``iterations``).
    """

    defaults = {}
    slots = ()

    def __init__(self, kwargs, var):
        self.kw = {**self.defaults, **kwargs}
        self.T = var.dtype.type
        self.step = 0
        self.state = {"var": var.copy()}
        for name in self.slot_names():
            self.state[name] = self.initial_slot(name, var)

    def slot_names(self):
        return self.slots

    def initial_slot(self, name, var):
        return np.zeros_like(var)

    def h(self, name):
        """Hyperparameter ``name`` as TensorFlow holds it: float32, cast to T."""
        return f32(self.kw[name], self.T)

    def epsilon(self):
        return self.T(self.kw["epsilon"] or 1e-7)

    def lr(self):
        """This step's learning rate: schedule (called with the step count before
        this step), then the legacy ``decay``."""
        T, lr = self.T, self.kw["learning_rate"]
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = T(np.asarray(lr(T(self.step - 1))))
        else:
            lr = f32(lr, T)
        if self.kw.get("decay", 0.0) > 0:
            lr = lr / (T(1) + f32(self.kw["decay"], T) * T(self.step - 1))
        return lr

    def dense(self, grad):
        """One dense step with gradient ``grad`` (the variable's shape)."""
        self.step += 1
        self._dense(self.state, grad)

    def sparse(self, values, indices):
        """One sparse step: ``values[k]`` is the gradient of row ``indices[k]``."""
        self.step += 1
        self._sparse(self.state, np.asarray(values), np.asarray(indices, np.int64))

    def round_to(self, dtype):
        """Round every array to ``dtype`` and back (a float16 variable's state
        between steps)."""
        for name, array in self.state.items():
            self.state[name] = array.astype(dtype).astype(array.dtype)

    def _dense(self, s, g):
        raise NotImplementedError

    def _sparse(self, s, values, indices):
        raise NotImplementedError


class SGDReference(Reference):
    """``ResourceApplyGradientDescent`` / ``ResourceApplyKerasMomentum``; sparse
    without momentum is a scatter-add of every slice in turn."""

    defaults = dict(learning_rate=0.01, momentum=0.0, nesterov=False)

    def slot_names(self):
        return ("momentum",) if self.kw["momentum"] > 0 else ()

    def _momentum_step(self, var, accum, g, lr):
        mu = self.h("momentum")
        accum = accum * mu - g * lr
        var = var + (accum * mu - g * lr if self.kw["nesterov"] else accum)
        return var, accum

    def _dense(self, s, g):
        lr = self.lr()
        if self.kw["momentum"] > 0:
            s["var"], s["momentum"] = self._momentum_step(s["var"], s["momentum"], g, lr)
        else:
            s["var"] = s["var"] - g * lr

    def _sparse(self, s, values, indices):
        lr = self.lr()
        if self.kw["momentum"] > 0:
            rows, g = dedup(values, indices)
            s["var"][rows], s["momentum"][rows] = self._momentum_step(
                s["var"][rows], s["momentum"][rows], g, lr)
        else:
            for k, r in enumerate(indices):
                s["var"][r] = s["var"][r] - values[k] * lr


class AdamReference(Reference):
    """Dense ``ResourceApplyAdam[WithAmsgrad]``; sparse: TensorFlow's composition
    that decays ``m`` and ``v`` and moves ``var`` over the whole table."""

    defaults = dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                    amsgrad=False, decay=0.0)

    def slot_names(self):
        return ("m", "v", "vhat") if self.kw["amsgrad"] else ("m", "v")

    def coefficients(self):
        T = self.T
        one, lr = T(1), self.lr()
        b1, b2 = self.h("beta_1"), self.h("beta_2")
        b1p, b2p = c_pow(b1, T(self.step)), c_pow(b2, T(self.step))
        return dict(lr=lr, b1=b1, b2=b2, eps=self.epsilon(),
                    alpha=(lr * np.sqrt(one - b2p)) / (one - b1p),
                    lr_sparse=lr * (np.sqrt(one - b2p) / (one - b1p)))

    def _dense(self, s, g):
        c, one = self.coefficients(), self.T(1)
        s["m"] = s["m"] + (g - s["m"]) * (one - c["b1"])
        s["v"] = s["v"] + (g * g - s["v"]) * (one - c["b2"])
        v = s["v"]
        if self.kw["amsgrad"]:
            s["vhat"] = v = np.maximum(s["vhat"], s["v"])
        s["var"] = s["var"] - (s["m"] * c["alpha"]) / (np.sqrt(v) + c["eps"])

    def _sparse(self, s, values, indices):
        c, one = self.coefficients(), self.T(1)
        rows, g = dedup(values, indices)
        s["m"] = s["m"] * c["b1"]
        s["m"][rows] = s["m"][rows] + g * (one - c["b1"])
        s["v"] = s["v"] * c["b2"]
        s["v"][rows] = s["v"][rows] + (g * g) * (one - c["b2"])
        v = s["v"]
        if self.kw["amsgrad"]:
            s["vhat"] = v = np.maximum(s["vhat"], s["v"])
        s["var"] = s["var"] - (c["lr_sparse"] * s["m"]) / (np.sqrt(v) + c["eps"])

    def _lazy_rows(self, s, values, indices, decay=None):
        """TensorFlow Addons' LazyAdam on the touched rows (AdamW: each row first
        decays by ``decay``); ``alpha`` (the dense step's) is the step size."""
        c, one = self.coefficients(), self.T(1)
        rows, g = dedup(values, indices)
        w = s["var"][rows]
        if decay is not None:
            w = w - w * decay
        m = c["b1"] * s["m"][rows] + (one - c["b1"]) * g
        v = c["b2"] * s["v"][rows] + (one - c["b2"]) * (g * g)
        s["m"][rows], s["v"][rows] = m, v
        if self.kw["amsgrad"]:
            s["vhat"][rows] = v = np.maximum(s["vhat"][rows], v)
        s["var"][rows] = w - (c["alpha"] * m) / (np.sqrt(v) + c["eps"])


class LazyAdamReference(AdamReference):
    """Adam's dense step; the sparse step touches the given rows only."""

    def _sparse(self, s, values, indices):
        self._lazy_rows(s, values, indices)


class AdamWReference(AdamReference):
    """``w -= w * (lr * weight_decay)`` first (every element dense, touched rows
    sparse), then Adam's dense step or LazyAdam's rows."""

    defaults = dict(AdamReference.defaults, weight_decay=0.004)

    def decay(self):
        return self.lr() * self.T(self.kw["weight_decay"])

    def _dense(self, s, g):
        s["var"] = s["var"] - s["var"] * self.decay()
        super()._dense(s, g)

    def _sparse(self, s, values, indices):
        self._lazy_rows(s, values, indices, decay=self.decay())


class NadamReference(Reference):
    """TensorFlow's Nadam (section 4): the momentum cache advances once per
    step; a sparse step decays ``m`` and ``v`` everywhere and moves the given
    rows of ``var``.  No schedule and no legacy decay."""

    defaults = dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                    schedule_decay=0.004)
    slots = ("m", "v")

    def __init__(self, kwargs, var):
        super().__init__(kwargs, var)
        self.momentum_cache = self.T(1)

    def coefficients(self):
        T = self.T
        one, lr = T(1), self.h("learning_rate")
        b1, b2 = self.h("beta_1"), self.h("beta_2")
        base, decay = T(np.float32(0.96)), T(self.kw["schedule_decay"])
        m_t = b1 * (one - T(0.5) * c_pow(base, decay * T(self.step)))
        m_t_1 = b1 * (one - T(0.5) * c_pow(base, decay * T(self.step + 1)))
        m_schedule_new = self.momentum_cache * m_t
        self.momentum_cache = m_schedule_new
        return dict(lr=lr, b1=b1, b2=b2, eps=self.epsilon(), m_t=m_t, m_t_1=m_t_1,
                    msn=m_schedule_new, msnext=m_schedule_new * m_t_1,
                    v_den=one - c_pow(b2, T(self.step)))

    def _dense(self, s, g):
        c, one = self.coefficients(), self.T(1)
        g_prime = g / (one - c["msn"])
        s["m"] = s["m"] * c["b1"] + g * (one - c["b1"])
        m_prime = s["m"] / (one - c["msnext"])
        s["v"] = s["v"] * c["b2"] + (g * g) * (one - c["b2"])
        m_bar = g_prime * (one - c["m_t"]) + m_prime * c["m_t_1"]
        s["var"] = s["var"] - (m_bar * c["lr"]) / (np.sqrt(s["v"] / c["v_den"]) + c["eps"])

    def _sparse(self, s, values, indices):
        c, one = self.coefficients(), self.T(1)
        rows, g = dedup(values, indices)
        s["m"] = s["m"] * c["b1"]
        s["m"][rows] = s["m"][rows] + g * (one - c["b1"])
        m_prime = s["m"][rows] / (one - c["msnext"])
        m_bar = (one - c["m_t"]) * (g / (one - c["msn"])) + c["m_t_1"] * m_prime
        s["v"] = s["v"] * c["b2"]
        s["v"][rows] = s["v"][rows] + (g * g) * (one - c["b2"])
        v_prime = s["v"][rows] / c["v_den"]
        s["var"][rows] = s["var"][rows] + ((-c["lr"]) * m_bar) / (np.sqrt(v_prime) + c["eps"])


class AdamaxReference(Reference):
    """Dense ``ResourceApplyAdaMax``; sparse: gather, update, scatter (rows only)."""

    defaults = dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0)
    slots = ("m", "v")

    def coefficients(self):
        T = self.T
        b1 = self.h("beta_1")
        return dict(lr=self.lr(), b1=b1, b2=self.h("beta_2"), eps=self.epsilon(),
                    b1p=c_pow(b1, T(self.step)))

    def _dense(self, s, g):
        c, one = self.coefficients(), self.T(1)
        s["m"] = s["m"] + (g - s["m"]) * (one - c["b1"])
        s["v"] = np.maximum(c["b2"] * s["v"], np.abs(g))
        s["var"] = s["var"] - (c["lr"] / (one - c["b1p"])) * (s["m"] / (s["v"] + c["eps"]))

    def _sparse(self, s, values, indices):
        c, one = self.coefficients(), self.T(1)
        rows, g = dedup(values, indices)
        neg_scaled_lr = (-c["lr"]) / (one - c["b1p"])
        m = s["m"][rows] * c["b1"] + g * (one - c["b1"])
        v = np.maximum(s["v"][rows] * c["b2"], np.abs(g))
        s["m"][rows], s["v"][rows] = m, v
        s["var"][rows] = s["var"][rows] + neg_scaled_lr * (m / (v + c["eps"]))


class AdadeltaReference(Reference):
    """``ResourceApplyAdadelta`` (rsqrt as ``1 / sqrt``); sparse: the same on
    the given rows only."""

    defaults = dict(learning_rate=0.001, rho=0.95, epsilon=1e-7, decay=0.0)
    slots = ("accum_grad", "accum_var")

    def _update(self, var, a, u, g):
        lr, rho, eps = self.lr(), self.h("rho"), self.epsilon()
        one_minus_rho = self.T(1) - rho
        a = a * rho + (g * g) * one_minus_rho
        update = (np.sqrt(u + eps) * (self.T(1) / np.sqrt(a + eps))) * g
        var = var - update * lr
        u = u * rho + (update * update) * one_minus_rho
        return var, a, u

    def _dense(self, s, g):
        s["var"], s["accum_grad"], s["accum_var"] = self._update(
            s["var"], s["accum_grad"], s["accum_var"], g)

    def _sparse(self, s, values, indices):
        rows, g = dedup(values, indices)
        s["var"][rows], s["accum_grad"][rows], s["accum_var"][rows] = self._update(
            s["var"][rows], s["accum_grad"][rows], s["accum_var"][rows], g)


class AdagradReference(Reference):
    """``ResourceApplyAdagradV2``; sparse: the same on the given rows only."""

    defaults = dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                    decay=0.0)
    slots = ("accumulator",)

    def initial_slot(self, name, var):
        return np.full_like(var, self.T(self.kw["initial_accumulator_value"]))

    def _dense(self, s, g):
        lr, eps = self.lr(), self.epsilon()
        s["accumulator"] = s["accumulator"] + g * g
        s["var"] = s["var"] - (g * lr) / (np.sqrt(s["accumulator"]) + eps)

    def _sparse(self, s, values, indices):
        lr, eps = self.lr(), self.epsilon()
        rows, g = dedup(values, indices)
        acc = s["accumulator"][rows] + g * g
        s["accumulator"][rows] = acc
        s["var"][rows] = s["var"][rows] - (lr * g) / (np.sqrt(acc) + eps)


class RowwiseAdagradReference(AdagradReference):
    """One accumulator per row (the first axis; the rest is the row):
    ``acc[r] += mean(g * g)`` summed left to right, then Adagrad's step."""

    def initial_slot(self, name, var):
        return np.full(var.shape[:1], self.T(self.kw["initial_accumulator_value"]), var.dtype)

    def _rows(self, s, rows, g):
        T, lr, eps = self.T, self.lr(), self.epsilon()
        width = int(np.prod(s["var"].shape[1:], dtype=np.int64))
        g = g.reshape(len(rows), width)
        square = np.zeros(len(rows), s["var"].dtype)
        for j in range(width):                      # left to right along each row
            square = square + g[:, j] * g[:, j]
        acc = s["accumulator"][rows] + square / T(width)
        s["accumulator"][rows] = acc
        var = s["var"].reshape(len(s["var"]), width)
        var[rows] = var[rows] - (g * lr) / (np.sqrt(acc) + eps)[:, None]

    def _dense(self, s, g):
        self._rows(s, np.arange(len(s["var"])), g)

    def _sparse(self, s, values, indices):
        self._rows(s, *dedup(values, indices))


class PartialRowwiseAdamReference(AdamReference):
    """Adam with one second moment per row (the first axis; the rest is the
    row): ``v[r] = beta_2 * v[r] + (1 - beta_2) * mean(g * g)`` summed left to
    right, LazyAdam's ``m`` and step (``alpha``).  Dense: every row; sparse:
    the given rows only."""

    defaults = dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0,
                    amsgrad=False)

    def initial_slot(self, name, var):
        return np.zeros(var.shape[:1] or (1,), var.dtype) if name == "v" else np.zeros_like(var)

    def _rows(self, s, rows, g):
        c, one = self.coefficients(), self.T(1)
        n = len(s["v"])                             # a scalar variable is one row
        width = s["var"].size // n if n else 0
        g = g.reshape(len(rows), width)
        square = np.zeros(len(rows), s["var"].dtype)
        for j in range(width):                      # left to right along each row
            square = square + g[:, j] * g[:, j]
        v = c["b2"] * s["v"][rows] + (one - c["b2"]) * (square / self.T(width))
        s["v"][rows] = v
        var, m = (x.reshape(n, width) for x in (s["var"], s["m"]))
        m[rows] = c["b1"] * m[rows] + (one - c["b1"]) * g
        var[rows] = var[rows] - (c["alpha"] * m[rows]) / (np.sqrt(v) + c["eps"])[:, None]

    def _dense(self, s, g):
        self._rows(s, np.arange(len(s["v"])), g)

    def _sparse(self, s, values, indices):
        self._rows(s, *dedup(values, indices))


class FtrlReference(Reference):
    """``ResourceApplyFtrl[V2]`` (a select for the new weight); sparse: the
    rows kernel (a clip), with TensorFlow's scalar kernel for 1-D variables."""

    defaults = dict(learning_rate=0.001, learning_rate_power=-0.5,
                    initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                    l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                    beta=0.0, decay=0.0)
    slots = ("accumulator", "linear")

    def initial_slot(self, name, var):
        if name == "accumulator":
            return np.full_like(var, self.T(self.kw["initial_accumulator_value"]))
        return np.zeros_like(var)

    def coefficients(self):
        T = self.T
        two, lr = T(2), self.lr()
        l2 = self.h("l2_regularization_strength")
        return dict(lr=lr, power=self.h("learning_rate_power"),
                    l1=self.h("l1_regularization_strength"),
                    two_l2=two * (l2 + self.h("beta") / (two * lr)),
                    two_shrinkage=two * self.h("l2_shrinkage_regularization_strength"),
                    shrinkage=self.kw["l2_shrinkage_regularization_strength"] > 0)

    def _gradient(self, c, g, w):
        return g + w * c["two_shrinkage"] if c["shrinkage"] else g

    def _pow(self, x, c):
        return np.sqrt(x) if c["power"] == -0.5 else c_pow_array(x, -c["power"])

    def _dense(self, s, g):
        c = self.coefficients()
        w, acc, lin = s["var"], s["accumulator"], s["linear"]
        n = acc + g * g
        p_new, p_old = self._pow(n, c), self._pow(acc, c)
        sigma = (p_new - p_old) / c["lr"]
        lin = lin + (self._gradient(c, g, w) - sigma * w)
        y = p_new / c["lr"] + c["two_l2"]
        s["var"] = np.where(np.abs(lin) > c["l1"], (np.sign(lin) * c["l1"] - lin) / y,
                            self.T(0))
        s["linear"], s["accumulator"] = lin, n

    def _sparse(self, s, values, indices):
        c = self.coefficients()
        rows, g = dedup(values, indices)
        w, acc, lin = s["var"][rows], s["accumulator"][rows], s["linear"][rows]
        n = acc + g * g
        if s["var"].ndim == 1:                      # TensorFlow's scalar kernel
            sigma = (c_pow_array(n, -c["power"]) - c_pow_array(acc, -c["power"])) / c["lr"]
            lin = (lin + self._gradient(c, g, w)) - sigma * w
        else:
            sigma = (self._pow(n, c) - self._pow(acc, c)) / c["lr"]
            lin = lin + (self._gradient(c, g, w) - sigma * w)
        y = self._pow(n, c) / c["lr"] + c["two_l2"]
        s["var"][rows] = (np.clip(lin, -c["l1"], c["l1"]) - lin) / y
        s["linear"][rows], s["accumulator"][rows] = lin, n


class RMSpropReference(Reference):
    """Without momentum: TensorFlow's Python composition (epsilon outside the
    sqrt; sparse decays ``rms``/``mg`` everywhere, moves the given rows of
    ``var``).  With momentum: ``ResourceApply[Centered]RMSProp`` (epsilon
    inside) and its sparse kernel on the given rows only."""

    defaults = dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                    centered=False, decay=0.0)

    def slot_names(self):
        return (("rms",) + (("momentum",) if self.kw["momentum"] > 0 else ())
                + (("mg",) if self.kw["centered"] else ()))

    def coefficients(self):
        rho = self.h("rho")
        return dict(lr=self.lr(), rho=rho, one_minus_rho=self.T(1) - rho,
                    momentum=self.h("momentum"), eps=self.epsilon())

    def _dense(self, s, g):
        c, centered = self.coefficients(), self.kw["centered"]
        rho, omr, eps = c["rho"], c["one_minus_rho"], c["eps"]
        if self.kw["momentum"] > 0:
            s["rms"] = s["rms"] + (g * g - s["rms"]) * omr
            if centered:
                s["mg"] = s["mg"] + (g - s["mg"]) * omr
                den = (s["rms"] - s["mg"] * s["mg"]) + eps
            else:
                den = s["rms"] + eps
            s["momentum"] = s["momentum"] * c["momentum"] + (g * c["lr"]) / np.sqrt(den)
            s["var"] = s["var"] - s["momentum"]
            return
        s["rms"] = s["rms"] * rho + (g * g) * omr
        den = s["rms"]
        if centered:
            s["mg"] = s["mg"] * rho + g * omr
            den = s["rms"] - s["mg"] * s["mg"]
        s["var"] = s["var"] - (g * c["lr"]) / (np.sqrt(den) + eps)

    def _sparse(self, s, values, indices):
        c, centered = self.coefficients(), self.kw["centered"]
        rho, omr, eps, one = c["rho"], c["one_minus_rho"], c["eps"], self.T(1)
        rows, g = dedup(values, indices)
        if self.kw["momentum"] > 0:
            rms = s["rms"][rows] * rho + (g * g) * omr
            den = rms + eps
            if centered:
                mg = s["mg"][rows] * rho + g * omr
                s["mg"][rows] = mg
                den = den - mg * mg
            mom = s["momentum"][rows] * c["momentum"] + ((one / np.sqrt(den)) * c["lr"]) * g
            s["rms"][rows], s["momentum"][rows] = rms, mom
            s["var"][rows] = s["var"][rows] - mom
            return
        s["rms"] = s["rms"] * rho
        s["rms"][rows] = s["rms"][rows] + (g * g) * omr
        den = s["rms"][rows]
        if centered:
            s["mg"] = s["mg"] * rho
            s["mg"][rows] = s["mg"][rows] + g * omr
            den = den - s["mg"][rows] * s["mg"][rows]
        s["var"][rows] = s["var"][rows] + ((-c["lr"]) * g) / (np.sqrt(den) + eps)


# --------------------------------------------------------------------------- #
# The table
@dataclass(frozen=True)
class Rule:
    """One optimizer setting and what the tests expect of it."""

    id: str
    cls: type
    kwargs: dict
    reference: type
    slots: tuple
    """Slot names in TensorFlow's creation order."""
    config_keys: tuple
    """`get_config` keys after ``name`` (and the clipping keys), in TensorFlow's order."""
    per_variable: bool = False
    """Slots are created variable by variable (Ftrl: accumulator, linear of one
    variable, then the next); otherwise slot name by slot name (all ``m``,
    then all ``v``)."""
    swept: tuple = ()
    """Arrays (``"var"`` or slot names) that a sparse step changes outside the
    given rows; empty for the rows-only optimizers."""
    extra_weights: tuple = ()
    """Weights between ``iter`` and the slots (Nadam's ``momentum_cache``)."""
    sums_duplicates: bool = True
    """False where TensorFlow adds repeated indices one after another (plain SGD)."""
    row_slots: tuple = ()
    """Slots with one value per row: shape ``(rows,)``."""
    loads_without_iterations: bool = False
    """`set_weights` takes a list without ``iterations`` (one weight short), as
    TensorFlow's Adagrad, Adadelta and RMSprop do for Keras 1 checkpoints."""

    @property
    def lazy(self):
        """A sparse step leaves every row it is not given bit for bit as it was."""
        return not self.swept

    def make(self, **extra):
        return self.cls(**self.kwargs, **extra)

    def new_reference(self, var):
        return self.reference(self.kwargs, var)

    def slot_shape(self, name, var_shape):
        return tuple(var_shape[:1]) if name in self.row_slots else tuple(var_shape)

    def weight_names(self, opt_name, var_names):
        """`Optimizer.weights` names after a first step on ``var_names``."""
        names = [f"{opt_name}/iter"] + [f"{opt_name}/{w}" for w in self.extra_weights]
        if self.per_variable:
            pairs = [(v, s) for v in var_names for s in self.slots]
        else:
            pairs = [(v, s) for s in self.slots for v in var_names]
        return names + [f"{opt_name}/{v}/{s}" for v, s in pairs]


SGD_KEYS = ("learning_rate", "decay", "momentum", "nesterov")
ADAM_KEYS = ("learning_rate", "decay", "beta_1", "beta_2", "epsilon", "amsgrad")
ADAMAX_KEYS = ("learning_rate", "decay", "beta_1", "beta_2", "epsilon")
ADAGRAD_KEYS = ("learning_rate", "decay", "initial_accumulator_value", "epsilon")
FTRL_KEYS = ("learning_rate", "decay", "initial_accumulator_value", "learning_rate_power",
             "l1_regularization_strength", "l2_regularization_strength", "beta",
             "l2_shrinkage_regularization_strength")
RMSPROP_KEYS = ("learning_rate", "decay", "rho", "momentum", "epsilon", "centered")


def _rules():
    exponential = schedules.ExponentialDecay(0.05, decay_steps=1, decay_rate=0.5)
    inverse_time = schedules.InverseTimeDecay(0.05, decay_steps=1, decay_rate=0.5)
    sgd = dict(cls=SGD, reference=SGDReference, config_keys=SGD_KEYS)
    adam = dict(cls=Adam, reference=AdamReference, config_keys=ADAM_KEYS,
                swept=("var", "m", "v"))
    lazy_adam = dict(cls=LazyAdam, reference=LazyAdamReference, config_keys=ADAM_KEYS,
                     slots=("m", "v"))
    adamw = dict(cls=AdamW, reference=AdamWReference,
                 config_keys=ADAM_KEYS + ("weight_decay",))
    adamax = dict(cls=Adamax, reference=AdamaxReference, config_keys=ADAMAX_KEYS,
                  slots=("m", "v"))
    adadelta = dict(cls=Adadelta, reference=AdadeltaReference,
                    config_keys=("learning_rate", "decay", "rho", "epsilon"),
                    slots=("accum_grad", "accum_var"), loads_without_iterations=True)
    adagrad = dict(cls=Adagrad, reference=AdagradReference, config_keys=ADAGRAD_KEYS,
                   slots=("accumulator",), loads_without_iterations=True)
    partial_rowwise_adam = dict(cls=PartialRowwiseAdam, reference=PartialRowwiseAdamReference,
                                config_keys=ADAMAX_KEYS, slots=("m", "v"), row_slots=("v",))
    ftrl = dict(cls=Ftrl, reference=FtrlReference, config_keys=FTRL_KEYS,
                slots=("accumulator", "linear"), per_variable=True)
    nadam = dict(cls=Nadam, reference=NadamReference, config_keys=ADAMAX_KEYS,
                 slots=("m", "v"), swept=("m", "v"), extra_weights=("momentum_cache",))
    rmsprop = dict(cls=RMSprop, reference=RMSpropReference, config_keys=RMSPROP_KEYS,
                   loads_without_iterations=True)
    return [
        Rule("sgd", kwargs=dict(learning_rate=0.1), slots=(), sums_duplicates=False, **sgd),
        Rule("sgd-momentum", kwargs=dict(learning_rate=0.1, momentum=0.9),
             slots=("momentum",), **sgd),
        Rule("sgd-nesterov-decay",
             kwargs=dict(learning_rate=0.05, momentum=0.5, nesterov=True, decay=0.1),
             slots=("momentum",), **sgd),
        Rule("adam", kwargs=dict(learning_rate=0.01), slots=("m", "v"), **adam),
        Rule("adam-amsgrad", kwargs=dict(learning_rate=0.01, amsgrad=True),
             slots=("m", "v", "vhat"), **adam),
        Rule("adam-hypers-decay", kwargs=dict(learning_rate=0.1, beta_1=0.8, beta_2=0.95,
                                              epsilon=1e-3, decay=0.3),
             slots=("m", "v"), **adam),
        Rule("adam-schedule", kwargs=dict(learning_rate=exponential), slots=("m", "v"),
             **adam),
        Rule("lazyadam", kwargs=dict(learning_rate=0.01), **lazy_adam),
        Rule("lazyadam-schedule-decay",
             kwargs=dict(learning_rate=inverse_time, beta_1=0.8, decay=0.1), **lazy_adam),
        Rule("adamw", kwargs=dict(learning_rate=0.01, weight_decay=0.05), slots=("m", "v"),
             **adamw),
        Rule("adamw-amsgrad", kwargs=dict(learning_rate=0.05, weight_decay=0.2, amsgrad=True),
             slots=("m", "v", "vhat"), **adamw),
        Rule("adamw-schedule", kwargs=dict(learning_rate=exponential, weight_decay=0.25),
             slots=("m", "v"), **adamw),
        Rule("adamax", kwargs=dict(learning_rate=0.01), **adamax),
        Rule("adamax-hypers-decay", kwargs=dict(learning_rate=0.02, beta_1=0.8, beta_2=0.95,
                                                epsilon=1e-5, decay=0.2), **adamax),
        Rule("adadelta", kwargs=dict(learning_rate=1.0, rho=0.9, epsilon=1e-6), **adadelta),
        Rule("adadelta-decay", kwargs=dict(learning_rate=0.5, decay=0.05), **adadelta),
        Rule("adagrad", kwargs=dict(learning_rate=0.1, initial_accumulator_value=0.2,
                                    epsilon=1e-5), **adagrad),
        Rule("adagrad-decay", kwargs=dict(learning_rate=0.1, decay=0.5), **adagrad),
        Rule("rowwise-adagrad", cls=RowwiseAdagrad, reference=RowwiseAdagradReference,
             kwargs=dict(learning_rate=0.1, initial_accumulator_value=0.05),
             slots=("accumulator",), config_keys=ADAGRAD_KEYS, row_slots=("accumulator",),
             loads_without_iterations=True),
        Rule("partial-rowwise-adam", kwargs=dict(learning_rate=0.01), **partial_rowwise_adam),
        Rule("partial-rowwise-adam-hypers-decay",
             kwargs=dict(learning_rate=0.02, beta_1=0.8, beta_2=0.95, epsilon=1e-5, decay=0.2),
             **partial_rowwise_adam),
        Rule("ftrl", kwargs=dict(learning_rate=0.1), **ftrl),
        Rule("ftrl-l1-l2", kwargs=dict(learning_rate=0.1, initial_accumulator_value=0.3,
                                       l1_regularization_strength=0.01,
                                       l2_regularization_strength=0.02), **ftrl),
        Rule("ftrl-shrinkage-beta",
             kwargs=dict(learning_rate=0.2, l1_regularization_strength=0.001,
                         l2_regularization_strength=0.01,
                         l2_shrinkage_regularization_strength=0.05, beta=0.3), **ftrl),
        Rule("ftrl-power", kwargs=dict(learning_rate=0.5, learning_rate_power=-0.6,
                                       l1_regularization_strength=0.005, decay=0.1), **ftrl),
        Rule("nadam", kwargs=dict(learning_rate=0.01), **nadam),
        Rule("nadam-hypers", kwargs=dict(learning_rate=0.02, beta_1=0.85, beta_2=0.99,
                                         epsilon=1e-5, schedule_decay=0.01), **nadam),
        Rule("rmsprop", kwargs=dict(learning_rate=0.01), slots=("rms",), swept=("rms",),
             **rmsprop),
        Rule("rmsprop-centered", kwargs=dict(learning_rate=0.01, centered=True),
             slots=("rms", "mg"), swept=("rms", "mg"), **rmsprop),
        Rule("rmsprop-momentum", kwargs=dict(learning_rate=0.01, momentum=0.9, decay=0.1),
             slots=("rms", "momentum"), **rmsprop),
        Rule("rmsprop-centered-momentum",
             kwargs=dict(learning_rate=0.02, rho=0.8, momentum=0.5, centered=True,
                         epsilon=1e-6),
             slots=("rms", "momentum", "mg"), **rmsprop),
    ]


RULES = _rules()
CLASSES = sorted({rule.cls for rule in RULES}, key=lambda cls: cls.__name__)


# --------------------------------------------------------------------------- #
# Constructor arguments each class refuses, and the exact error (type and
# message) it gives: the checks are declared with the hyperparameters.
_SCHEDULE = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
_NOT_A_HYPER = ("Hyperparameter `{}` must be a number, a zero-argument callable or a "
                "LearningRateSchedule; received {}.")
_NOT_REAL = "`{}` must be a real number; received {}."
_FTRL_SIGN = "`{0}` needs to be {1} or zero. Received: {0}={2}."
_MOMENTUM = "`momentum` must be between [0, 1]. Received: momentum={} (of type {})."
_NADAM = ("The Nadam optimizer does not support tf.keras.optimizers.LearningRateSchedules "
          "as the learning rate.")
ARGUMENT_ERRORS = [
    (SGD, dict(momentum=1.5), ValueError, _MOMENTUM.format(1.5, float)),
    (SGD, dict(momentum=-0.1), ValueError, _MOMENTUM.format(-0.1, float)),
    (SGD, dict(momentum="x"), TypeError, "`momentum` must be a number or a callable; "
     "received 'x'."),
    (SGD, dict(momentum=True), TypeError, "`momentum` must be a number or a callable; "
     "received True."),
    (SGD, dict(learning_rate="x"), TypeError, _NOT_A_HYPER.format("learning_rate", "'x'")),
    (SGD, dict(lr=[1.0]), TypeError, _NOT_A_HYPER.format("learning_rate", "[1.0]")),
    (RMSprop, dict(momentum=2), ValueError, _MOMENTUM.format(2, int)),
    (RMSprop, dict(rho=None), TypeError, _NOT_A_HYPER.format("rho", None)),
    (RMSprop, dict(epsilon=[1e-7]), TypeError, _NOT_REAL.format("epsilon", [1e-7])),
    (Adam, dict(beta_1="x"), TypeError, _NOT_A_HYPER.format("beta_1", "'x'")),
    (Adam, dict(epsilon="x"), TypeError, _NOT_REAL.format("epsilon", "'x'")),
    (Adam, dict(lr=-1.0), ValueError, "Expected lr >= 0, received: -1.0"),
    (Adamax, dict(beta_1=None), TypeError, _NOT_A_HYPER.format("beta_1", None)),
    (Adadelta, dict(rho="x"), TypeError, _NOT_A_HYPER.format("rho", "'x'")),
    (Adagrad, dict(initial_accumulator_value=-1), ValueError,
     "initial_accumulator_value must be non-negative: -1"),
    (Adagrad, dict(initial_accumulator_value="x"), TypeError,
     _NOT_REAL.format("initial_accumulator_value", "'x'")),
    (RowwiseAdagrad, dict(initial_accumulator_value=-0.5), ValueError,
     "initial_accumulator_value must be non-negative: -0.5"),
    (Ftrl, dict(initial_accumulator_value=-0.1), ValueError,
     _FTRL_SIGN.format("initial_accumulator_value", "positive", -0.1)),
    (Ftrl, dict(learning_rate_power=0.5), ValueError,
     _FTRL_SIGN.format("learning_rate_power", "negative", 0.5)),
    (Ftrl, dict(learning_rate_power=None), TypeError,
     _NOT_REAL.format("learning_rate_power", None)),
    (Ftrl, dict(l1_regularization_strength=-1), ValueError,
     _FTRL_SIGN.format("l1_regularization_strength", "positive", -1)),
    (Ftrl, dict(l2_regularization_strength=-1), ValueError,
     _FTRL_SIGN.format("l2_regularization_strength", "positive", -1)),
    (Ftrl, dict(l2_shrinkage_regularization_strength=-1), ValueError,
     _FTRL_SIGN.format("l2_shrinkage_regularization_strength", "positive", -1)),
    (Ftrl, dict(beta="x"), TypeError, _NOT_A_HYPER.format("beta", "'x'")),
    (LazyAdam, dict(amsgrad=True), ValueError,
     "`amsgrad` is not supported by LazyAdam and can only be False. Received: amsgrad=True."),
    (AdamW, dict(weight_decay=-1), ValueError,
     "`weight_decay` must be a finite number >= 0. Received: weight_decay=-1."),
    (AdamW, dict(weight_decay=float("nan")), ValueError,
     "`weight_decay` must be a finite number >= 0. Received: weight_decay=nan."),
    (AdamW, dict(weight_decay="x"), ValueError,
     "`weight_decay` must be a finite number >= 0. Received: weight_decay='x'."),
    (Nadam, dict(learning_rate=_SCHEDULE), ValueError, _NADAM),
    (Nadam, dict(lr=_SCHEDULE), ValueError, _NADAM),
    (PartialRowwiseAdam, dict(beta_1="x"), TypeError, _NOT_A_HYPER.format("beta_1", "'x'")),
    (PartialRowwiseAdam, dict(epsilon=True), TypeError, _NOT_REAL.format("epsilon", True)),
]
