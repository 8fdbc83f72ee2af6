"""Data parallelism over MPI.

The two-rank checks run scripts of ``tests/mpi_scripts`` under
``mpiexec -n 2`` in a subprocess (skipped without mpi4py or mpiexec); the
rest run here.
"""
import builtins
import importlib
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import optimizers
from optimizers import IndexedSlices, Variable, distribute

from conftest import mpiexec

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 120          # seconds; each run takes a few


def _have_mpi4py():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _run(*args, ranks=2):
    """Run ``python args...`` (under ``mpiexec -n ranks`` unless ranks is None).

    The children import the same `optimizers` as this process, and use one
    kernel thread each (two ranks share the cores; results do not depend
    on the thread count).
    """
    env = dict(os.environ, OMP_NUM_THREADS="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(optimizers.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    command = [sys.executable, *args]
    if ranks is not None:
        command = [mpiexec(), "-n", str(ranks)] + command
    proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env,
                          cwd=HERE)
    assert proc.returncode == 0, f"{' '.join(command)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_replicas_stay_identical_and_match_one_process():
    """Dense, IndexedSlices and CSR gradients that differ per rank; summed and
    averaged; fused and unfused; float16/32/64; broadcast helpers; errors
    when ranks disagree."""
    out = _run(os.path.join(HERE, "mpi_scripts", "replicas.py"))
    assert out.strip() == "OK", out


def test_resume_from_a_checkpoint_is_bit_identical(tmp_path):
    out = _run(os.path.join(HERE, "mpi_scripts", "resume.py"), str(tmp_path))
    assert out.strip().splitlines()[-1] == "OK"


def test_demo_follows_one_process():
    out = _run(os.path.join(HERE, "mpi_scripts", "demo_parity.py"))
    assert out.strip() == "OK", out


def _table_rows(output):
    """The optimizer rows of the demo's final table, without the timing columns."""
    rows = [line.split("|") for line in output.splitlines() if line.count("|") == 5]
    return [[cell.strip() for cell in row[:3]] for row in rows[1:]]


def test_demo_command_line():
    args = ["-m", "optimizers.demo", "--users", "2000", "--items", "1000",
            "--ratings-count", "50000", "--steps", "100", "--batch-size", "512", "--dim",
            "8", "--quiet", "--optimizer", "adagrad"]
    distributed = _run(*args, "--distributed")
    single = _run(*args, ranks=None)
    assert distributed.count("optimizer |") == 1, distributed      # printed by rank 0 only
    assert "2 ranks" in distributed
    assert re.search(r"ratings/s", distributed)
    assert _table_rows(distributed) == _table_rows(single), (distributed, single)


# ---------------------------------------------------------------------- #
# In this process
def test_module_imports_without_mpi4py(monkeypatch):
    real_import = builtins.__import__

    def no_mpi(name, *args, **kwargs):
        if name == "mpi4py" or name.startswith("mpi4py."):
            raise ImportError("No module named 'mpi4py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpi)
    monkeypatch.delitem(sys.modules, "optimizers.distribute")
    monkeypatch.setattr(optimizers, "distribute", distribute)     # restored afterwards
    fresh = importlib.import_module("optimizers.distribute")
    assert fresh is not distribute
    for use in (fresh.world_size, fresh.rank, fresh.MPIAllReduce,
                lambda: fresh.broadcast_variables([])):
        with pytest.raises(ImportError, match=r'pip install "optimizers\[mpi\]"'):
            use()


def test_single_rank_aggregation():
    if not _have_mpi4py():
        pytest.skip('mpi4py is not installed (pip install "optimizers[mpi]")')
    from mpi4py import MPI

    assert distribute.world_size(MPI.COMM_SELF) == 1 and distribute.rank(MPI.COMM_SELF) == 0
    agg = distribute.MPIAllReduce(MPI.COMM_SELF, average=True)
    dense = np.arange(6, dtype=np.float32).reshape(2, 3)
    sparse = IndexedSlices(np.ones((2, 3), np.float64), np.array([4, 1], np.int32), (5, 3))
    sparse._unique = True
    pairs = [(dense, Variable(np.zeros((2, 3), np.float32))),
             (sparse, Variable(np.zeros((5, 3))))]
    assert agg([]) == []
    (g_dense, v_dense), (g_sparse, v_sparse) = agg(pairs)
    assert v_dense is pairs[0][1] and v_sparse is pairs[1][1]
    assert g_dense is not dense and not np.shares_memory(g_dense, dense)
    assert g_dense.tobytes() == dense.tobytes()
    assert g_sparse is not sparse and not np.shares_memory(g_sparse.values, sparse.values)
    assert g_sparse.indices.tolist() == [4, 1] and g_sparse._unique   # one rank: still unique
    assert g_sparse.values.dtype == np.float64 and g_sparse.dense_shape == (5, 3)


def test_loss_scale_optimizer_state_is_broadcast_and_skips_agree():
    out = _run(os.path.join(HERE, "mpi_scripts", "loss_scale.py"))
    assert out.strip() == "OK", out
