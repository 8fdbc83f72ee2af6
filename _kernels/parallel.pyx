"""What the build knows about OpenMP."""
from _openmp cimport OPTIMIZERS_OPENMP, omp_get_max_threads


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(OPTIMIZERS_OPENMP)


def openmp_max_threads():
    """OpenMP's default thread count (``OMP_NUM_THREADS`` when set); 1 without OpenMP."""
    return omp_get_max_threads()
