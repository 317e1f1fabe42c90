/* Knet's Float activations (exp, sigm, tanh) and LSTM cell kernels in C, one instance per
 * instruction set chosen per function (`__attribute__((target(...)))`, no compiler flags):
 * portable, and AVX2+FMA and AVX-512 on x86-64, picked at run time by KnetAVX2. The
 * algorithm is in activation_kernel.h. */
#include "CKnetCPU.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma clang fp contract(off)

static inline uint32_t knet_float_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static inline float knet_bits_float(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

#define KATTR
#define KN(x) knet_f32_portable_##x
#include "activation_kernel.h"
#undef KN
#undef KATTR

#if defined(__x86_64__)
#define KATTR __attribute__((target("avx2,fma")))
#define KN(x) knet_f32_avx2_##x
#include "activation_kernel.h"
#undef KN
#undef KATTR

#define KATTR __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
#define KN(x) knet_f32_avx512_##x
#include "activation_kernel.h"
#undef KN
#undef KATTR
#endif
