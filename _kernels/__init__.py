"""Compiled scatter-update kernels of :mod:`optimizers` (private).

Each module holds small ``def`` entry points over typed memoryviews.  They do
no validation: callers in :mod:`optimizers` check shapes, dtypes and index
ranges first, as each kernel's docstring states.  ``checks`` is where the
common cases of those checks are compiled (one pass over a step's pairs);
``packing`` copies small dense variables into and out of shared blocks.

CPU levels
----------
On x86-64 each kernel module is built three times from the same C: for the
baseline (here), for ``x86-64-v3`` (AVX2; in ``_x86_64_v3/``) and for
``x86-64-v4`` (AVX-512; in ``_x86_64_v4/``), under the same module name.  When
this package is imported it picks the highest level that was built and that
the CPU runs, and puts that level's folder first on ``__path__``, so
``from optimizers._kernels.adam import adam_lazy_rows`` loads that build; a
module built for the baseline only is found here.  All levels give the same
bits (no FMA contraction, no reassociation).

The environment variable ``OPTIMIZERS_CPU_LEVEL`` (``auto``, ``baseline``,
``x86-64-v3`` or ``x86-64-v4``), read once at import, forces a level.  A value
that is not a level, a level this build lacks, or a level this CPU cannot
run is a `RuntimeError` at import (running AVX-512 code on a CPU without it
would end the process with an illegal instruction).
"""
import importlib.machinery
import os

from . import _cpu

ENV_VAR = "OPTIMIZERS_CPU_LEVEL"
LEVELS = ("baseline", "x86-64-v3", "x86-64-v4")

_HERE = os.path.dirname(os.path.abspath(__file__))


def _folder(level):
    return _HERE if level == "baseline" else os.path.join(_HERE, "_" + level.replace("-", "_"))


def _has_modules(folder):
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    return any(n.endswith(s) for n in names for s in importlib.machinery.EXTENSION_SUFFIXES)


#: Levels this installation has kernels for, lowest first.
BUILT_LEVELS = tuple(lv for lv in LEVELS if lv == "baseline" or _has_modules(_folder(lv)))
#: Levels this CPU and operating system can run, lowest first.
SUPPORTED_LEVELS = tuple(_cpu.supported_levels())


def _choose():
    forced = os.environ.get(ENV_VAR, "").strip()
    if forced in ("", "auto"):
        usable = [lv for lv in BUILT_LEVELS if lv in SUPPORTED_LEVELS]
        return usable[-1], False
    if forced not in LEVELS:
        raise RuntimeError(
            f"{ENV_VAR}={forced!r} is not a CPU level; allowed values: auto, "
            f"{', '.join(LEVELS)}.")
    if forced not in BUILT_LEVELS:
        raise RuntimeError(
            f"{ENV_VAR}={forced!r}: this installation has no kernels built for it "
            f"(built: {', '.join(BUILT_LEVELS)}).")
    if forced not in SUPPORTED_LEVELS:
        raise RuntimeError(
            f"{ENV_VAR}={forced!r}: this CPU cannot run it "
            f"(it runs: {', '.join(SUPPORTED_LEVELS)}).")
    return forced, True


#: The level whose kernels are loaded, and whether the environment chose it.
CPU_LEVEL, CPU_LEVEL_FORCED = _choose()

if CPU_LEVEL != "baseline":
    __path__.insert(0, _folder(CPU_LEVEL))  # noqa: F821  (the package's search path)
