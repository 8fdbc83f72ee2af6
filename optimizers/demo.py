"""Train a matrix-factorisation recommender with sparse gradients.

Run ``optimizers-demo`` (or ``python -m optimizers.demo`` from outside the
source tree).  Without ``--ratings`` it makes a synthetic data set whose
users and items are Zipf-distributed, as in real catalogues; with
``--ratings FILE`` it reads MovieLens ``u.data`` (tab-separated
``user item rating timestamp``) or ``ratings.csv`` (``userId,movieId,rating,...``).

Each step draws a batch of ratings, computes the squared-error loss of
``dot(user_vec, item_vec) + user_bias + item_bias + mean`` and hands the
optimizer row-sparse gradients (`IndexedSlices` with repeated indices) for
the embedding tables, so only the touched rows are updated.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from . import Checkpoint, CheckpointManager, IndexedSlices, Variable, get
from ._registry import _CLASSES

__all__ = ["main", "make_synthetic", "load_ratings", "MatrixFactorization"]


def make_synthetic(n_users, n_items, n_ratings, rank=8, zipf=1.1, noise=0.1, seed=0):
    """Synthetic ratings from a low-rank model, users and items Zipf-popular."""
    rng = np.random.default_rng(seed)
    user_f = rng.normal(0, 1 / np.sqrt(rank), (n_users, rank))
    item_f = rng.normal(0, 1 / np.sqrt(rank), (n_items, rank))
    users = _zipf_ids(rng, n_users, n_ratings, zipf)
    items = _zipf_ids(rng, n_items, n_ratings, zipf)
    ratings = np.einsum("ij,ij->i", user_f[users], item_f[items]) * 2 + 3
    ratings += rng.normal(0, noise, n_ratings)
    return users, items, ratings.astype(np.float32)


def _zipf_ids(rng, n, size, exponent):
    p = 1.0 / np.arange(1, n + 1) ** exponent
    ids = rng.choice(n, size=size, p=p / p.sum())
    return rng.permutation(n)[ids]          # popular ids spread over the table


def load_ratings(path):
    """Read MovieLens ``u.data`` (tabs), ``ratings.dat`` (``::``) or ``ratings.csv``;
    ids are re-numbered densely.  Raises `ValueError` (one line) for a file
    that is not a ratings file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    first = lines[0] if lines else ""
    sep = "::" if "::" in first else ("," if "," in first else None)
    if sep is not None and not first.split(sep)[0].strip().isdigit():
        lines = lines[1:]                                   # a header
    try:
        rows = [line.split(sep)[:3] for line in lines if line.strip()]
        data = np.array(rows, dtype=np.float64)
    except ValueError:
        data = np.empty((0,))
    if data.ndim != 2 or data.shape[1] != 3 or len(data) == 0 or not np.isfinite(data).all():
        raise ValueError(f"{path}: not a ratings file (expected user, item, rating columns "
                         "separated by tabs, '::' or commas).")
    _, users = np.unique(data[:, 0].astype(np.int64), return_inverse=True)
    _, items = np.unique(data[:, 1].astype(np.int64), return_inverse=True)
    return users, items, data[:, 2].astype(np.float32)


