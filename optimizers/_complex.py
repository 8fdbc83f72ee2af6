"""Complex variables (complex64, complex128), as TensorFlow 2.4 updates them.

TensorFlow's optimizers take complex variables where its kernels have
complex versions: SGD (every variant), Adam without AMSGrad, Adadelta,
Adagrad, Nadam and RMSprop (every variant), dense and sparse.  Adamax, Ftrl
and AMSGrad have no complex kernel (``tf.maximum`` and ``tf.abs`` order real
numbers only), so TensorFlow fails there, after changing some state; here
they are refused before anything changes.

A built-in optimizer declares its support with the class attribute
``_complex``: the name of its sparse rule below (``"rows"``, ``"adam"``,
``"nadam"``, ``"rmsprop"``), or None to refuse complex variables.  Dense
steps run the class's NumPy `_dense_block` on complex arrays; sparse steps
run the rule named here in NumPy (the compiled kernels are real-only).
Hyperparameters reach the complex dtype as TensorFlow casts them: through
float32, with a zero imaginary part.
"""
import numpy as np

from ._dense import blocks
from .sparse import as_rows
from .variables import as_array, var_name

__all__ = ["COMPLEX_DTYPES", "check_complex", "check_clipping", "sparse_step"]

COMPLEX_DTYPES = (np.dtype(np.complex64), np.dtype(np.complex128))

# What TensorFlow lacks, per declaration, for some settings: ``opt -> reason or None``.
_REFUSED_SETTINGS = {
    "adam": lambda opt: "AMSGrad (`amsgrad=True`)" if opt.amsgrad else None,
}


def refusal(opt, declaration):
    """Why ``opt`` cannot update complex variables (None if it can)."""
    if declaration is None:
        return type(opt).__name__
    if declaration in _REFUSED_SETTINGS:
        reason = _REFUSED_SETTINGS[declaration](opt)
        return reason and f"{type(opt).__name__} with {reason}"
    return None


def check_complex(opt, declaration, pairs):
    """Raise `TypeError` if a complex variable of ``pairs`` is one ``opt``
    does not update (as TensorFlow has no kernel for it)."""
    for _, var in pairs:
        dtype = as_array(var).dtype
        if dtype.kind != "c":
            continue
        what = refusal(opt, declaration)
        if what is not None:
            raise TypeError(
                f"Variable '{var_name(var)}' has dtype {dtype}: {what} does not update "
                "complex variables. As in TensorFlow, complex variables are updated by SGD, "
                "Adam (without amsgrad), Adadelta, Adagrad, Nadam and RMSprop.")
        return


def check_clipping(opt, pairs):
    """TensorFlow's clipping orders or compares real numbers only: with a
    clipping argument set, a complex gradient is a `TypeError`."""
    if opt.clipvalue is None and opt.clipnorm is None and opt.global_clipnorm is None:
        return
    clipping = [f"{name}={value}" for name, value in (
        ("clipvalue", opt.clipvalue), ("clipnorm", opt.clipnorm),
        ("global_clipnorm", opt.global_clipnorm)) if value is not None]
    if not clipping:
        return
    for _, var in pairs:
        dtype = as_array(var).dtype
        if dtype.kind == "c":
            raise TypeError(
                f"Variable '{var_name(var)}' has dtype {dtype}: gradient clipping "
                f"({', '.join(clipping)}) does not apply to complex gradients (TensorFlow "
                f"refuses them too); clip them in a gradient transformer instead.")


def _run_blocks(opt, c, g, w, *slots):
    """``opt._dense_block`` over flat arrays of any length (scratch is one block)."""
    for sl in blocks(w.size):
        opt._dense_block(c, g[sl], w[sl], *[s[sl] for s in slots])


def _rounds(rows):
    """Positions of ``rows`` split so that no round repeats a row: round k holds
    the k-th occurrence of each row, in input order."""
    order = np.argsort(rows, kind="stable")
    ranked = rows[order]
    first = np.r_[0, np.flatnonzero(ranked[1:] != ranked[:-1]) + 1]
    occurrence = np.empty(len(rows), np.int64)
    occurrence[order] = np.arange(len(rows)) - np.repeat(first, np.diff(np.r_[first, len(rows)]))
    return [np.flatnonzero(occurrence == k) for k in range(int(occurrence.max(initial=-1)) + 1)]


