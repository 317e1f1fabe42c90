#ifndef CKNETCPU_H
#define CKNETCPU_H

/// Nonzero when the CPU has AVX, AVX2 and FMA and the OS saves the YMM registers (XCR0).
int knet_cpu_has_avx2_fma(void);

#endif
