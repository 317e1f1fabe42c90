// The common elementwise loops over contiguous runs in the CPU's vector instructions: the
// C instances of CKnetCPU's elementwise.c (portable, AVX2+FMA, AVX-512), chosen at run
// time. Each gives the bits of the scalar formula in Knet's op tables.

import CKnetCPU
import KnetGEMM

/// The instance the elementwise loops use by default: the GEMM's (`SwiftGEMM.kernel`, the
/// widest this CPU runs unless `KNET_GEMM_KERNEL` names another), as the lowering and
/// pooling loops do.
public let elementwiseKernel: SwiftGEMM.Kernel = SwiftGEMM.kernel

/// Contiguous elementwise loops of Float or Double arrays in C, per instruction set.
///
///     ElementwiseKernels.binary(.add, a, 1, b, 1, y, n)       // y = a + b, n elements
public enum ElementwiseKernels {
    /// The binary ops with a C loop (their formulas are BinaryOp's).
    public enum Binary: Int32, Sendable {
        case add, sub, mul, div, max, min, reluback, sigmback, tanhback
    }

    /// The unary ops with a C loop (their formulas are UnaryOp's).
    public enum Unary: Int32, Sendable {
        case relu, abs, abs2, neg
    }

    /// `y[i] = op(a[i·sa], b[i·sb])` for `i < n`, with `sa`, `sb` 0 or 1 (not both 0 unless
    /// n ≤ 1); y may be a or b. T is Float or Double.
    @inline(__always)
    public static func binary<T: BinaryFloatingPoint>(_ op: Binary, _ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>,
                                                      _ sb: Int, _ y: UnsafeMutablePointer<T>, _ n: Int,
                                                      using kernel: SwiftGEMM.Kernel = elementwiseKernel) {
        let e = elementwiseEntryPoints(kernel)
        let done = T.self == Float.self ? e.f32.binary(op.rawValue, raw(a), sa, raw(b), sb, raw(y), n)
                                        : e.f64.binary(op.rawValue, raw(a), sa, raw(b), sb, raw(y), n)
        precondition(done != 0, "ElementwiseKernels: no C loop for \(op)")
    }

    /// `y[i] = op(x[i])` for `i < n`; x and y the same array or disjoint.
    @inline(__always)
    public static func unary<T: BinaryFloatingPoint>(_ op: Unary, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int,
                                                     using kernel: SwiftGEMM.Kernel = elementwiseKernel) {
        let e = elementwiseEntryPoints(kernel)
        let done = T.self == Float.self ? e.f32.unary(op.rawValue, raw(x), raw(y), n) : e.f64.unary(op.rawValue, raw(x), raw(y), n)
        precondition(done != 0, "ElementwiseKernels: no C loop for \(op)")
    }
}

@inline(__always) private func raw<T, U>(_ p: UnsafePointer<T>) -> UnsafePointer<U> { UnsafeRawPointer(p).assumingMemoryBound(to: U.self) }
@inline(__always) private func raw<T, U>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<U> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: U.self)
}

/// One instance's C entry points for Float and for Double.
struct FloatElementwise {
    let binary: @convention(c) (Int32, UnsafePointer<Float>?, Int, UnsafePointer<Float>?, Int, UnsafeMutablePointer<Float>?, Int) -> Int32
    let unary: @convention(c) (Int32, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Int32
}
struct DoubleElementwise {
    let binary: @convention(c) (Int32, UnsafePointer<Double>?, Int, UnsafePointer<Double>?, Int, UnsafeMutablePointer<Double>?, Int) -> Int32
    let unary: @convention(c) (Int32, UnsafePointer<Double>?, UnsafeMutablePointer<Double>?, Int) -> Int32
}

/// One instance's C entry points, both element types.
struct ElementwiseEntryPoints {
    let f32: FloatElementwise, f64: DoubleElementwise
}

/// The entry points of `kernel` (which must be available on this CPU).
@inline(__always)
private func elementwiseEntryPoints(_ kernel: SwiftGEMM.Kernel) -> ElementwiseEntryPoints {
    precondition(kernel.isAvailable, "KnetAVX2: the \(kernel) kernel cannot run on this CPU")
    switch kernel {
    case .portable: return portableElementwise
    case .avx2: return avx2Elementwise
    case .avx512: return avx512Elementwise
    }
}

private let portableElementwise = ElementwiseEntryPoints(
    f32: .init(binary: knet_f32_portable_binary, unary: knet_f32_portable_unary),
    f64: .init(binary: knet_f64_portable_binary, unary: knet_f64_portable_unary))
#if arch(x86_64)
private let avx2Elementwise = ElementwiseEntryPoints(
    f32: .init(binary: knet_f32_avx2_binary, unary: knet_f32_avx2_unary),
    f64: .init(binary: knet_f64_avx2_binary, unary: knet_f64_avx2_unary))
private let avx512Elementwise = ElementwiseEntryPoints(
    f32: .init(binary: knet_f32_avx512_binary, unary: knet_f32_avx512_unary),
    f64: .init(binary: knet_f64_avx512_binary, unary: knet_f64_avx512_unary))
#else
private let avx2Elementwise = portableElementwise, avx512Elementwise = portableElementwise   // never available
#endif
