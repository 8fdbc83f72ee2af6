"""Build the Cython kernels of ``optimizers``.

Metadata lives in ``pyproject.toml``; this file only declares the extension
modules.  Every ``_kernels/<stem>.pyx`` becomes ``optimizers._kernels.<stem>``.

Environment variables
---------------------
OPTIMIZERS_DEBUG_CYTHON=1
    Build with bounds checks, wraparound and initialisation checks on.
OPTIMIZERS_NO_OPENMP=1
    Build without OpenMP even where the compiler has it.

Extensions compile in parallel (one job per core unless ``--parallel`` /
``-j`` says otherwise) and without debug information (``-g0``) unless
``OPTIMIZERS_DEBUG_CYTHON=1``.
"""
import glob
import os
import shutil
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("OPTIMIZERS_DEBUG_CYTHON", "0") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": False,
    "cdivision": True,
    "profile": False,
}

# Keep IEEE semantics: no contraction into FMA, no reassociation.  The
# formulas are reproduced operation by operation.  Not setting errno lets
# sqrt vectorise; results are unchanged (sqrt is correctly rounded either way).
STRICT_FP = ["-ffp-contract=off", "-fno-fast-math", "-fno-math-errno"]


def _openmp_flags(compiler):
    """Return (compile, link) flags for OpenMP, or ([], []) if unavailable."""
    if os.environ.get("OPTIMIZERS_NO_OPENMP", "0") == "1":
        return [], []
    if compiler.compiler_type == "msvc":
        return ["/openmp"], []
    flags = ["-fopenmp"]
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n")
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(objs, "probe", output_dir=tmp, extra_postargs=flags)
        except Exception:  # any compile or link failure means no OpenMP
            return [], []
        return flags, flags
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1
        import numpy

        for ext in self.extensions:
            ext.include_dirs.append(numpy.get_include())

    def build_extensions(self):
        cflags, lflags = _openmp_flags(self.compiler)
        unix = self.compiler.compiler_type != "msvc"
        release = [] if DEBUG or not unix else ["-g0"]    # no debug info: ~1.5 MB a module
        for ext in self.extensions:
            ext.extra_compile_args += cflags + (STRICT_FP if unix else []) + release
            ext.extra_link_args += lflags
        super().build_extensions()


def extensions():
    from Cython.Build import cythonize

    sources = sorted(glob.glob(os.path.join(HERE, "_kernels", "*.pyx")))
    if not sources:
        raise SystemExit(
            f"No kernel sources (_kernels/*.pyx) under {HERE}: this source tree or sdist is "
            "incomplete, and a package without its kernels would not import.")
    exts = [
        Extension(
            "optimizers._kernels." + os.path.splitext(os.path.basename(src))[0],
            [src],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for src in (os.path.relpath(s, HERE) for s in sources)
    ]
    return cythonize(exts, compiler_directives=DIRECTIVES, include_path=["_kernels"])


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
