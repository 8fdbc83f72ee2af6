# OpenMP when the build has it, a one-thread stand-in when it does not.
cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define OPTIMIZERS_OPENMP 1
    #else
    #define OPTIMIZERS_OPENMP 0
    static int omp_get_max_threads(void) { return 1; }
    static int omp_get_thread_num(void) { return 0; }
    #endif
    """
    const int OPTIMIZERS_OPENMP
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
