/* Includes KINSTANCE (a file name) once per instruction set, each time with KISA (its name:
 * portable, avx2, avx512), KATTR (the function attributes that select it, empty for the
 * portable one, followed by KATTR_EXTRA when the includer defines it) and KWF, KWD (floats
 * and doubles per vector register) defined: the portable instance everywhere, AVX2+FMA
 * and AVX-512 ones on x86-64. */
#ifndef KATTR_EXTRA
#define KATTR_EXTRA
#define KATTR_EXTRA_DEFAULTED
#endif

#define KISA portable
#define KATTR KATTR_EXTRA
#define KWF 4
#define KWD 2
#include KINSTANCE
#undef KISA
#undef KATTR
#undef KWF
#undef KWD

#if defined(__x86_64__)
#define KISA avx2
#define KATTR __attribute__((target("avx2,fma"))) KATTR_EXTRA
#define KWF 8
#define KWD 4
#include KINSTANCE
#undef KISA
#undef KATTR
#undef KWF
#undef KWD

#define KISA avx512
#define KATTR __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma"))) KATTR_EXTRA
#define KWF 16
#define KWD 8
#include KINSTANCE
#undef KISA
#undef KATTR
#undef KWF
#undef KWD
#endif

#ifdef KATTR_EXTRA_DEFAULTED
#undef KATTR_EXTRA
#undef KATTR_EXTRA_DEFAULTED
#endif