class MatrixFactorization:
    """Biased matrix factorisation with embedding tables as `Variable` objects."""

    def __init__(self, n_users, n_items, dim, mean, seed=0):
        rng = np.random.default_rng(seed)
        self.user = Variable(rng.normal(0, 0.05, (n_users, dim)).astype(np.float32), name="user")
        self.item = Variable(rng.normal(0, 0.05, (n_items, dim)).astype(np.float32), name="item")
        self.user_bias = Variable(np.zeros(n_users, np.float32), name="user_bias")
        self.item_bias = Variable(np.zeros(n_items, np.float32), name="item_bias")
        self.mean = np.float32(mean)

    @property
    def variables(self):
        return [self.user, self.item, self.user_bias, self.item_bias]

    def predict(self, users, items):
        u, i = np.asarray(self.user)[users], np.asarray(self.item)[items]
        return (np.einsum("ij,ij->i", u, i) + np.asarray(self.user_bias)[users]
                + np.asarray(self.item_bias)[items] + self.mean)

    def loss_and_grads(self, users, items, ratings, l2=1e-4, global_batch=None):
        """Mean squared error and its row-sparse gradients (repeated ids kept).

        With data parallelism each rank passes its share of the batch and the
        size of the whole batch as ``global_batch``, so that the gradients
        summed over ranks are those of the whole batch.
        """
        u, i = np.asarray(self.user)[users], np.asarray(self.item)[items]
        err = self.predict(users, items) - ratings
        scale = np.float32(2.0 / (global_batch or len(ratings)))
        d = (err * scale).astype(np.float32)[:, None]
        l2 = np.float32(l2)
        grads = [
            IndexedSlices(d * i + l2 * u, users, self.user.shape),
            IndexedSlices(d * u + l2 * i, items, self.item.shape),
            IndexedSlices(d[:, 0], users, self.user_bias.shape),
            IndexedSlices(d[:, 0], items, self.item_bias.shape),
        ]
        return float(np.mean(err * err)), grads


def _progress(step, total, loss, rate, width=30):
    """A bar redrawn in place on a terminal; a plain line otherwise (logs, pipes)."""
    text = f"{step}/{total}  loss {loss:.4f}  {rate:,.0f} steps/s"
    if sys.stderr.isatty():
        done = int(width * step / total)
        sys.stderr.write(f"\r[{'#' * done}{'-' * (width - done)}] {text} ")
    else:
        sys.stderr.write(f"step {text}\n")
    sys.stderr.flush()


