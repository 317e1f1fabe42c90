/* The fused multiply-add throughput of one core in each vector instruction set, the
 * "peak" that the benchmarks' GEMM figures are a fraction of: twelve independent chains
 * of vector FMAs (more than the FMA units' latency × width needs), nothing else. */
#include "CKnetCPU.h"

#if defined(__x86_64__)
#define KNET_FMA_CHAINS(isa, attr, width)                                                       \
    attr float knet_f32_##isa##_fma_chains(long iterations) {                                   \
        typedef float V __attribute__((ext_vector_type(width)));                                \
        V c[12], a = 1.0001f, b = -0.0001f;                                                      \
        for (int i = 0; i < 12; i++) c[i] = (float)i;                                            \
        for (long t = 0; t < iterations; t++) {                                                  \
            _Pragma("clang loop unroll(full)")                                                   \
            for (int i = 0; i < 12; i++) c[i] = __builtin_elementwise_fma(c[i], a, b);          \
        }                                                                                        \
        V s = 0;                                                                                 \
        for (int i = 0; i < 12; i++) s += c[i];                                                  \
        return s[0];                                                                             \
    }

KNET_FMA_CHAINS(avx2, __attribute__((target("avx2,fma"))), 8)
KNET_FMA_CHAINS(avx512, __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma"))), 16)
#endif
