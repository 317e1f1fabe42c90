#ifndef CKNETCPU_H
#define CKNETCPU_H

/// Nonzero when the CPU has AVX, AVX2 and FMA and the OS saves the YMM registers (XCR0).
int knet_cpu_has_avx2_fma(void);

/// Nonzero when the CPU also has AVX-512 F, DQ, BW and VL and the OS saves the ZMM and
/// opmask registers (XCR0).
int knet_cpu_has_avx512(void);

#endif
