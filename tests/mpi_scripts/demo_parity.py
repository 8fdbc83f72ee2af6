"""Run under ``mpiexec -n 2``: the data-parallel demo follows the one-process run.

Each rank trains on its share of every batch, scaling by the global batch
size; the summed gradients are those of the whole batch, so the trained
model is the one a single process gets: the held-out error must be equal
bit for bit, the training loss (a mean over ranks' partial sums) within
float32 rounding.  Prints "OK" on rank 0.
"""
import sys

from mpi4py import MPI

from optimizers import demo

comm = MPI.COMM_WORLD
users, items, ratings = demo.make_synthetic(2000, 1000, 50_000, seed=3)


def optimizer(name):
    return demo.get({"class_name": name, "config": {"learning_rate": demo._DEFAULT_LR[name]}})


results = {name: demo.train(users, items, ratings, optimizer(name), dim=8, batch_size=512,
                            steps=100, progress=False, comm=comm)
           for name in ("adagrad", "lazyadam", "sgd")}
if comm.Get_rank() == 0:
    bad = []
    for name, dist in results.items():
        single = demo.train(users, items, ratings, optimizer(name), dim=8, batch_size=512,
                            steps=100, progress=False)
        if dist["ranks"] != 2 or single["ranks"] != 1:
            bad.append(f"{name}: ranks {dist['ranks']} and {single['ranks']}")
        if dist["test_mse_after"] != single["test_mse_after"]:
            bad.append(f"{name} held-out MSE: {dist['test_mse_after']!r} (2 ranks) vs "
                       f"{single['test_mse_after']!r} (1 process)")
        for key in ("first_loss", "last_loss"):
            if abs(dist[key] - single[key]) > 1e-6 * abs(single[key]):
                bad.append(f"{name} {key}: {dist[key]!r} vs {single[key]!r}")
    print("\n".join(bad) if bad else "OK")
    sys.exit(1 if bad else 0)
