#ifndef CKNETCPU_H
#define CKNETCPU_H

/// Nonzero when the CPU has AVX, AVX2 and FMA and the OS saves the YMM registers (XCR0).
int knet_cpu_has_avx2_fma(void);

/// Nonzero when the CPU also has AVX-512 F, DQ, BW and VL and the OS saves the ZMM and
/// opmask registers (XCR0).
int knet_cpu_has_avx512(void);

/// C = alpha·op(A)·op(B) + beta·C on column-major matrices (op: the transpose when
/// `transA`/`transB` is nonzero; op(A) m×k, op(B) k×n), single-threaded, with packed panels
/// and a register-blocked FMA micro-kernel. One instance per instruction set: `portable`
/// runs anywhere; `avx2` needs AVX2+FMA and `avx512` AVX-512 F/DQ/BW/VL (check
/// `knet_cpu_has_avx2_fma`, `knet_cpu_has_avx512`), and both exist on x86-64 only. Every
/// instance gives the same bits. With beta 0, C is not read. `…_blocked` is the packed path
/// alone, for the slices of a product split over threads (`…_gemm` computes small products
/// directly).
void knet_sgemm_portable_gemm(int transA, int transB, long m, long n, long k, float alpha, const float* a, long lda,
                              const float* b, long ldb, float beta, float* c, long ldc);
void knet_sgemm_portable_blocked(int transA, int transB, long m, long n, long k, float alpha, const float* a, long lda,
                              const float* b, long ldb, float beta, float* c, long ldc);
void knet_dgemm_portable_gemm(int transA, int transB, long m, long n, long k, double alpha, const double* a, long lda,
                              const double* b, long ldb, double beta, double* c, long ldc);
void knet_dgemm_portable_blocked(int transA, int transB, long m, long n, long k, double alpha, const double* a, long lda,
                              const double* b, long ldb, double beta, double* c, long ldc);
#if defined(__x86_64__)
void knet_sgemm_avx2_gemm(int transA, int transB, long m, long n, long k, float alpha, const float* a, long lda,
                          const float* b, long ldb, float beta, float* c, long ldc);
void knet_sgemm_avx2_blocked(int transA, int transB, long m, long n, long k, float alpha, const float* a, long lda,
                          const float* b, long ldb, float beta, float* c, long ldc);
void knet_dgemm_avx2_gemm(int transA, int transB, long m, long n, long k, double alpha, const double* a, long lda,
                          const double* b, long ldb, double beta, double* c, long ldc);
void knet_dgemm_avx2_blocked(int transA, int transB, long m, long n, long k, double alpha, const double* a, long lda,
                          const double* b, long ldb, double beta, double* c, long ldc);
void knet_sgemm_avx512_gemm(int transA, int transB, long m, long n, long k, float alpha, const float* a, long lda,
                            const float* b, long ldb, float beta, float* c, long ldc);
void knet_sgemm_avx512_blocked(int transA, int transB, long m, long n, long k, float alpha, const float* a, long lda,
                            const float* b, long ldb, float beta, float* c, long ldc);
void knet_dgemm_avx512_gemm(int transA, int transB, long m, long n, long k, double alpha, const double* a, long lda,
                            const double* b, long ldb, double beta, double* c, long ldc);
void knet_dgemm_avx512_blocked(int transA, int transB, long m, long n, long k, double alpha, const double* a, long lda,
                            const double* b, long ldb, double beta, double* c, long ldc);

/// Float activations and LSTM cell kernels, one instance per instruction set (`portable`;
/// `avx2` needs AVX2+FMA, `avx512` AVX-512, both on x86-64 only), each giving the bits of
/// KnetMath's Swift definitions: `y[i] = f(x[i])` for i < n, and one column of the LSTM
/// cell forward (gates `[4h]` activated in place; c', tanh c', h') and backward.
void knet_f32_portable_exp(const float* x, float* y, long n);
void knet_f32_portable_sigm(const float* x, float* y, long n);
void knet_f32_portable_tanh(const float* x, float* y, long n);
void knet_f32_portable_lstm_forward(float* gates, const float* cell, float* newHidden, float* newCell, float* tanhCell, long h);
void knet_f32_portable_lstm_backward(float* activations, const float* tanhCell, const float* cell, const float* dOutput,
                                  float* dState, long h);
#if defined(__x86_64__)
void knet_f32_avx2_exp(const float* x, float* y, long n);
void knet_f32_avx2_sigm(const float* x, float* y, long n);
void knet_f32_avx2_tanh(const float* x, float* y, long n);
void knet_f32_avx2_lstm_forward(float* gates, const float* cell, float* newHidden, float* newCell, float* tanhCell, long h);
void knet_f32_avx2_lstm_backward(float* activations, const float* tanhCell, const float* cell, const float* dOutput,
                                  float* dState, long h);
void knet_f32_avx512_exp(const float* x, float* y, long n);
void knet_f32_avx512_sigm(const float* x, float* y, long n);
void knet_f32_avx512_tanh(const float* x, float* y, long n);
void knet_f32_avx512_lstm_forward(float* gates, const float* cell, float* newHidden, float* newCell, float* tanhCell, long h);
void knet_f32_avx512_lstm_backward(float* activations, const float* tanhCell, const float* cell, const float* dOutput,
                                  float* dState, long h);
#endif

#endif


/// Float activations and LSTM cell kernels, one instance per instruction set (`portable`;
/// `avx2` needs AVX2+FMA, `avx512` AVX-512, both on x86-64 only), each giving the bits of
/// KnetMath's Swift definitions: `y[i] = f(x[i])` for i < n, and one column of the LSTM
/// cell forward (gates `[4h]` activated in place; c', tanh c', h') and backward.
void knet_f32_portable_exp(const float* x, float* y, long n);
void knet_f32_portable_sigm(const float* x, float* y, long n);
void knet_f32_portable_tanh(const float* x, float* y, long n);
void knet_f32_portable_lstm_forward(float* gates, const float* cell, float* newHidden, float* newCell, float* tanhCell, long h);
void knet_f32_portable_lstm_backward(float* activations, const float* tanhCell, const float* cell, const float* dOutput,
                                  float* dState, long h);
#if defined(__x86_64__)
void knet_f32_avx2_exp(const float* x, float* y, long n);
void knet_f32_avx2_sigm(const float* x, float* y, long n);
void knet_f32_avx2_tanh(const float* x, float* y, long n);
void knet_f32_avx2_lstm_forward(float* gates, const float* cell, float* newHidden, float* newCell, float* tanhCell, long h);
void knet_f32_avx2_lstm_backward(float* activations, const float* tanhCell, const float* cell, const float* dOutput,
                                  float* dState, long h);
void knet_f32_avx512_exp(const float* x, float* y, long n);
void knet_f32_avx512_sigm(const float* x, float* y, long n);
void knet_f32_avx512_tanh(const float* x, float* y, long n);
void knet_f32_avx512_lstm_forward(float* gates, const float* cell, float* newHidden, float* newCell, float* tanhCell, long h);
void knet_f32_avx512_lstm_backward(float* activations, const float* tanhCell, const float* cell, const float* dOutput,
                                  float* dState, long h);
#endif

#endif