def rows_rule(opt, c, var, rows, values):
    """The dense rule on the touched rows: gather the rows of the variable and
    its slots, run `_dense_block`, scatter them back.  TensorFlow's sparse
    kernels of SGD (with momentum), Adagrad and Adadelta apply the dense
    formulas row by row; plain SGD's scatter-add applies repeated rows in
    turn, which rounds of unique rows reproduce."""
    w = as_rows(as_array(var))
    slots = [as_rows(as_array(opt.get_slot(var, n))) for n in opt._dense_slots()]
    parts = _rounds(rows) if len(np.unique(rows)) < len(rows) else [slice(None)]
    for part in parts:
        r = rows[part]
        wr, sr = w[r], [s[r] for s in slots]
        _run_blocks(opt, c, np.ascontiguousarray(values[part]).reshape(-1), wr.reshape(-1),
                    *[s.reshape(-1) for s in sr])
        w[r] = wr
        for s, x in zip(slots, sr):
            s[r] = x


def adam_rule(opt, c, var, rows, g):
    """TensorFlow's sparse Adam: the moments decay over every row, the rows add
    their gradients, and the whole variable moves."""
    w, m, v = opt._rows(var, "m", "v")
    m *= c["beta_1"]
    m[rows] += g * c["one_minus_beta_1"]
    v *= c["beta_2"]
    v[rows] += (g * g) * c["one_minus_beta_2"]
    w -= (c["lr_sparse"] * m) / (np.sqrt(v) + c["epsilon"])


def nadam_rule(opt, c, var, rows, g):
    """TensorFlow's sparse Nadam: the moments decay over every row; only the
    touched rows of the variable move."""
    w, m, v = opt._rows(var, "m", "v")
    g_prime = g / c["one_minus_m_schedule_new"]
    m *= c["beta_1"]
    m[rows] += g * c["one_minus_beta_1"]
    m_bar = c["one_minus_m_t"] * g_prime + c["m_t_1"] * (m[rows] / c["one_minus_m_schedule_next"])
    v *= c["beta_2"]
    v[rows] += (g * g) * c["one_minus_beta_2"]
    v_prime = v[rows] / c["v_t_prime_denominator"]
    w[rows] += (c["neg_lr_t"] * m_bar) / (np.sqrt(v_prime) + c["epsilon"])


def rmsprop_rule(opt, c, var, rows, g):
    """TensorFlow's sparse RMSprop: without momentum ``rms`` (and ``mg``)
    decay over every row and the touched rows of the variable move (epsilon
    outside the square root); with momentum only the touched rows change
    (``ResourceSparseApply[Centered]RMSProp``, epsilon inside)."""
    w, rms, *rest = opt._rows(var, *opt._slot_list())
    rho, omr, eps = c["rho"], c["one_minus_rho"], c["epsilon"]
    if not opt._momentum:
        rms *= rho
        rms[rows] += (g * g) * omr
        den = rms[rows]
        if opt.centered:
            mg = rest[-1]
            mg *= rho
            mg[rows] += g * omr
            den = den - np.square(mg[rows])
        w[rows] += (c["neg_lr_t"] * g) / (np.sqrt(den) + eps)
        return
    mom = rest[0]
    r = rms[rows] * rho + (g * g) * omr
    rms[rows] = r
    den = r + eps
    if opt.centered:
        mg = rest[-1]
        a = mg[rows] * rho + g * omr
        mg[rows] = a
        den = den - a * a
    step = mom[rows] * c["momentum"] + ((1 / np.sqrt(den)) * c["lr_t"]) * g
    mom[rows] = step
    w[rows] -= step


_SPARSE_RULES = {"rows": rows_rule, "adam": adam_rule, "nadam": nadam_rule,
                 "rmsprop": rmsprop_rule}


def sparse_step(opt, declaration, c, var, rows, values):
    """A sparse step of a complex variable (rows summed unless the class applies
    repeats in turn), by the rule ``declaration`` names."""
    _SPARSE_RULES[declaration](opt, c, var, rows, values)
