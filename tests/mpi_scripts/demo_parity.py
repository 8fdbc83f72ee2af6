"""Run under ``mpiexec -n 2``: the data-parallel demo follows the one-process run."""
import sys

from mpi4py import MPI

from optimizers import demo

comm = MPI.COMM_WORLD
users, items, ratings = demo.make_synthetic(2000, 1000, 50_000, seed=3)
results = {}
for name in ("adagrad", "lazyadam", "sgd"):
    opt = demo.get({"class_name": name, "config": {"learning_rate": demo._DEFAULT_LR[name]}})
    results[name] = demo.train(users, items, ratings, opt, dim=8, batch_size=512, steps=100,
                               progress=False, comm=comm)
if comm.Get_rank() == 0:
    bad = []
    for name, dist in results.items():
        opt = demo.get({"class_name": name, "config": {"learning_rate": demo._DEFAULT_LR[name]}})
        single = demo.train(users, items, ratings, opt, dim=8, batch_size=512, steps=100,
                            progress=False)
        for key in ("test_mse_after", "last_loss"):
            if abs(dist[key] - single[key]) > 1e-6 * abs(single[key]):
                bad.append(f"{name} {key}: {dist[key]} vs {single[key]}")
    print("\n".join(bad) if bad else "OK")
    sys.exit(1 if bad else 0)
