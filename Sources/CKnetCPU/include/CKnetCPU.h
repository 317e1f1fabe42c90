#ifndef CKNETCPU_H
#define CKNETCPU_H

#include "knet_nccl.h"

/// Nonzero when the CPU has AVX, AVX2 and FMA and the OS saves the YMM registers (XCR0).
int knet_cpu_has_avx2_fma(void);

/// Nonzero when the CPU also has AVX-512 F, DQ, BW and VL and the OS saves the ZMM and
/// opmask registers (XCR0).
int knet_cpu_has_avx512(void);

/// Nonzero when these kernels were compiled with optimization (`__OPTIMIZE__`: a release
/// build). SwiftPM compiles C at -O0 in a debug build, and no safe flag changes that.
int knet_cpu_kernels_optimized(void);

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
/// The geometry of one convolution's lowering (im2col/col2im) for the channels of one
/// group of one image, all sizes in elements, three spatial dims (unused ones of size 1,
/// padding 0, stride and dilation 1). The lowered matrix has a column per kernel tap and
/// channel, (k1, k2, k3, c) in column-major order, and a row per output position.
struct knet_lowering {
    long x[3];              ///< input sizes
    long y[3];              ///< output sizes
    long kernel[3];         ///< kernel sizes
    long padding[3];        ///< zero padding at both ends
    long stride[3];         ///< step between output positions
    long dilation[3];       ///< step between kernel taps
    long channels;          ///< channels of the group; they are x[0]·x[1]·x[2] elements apart
    int flipped;            ///< nonzero: taps mirrored (convolution rather than cross-correlation)
    /// A valid convolution (no padding, unit strides and dilations): the output positions'
    /// runs along dim 1, the same for every tap (else NULL, and the bounds are checked per
    /// tap and run).
    const struct knet_run* runs;
    long run_count;         ///< the number of `runs`
};

/// A run of output positions along dim 1 of a valid convolution: `count` rows of the
/// lowered matrix from row `target` meet the input elements from offset `source` on (plus
/// the tap's offset).
struct knet_run { long source, target, count; };

/// One pooling over planes (channels × batch) of three spatial dims, in elements.
struct knet_pool {
    long x_stride1, x_stride2;  ///< input strides of spatial dims 1 and 2
    long x_plane, y_plane;      ///< elements per input and output plane
    long y[3];                  ///< output sizes
    /// Per output position, the window's clipped range `lo..<hi` in each dim: dim 0's
    /// `lo, hi` pairs for its y[0] positions, then dim 1's, then dim 2's.
    const long* bounds;
    int mode;                   ///< 0: max, 1: average including padding, 2: average excluding it
    int propagate_nan;          ///< max mode: a window's first NaN wins (else NaNs are skipped)
    long window_size;           ///< elements of a whole window (mode 1's divisor)
    double alpha;               ///< the scale of the output and of the gradient
};

/// The lowering and pooling loops of one instruction set and element type (`void*`:
/// arrays of that type), `knet_<f32|f64>_<isa>_windows`; every instance gives the same bits.
/// - `im2col`: fills `col` (`count` rows, column-major) with the input elements the taps
///   meet at output positions `first ..< first + count` of `x` (the group's first channel),
///   zeros outside it; `col2im` adds such a matrix back into `x`, the adjoint.
/// - `pool`: `y = alpha · pool(v)` for planes `lo ..< hi`, max mode's maxima located in
///   `selector` (the first in column-major order, NaNs as `propagate_nan` says; the window's
///   first element where nothing exceeds -Inf); `pool_backward`: `dx` = its adjoint applied
///   to `dy` (planes zeroed first; `selector` unused, may be NULL, in the average modes).
/// - `pool_2x2`, `pool_2x2_backward`: the same for max pooling by 2×2 windows with stride 2
///   and no padding over 2-D planes they tile exactly.
struct knet_window_kernels {
    void (*im2col)(const struct knet_lowering* g, const void* x, void* col, long first, long count);
    void (*col2im)(const struct knet_lowering* g, void* x, const void* col, long first, long count);
    void (*pool)(const struct knet_pool* p, const void* v, const void* selector, void* y, long lo, long hi);
    void (*pool_backward)(const struct knet_pool* p, const void* dy, const void* selector, void* dx, long lo, long hi);
    void (*pool_2x2)(const struct knet_pool* p, const void* v, const void* selector, void* y, long lo, long hi);
    void (*pool_2x2_backward)(const struct knet_pool* p, const void* dy, const void* selector, void* dx, long lo, long hi);
};

/// Declares the float and double lowering and pooling tables of instruction set `isa`.
#define KNET_CPU_WINDOW_KERNELS(isa) extern const struct knet_window_kernels knet_f32_##isa##_windows, knet_f64_##isa##_windows;

KNET_CPU_KERNELS(portable)
KNET_CPU_WINDOW_KERNELS(portable)
#if defined(__x86_64__)
KNET_CPU_KERNELS(avx2)
KNET_CPU_KERNELS(avx512)
KNET_ELEMENTWISE_ISA(avx2)
KNET_ELEMENTWISE_ISA(avx512)
KNET_CPU_WINDOW_KERNELS(avx2)
KNET_CPU_WINDOW_KERNELS(avx512)

/// `iterations` × 12 independent vector FMAs (8 or 16 floats each: 192 or 384 flops per
/// iteration) and nothing else, for measuring a core's peak; returns a value depending on
/// every FMA. x86-64 only; call only where the instruction set is available.
float knet_f32_avx2_fma_chains(long iterations);
float knet_f32_avx512_fma_chains(long iterations);
#endif

#endif
