# Software prefetch of rows a few iterations ahead.  Row updates jump around
# tables far larger than the caches; asking for the next rows early lets
# their memory loads overlap instead of waiting one after another.
cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    static inline void optimizers_prefetch_bytes(const void *p, Py_ssize_t n) {
        const char *c = (const char *)p;
        Py_ssize_t i;
        for (i = 0; i < n; i += 64) __builtin_prefetch(c + i, 1, 3);
    }
    #else
    static inline void optimizers_prefetch_bytes(const void *p, Py_ssize_t n) {
        (void)p; (void)n;
    }
    #endif
    """
    void prefetch_bytes "optimizers_prefetch_bytes"(const void* p, Py_ssize_t n) noexcept nogil

# How many rows ahead to prefetch: enough to cover a memory latency of
# ~150 ns at a few ns of work a row, few enough to stay in L1/L2.
cdef enum:
    PREFETCH_ROWS = 8
