"""What this CPU (and its operating system) can run: x86-64 microarchitecture levels.

Always built for the baseline, since it decides which build of the kernels
is loaded.  The levels are those of the x86-64 psABI: ``x86-64-v3`` needs
AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT and MOVBE (plus the SSE3/SSSE3/SSE4
features of ``x86-64-v2``) and the OS saving the YMM registers; ``x86-64-v4``
adds AVX512F, AVX512BW, AVX512CD, AVX512DQ and AVX512VL and the OS saving the
ZMM and mask registers.  On other architectures only the baseline exists.
"""

cdef extern from *:
    """
    #if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    #include <cpuid.h>
    #define OPTIMIZERS_X86 1
    static int optimizers_cpuid(unsigned int leaf, unsigned int sub, unsigned int r[4]) {
        if (leaf > __get_cpuid_max(leaf & 0x80000000u, 0)) { r[0] = r[1] = r[2] = r[3] = 0; return 0; }
        __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
        return 1;
    }
    static unsigned long long optimizers_xgetbv(void) {
        unsigned int lo, hi;
        __asm__ volatile (".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
        return ((unsigned long long)hi << 32) | lo;
    }
    #else
    #define OPTIMIZERS_X86 0
    static int optimizers_cpuid(unsigned int leaf, unsigned int sub, unsigned int r[4]) {
        (void)leaf; (void)sub; r[0] = r[1] = r[2] = r[3] = 0; return 0;
    }
    static unsigned long long optimizers_xgetbv(void) { return 0; }
    #endif
    """
    const int OPTIMIZERS_X86
    int optimizers_cpuid(unsigned int leaf, unsigned int sub, unsigned int* r) noexcept nogil
    unsigned long long optimizers_xgetbv() noexcept nogil


def _bit(unsigned int word, int bit):
    return bool((word >> bit) & 1)


def features():
    """The x86 features that decide the levels, as ``{name: bool}`` (empty elsewhere)."""
    cdef unsigned int r1[4]
    cdef unsigned int r7[4]
    cdef unsigned int rx[4]
    cdef unsigned long long xcr0 = 0
    if not OPTIMIZERS_X86:
        return {}
    optimizers_cpuid(1, 0, r1)
    optimizers_cpuid(7, 0, r7)
    optimizers_cpuid(0x80000001, 0, rx)
    if _bit(r1[2], 27):                          # OSXSAVE: XGETBV may be executed
        xcr0 = optimizers_xgetbv()
    return {
        "sse3": _bit(r1[2], 0), "ssse3": _bit(r1[2], 9), "sse4_1": _bit(r1[2], 19),
        "sse4_2": _bit(r1[2], 20), "popcnt": _bit(r1[2], 23), "cx16": _bit(r1[2], 13),
        "lahf_lm": _bit(rx[2], 0),
        "avx": _bit(r1[2], 28), "avx2": _bit(r7[1], 5), "bmi1": _bit(r7[1], 3),
        "bmi2": _bit(r7[1], 8), "f16c": _bit(r1[2], 29), "fma": _bit(r1[2], 12),
        "lzcnt": _bit(rx[2], 5), "movbe": _bit(r1[2], 22),
        "avx512f": _bit(r7[1], 16), "avx512bw": _bit(r7[1], 30),
        "avx512cd": _bit(r7[1], 28), "avx512dq": _bit(r7[1], 17),
        "avx512vl": _bit(r7[1], 31),
        # The OS saves the SSE and AVX (YMM) state, and the AVX-512 state (opmask, ZMM).
        "os_ymm": (xcr0 & 0x6) == 0x6, "os_zmm": (xcr0 & 0xE6) == 0xE6,
    }


V2 = ("sse3", "ssse3", "sse4_1", "sse4_2", "popcnt", "cx16", "lahf_lm")
V3 = V2 + ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "lzcnt", "movbe", "os_ymm")
V4 = V3 + ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "os_zmm")


def supported_levels():
    """The levels this CPU and OS can run, lowest first: ``baseline`` always."""
    f = features()
    out = ["baseline"]
    if f and all(f[k] for k in V3):
        out.append("x86-64-v3")
        if all(f[k] for k in V4):
            out.append("x86-64-v4")
    return out
