"""The C1 step with its CSR gradient against the same rows given as an IndexedSlices.

    python asv_bench/compare_csr.py                           # sgd and adagrad, one thread
    python asv_bench/compare_csr.py --optimizers sgd,momentum,ftrl --clock cpu

The two steps run in one process, one after the other, step by step (two
variables, two optimizers), so that they share the noise of the machine.
The IndexedSlices holds the CSR matrix's touched rows as a dense block
(``grad[rows].toarray()``) and its row numbers: the same update, bit for bit.
Printed: medians and minimums in ms and the ratios CSR / IndexedSlices.
``--clock cpu`` times the process's CPU time, which leaves out the time
other processes hold the cores (one thread only).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import optimizers  # noqa: E402
from benchmarks.common import create_slots, csr_step, make_optimizer  # noqa: E402


def compare(name, steps, clock):
    """(CSR times, IndexedSlices times) in seconds, ``steps`` of each."""
    w_csr, grad = csr_step()
    w_rows, _ = csr_step()
    rows = np.flatnonzero(np.diff(grad.indptr))
    slices = optimizers.IndexedSlices(grad[rows].toarray(), rows.astype(np.int64),
                                      w_rows.shape)
    opt_csr, opt_rows = make_optimizer(name), make_optimizer(name)
    create_slots(opt_csr, [w_csr])
    create_slots(opt_rows, [w_rows])
    times = ([], [])
    for i in range(steps + 5):                  # the first 5 are a warm-up
        for opt, g, w, out in ((opt_csr, grad, w_csr, times[0]),
                               (opt_rows, slices, w_rows, times[1])):
            start = clock()
            opt.apply_gradients([(g, w)])
            if i >= 5:
                out.append(clock() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optimizers", default="sgd,adagrad")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args(argv)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    optimizers.set_num_threads(args.threads)
    print(f"C1, {args.threads} thread(s), {args.clock} clock, {args.steps} steps each, ms")
    print("| optimizer | CSR median | IndexedSlices median | ratio | CSR min "
          "| IndexedSlices min | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name in args.optimizers.split(","):
        csr, rows = compare(name, args.steps, clock)
        a, b = statistics.median(csr), statistics.median(rows)
        print(f"| {name} | {1e3 * a:.3f} | {1e3 * b:.3f} | {a / b:.2f} | "
              f"{1e3 * min(csr):.3f} | {1e3 * min(rows):.3f} | {min(csr) / min(rows):.2f} |",
              flush=True)
    optimizers.set_num_threads(None)


if __name__ == "__main__":
    main()
