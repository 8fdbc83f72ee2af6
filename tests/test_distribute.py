"""Data parallelism over MPI: run two ranks with ``mpiexec`` in a subprocess."""
import builtins
import os
import shutil
import subprocess
import sys

import pytest

from optimizers import distribute

HERE = os.path.dirname(os.path.abspath(__file__))


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed (pip install \"optimizers[mpi]\")")
    exe = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep
                       + os.environ.get("PATH", ""))
    if exe is None:
        pytest.skip("no mpiexec on PATH (the mpich wheel provides one)")
    return exe


@pytest.mark.parametrize("script", ["replicas.py", "demo_parity.py"])
def test_two_ranks(script):
    exe = _mpiexec()
    proc = subprocess.run([exe, "-n", "2", sys.executable, os.path.join(HERE, "mpi_scripts",
                                                                          script)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr


def test_clear_error_without_mpi4py(monkeypatch):
    real_import = builtins.__import__

    def no_mpi(name, *args, **kwargs):
        if name.startswith("mpi4py"):
            raise ImportError("No module named 'mpi4py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpi)
    with pytest.raises(ImportError, match=r'pip install "optimizers\[mpi\]"'):
        distribute.world_size()
