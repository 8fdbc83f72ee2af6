"""Time `MPIAllReduce` on S1-sized sparse and 10M-element dense gradients.

    mpiexec -n 2 python tools/bench_mpi_aggregate.py

Prints, on rank 0, the median time of one aggregation of: an S1 embedding
gradient (16,384 Zipf-distributed rows of a 1,000,000 x 64 float32 table,
gathered with Allgatherv), a dense 10,000,000-element float32 gradient
(one Allreduce), and 200 small dense gradients (D2: packed into one buffer).
"""
import statistics
import time

import numpy as np
from mpi4py import MPI

from optimizers import IndexedSlices, Variable
from optimizers.distribute import MPIAllReduce

comm = MPI.COMM_WORLD
rng = np.random.default_rng(comm.Get_rank())
aggregate = MPIAllReduce(comm)


def median_ms(pairs, repeat=20):
    times = []
    for _ in range(repeat + 2):
        comm.Barrier()
        start = time.perf_counter()
        aggregate(pairs)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times[2:])


table = Variable(np.zeros((1, 64), np.float32), name="table")
ids = np.minimum(rng.zipf(1.1, 16_384), 1_000_000) - 1
sparse = [(IndexedSlices(rng.normal(size=(16_384, 64)).astype(np.float32), ids,
                         (1_000_000, 64)), table)]
dense_var = Variable(np.zeros(10_000_000, np.float32), name="dense")
dense = [(rng.normal(size=10_000_000).astype(np.float32), dense_var)]
small = [(rng.normal(size=s).astype(np.float32), Variable(np.zeros(s, np.float32)))
         for s in [(64, 64)] * 100 + [(64,)] * 100]
results = {"S1 sparse (16,384 x 64, Allgatherv)": median_ms(sparse),
           "D1 dense (10M float32, Allreduce)": median_ms(dense, 10),
           "D2 dense (200 small, one packed Allreduce)": median_ms(small)}
if comm.Get_rank() == 0:
    print(f"{comm.Get_size()} ranks, median ms per aggregation")
    for name, ms in results.items():
        print(f"  {name}: {ms:.2f} ms")
