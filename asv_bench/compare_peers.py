"""Time one optimizer step here, in TensorFlow and in PyTorch, on the same inputs.

Run in an environment that has this package and the peers (the ``bench``
extra does not pull them in, they are large)::

    pip install ".[bench]" tensorflow-cpu tf-keras torch
    python asv_bench/compare_peers.py                       # all workloads, 1 thread
    python asv_bench/compare_peers.py --workloads S1 --optimizers sgd,adagrad --threads 2
    python asv_bench/compare_peers.py --threads 1,default --write-docs docs/peers

The peers may live in other environments (each child process only needs
NumPy, SciPy and its peer): ``--tf-python /path/to/venv-tf/bin/python``,
``--torch-python ...``.  ``--threads`` takes a comma-separated list of
thread counts, ``default`` meaning each library's own default; every
setting is a separate run of the three libraries.  ``--write-docs DIR``
writes ``DIR/peers.json`` (the numbers), ``DIR/peers.rst`` (the table) and
``DIR/peers.svg`` (a bar chart), which ``docs/benchmarks.rst`` includes;
``--from-json DIR/peers.json --write-docs DIR`` redraws them without
measuring.

Workloads are DESIGN.md's (see ``benchmarks/common.py``).  TensorFlow runs
its legacy (``OptimizerV2``) optimizers, eagerly and inside ``tf.function``;
PyTorch gets sparse COO gradients where its optimizer takes them
(``SGD``, ``Adagrad``, ``SparseAdam``) and dense gradients with the fused
``Adam`` on dense workloads.  A peer that has no such optimizer, or refuses
the gradient, shows ``-``.  ``floor`` is the time to move the bytes the step
must read and write at the measured copy bandwidth of this machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmarks.common import (OPTIMIZERS, SPARSE_WORKLOADS, create_slots,  # noqa: E402
                               csr_step, dense_step, make_optimizer, sparse_step)

# slots per optimizer and whether TF's sparse step sweeps the whole table
# (slots kept per row, as RowwiseAdagrad's accumulator, are left out: one number a row)
SLOTS = {"sgd": 0, "momentum": 1, "adagrad": 1, "rowwise_adagrad": 0, "adam": 2,
         "partial_rowwise_adam": 1,
         "lazy_adam": 2, "ftrl": 2, "rmsprop": 1}
WHOLE_TABLE = {"adam", "rmsprop"}

TF_CLASSES = {"sgd": ("SGD", {"learning_rate": 0.01}),
              "momentum": ("SGD", {"learning_rate": 0.01, "momentum": 0.9}),
              "adagrad": ("Adagrad", {}), "adam": ("Adam", {}), "ftrl": ("Ftrl", {}),
              "rmsprop": ("RMSprop", {})}


CLOCK = time.perf_counter


def times_ms(step, repeat, warmup=2):
    """``repeat`` timings of ``step`` (ms), after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeat):
        start = CLOCK()
        step()
        times.append(1e3 * (CLOCK() - start))
    return times


def median_ms(step, repeat, warmup=2):
    return statistics.median(times_ms(step, repeat, warmup))


def copy_bandwidth():
    src = np.ones(64 * 2 ** 20, np.float32)
    dst = np.empty_like(src)
    best = min(median_ms(lambda: np.copyto(dst, src), 5, 1) for _ in range(3))
    return 2 * src.nbytes / (best / 1e3)


def inputs(workload):
    """Return (kind, our variables, our gradients) for a workload."""
    if workload in SPARSE_WORKLOADS:
        var, grad = sparse_step(workload)
        return "slices", [var], [grad]
    if workload == "C1":
        var, grad = csr_step()
        return "csr", [var], [grad]
    variables, grads = dense_step(workload)
    return "dense", variables, grads


def floor_ms(workload, name, variables, grads, bandwidth):
    """Bytes a step must move (var + slots read and written, gradient read)."""
    arrays = 1 + SLOTS[name]
    if workload in SPARSE_WORKLOADS:
        rows = variables[0].shape[0] if name in WHOLE_TABLE else len(np.unique(grads[0].indices))
        moved = rows * variables[0].shape[1] * 4 * arrays * 2 + grads[0].values.nbytes
    elif workload == "C1":
        rows = variables[0].shape[0] if name in WHOLE_TABLE else np.count_nonzero(
            np.diff(grads[0].indptr))
        moved = rows * variables[0].shape[1] * 4 * arrays * 2 + grads[0].data.nbytes
    else:
        moved = sum(v.size * 4 * (arrays * 2 + 1) for v in variables)
    return 1e3 * moved / bandwidth


