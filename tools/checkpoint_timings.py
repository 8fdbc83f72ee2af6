"""Save and restore of a 1,000,000 x 64 float32 table with Adam's slots, against
np.save / np.load of the same arrays, in one run; and the extra memory each takes.

    python tools/checkpoint_timings.py [--repeat 5] [--dir DIR]

Prints medians and the ratios, against np.save both as it is and followed by
fsync (what an atomic save must do); the peak extra memory (RSS above the
state itself) is measured in a child process per operation (Linux).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROWS, WIDTH = 1_000_000, 64

CHILD = r"""
import os, sys
import numpy as np
import optimizers
from optimizers import Checkpoint, Variable
op, directory = sys.argv[1], sys.argv[2]
table = Variable(np.ones((%d, %d), np.float32), name="table")
opt = optimizers.Adam(0.01)
opt.build([table])
arrays = [np.asarray(table)] + [np.asarray(w) for w in opt.weights[1:]]
for a in arrays:
    a[...] = 1.0                                   # touch every page
ckpt = Checkpoint(optimizer=opt, table=table)
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                                   # reset the peak (VmHWM) to now
base = status("VmRSS:")
if op == "save":
    ckpt.save(os.path.join(directory, "ckpt"))
elif op == "restore":
    ckpt.restore(os.path.join(directory, "ckpt"))
elif op == "np.save":
    for i, a in enumerate(arrays):
        np.save(os.path.join(directory, f"a{i}.npy"), a)
else:
    loaded = [np.load(os.path.join(directory, f"a{i}.npy")) for i in range(len(arrays))]
print(status("VmHWM:") - base)
""" % (ROWS, WIDTH)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args()
    import optimizers
    from optimizers import Checkpoint, Variable

    directory = tempfile.mkdtemp(dir=args.dir)
    rng = np.random.default_rng(0)
    table = Variable(rng.random((ROWS, WIDTH), dtype=np.float32), name="table")
    opt = optimizers.Adam(0.01)
    opt.build([table])
    arrays = [np.asarray(table)] + [np.asarray(w) for w in opt.weights[1:]]
    ckpt = Checkpoint(optimizer=opt, table=table)
    path = os.path.join(directory, "ckpt")
    npy = [os.path.join(directory, f"a{i}.npy") for i in range(len(arrays))]
    def np_save_fsync():
        for name, arr in zip(npy, arrays):
            with open(name, "wb") as f:
                np.save(f, arr)
                f.flush()
                os.fsync(f.fileno())

    ops = {
        "np.save": lambda: [np.save(n, a) for n, a in zip(npy, arrays)],
        "np.save+fsync": np_save_fsync,
        "save": lambda: ckpt.save(path),
        "np.load": lambda: [np.load(n) for n in npy],
        "restore": lambda: ckpt.restore(path),
    }
    times = {k: [] for k in ops}
    for _ in range(args.repeat):                   # interleaved, so load hits all alike
        for name, op in ops.items():
            os.sync()                              # start each with no dirty pages pending
            start = time.perf_counter()
            op()
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    size = sum(a.nbytes for a in arrays) / 2**20
    print(f"{size:.0f} MiB of state, median of {args.repeat}, one run:")
    for name in ops:
        print(f"  {name:14s} {med[name]:7.3f} s")
    print(f"  save / np.save    = {med['save'] / med['np.save']:.2f}")
    print(f"  save / (np.save+fsync) = {med['save'] / med['np.save+fsync']:.2f}")
    print(f"  restore / np.load = {med['restore'] / med['np.load']:.2f}")
    print("peak extra memory (MiB, RSS above the state):")
    for name in ("np.save", "save", "np.load", "restore"):
        out = subprocess.run([sys.executable, "-c", CHILD, name, directory],
                             capture_output=True, text=True, check=True).stdout
        print(f"  {name:14s} {int(out) / 1024:7.0f}")
    for f in os.listdir(directory):
        os.unlink(os.path.join(directory, f))
    os.rmdir(directory)


if __name__ == "__main__":
    main()
