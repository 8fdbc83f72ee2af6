"""Build the Cython kernels of ``optimizers``.

Metadata lives in ``pyproject.toml``; this file only declares the extension
modules.  Every ``_kernels/<stem>.pyx`` becomes ``optimizers._kernels.<stem>``.

Environment variables
---------------------
OPTIMIZERS_DEBUG_CYTHON=1
    Build with bounds checks, wraparound and initialisation checks on.
OPTIMIZERS_NO_OPENMP=1
    Build without OpenMP even where the compiler has it.
OPTIMIZERS_BUILD_CPU_LEVELS=baseline,x86-64-v3,x86-64-v4
    The CPU levels to build the kernels for (comma-separated).  The default
    is every level of the target: on x86-64 with GCC or Clang, the baseline
    plus ``x86-64-v3`` (AVX2) and ``x86-64-v4`` (AVX-512); elsewhere the
    baseline only.  ``baseline`` alone gives a quicker, smaller build.

CPU levels
----------
Every kernel module is built for the baseline as
``optimizers._kernels.<stem>``; on x86-64 it is also built with
``-march=x86-64-v3`` and ``-march=x86-64-v4`` into ``_kernels/_x86_64_v3/``
and ``_kernels/_x86_64_v4/``, from the same generated C and under the same
module name.  ``optimizers._kernels`` picks the best level the CPU runs when
it is imported (see its docstring).  A compiler that does not know a level's
``-march`` skips that level, with a message.

Extensions compile in parallel (one job per core unless ``--parallel`` /
``-j`` says otherwise) and without debug information (``-g0``) unless
``OPTIMIZERS_DEBUG_CYTHON=1``.
"""
import glob
import os
import platform
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


# CPU levels above the baseline: (name, directory under _kernels/, flags).  The
# strict floating-point flags above apply to them too; with them, every level
# computes every element with the same IEEE operations in the same order, so
# the results are the same bits (tests/test_cpu_levels.py checks it).
CPU_LEVELS = [
    ("x86-64-v3", "_x86_64_v3", ["-march=x86-64-v3"]),
    ("x86-64-v4", "_x86_64_v4", ["-march=x86-64-v4"]),
]
# Built for the baseline only: the CPU probe (it decides which level is loaded),
# the checks of a step's pairs, the copies of dense packing, the OpenMP report,
# and the C library's scalar functions.
BASELINE_ONLY = {"_cpu", "checks", "fpmode", "packing", "parallel", "libm"}


def _build_levels():
    """The levels above the baseline to build, from the environment and the machine."""
    names = [n for n, _, _ in CPU_LEVELS]
    wanted = os.environ.get("OPTIMIZERS_BUILD_CPU_LEVELS", "").strip()
    if wanted:
        asked = [w.strip() for w in wanted.split(",") if w.strip()]
        unknown = [w for w in asked if w not in ["baseline"] + names]
        if unknown:
            raise SystemExit(
                f"OPTIMIZERS_BUILD_CPU_LEVELS: unknown level(s) {', '.join(unknown)}; "
                f"the levels are: baseline, {', '.join(names)}.")
        return [lv for lv in CPU_LEVELS if lv[0] in asked]
    if platform.machine().lower() in ("x86_64", "amd64") and os.name != "nt":
        return list(CPU_LEVELS)
    return []


def _compiler_accepts(compiler, flags):
    """True when ``compiler`` compiles a trivial C file with ``flags``."""
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("int optimizers_probe(int x) { return x + 1; }\n")
        try:
            compiler.compile([src], output_dir=tmp, extra_postargs=flags)
        except Exception:  # any failure: the compiler does not take these flags
            return False
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
        # -O3 whatever Python was built with (its CFLAGS may say -O2): the
        # levels above the baseline are only worth having vectorised.
        opt = ["-O3"] if unix else []
        skipped = set()
        for name, _, flags in CPU_LEVELS:
            if any(getattr(e, "cpu_level", None) == name for e in self.extensions) and (
                    not unix or not _compiler_accepts(self.compiler, flags)):
                print(f"optimizers: the compiler does not take {' '.join(flags)}; "
                      f"no {name} kernels in this build")
                skipped.add(name)
        self.extensions = [e for e in self.extensions
                           if getattr(e, "cpu_level", None) not in skipped]
        for ext in self.extensions:
            ext.extra_compile_args += opt + cflags + (STRICT_FP if unix else []) + release
            ext.extra_link_args += lflags
            if getattr(ext, "cpu_level", None):
                # The same generated C as the baseline module, compiled from a
                # copy in a folder of its own so the object files do not clash.
                copy = os.path.join(self.build_temp, ext.name.split(".")[-2],
                                    os.path.basename(ext.c_source))
                os.makedirs(os.path.dirname(copy), exist_ok=True)
                shutil.copy2(ext.c_source, copy)
                ext.sources = [copy]
        super().build_extensions()

    def copy_extensions_to_source(self):
        # An in-place build does not create the folder of a level's modules.
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            if getattr(ext, "cpu_level", None):
                folder = build_py.get_package_dir(ext.name.rsplit(".", 1)[0])
                os.makedirs(folder, exist_ok=True)
        super().copy_extensions_to_source()


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
    exts = cythonize(exts, compiler_directives=DIRECTIVES, include_path=["_kernels"])
    # Each level: the baseline's C file compiled with the level's flags into
    # _kernels/<folder>/; the module keeps its name (optimizers._kernels.<stem>).
    variants = []
    for name, folder, flags in _build_levels():
        for ext in exts:
            stem = ext.name.rsplit(".", 1)[1]
            if stem in BASELINE_ONLY:
                continue
            variant = Extension(
                f"optimizers._kernels.{folder}.{stem}", list(ext.sources),
                define_macros=list(ext.define_macros), extra_compile_args=list(flags),
                depends=list(ext.sources))
            variant.cpu_level = name
            variant.c_source = ext.sources[0]
            variants.append(variant)
    return exts + variants


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