def time_ours(name, variables, grads, repeat):
    opt = make_optimizer(name)
    create_slots(opt, variables)
    pairs = list(zip(grads, variables))
    times = times_ms(lambda: opt.apply_gradients(pairs), repeat)
    return statistics.median(times), min(times)


def tf_gradients(tf, kind, variables, grads):
    if kind == "slices":
        g = grads[0]
        return [tf.IndexedSlices(tf.constant(g.values), tf.constant(g.indices),
                                 tf.constant(np.array(variables[0].shape, np.int64)))]
    if kind == "csr":
        rows = np.flatnonzero(np.diff(grads[0].indptr))
        values = grads[0][rows].toarray()
        return [tf.IndexedSlices(tf.constant(values), tf.constant(rows.astype(np.int64)),
                                 tf.constant(np.array(variables[0].shape, np.int64)))]
    return [tf.constant(g) for g in grads]


def time_tf(tf, keras, name, kind, variables, grads, repeat):
    if name not in TF_CLASSES:
        return None, None
    class_name, config = TF_CLASSES[name]
    results = []
    for compiled in (False, True):
        tf_vars = [tf.Variable(np.asarray(v).copy()) for v in variables]
        tf_grads = tf_gradients(tf, kind, variables, grads)
        opt = getattr(keras.optimizers.legacy, class_name)(**config)
        pairs = list(zip(tf_grads, tf_vars))

        def step():
            opt.apply_gradients(pairs)

        if compiled:
            step = tf.function(step)
        results.append(median_ms(step, repeat))
    return tuple(results)


def torch_optimizer(torch, name, params, sparse):
    optim = torch.optim
    if name == "sgd":
        return optim.SGD(params, lr=0.01)
    if name == "momentum":
        return optim.SGD(params, lr=0.01, momentum=0.9)
    if name == "adagrad":
        return optim.Adagrad(params, lr=0.001)
    if name == "lazy_adam" and sparse:
        return optim.SparseAdam(params, lr=0.001)
    if name == "adam" and not sparse:
        return optim.Adam(params, lr=0.001, fused=True)
    if name == "rmsprop" and not sparse:
        return optim.RMSprop(params, lr=0.001)
    return None


def time_torch(torch, name, kind, variables, grads, repeat):
    sparse = kind != "dense"
    params = [torch.nn.Parameter(torch.from_numpy(np.asarray(v).copy())) for v in variables]
    opt = torch_optimizer(torch, name, params, sparse)
    if opt is None:
        return None
    if kind == "slices":
        g = grads[0]
        gt = torch.sparse_coo_tensor(torch.from_numpy(g.indices)[None],
                                     torch.from_numpy(g.values), tuple(variables[0].shape))
        torch_grads = [gt]
    elif kind == "csr":
        coo = grads[0].tocoo()
        idx = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        torch_grads = [torch.sparse_coo_tensor(idx, torch.from_numpy(coo.data),
                                               tuple(variables[0].shape))]
    else:
        torch_grads = [torch.from_numpy(g) for g in grads]

    def step():
        for p, g in zip(params, torch_grads):
            p.grad = g
        opt.step()

    try:
        return median_ms(step, repeat)
    except (RuntimeError, NotImplementedError):
        return None


def fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}f}"


def ratio(peer, ours):
    return "-" if peer is None or ours is None else f"{peer / ours:.1f}x"


