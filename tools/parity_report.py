"""Print the worst relative error against the TensorFlow fixtures.

    python tools/parity_report.py            # every optimizer with fixtures

For each optimizer, gradient kind and dtype: the largest error over all
cases, checkpoints (steps 1 and 20), variables and optimizer weights,
relative to the largest magnitude of TensorFlow's value (the measure the
tests bound).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))
import golden_io  # noqa: E402
from test_golden import relative_error, replay  # noqa: E402

import optimizers  # noqa: E402


def main():
    print("| optimizer | kind | dtype | step 1 | step 20 |")
    print("|---|---|---|---|---|")
    for name in golden_io.available():
        if name not in optimizers._registry._CLASSES:
            print(f"| {name} | (not implemented) | | | |")
            continue
        golden = golden_io.load(name)
        worst = {}
        for case in golden.cases():
            for kind, dtype in golden.runs(case):
                for step, ours, expected in replay(name, case, kind, dtype, golden):
                    errs = [relative_error(ours[k], expected[k]) for k in golden_io.VARIABLES]
                    errs += [relative_error(w, e) for w, e in
                             zip(ours["weights"][1:], expected["weights"][1:])]
                    key = (kind, dtype, step)
                    worst[key] = max(worst.get(key, 0.0), max(errs))
        for kind in ("dense", "sparse", "csr"):
            for dtype in ("float32", "float64"):
                if (kind, dtype, 1) in worst:
                    print(f"| {name} | {kind} | {dtype} | {worst[kind, dtype, 1]:.2g} | "
                          f"{worst[kind, dtype, 20]:.2g} |")


if __name__ == "__main__":
    main()
