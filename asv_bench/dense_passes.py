"""What bounds a dense (D1) step in NumPy: memory passes plus a pass in cache per operation.

    python asv_bench/dense_passes.py [--rounds 5] [--block 17]

Times, on one thread and in one run (the kinds take turns, the median over
rounds is printed, in the calling thread's CPU time so that other processes'
time on the core is left out):

* ``memory``: the whole arrays streamed once, as a fused loop would:
  ``w += g`` over 10,000,000 float32 (read 2 arrays, write 1), and
  ``np.copyto`` of one array into another;
* ``cache pass``: one binary ufunc over a block already in cache, per
  10,000,000 elements (the cost of each operation of an update rule);
* the D1 steps of SGD, Adam and Ftrl through ``apply_gradients``,

and a model: arrays read and written once at the ``w += g`` rate, plus
``ops`` cache passes.  When the model is close to the step, the step is
what NumPy can do with that many operations; a fused loop (TensorFlow,
PyTorch) costs about the memory part alone.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import optimizers  # noqa: E402
from benchmarks.common import create_slots, dense_step, make_optimizer  # noqa: E402

N = 10_000_000
# optimizer -> (arrays read from memory, arrays written, ufunc passes a block)
RULES = {"sgd": (2, 1, 2), "adam": (4, 3, 12), "ftrl": (4, 3, 15)}   # Ftrl with l1 = 0


def cpu_ms(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.thread_time()
        fn()
        times.append(time.thread_time() - start)
    return 1e3 * min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block", type=int, default=optimizers._dense.BLOCK.bit_length() - 1,
                        help="log2 of the cache block (default: the dense updates' own)")
    args = parser.parse_args(argv)
    optimizers.set_num_threads(1)
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.05, N).astype(np.float32)
    g = rng.normal(0, 0.01, N).astype(np.float32)
    dst = np.empty_like(w)
    block = 1 << args.block
    a, b, c = (np.ones(block, np.float32) for _ in range(3))
    s = np.asarray(np.float32(0.9))

    def cache_mul():
        for _ in range(N // block):
            np.multiply(a, s, out=c)

    def cache_add():
        for _ in range(N // block):
            np.add(a, b, out=c)

    kinds = {"memory: w += g": lambda: np.add(w, g, out=w),
             "memory: copy": lambda: np.copyto(dst, w),
             "cache pass: a * s": cache_mul, "cache pass: a + b": cache_add}
    steps = {}
    for name in RULES:
        variables, grads = dense_step("D1")
        opt = make_optimizer(name)
        create_slots(opt, variables)
        pairs = list(zip(grads, variables))
        steps[name] = (opt, pairs)
        kinds[f"D1 {name}"] = (lambda o, p: lambda: o.apply_gradients(p))(opt, pairs)
    results = {k: [] for k in kinds}
    for _ in range(args.rounds):
        for k, fn in kinds.items():
            results[k].append(cpu_ms(fn))
    ms = {k: statistics.median(v) for k, v in results.items()}
    print(f"one thread, block 2**{args.block}, median of {args.rounds} rounds "
          "(each the best of 3), CPU ms")
    for k, v in ms.items():
        print(f"  {k:22s} {v:8.2f}")
    per_array = ms["memory: w += g"] / 3            # one 40 MB array read or written
    per_pass = (ms["cache pass: a * s"] + ms["cache pass: a + b"]) / 2
    print(f"one array streamed: {per_array:.2f} ms; one cache pass: {per_pass:.2f} ms")
    print("| step | arrays moved | cache passes | model ms | measured ms | measured / model "
          "| memory part ms |")
    print("|---|---|---|---|---|---|---|")
    for name, (read, written, passes) in RULES.items():
        memory = (read + written) * per_array
        model = memory + passes * per_pass
        got = ms[f"D1 {name}"]
        print(f"| D1 {name} | {read + written} | {passes} | {model:.1f} | {got:.1f} | "
              f"{got / model:.2f} | {memory:.1f} |")


if __name__ == "__main__":
    main()
