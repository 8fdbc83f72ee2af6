"""Print values of ``NPY_DISABLE_CPU_FEATURES`` that cut NumPy's run-time dispatch down.

One line per level, from the highest: first without AVX-512, then without
AVX2 as well, keeping only the targets this NumPy build dispatches to and
this CPU has (NumPy refuses to disable a baseline feature).  CI runs the
golden tests once per line, so one machine exercises older CPUs' code paths.
Prints nothing on a CPU with nothing above the baseline (or not x86-64).
"""
try:
    from numpy._core import _multiarray_umath as umath
except ImportError:  # NumPy 1.x
    from numpy.core import _multiarray_umath as umath

# Dispatch targets by what they need: NumPy >= 2.4 names them X86_V3 (AVX2)
# and X86_V4 / AVX512_* ; older NumPy names single features.
AVX512 = ("X86_V4", "AVX512")
AVX2 = ("X86_V3", "AVX2", "FMA3", "AVX", "F16C")


def main():
    found = [t for t in umath.__cpu_dispatch__ if umath.__cpu_features__.get(t)]
    levels = []
    for prefixes in (AVX512, AVX512 + AVX2):
        cut = [t for t in found if t.startswith(prefixes)]
        if cut and cut not in levels:
            levels.append(cut)
    for cut in levels:
        print(" ".join(cut))


if __name__ == "__main__":
    main()
