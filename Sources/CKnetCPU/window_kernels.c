/* Knet's convolution lowering (im2col, col2im) and pooling loops for the CPU, in C so that
 * each instruction set is chosen per function (`__attribute__((target(...)))`) rather than
 * by compiler flags: a portable instance, AVX2+FMA and AVX-512 ones on x86-64, each for
 * float and double, picked at run time from CPUID by the caller (Knet's CPU backend). The
 * loops are in lowering_kernel.h and pooling_kernel.h; contraction is off, so every
 * instance gives the same bits. */
#include "CKnetCPU.h"
#include <math.h>

#pragma clang fp contract(off)

/* No loop becomes a memcpy or memset call: the runs and rows copied or zeroed are short,
 * where a call costs more than the loop (LeNet's conv2 lowering took twice as long). */
#define KNOCALLS no_builtin("memcpy", "memset")

/* Kernel tap k of `size` taps, mirrored when the geometry is flipped. */
static inline long knet_tap(const struct knet_lowering* g, long k, long size) { return g->flipped ? size - 1 - k : k; }

/* Ceiling of a / b for b > 0. */
static inline long knet_ceil_div(long a, long b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

#define KATTR_EXTRA __attribute__((KNOCALLS))
#define KINSTANCE "window_instances.h"
#include "isa_instances.h"
#undef KINSTANCE
#undef KATTR_EXTRA
