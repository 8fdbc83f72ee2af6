"""Time `MPIAllReduce` on S1-sized sparse and 10M-element dense gradients.

    mpiexec -n 2 python tools/bench_mpi_aggregate.py [--repeat N]

Prints, on rank 0, the median time of one aggregation (every rank passing
its own gradients) for:

S1  16,384 Zipf-distributed rows of a 1,000,000 x 64 float32 table
    (IndexedSlices, gathered with Allgatherv: 2 x 4 MiB of values arrive);
D1  one dense 10,000,000-element float32 gradient (Allreduce, 40 MB);
D2  100 (64, 64) + 100 (64,) float32 gradients, packed into one Allreduce,
    and, for comparison, reduced one call each (``fusion_threshold=0``);
MF  the demo's four sparse gradients (batch 1,024 split over the ranks).

Next to each, the bare mpi4py collectives moving the same data, so the
figure shows what the aggregator adds (checks, packing, new arrays).
"""
import argparse
import statistics
import time

import numpy as np
from mpi4py import MPI

from optimizers import IndexedSlices, Variable
from optimizers.distribute import MPIAllReduce

comm = MPI.COMM_WORLD
size, me = comm.Get_size(), comm.Get_rank()


def median_ms(fn, repeat):
    times = []
    for _ in range(repeat + 2):                 # two warm-up calls
        comm.Barrier()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    # A collective ends when the slowest rank is done: report the slowest.
    return 1e3 * comm.allreduce(statistics.median(times[2:]), op=MPI.MAX)


def zipf_rows(n_rows, count, rng, exponent=1.1):
    ids = rng.zipf(exponent, size=count * 2)
    ids = ids[ids <= n_rows][:count] - 1
    return rng.permutation(n_rows)[ids].astype(np.int64)


def raw_gather(grad):
    def run():
        counts = comm.allgather(len(grad.indices))
        starts = [0, *np.cumsum(counts[:-1]).tolist()]
        idx = np.empty(sum(counts), np.int64)
        comm.Allgatherv(grad.indices, [idx, (counts, starts)])
        width = grad.values.shape[1] if grad.values.ndim > 1 else 1
        vals = np.empty(sum(counts) * width, grad.values.dtype)
        comm.Allgatherv(grad.values.reshape(-1), [vals, ([c * width for c in counts],
                                                         [s * width for s in starts])])
    return run


def raw_reduce(arrays):
    def run():
        for a in arrays:
            comm.Allreduce(a, np.empty_like(a), op=MPI.SUM)
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    repeat = parser.parse_args().repeat
    rng = np.random.default_rng(100 + me)
    aggregate = MPIAllReduce(comm)
    rows = []

    # Bare arrays stand for the variables: the aggregator reads only their
    # shapes, and np.zeros does not touch the pages of a table it never writes.
    table = np.zeros((1_000_000, 64), np.float32)
    s1 = IndexedSlices(rng.normal(0, 0.01, (16_384, 64)).astype(np.float32),
                       zipf_rows(1_000_000, 16_384, rng), (1_000_000, 64))
    rows.append(("S1 sparse 16,384 x 64 (Allgatherv)",
                 median_ms(lambda: aggregate([(s1, table)]), repeat),
                 median_ms(raw_gather(s1), repeat)))

    d1_var = np.zeros(10_000_000, np.float32)
    d1 = rng.normal(size=10_000_000).astype(np.float32)
    rows.append(("D1 dense 10M float32 (Allreduce)",
                 median_ms(lambda: aggregate([(d1, d1_var)]), repeat),
                 median_ms(raw_reduce([d1]), repeat)))

    shapes = [(64, 64)] * 100 + [(64,)] * 100
    d2 = [(rng.normal(size=s).astype(np.float32), Variable(np.zeros(s, np.float32),
                                                            name=f"d2_{i}"))
          for i, s in enumerate(shapes)]
    unfused = MPIAllReduce(comm, fusion_threshold=0)
    rows.append(("D2 dense 200 small, fused (1 Allreduce)",
                 median_ms(lambda: aggregate(d2), repeat),
                 median_ms(raw_reduce([g for g, _ in d2]), repeat)))
    rows.append(("D2 dense 200 small, fusion_threshold=0",
                 median_ms(lambda: unfused(d2), repeat), None))

    share = 1024 // size
    mf = []
    for name, n_rows, width in [("user", 100_000, 32), ("item", 50_000, 32),
                                ("user_bias", 100_000, 0), ("item_bias", 50_000, 0)]:
        shape = (n_rows, width) if width else (n_rows,)
        var = np.zeros(shape, np.float32)
        mf.append((IndexedSlices(rng.normal(size=(share,) + shape[1:]).astype(np.float32),
                                 zipf_rows(n_rows, share, rng), shape), var))
    rows.append(("MF demo step, 4 sparse (1,024 batch)",
                 median_ms(lambda: aggregate(mf), repeat * 20),
                 median_ms(lambda: [raw_gather(g)() for g, _ in mf], repeat * 20)))

    if me == 0:
        print(f"{size} ranks ({MPI.Get_library_version().splitlines()[0].strip()}), "
              f"median ms per aggregation of the slowest rank")
        width = max(len(r[0]) for r in rows)
        print(f"  {'workload'.ljust(width)}  MPIAllReduce  bare mpi4py")
        for name, ours, raw in rows:
            bare = "" if raw is None else f"{raw:11.3f}"
            print(f"  {name.ljust(width)}  {ours:12.3f}  {bare}")


if __name__ == "__main__":
    main()
