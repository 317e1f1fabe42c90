#ifndef CKNETCPU_H
#define CKNETCPU_H

/// Nonzero when the CPU has AVX, AVX2 and FMA and the OS saves the YMM registers (XCR0).
int knet_cpu_has_avx2_fma(void);

/// Nonzero when the CPU also has AVX-512 F, DQ, BW and VL and the OS saves the ZMM and
/// opmask registers (XCR0).
int knet_cpu_has_avx512(void);

/// The kernels of one instruction set `isa`: `portable` runs anywhere; `avx2` needs
/// AVX2+FMA and `avx512` AVX-512 F/DQ/BW/VL (check `knet_cpu_has_avx2_fma`,
/// `knet_cpu_has_avx512`), both on x86-64 only. Every instance gives the same bits.
///
/// - `knet_[sd]gemm_<isa>_gemm`: C = alpha·op(A)·op(B) + beta·C on column-major matrices
///   (op: the transpose when `transA`/`transB` is nonzero; op(A) m×k, op(B) k×n),
///   single-threaded, small products directly, others with packed panels and a
///   register-blocked FMA micro-kernel; with beta 0, C is not read. `…_blocked` is the
///   packed path alone, for the slices of a product split over threads.
/// - `knet_f32_<isa>_exp|sigm|tanh`: `y[i] = f(x[i])` for i < n (x and y the same array or
///   disjoint), with the bits of KnetMath's Swift definitions; `…_lstm_forward`/`…_lstm_backward`: one column of the
///   LSTM cell (gates `[4h]` activated in place; c', tanh c', h') and its backward pass.
/// Nonzero when `knet_[sd]gemm_<isa>_gemm` computes an m×n×k product directly, without
/// packing (at most 16K multiply-adds, or a matrix-vector product below 5 MFLOP): such
/// products sum in another order than the packed path, so they must never be split into
/// packed slices (the sums would then depend on the thread count).
int knet_gemm_is_direct(long m, long n, long k);

#define KNET_CPU_KERNELS(isa)                                                                                       \
    void knet_sgemm_##isa##_gemm(int transA, int transB, long m, long n, long k, float alpha, const float* a,        \
                                 long lda, const float* b, long ldb, float beta, float* c, long ldc);                \
    void knet_sgemm_##isa##_blocked(int transA, int transB, long m, long n, long k, float alpha, const float* a,     \
                                    long lda, const float* b, long ldb, float beta, float* c, long ldc);             \
    void knet_dgemm_##isa##_gemm(int transA, int transB, long m, long n, long k, double alpha, const double* a,      \
                                 long lda, const double* b, long ldb, double beta, double* c, long ldc);             \
    void knet_dgemm_##isa##_blocked(int transA, int transB, long m, long n, long k, double alpha, const double* a,   \
                                    long lda, const double* b, long ldb, double beta, double* c, long ldc);          \
    void knet_f32_##isa##_exp(const float* x, float* y, long n);                                                     \
    void knet_f32_##isa##_sigm(const float* x, float* y, long n);                                                    \
    void knet_f32_##isa##_tanh(const float* x, float* y, long n);                                                    \
    void knet_f32_##isa##_lstm_forward(float* gates, const float* cell, float* newHidden, float* newCell,            \
                                       float* tanhCell, long h);                                                     \
    void knet_f32_##isa##_lstm_backward(float* activations, const float* tanhCell, const float* cell,                \
                                        const float* dOutput, float* dState, long h);

/// Operation codes of `knet_f32|f64_<isa>_binary` and `…_unary`.
enum { KNET_ADD, KNET_SUB, KNET_MUL, KNET_DIV, KNET_MAX, KNET_MIN, KNET_RELUBACK, KNET_SIGMBACK, KNET_TANHBACK };
enum { KNET_RELU, KNET_ABS, KNET_ABS2, KNET_NEG };

/// The elementwise loops of one element type `t` (f32: float, f64: double) and instruction
/// set `isa`, with the bits of the formulas of Knet's op tables:
/// - `…_binary`: `y[i] = op(a[i·sa], b[i·sb])` for i < n (sa, sb 0 or 1, not both 0; y may
///   be a or b); returns 0 (and does nothing) for an op it lacks.
/// - `…_unary`: `y[i] = op(x[i])` (x and y the same array or disjoint); 0 for an op it lacks.
#define KNET_ELEMENTWISE_KERNELS(t, T, isa)                                                                          \
    int knet_##t##_##isa##_binary(int op, const T* a, long sa, const T* b, long sb, T* y, long n);                \
    int knet_##t##_##isa##_unary(int op, const T* x, T* y, long n);
#define KNET_ELEMENTWISE_ISA(isa) KNET_ELEMENTWISE_KERNELS(f32, float, isa) KNET_ELEMENTWISE_KERNELS(f64, double, isa)

KNET_ELEMENTWISE_ISA(portable)
KNET_CPU_KERNELS(portable)
#if defined(__x86_64__)
KNET_CPU_KERNELS(avx2)
KNET_CPU_KERNELS(avx512)
KNET_ELEMENTWISE_ISA(avx2)
KNET_ELEMENTWISE_ISA(avx512)

/// `iterations` × 12 independent vector FMAs (8 or 16 floats each: 192 or 384 flops per
/// iteration) and nothing else, for measuring a core's peak; returns a value depending on
/// every FMA. x86-64 only; call only where the instruction set is available.
float knet_f32_avx2_fma_chains(long iterations);
float knet_f32_avx512_fma_chains(long iterations);
#endif

#endif
