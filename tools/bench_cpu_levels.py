"""Time one-thread S1 steps at every CPU level this machine runs, in one run.

S1 (asv_bench/benchmarks/common.py): a 1,000,000 x 64 float32 table, 16,384
Zipf-distributed indices a step.  Each level runs in a subprocess
(``OPTIMIZERS_CPU_LEVEL``); the levels take turns, ``--rounds`` times, and
each figure is the best round's median step time.  Prints a table with the
ratio of each level's time to the baseline's (below 1: faster).

    python tools/bench_cpu_levels.py [--rounds 3] [--steps 100]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OPTIMIZERS = {   # name -> (class, config)
    "SGD": ("SGD", {"learning_rate": 0.01}),
    "Adagrad": ("Adagrad", {}),
    "LazyAdam": ("LazyAdam", {}),
    "Ftrl": ("Ftrl", {}),
    "RMSprop (momentum)": ("RMSprop", {"momentum": 0.9}),
}


def child(steps):
    """Median seconds a step for each optimizer, at the level of this process."""
    sys.path.insert(0, os.path.join(HERE, "..", "asv_bench", "benchmarks"))
    import numpy as np
    from common import sparse_step

    import optimizers
    from optimizers import _kernels

    optimizers.set_num_threads(1)
    out = {"level": _kernels.CPU_LEVEL}
    for name, (cls, config) in OPTIMIZERS.items():
        var, grad = sparse_step("S1")
        opt = getattr(optimizers, cls)(**config)
        opt.apply_gradients([(grad, var)])                  # slots, warm-up
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            opt.apply_gradients([(grad, var)])
            times.append(time.perf_counter() - t)
        out[name] = float(np.median(times))
        del var, grad, opt
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.steps)))
        return
    from optimizers import _kernels

    levels = [lv for lv in _kernels.BUILT_LEVELS if lv in _kernels.SUPPORTED_LEVELS]
    best = {lv: {} for lv in levels}
    for _ in range(args.rounds):
        for lv in levels:
            env = dict(os.environ, OPTIMIZERS_CPU_LEVEL=lv)
            res = json.loads(subprocess.run(
                [sys.executable, __file__, "--child", "--steps", str(args.steps)], env=env,
                check=True, capture_output=True, text=True).stdout)
            assert res.pop("level") == lv
            for k, v in res.items():
                best[lv][k] = min(v, best[lv].get(k, float("inf")))
    head = f"{'S1, 1 thread, ms a step':<24}" + "".join(f"{lv:>12}" for lv in levels)
    head += "".join(f"{lv + '/base':>17}" for lv in levels[1:])
    print(head)
    for name in OPTIMIZERS:
        base = best[levels[0]][name]
        row = f"{name:<24}" + "".join(f"{best[lv][name] * 1e3:>12.3f}" for lv in levels)
        row += "".join(f"{best[lv][name] / base:>17.2f}" for lv in levels[1:])
        print(row)


if __name__ == "__main__":
    main()
