"""Default threads against one thread, for every S1/S2/C1/D1 step, idle and with busy cores.

    python asv_bench/compare_threads.py                    # idle, then busy
    python asv_bench/compare_threads.py --modes busy --workloads S2,C1 --optimizers sgd
    python asv_bench/compare_threads.py --modes crossover --optimizers sgd,adagrad,ftrl

For each step three settings are timed in one process, the first two
interleaved in rounds so that they share the noise of the machine:

``1``        ``set_num_threads(1)``
``default``  ``set_num_threads(None)``: the library's default (adaptive)
``fixed``    ``set_num_threads(None, adaptive=False)``: every large call on
             all of OpenMP's threads (the default before the adaptive
             policy), timed after the other two, not interleaved with them

``busy`` runs one busy-loop process per other core while it measures (a
laptop or a shared server with other work).  Printed: medians in ms and the
ratios ``default / 1`` and ``fixed / 1`` (above 1: slower than one thread),
and ``default / 1`` of the fastest steps (less sensitive to other processes).
Results are bit-identical for any thread count (tests check it).

``crossover`` (``crossover-busy``: with the busy loops) prints, for
rows-only steps of 2**13 to 2**20 elements, the time with all threads over
the time with one: where the team starts to pay.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import optimizers  # noqa: E402
from benchmarks.common import (OPTIMIZERS, create_slots, csr_step, dense_step,  # noqa: E402
                               make_optimizer, sparse_step)

SETTINGS = {"1": (1, None), "default": (None, None), "fixed": (None, False)}


def pairs_of(workload):
    if workload in ("S1", "S2"):
        var, grad = sparse_step(workload)
        return [(grad, var)]
    if workload == "C1":
        var, grad = csr_step()
        return [(grad, var)]
    variables, grads = dense_step(workload)
    return list(zip(grads, variables))


def measure(workload, name, rounds, steps, fixed=True):
    """{setting: median ms}: ``rounds`` x ``steps`` steps with one thread and
    with the default, interleaved, then as many with ``fixed`` (separately:
    its idle team spins after each step and would slow the next setting)."""
    pairs = pairs_of(workload)
    opt = make_optimizer(name)
    create_slots(opt, [v for _, v in pairs])
    times = {k: [] for k in SETTINGS}
    order = [["1", "default"]] * (rounds + 1) + ([["fixed"]] * (rounds + 1) if fixed else [])
    for r, settings in enumerate(order):
        for setting in settings:                  # the first round warms up (not kept)
            optimizers.set_num_threads(SETTINGS[setting][0], adaptive=SETTINGS[setting][1])
            for _ in range(steps):
                start = time.perf_counter()
                opt.apply_gradients(pairs)
                if r and order[r - 1] == settings:
                    times[setting].append(time.perf_counter() - start)
    optimizers.set_num_threads(None)
    return ({k: 1e3 * statistics.median(v) if v else float("nan") for k, v in times.items()},
            {k: 1e3 * min(v) if v else float("nan") for k, v in times.items()})


def crossover(names, rounds, steps):
    """Rows-only steps of unique rows (width 32) from 2**13 to 2**20 elements:
    all threads against one, interleaved step by step; where the team starts
    to pay is where `PARALLEL_MIN_ELEMENTS` belongs."""
    import numpy as np

    from optimizers import IndexedSlices, Variable, threads

    threshold, threads.PARALLEL_MIN_ELEMENTS = threads.PARALLEL_MIN_ELEMENTS, 1   # team always
    print("| optimizer | " + " | ".join(f"2^{b}" for b in range(13, 21)) + " |")
    print("|---|" + "---|" * 8)
    for name in names:
        cells = []
        for bits in range(13, 21):
            rng = np.random.default_rng(bits)
            var = Variable(rng.normal(0, 0.05, (1 << 20, 32)).astype(np.float32))
            rows = np.sort(rng.choice(1 << 20, (1 << bits) // 32, replace=False))
            grad = IndexedSlices(rng.normal(0, 0.01, (len(rows), 32)).astype(np.float32),
                                 rows, var.shape)
            grad._unique = True
            opt = make_optimizer(name)
            create_slots(opt, [var])
            times = {1: [], 0: []}
            for r in range(rounds * steps + 2):
                for n in (1, 0):
                    optimizers.set_num_threads(n or None, adaptive=False)
                    start = time.perf_counter()
                    opt.apply_gradients([(grad, var)])
                    if r >= 2:
                        times[n].append(time.perf_counter() - start)
            cells.append(f"{statistics.median(times[0]) / statistics.median(times[1]):.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    optimizers.set_num_threads(None)
    threads.PARALLEL_MIN_ELEMENTS = threshold


def busy_loops(n):
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="idle,busy")
    parser.add_argument("--workloads", default="S1,S2,C1,D1")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--no-fixed", action="store_true", help="skip the `fixed` setting")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores {cores}; default threads {optimizers.get_num_threads()}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '-')} "
          f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', '-')}")
    for mode in args.modes.split(","):
        if mode.startswith("crossover"):
            others = busy_loops(cores - 1) if mode.endswith("busy") else []
            try:
                print(f"\n{mode}: all threads / one thread, median step time, by elements")
                crossover(args.optimizers.split(","), args.rounds, args.steps)
            finally:
                for p in others:
                    p.kill()
                    p.wait()
            continue
        others = busy_loops(cores - 1) if mode == "busy" else []
        try:
            print(f"\n{mode}" + (f" ({len(others)} busy-loop processes)" if others else ""))
            print("| step | 1 thread ms | default ms | fixed ms | default / 1 | fixed / 1 "
                  "| default / 1, fastest steps |")
            print("|---|---|---|---|---|---|---|")
            worst = 0.0
            for workload in args.workloads.split(","):
                steps = max(2, args.steps // 4) if workload == "D1" else args.steps
                for name in args.optimizers.split(","):
                    ms, fastest = measure(workload, name, args.rounds, steps, not args.no_fixed)
                    ratio = ms["default"] / ms["1"]
                    worst = max(worst, ratio)
                    print(f"| {workload} {name} | {ms['1']:.3f} | {ms['default']:.3f} | "
                          f"{ms['fixed']:.3f} | {ratio:.2f} | {ms['fixed'] / ms['1']:.2f} | "
                          f"{fastest['default'] / fastest['1']:.2f} |", flush=True)
            print(f"worst default / 1: {worst:.2f}")
        finally:
            for p in others:
                p.kill()
                p.wait()


if __name__ == "__main__":
    main()
