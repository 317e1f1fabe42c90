/* Instantiates lowering_kernel.h and pooling_kernel.h for float and double in the
 * instruction set KISA (a name: portable, avx2, avx512) with attribute KATTR, with their
 * tables knet_f32_<KISA>_windows and knet_f64_<KISA>_windows; included by window_kernels.c
 * through isa_instances.h. */
#define KPASTE3(a, b, c) a##b##c
#define KPASTE(a, b, c) KPASTE3(a, b, c)
#define KTABLE(t)                                                                                         \
    const struct knet_window_kernels KPASTE(t, KISA, _windows) = {                                      \
        KN(im2col), KN(col2im), KN(pool), KN(pool_backward), KN(pool_2x2), KN(pool_2x2_backward)};

#define KT float
#define KN(x) KPASTE(knet_f32_, KISA, _##x)
#include "lowering_kernel.h"
#include "pooling_kernel.h"
KTABLE(knet_f32_)
#undef KN
#undef KT

#define KT double
#define KN(x) KPASTE(knet_f64_, KISA, _##x)
#include "lowering_kernel.h"
#include "pooling_kernel.h"
KTABLE(knet_f64_)
#undef KN
#undef KT

#undef KTABLE
#undef KPASTE
#undef KPASTE3
