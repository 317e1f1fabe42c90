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

#define KPASTE3(a, b, c) a##b##c
#define KPASTE(a, b, c) KPASTE3(a, b, c)
#define KN(x) KPASTE(knet_f32_, KISA, _##x)
#define KINSTANCE "activation_kernel.h"
#include "isa_instances.h"
#undef KINSTANCE
#undef KN
