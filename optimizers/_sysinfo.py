"""`show_config`: how this installation of ``optimizers`` runs here."""
import platform
import sys

import numpy as np
import scipy

from . import _dense, _kernels, threads
from ._version import __version__

__all__ = ["show_config"]


def _info():
    return {
        "optimizers": {"version": __version__},
        "kernels": {
            "cpu_level": _kernels.CPU_LEVEL,
            # Who chose the level: the environment variable, or detection (the
            # highest level built that this CPU runs).
            "cpu_level_from": _kernels.ENV_VAR if _kernels.CPU_LEVEL_FORCED else "detected",
            "levels_built": list(_kernels.BUILT_LEVELS),
            "levels_supported": list(_kernels.SUPPORTED_LEVELS),
            "openmp": bool(threads.openmp_enabled()),
            "threads": threads.get_num_threads(),
        },
        "dense": {"block_elements": _dense.BLOCK, "l2_cache_bytes": _dense.L2_CACHE_BYTES},
        "python": {"version": platform.python_version(), "machine": platform.machine(),
                   "platform": sys.platform},
        "dependencies": {"numpy": np.__version__, "scipy": scipy.__version__},
    }


def show_config(mode="stdout"):
    """Print (or return) how this installation runs on this machine.

    Reports the CPU level of the compiled kernels in use (``baseline``,
    ``x86-64-v3`` or ``x86-64-v4``) and what chose it, the levels this
    installation was built for and those this CPU runs, whether the kernels
    have OpenMP and how many threads they use (`get_num_threads`), the block
    size of dense updates (from the L2 cache's size), and the versions of
    Python, NumPy and SciPy.  The environment variable
    ``OPTIMIZERS_CPU_LEVEL`` forces a level (read once, when ``optimizers``
    is imported).

    Parameters
    ----------
    mode : {"stdout", "dicts"}, optional
        ``"stdout"`` prints the report; ``"dicts"`` returns it as a `dict` of
        dicts (sections ``optimizers``, ``kernels``, ``dense``, ``python``,
        ``dependencies``) and prints nothing.

    Returns
    -------
    dict or None
        The report with ``mode="dicts"``, else None.

    Examples
    --------
    >>> import optimizers
    >>> info = optimizers.show_config(mode="dicts")
    >>> info["kernels"]["cpu_level"] in info["kernels"]["levels_built"]
    True
    """
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"`mode` must be 'stdout' or 'dicts'; received {mode!r}.")
    info = _info()
    if mode == "dicts":
        return info
    k = info["kernels"]
    lines = [
        f"optimizers {info['optimizers']['version']}",
        "kernels:",
        f"  CPU level in use: {k['cpu_level']} ("
        + ("detected" if k["cpu_level_from"] == "detected" else f"set by {k['cpu_level_from']}")
        + ")",
        f"  levels built: {', '.join(k['levels_built'])}",
        f"  levels this CPU runs: {', '.join(k['levels_supported'])}",
        f"  OpenMP: {'on' if k['openmp'] else 'off'}, threads: {k['threads']}",
        f"dense updates: blocks of {info['dense']['block_elements']:,} elements (L2 cache: "
        + (f"{info['dense']['l2_cache_bytes'] // 1024:,} KiB)" if info["dense"]["l2_cache_bytes"]
           else "unknown)"),
        f"python: {info['python']['version']} ({info['python']['machine']}, "
        f"{info['python']['platform']})",
        "dependencies:",
        f"  numpy: {info['dependencies']['numpy']}",
        f"  scipy: {info['dependencies']['scipy']}",
    ]
    print("\n".join(lines))
    return None
