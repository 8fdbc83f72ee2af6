# Denormals as TensorFlow's CPU kernels take them: TensorFlow runs its ops
# with subnormal inputs read as zero and subnormal results flushed to zero
# (x86 MXCSR's DAZ and FTZ bits, AArch64 FPCR's FZ bit).  `flush_denormals`
# sets that mode for the calling thread and returns the previous one, which
# `restore_fp_mode` puts back; elsewhere both do nothing.
cdef extern from *:
    """
    #if defined(__x86_64__) || defined(_M_X64) || defined(__SSE2__)
    #include <xmmintrin.h>
    static inline unsigned long long optimizers_flush_denormals(void) {
        unsigned int old = _mm_getcsr();
        _mm_setcsr(old | 0x8040u);          /* FTZ (bit 15) | DAZ (bit 6) */
        return old;
    }
    static inline void optimizers_restore_fp_mode(unsigned long long old) {
        _mm_setcsr((unsigned int)old);
    }
    #define OPTIMIZERS_FLUSHES_DENORMALS 1
    #elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
    static inline unsigned long long optimizers_flush_denormals(void) {
        unsigned long long old;
        __asm__ __volatile__("mrs %0, fpcr" : "=r"(old));
        __asm__ __volatile__("msr fpcr, %0" : : "r"(old | (1ull << 24)));   /* FZ */
        return old;
    }
    static inline void optimizers_restore_fp_mode(unsigned long long old) {
        __asm__ __volatile__("msr fpcr, %0" : : "r"(old));
    }
    #define OPTIMIZERS_FLUSHES_DENORMALS 1
    #else
    static inline unsigned long long optimizers_flush_denormals(void) { return 0; }
    static inline void optimizers_restore_fp_mode(unsigned long long old) { (void)old; }
    #define OPTIMIZERS_FLUSHES_DENORMALS 0
    #endif
    """
    const int FLUSHES_DENORMALS "OPTIMIZERS_FLUSHES_DENORMALS"
    unsigned long long flush_denormals "optimizers_flush_denormals"() noexcept nogil
    void restore_fp_mode "optimizers_restore_fp_mode"(unsigned long long old) noexcept nogil
