/* Instantiates gemm_kernel.h for Float and Double in the instruction set KISA (a name:
 * portable, avx2, avx512) with attribute KATTR and vector widths KWF (floats) and KWD
 * (doubles), as knet_sgemm_<KISA>_… and knet_dgemm_<KISA>_…; included by gemm.c through isa_instances.h. */
#define KPASTE3(a, b, c) a##b##c
#define KPASTE(a, b, c) KPASTE3(a, b, c)

#define KT float
#define KW KWF
#define KMC 192
#define KNC 3072
#define KN(x) KPASTE(knet_sgemm_, KISA, _##x)
#include "gemm_kernel.h"
#undef KN
#undef KT
#undef KW
#undef KMC
#undef KNC

#define KT double
#define KW KWD
#define KMC 96
#define KNC 1536
#define KN(x) KPASTE(knet_dgemm_, KISA, _##x)
#include "gemm_kernel.h"
#undef KN
#undef KT
#undef KW
#undef KMC
#undef KNC

#undef KPASTE
#undef KPASTE3