def train(users, items, ratings, optimizer, dim=32, batch_size=1024, steps=2000, seed=0,
          progress=True, comm=None, checkpoint_dir=None, checkpoint_every=100, resume=False):
    """Train on 90% of the ratings; return a dict of figures.

    With an MPI communicator ``comm``, every rank draws the same batches and
    takes a contiguous share of each; the optimizer sums the shares'
    gradients over the ranks (`optimizers.distribute.MPIAllReduce`), so the
    model follows the single-process run.

    With ``checkpoint_dir``, the model and the optimizer are saved every
    ``checkpoint_every`` steps (by rank 0) with a `CheckpointManager`; with
    ``resume`` too, training starts from the newest checkpoint there (every
    rank reads it).  Step ``k``'s batch depends only on ``seed`` and ``k``,
    so a resumed run ends with the same weights as an uninterrupted one.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ratings))
    n_test = max(1, len(ratings) // 10)
    test, train_idx = order[:n_test], order[n_test:]
    model = MatrixFactorization(users.max() + 1, items.max() + 1, dim,
                                ratings[train_idx].mean(), seed)
    opt = get(optimizer) if isinstance(optimizer, str) else optimizer
    rank, size = (0, 1) if comm is None else (comm.Get_rank(), comm.Get_size())
    if comm is not None:
        from .distribute import MPIAllReduce
        opt.gradient_aggregator = MPIAllReduce(comm)
    progress = progress and rank == 0
    first_test = float(np.mean((model.predict(users[test], items[test]) - ratings[test]) ** 2))
    manager, first_step = None, 1
    if checkpoint_dir is not None:
        ckpt = Checkpoint(optimizer=opt, user=model.user, item=model.item,
                          user_bias=model.user_bias, item_bias=model.item_bias)
        manager = CheckpointManager(ckpt, checkpoint_dir, max_to_keep=3)
        if resume and manager.latest_checkpoint is not None:
            manager.restore_or_initialize()
            first_step = int(opt.iterations) + 1
    opt_time, losses, start = 0.0, [], time.perf_counter()
    every = 50 if sys.stderr.isatty() else max(50, steps // 10)
    interrupted = False
    try:
        for step in range(first_step, steps + 1):
            step_rng = np.random.default_rng([seed, step])
            batch = train_idx[step_rng.integers(0, len(train_idx), batch_size)]
            share = np.array_split(batch, size)[rank]
            loss, grads = model.loss_and_grads(users[share], items[share], ratings[share],
                                               global_batch=batch_size)
            t0 = time.perf_counter()
            opt.apply_gradients(zip(grads, model.variables))
            opt_time += time.perf_counter() - t0
            if comm is not None:                       # the whole batch's mean loss
                loss = comm.allreduce(loss * len(share)) / batch_size
            losses.append(loss)
            if progress and (step % every == 0 or step == steps):
                _progress(step, steps, np.mean(losses[-50:]),
                          len(losses) / (time.perf_counter() - start))
            if manager is not None and rank == 0 and (step % checkpoint_every == 0
                                                      or step == steps):
                manager.save(checkpoint_number=step)
    except KeyboardInterrupt:             # Ctrl-C: end this run, keep what it did
        interrupted = True
    if progress and sys.stderr.isatty():
        sys.stderr.write("\n")
    test_mse = float(np.mean((model.predict(users[test], items[test]) - ratings[test]) ** 2))
    done = len(losses)
    return {"optimizer": type(opt).__name__, "steps": done, "batch_size": batch_size,
            "first_step": first_step, "interrupted": interrupted,
            "first_loss": losses[0] if done else float("nan"),
            "last_loss": float(np.mean(losses[-50:])) if done else float("nan"),
            "test_mse_before": first_test, "test_mse_after": test_mse,
            "optimizer_ms_per_step": 1e3 * opt_time / max(done, 1),
            "wall_s": time.perf_counter() - start, "table_rows": int(model.user.shape[0]),
            "dim": dim, "ranks": size, "loss_curve": [float(x) for x in losses]}


def _table(results):
    header = ("optimizer", "train loss (first -> last)", "held-out MSE (before -> after)",
              "optimizer ms/step", "steps/s", "ratings/s")
    rows = [(r["optimizer"], f"{r['first_loss']:.4f} -> {r['last_loss']:.4f}",
             f"{r['test_mse_before']:.4f} -> {r['test_mse_after']:.4f}",
             f"{r['optimizer_ms_per_step']:.3f}", f"{r['steps'] / r['wall_s']:,.0f}",
             f"{r['steps'] * r['batch_size'] / r['wall_s']:,.0f}") for r in results]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = [" | ".join(str(x).ljust(w) for x, w in zip(line, widths))
             for line in (header, *rows)]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """Errors in one line (no usage dump), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _parser():
    from . import __version__

    parser = _Parser(
        prog="optimizers-demo",
        description="Train a matrix-factorisation recommender with sparse gradients and "
                    "compare optimizers: loss, held-out error and throughput.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = parser.add_argument
    add("--optimizer", default="lazyadam",
        help=f"optimizer name, or several separated by commas ({', '.join(_names())})")
    add("--learning-rate", type=_positive_float, default=None,
        help="learning rate (default: one that suits each optimizer)")
    add("--ratings", metavar="FILE", default=None,
        help="MovieLens u.data, ratings.dat or ratings.csv; synthetic data if omitted")
    add("--users", type=_positive_int, default=100_000, help="synthetic users")
    add("--items", type=_positive_int, default=50_000, help="synthetic items")
    add("--ratings-count", type=_positive_int, default=1_000_000, help="synthetic ratings")
    add("--dim", type=_positive_int, default=32, help="embedding dimension")
    add("--batch-size", type=_positive_int, default=1024, help="ratings a step")
    add("--steps", type=_positive_int, default=2000, help="steps per optimizer")
    add("--seed", type=int, default=0, help="seed of the data, the model and the batches")
    add("--quiet", action="store_true", help="no progress output")
    add("--output", metavar="FILE.json", default=None,
        help="write every run's figures and loss curve as JSON")
    add("--plot", metavar="FILE.png", default=None,
        help="plot the loss curves (needs matplotlib)")
    add("--checkpoint", metavar="DIR", default=None,
        help="save the model and optimizer state in DIR (one subfolder per optimizer)")
    add("--checkpoint-every", type=_positive_int, default=100, metavar="N",
        help="steps between checkpoints")
    add("--resume", action="store_true",
        help="start from the newest checkpoint in --checkpoint DIR")
    add("--distributed", action="store_true",
        help="data-parallel over MPI: mpiexec -n 2 optimizers-demo --distributed "
             "(needs the `mpi` extra)")
    add("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _check_output(parser, path, option):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        parser.error(f"{option} {path}: folder {directory} does not exist")


def _plot(path, results):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        curve = np.asarray(r["loss_curve"], dtype=np.float64)
        window = max(1, len(curve) // 50)
        smooth = np.convolve(curve, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(len(smooth)) + r["first_step"] + window - 1, smooth,
                label=r["optimizer"])
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (moving mean)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _names():
    """Names of the optimizers the demo can build by name (not wrappers such as
    `LossScaleOptimizer`, which need an optimizer to wrap)."""
    return sorted(n for n, cls in _CLASSES.items() if not getattr(cls, "_is_wrapper", False))


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.resume and args.checkpoint is None:
        parser.error("--resume needs --checkpoint DIR")
    names = [n.strip().lower() for n in args.optimizer.split(",") if n.strip()]
    unknown = [n for n in names if n not in _names()]
    if unknown or not names:
        parser.error(f"unknown optimizer {unknown or args.optimizer!r}; choose from "
                     f"{', '.join(_names())}")
    for path, option in ((args.output, "--output"), (args.plot, "--plot")):
        if path is not None:
            _check_output(parser, path, option)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib (pip install matplotlib)")
    if args.ratings:
        if not os.path.isfile(args.ratings):
            parser.error(f"--ratings {args.ratings}: no such file")
        try:
            users, items, ratings = load_ratings(args.ratings)
        except (OSError, ValueError) as exc:
            parser.error(f"--ratings {exc}" if str(exc).startswith(args.ratings)
                         else f"--ratings {args.ratings}: {exc}")
    else:
        users, items, ratings = make_synthetic(args.users, args.items, args.ratings_count,
                                               seed=args.seed)
    if len(ratings) < 2:
        parser.error("at least 2 ratings are needed (one to train on, one to test)")
    comm = None
    if args.distributed:
        from .distribute import _comm
        comm = _comm(None)
    say = print if comm is None or comm.Get_rank() == 0 else (lambda *a, **k: None)
    say(f"{len(ratings):,} ratings, {users.max() + 1:,} users x {items.max() + 1:,} items, "
        f"dim {args.dim}, batch {args.batch_size}, {args.steps} steps"
        + (f", {comm.Get_size()} ranks" if comm is not None else ""))
    results = []
    for name in names:
        lr = args.learning_rate if args.learning_rate is not None else _DEFAULT_LR.get(name)
        config = {} if lr is None else {"learning_rate": lr}
        opt = get({"class_name": name, "config": config})
        say(f"{type(opt).__name__} {config}")
        directory = None if args.checkpoint is None else os.path.join(args.checkpoint, name)
        result = train(users, items, ratings, opt, args.dim, args.batch_size,
                       args.steps, args.seed, progress=not args.quiet, comm=comm,
                       checkpoint_dir=directory, checkpoint_every=args.checkpoint_every,
                       resume=args.resume)
        results.append(result)
        if result["interrupted"]:
            say(f"interrupted after {result['steps']} steps of {result['optimizer']}")
            break
    interrupted = any(r["interrupted"] for r in results)
    results = [r for r in results if r["steps"]]
    if results:
        say(_table(results))
    if comm is None or comm.Get_rank() == 0:
        if args.output is not None:
            with open(args.output, "w") as f:
                json.dump(results, f, indent=1)
        if args.plot is not None and results:
            _plot(args.plot, results)
    return 130 if interrupted else 0


# Learning rates that train this model well in a couple of thousand steps.
_DEFAULT_LR = {"sgd": 3.0, "adagrad": 0.5, "rowwiseadagrad": 0.5, "adam": 0.002,
               "lazyadam": 0.002, "adamw": 0.002, "adamax": 0.005, "nadam": 0.002,
               "rmsprop": 0.003, "adadelta": 20.0, "ftrl": 0.5}

if __name__ == "__main__":
    sys.exit(main())
