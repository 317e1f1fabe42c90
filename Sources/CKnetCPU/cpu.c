#include "CKnetCPU.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

int knet_cpu_has_avx2_fma(void) {
    unsigned int a, b, c, d, xcr0_lo, xcr0_hi;
    /* Leaf 1, ECX: FMA (bit 12), OSXSAVE (27), AVX (28). */
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!((c >> 12) & 1) || !((c >> 27) & 1) || !((c >> 28) & 1)) return 0;
    /* XCR0: the OS saves the SSE (bit 1) and AVX (bit 2) register state. */
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0x6) != 0x6) return 0;
    /* Leaf 7, EBX: AVX2 (bit 5). */
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 5) & 1;
}

int knet_cpu_has_avx512(void) {
    unsigned int a, b, c, d, xcr0_lo, xcr0_hi;
    if (!knet_cpu_has_avx2_fma()) return 0;
    /* XCR0: the OS also saves the opmask (bit 5) and ZMM (bits 6, 7) state. */
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0xE0) != 0xE0) return 0;
    /* Leaf 7, EBX: AVX512F (bit 16), DQ (17), BW (30), VL (31). */
    __cpuid_count(7, 0, a, b, c, d);
    return ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
}

#else

int knet_cpu_has_avx2_fma(void) { return 0; }

int knet_cpu_has_avx512(void) { return 0; }

#endif

int knet_cpu_kernels_optimized(void) {
#ifdef __OPTIMIZE__
    return 1;
#else
    return 0;
#endif
}
