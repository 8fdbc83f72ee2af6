"""embedding-1Mx64-zipf16k (S1) rows-only steps with one and two threads, interleaved to share the noise.

    python asv_bench/compare_threads.py

Prints min and median ms of 40 steps per setting and the speed-up of the
medians.  Results are bit-identical for any thread count (tests check it).
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import optimizers  # noqa: E402
from benchmarks.common import create_slots, make_optimizer, sparse_step  # noqa: E402


def main():
    print("| optimizer | 1 thread ms (min / median) | 2 threads ms (min / median) | speed-up |")
    print("|---|---|---|---|")
    for name in ["sgd", "momentum", "adagrad", "lazy_adam", "ftrl"]:
        var, grad = sparse_step("S1")
        opt = make_optimizer(name)
        create_slots(opt, [var])
        times = {1: [], 2: []}
        for _ in range(4):
            for threads in (1, 2):
                optimizers.set_num_threads(threads)
                for _ in range(10):
                    start = time.perf_counter()
                    opt.apply_gradients([(grad, var)])
                    times[threads].append(time.perf_counter() - start)
        optimizers.set_num_threads(None)
        ms = {k: (1e3 * np.min(v), 1e3 * np.median(v)) for k, v in times.items()}
        print(f"| {name} | {ms[1][0]:.3f} / {ms[1][1]:.3f} | {ms[2][0]:.3f} / {ms[2][1]:.3f} | "
              f"{ms[1][1] / ms[2][1]:.2f}x |")


if __name__ == "__main__":
    main()