def run_peer(peer, args):
    """Time one peer in this process; print one JSON line per (workload, optimizer)."""
    threads = None if args.threads == "default" else int(args.threads)
    if peer == "tf":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        import tf_keras as keras
        if threads is not None:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    else:
        import torch
        if threads is not None:
            torch.set_num_threads(threads)
    for workload in args.workloads.split(","):
        for name in args.optimizers.split(","):
            try:
                kind, variables, grads = inputs(workload)
            except ImportError as exc:           # C1 needs SciPy, which a peer's Python may lack
                print(f"{peer}: {workload} skipped ({exc})", file=sys.stderr, flush=True)
                break
            if peer == "tf":
                repeat = max(3, args.repeat // 3) if name in WHOLE_TABLE else args.repeat
                result = time_tf(tf, keras, name, kind, variables, grads, repeat)
            else:
                result = (time_torch(torch, name, kind, variables, grads, args.repeat),)
            print("RESULT " + json.dumps([workload, name, result]), flush=True)


def peer_results(peer, args, threads):
    """Run a peer in a child process (TensorFlow and PyTorch clash in one process)."""
    python = args.tf_python if peer == "tf" else args.torch_python
    cmd = [python, os.path.abspath(__file__), "--peer", peer,
           "--workloads", args.workloads, "--optimizers", args.optimizers,
           "--threads", threads, "--repeat", str(args.repeat), "--clock", args.clock]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            workload, name, result = json.loads(line[7:])
            results[workload, name] = result
    if proc.returncode != 0 and not results:
        print(f"({peer} failed: {proc.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
    return results


def peer_version(python, module):
    """``module``'s version in the Python ``python``, or None if it has none."""
    proc = subprocess.run([python, "-c", f"import {module}; print({module}.__version__)"],
                          capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    return proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 and proc.stdout else None


def measure(args, threads, bandwidth):
    """Rows of one thread setting: ours, TF (eager, function), PyTorch and the floor."""
    import optimizers
    optimizers.set_num_threads(None if threads == "default" else int(threads))
    tf_results = {} if args.no_tf else peer_results("tf", args, threads)
    torch_results = {} if args.no_torch else peer_results("torch", args, threads)
    rows = []
    print(f"\nthreads {threads} (ours: {optimizers.get_num_threads()}); copy bandwidth "
          f"{bandwidth / 1e9:.1f} GB/s; median of {args.repeat} steps, ms")
    print("| workload | optimizer | ours | TF eager | TF function | PyTorch | TF fn / ours "
          "| PyTorch / ours | floor | ours / floor | fastest step / floor |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for workload in args.workloads.split(","):
        for name in args.optimizers.split(","):
            kind, variables, grads = inputs(workload)
            try:
                ours, fastest = time_ours(name, variables, grads, args.repeat)
            except ValueError as exc:                # optimizer not available
                print(f"| {workload} | {name} | {exc} |")
                continue
            eager, compiled = tf_results.get((workload, name)) or (None, None)
            peer = (torch_results.get((workload, name)) or (None,))[0]
            floor = floor_ms(workload, name, variables, grads, bandwidth)
            rows.append(dict(workload=workload, optimizer=name, threads=threads, ours=ours,
                             ours_fastest=fastest, tf_eager=eager, tf_function=compiled,
                             torch=peer, floor=floor))
            print(f"| {workload} | {name} | {fmt(ours)} | {fmt(eager)} | {fmt(compiled)} | "
                  f"{fmt(peer)} | {ratio(compiled, ours)} | {ratio(peer, ours)} | "
                  f"{fmt(floor)} | {ours / floor:.1f} | {fastest / floor:.1f} |", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="S1,S2,C1,D1,D2")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    parser.add_argument("--threads", default="1",
                        help="comma-separated thread counts; 'default': each library's own")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-tf", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: the process's CPU time, which leaves out the time other "
                             "processes hold the cores (one thread only)")
    parser.add_argument("--tf-python", default=sys.executable,
                        help="the Python that runs TensorFlow (default: this one)")
    parser.add_argument("--torch-python", default=sys.executable,
                        help="the Python that runs PyTorch (default: this one)")
    parser.add_argument("--write-docs", metavar="DIR",
                        help="write DIR/peers.json, DIR/peers.rst and DIR/peers.svg")
    parser.add_argument("--from-json", metavar="FILE",
                        help="with --write-docs: redraw from a saved peers.json, no timing")
    parser.add_argument("--peer", choices=["tf", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.clock == "cpu":
        global CLOCK
        CLOCK = time.process_time
    if args.peer:
        run_peer(args.peer, args)
        return
    if args.from_json:
        if not args.write_docs:
            parser.error("--from-json needs --write-docs")
        from peers_report import write_docs
        with open(args.from_json) as f:
            write_docs(json.load(f), args.write_docs)
        return

    import optimizers
    settings = args.threads.split(",")
    for threads in settings:
        if threads != "default" and not threads.isdigit():
            parser.error(f"--threads takes counts or 'default'; received {threads!r}")
    bandwidth = copy_bandwidth()
    rows = []
    for threads in settings:
        rows += measure(args, threads, bandwidth)
    optimizers.set_num_threads(None)
    if args.write_docs:
        import platform

        from peers_report import write_docs
        report = dict(
            date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            machine=f"{platform.machine()}, {os.cpu_count()} CPUs "
                    f"({optimizers.get_num_threads()} threads by default)",
            cpu=cpu_model(), bandwidth_gbs=bandwidth / 1e9, repeat=args.repeat,
            clock=args.clock,
            versions=dict(optimizers=optimizers.__version__, numpy=np.__version__,
                          tensorflow=None if args.no_tf else peer_version(
                              args.tf_python, "tensorflow"),
                          torch=None if args.no_torch else peer_version(
                              args.torch_python, "torch")),
            threads=settings, rows=rows)
        write_docs(report, args.write_docs)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or None


if __name__ == "__main__":
    main()
