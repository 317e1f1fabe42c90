/* Includes KINSTANCE (a file name) once per instruction set, each time with KISA (its name:
 * portable, avx2, avx512), KATTR (the function attribute that selects it, empty for the
 * portable one) and KWF, KWD (floats and doubles per vector register) defined: the
 * portable instance everywhere, AVX2+FMA and AVX-512 ones on x86-64. */
#define KISA portable
#define KATTR
#define KWF 4
#define KWD 2
#include KINSTANCE
#undef KISA
#undef KATTR
#undef KWF
#undef KWD

#if defined(__x86_64__)
#define KISA avx2
#define KATTR __attribute__((target("avx2,fma")))
#define KWF 8
#define KWD 4
#include KINSTANCE
#undef KISA
#undef KATTR
#undef KWF
#undef KWD

#define KISA avx512
#define KATTR __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
#define KWF 16
#define KWD 8
#include KINSTANCE
#undef KISA
#undef KATTR
#undef KWF
#undef KWD
#endif
