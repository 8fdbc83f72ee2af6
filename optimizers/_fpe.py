"""Floating-point errors met while a step changes its variables.

NumPy acts on a floating-point error (a NaN made, an overflow, a division by
zero) when the ufunc that met it returns: by its error state, with a
warning, a `FloatingPointError` or a call.  In the middle of a step, an
exception there (``np.seterr(all="raise")``, or a warning turned into an
error by ``-W error``) would stop the step with some variables and slots
updated and others not.  So while a step writes, the errors are only
recorded (`defer`), and once every variable, slot and the iteration count
are updated they are acted on, once each, as the caller's error state says
(`report`).  What the caller sees is what a single NumPy call does: the
output is complete, then the error is reported.
"""
import warnings

import numpy as np

__all__ = ["defer", "report", "restore"]

# NumPy's error flags, in the order it acts on them.
_DIVIDE, _OVERFLOW, _UNDERFLOW, _INVALID = 1, 2, 4, 8

# NumPy's name of each kind of error, and an operation that meets it.
_KINDS = ((_DIVIDE, "divide", "divide by zero", lambda: np.divide(np.ones(()), np.zeros(()))),
          (_OVERFLOW, "over", "overflow", lambda: np.multiply(np.full((), 1e300), 1e300)),
          (_UNDERFLOW, "under", "underflow", lambda: np.multiply(np.full((), 1e-300), 1e-300)),
          (_INVALID, "invalid", "invalid value", lambda: np.subtract(np.full((), np.inf), np.inf)))


def _fast_path():
    """NumPy's error-state context variable and its maker (NumPy >= 2.0;
    0.3 us a step against 1.3 us for `numpy.errstate`), if they behave as
    expected here; else ``(None, None)`` and `numpy.errstate` is used."""
    try:
        from numpy._core.umath import _extobj_contextvar as var, _make_extobj as make
        flags = {}
        token = var.set(make(all="call", call=flags.__setitem__))
        _, _, name, meet = _KINDS[0]
        try:
            meet()
        finally:
            var.reset(token)
        if flags.get(name) != _DIVIDE:
            return None, None
        return var, make
    except Exception:  # noqa: BLE001 - any other NumPy: the public context manager
        return None, None


_extobj_contextvar, _make_extobj = _fast_path()


def defer():
    """Start recording this thread's floating-point errors instead of acting
    on them; returns ``(flags, token)``: ``flags`` fills with NumPy's error
    names and flags (helper threads of a dense update run under a copy of
    the caller's context and record there too), ``token`` is for `restore`."""
    flags = {}
    if _extobj_contextvar is not None:
        extobj = _make_extobj(all="call", call=flags.__setitem__)
        return flags, _extobj_contextvar.set(extobj)
    token = np.errstate(all="call", call=flags.__setitem__)
    token.__enter__()
    return flags, token


def restore(token):
    """Put the caller's error state back (after `defer`, whatever happened)."""
    if _extobj_contextvar is not None:
        _extobj_contextvar.reset(token)
    else:
        token.__exit__(None, None, None)


def report(flags, stacklevel=3):
    """Act on the errors recorded in ``flags`` as the caller's error state
    says (call `restore` first), each kind once, in NumPy's order: a
    `RuntimeWarning` naming the step (pointing ``stacklevel`` frames up, at
    the caller of ``apply_gradients``) where the state is "warn", else what
    NumPy does for an operation meeting that kind of error (raise, call,
    print, log)."""
    mask = 0
    for flag in flags.values():
        mask |= flag
    state = np.geterr()
    for flag, key, name, meet in _KINDS:
        if not mask & flag or state[key] == "ignore":
            continue
        if state[key] == "warn":
            warnings.warn(f"{name} encountered in an optimizer step (reported once the step "
                          "was applied)", RuntimeWarning, stacklevel=stacklevel)
        else:
            meet()
