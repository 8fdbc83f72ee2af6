"""Print environment settings that make this machine run older CPUs' code paths.

One line per level, from the highest, each a list of ``NAME=value`` words:
first NumPy without its AVX-512 targets, then NumPy without AVX2 either and
the C library without its FMA/AVX2 variants of ``powf``, ``expf``, ... (glibc
tunable).  ``NPY_DISABLE_CPU_FEATURES`` keeps only the targets this NumPy
build dispatches to and this CPU has (NumPy refuses to disable a baseline
feature).  CI runs the golden tests once per line: the numbers must be the
same.  Prints nothing on a CPU with nothing above NumPy's baseline.
"""
try:
    from numpy._core import _multiarray_umath as umath
except ImportError:  # NumPy 1.x
    from numpy.core import _multiarray_umath as umath

# Dispatch targets by what they need: NumPy >= 2.4 names them X86_V3 (AVX2)
# and X86_V4 / AVX512_*; older NumPy names single features.
AVX512 = ("X86_V4", "AVX512")
AVX2 = ("X86_V3", "AVX2", "FMA3", "AVX", "F16C")
GLIBC_WITHOUT_AVX2 = "GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA"


def levels():
    found = [t for t in umath.__cpu_dispatch__ if umath.__cpu_features__.get(t)]
    out, seen = [], []
    for prefixes, extra in ((AVX512, ""), (AVX512 + AVX2, GLIBC_WITHOUT_AVX2)):
        cut = [t for t in found if t.startswith(prefixes)]
        if cut and cut not in seen:
            seen.append(cut)
            out.append(" ".join(filter(None, ["NPY_DISABLE_CPU_FEATURES=" + ",".join(cut),
                                               extra])))
    return out


if __name__ == "__main__":
    print("\n".join(levels()))
