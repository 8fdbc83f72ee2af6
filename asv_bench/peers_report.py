"""Write compare_peers.py's numbers as a documentation table and bar chart.

``write_docs(report, directory)`` writes ``peers.json`` (the report as it
was measured), ``peers.rst`` (a ``list-table`` for ``docs/benchmarks.rst``)
and ``peers.svg`` (one panel per thread setting: ours, TensorFlow's
``tf.function`` and PyTorch on a log scale, the memory floor marked).  The
chart needs matplotlib (in the ``bench`` extra).
"""
import json
import os

PEERS = (("ours", "ours"), ("tf_function", "TF tf.function"), ("torch", "PyTorch"))
COLORS = {"ours": "#1f77b4", "tf_function": "#ff7f0e", "torch": "#2ca02c"}


def _ms(x):
    return "-" if x is None else (f"{x:.3g}" if x < 100 else f"{x:.0f}")


def _threads_label(threads):
    return "1 thread" if threads == "1" else (
        "default threads" if threads == "default" else f"{threads} threads")


def steps(report):
    """The (workload, optimizer) pairs of the report, in measuring order."""
    seen = []
    for row in report["rows"]:
        key = (row["workload"], row["optimizer"])
        if key not in seen:
            seen.append(key)
    return seen


def table_rst(report):
    """The report as an RST ``list-table``: per thread setting ours, TF
    ``tf.function`` and PyTorch (ms), then the floor (ms) and ours as a
    percentage of it (floor / ours) per thread setting."""
    by_key = {(r["workload"], r["optimizer"], r["threads"]): r for r in report["rows"]}
    settings = report["threads"]
    header = ["Step"]
    for threads in settings:
        label = _threads_label(threads)
        header += [f"ours, {label}", f"TF fn, {label}", f"PyTorch, {label}"]
    header += ["floor"] + [f"% of floor, {_threads_label(t)}" for t in settings]
    # (on a busy machine the median step suffers most: the fastest step says
    # what the code does when it has the memory to itself)
    header += [f"% of floor, fastest step, {_threads_label(t)}" for t in settings]
    lines = [".. list-table::", "   :header-rows: 1", "   :class: peers", ""]

    def row(cells):
        lines.append("   * - " + cells[0])
        lines.extend(f"     - {c}" for c in cells[1:])

    row(header)
    for workload, name in steps(report):
        cells = [f"{workload} {name}"]
        floor = None
        percents, fastest = [], []
        for threads in settings:
            r = by_key.get((workload, name, threads))
            if r is None:
                cells += ["-"] * 3
                percents.append("-")
                fastest.append("-")
                continue
            cells += [_ms(r["ours"]), _ms(r["tf_function"]), _ms(r["torch"])]
            floor = r["floor"]
            percents.append(f"{100 * r['floor'] / r['ours']:.0f}%")
            best = r.get("ours_fastest")          # (not in reports made before it)
            fastest.append("-" if best is None else f"{100 * r['floor'] / best:.0f}%")
        row(cells + [_ms(floor)] + percents + fastest)
    return "\n".join(lines) + "\n"


def chart(report, path, fmt="svg"):
    """Horizontal bars, one panel per thread setting, log-scaled ms."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "peers",
                                "font.size": 8})
    keys = steps(report)
    settings = report["threads"]
    by_key = {(r["workload"], r["optimizer"], r["threads"]): r for r in report["rows"]}
    height = 1.2 + 0.28 * len(keys)
    fig, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings) + 1.2, height),
                             sharey=True, squeeze=False)
    bar = 0.8 / len(PEERS)
    for ax, threads in zip(axes[0], settings):
        for j, (field, label) in enumerate(PEERS):
            ys, xs = [], []
            for i, (workload, name) in enumerate(keys):
                r = by_key.get((workload, name, threads))
                if r is not None and r[field] is not None:
                    ys.append(i - 0.4 + bar * (j + 0.5))
                    xs.append(r[field])
            ax.barh(ys, xs, height=bar, color=COLORS[field], label=label)
        floors = [(i, by_key[(w, n, threads)]["floor"]) for i, (w, n) in enumerate(keys)
                  if (w, n, threads) in by_key]
        ax.plot([f for _, f in floors], [i for i, _ in floors], "k|", markersize=9,
                label="memory floor")
        ax.set_xscale("log")
        ax.set_xlabel("ms per step (log scale)")
        ax.set_title(_threads_label(threads))
        ax.grid(axis="x", which="both", alpha=0.3)
    axes[0][0].set_yticks(range(len(keys)))
    axes[0][0].set_yticklabels([f"{w} {n}" for w, n in keys])
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0.35 / height, 1, 1))
    fig.savefig(path, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)


def write_docs(report, directory):
    """Write peers.json, peers.rst and peers.svg into ``directory``."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "peers.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v)
    intro = (f"Measured {report['date']} on {report['cpu'] or 'an unnamed CPU'}, "
             f"{report['machine']}; {versions}; one-thread copy bandwidth "
             f"{report['bandwidth_gbs']:.1f} GB/s; median of {report['repeat']} steps, "
             "milliseconds; the last columns compare the fastest of our steps with the "
             "floor.\n\n")
    with open(os.path.join(directory, "peers.rst"), "w") as f:
        f.write(intro + table_rst(report))
    chart(report, os.path.join(directory, "peers.svg"))
    print(f"wrote {directory}/peers.json, peers.rst, peers.svg")
