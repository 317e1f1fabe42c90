// Elementwise activations over Float arrays in the CPU's vector instructions: the C
// instances of CKnetCPU's activations.c (AVX2+FMA, or AVX-512 where the CPU has it),
// chosen at run time; the library's unary `exp`, `sigm` and `tanh` use them where the CPU
// has AVX2. No compiler flag selects an instruction set.

import CKnetCPU
import KnetGEMM

/// True when the CPU has AVX2 and FMA and the OS saves the YMM registers: the entry
/// points of `ActivationKernels` and `LSTMCellKernels.…AVX2` may only be called then (the
/// CPU check that also picks the GEMM's kernel, `SwiftGEMM.isSupported`).
public var hasAVX2: Bool { SwiftGEMM.isSupported }

/// The instruction set the vector entry points use by default: AVX-512 where the CPU has
/// it, else AVX2 (callers check `hasAVX2`).
public let vectorKernel: SwiftGEMM.Kernel = SwiftGEMM.cpuHasAVX512 ? .avx512 : .avx2

/// `y[i] = f(x[i])` for the activations of `ActivationMath` on Float, in vector
/// instructions (only when `hasAVX2`; `kernel` must be available). Each gives the bits of
/// the `ActivationMath` definition.
///
///     ActivationKernels.sigm(x, y, n)
public enum ActivationKernels {
    /// `y[i] = eˣ⁽ⁱ⁾` for `i < n`.
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                           using kernel: SwiftGEMM.Kernel = vectorKernel) {
        entryPoints(kernel).exp(x, y, n)
    }

    /// `y[i] = sigm(x[i])` for `i < n`.
    public static func sigm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                            using kernel: SwiftGEMM.Kernel = vectorKernel) {
        entryPoints(kernel).sigm(x, y, n)
    }

    /// `y[i] = tanh(x[i])` for `i < n`.
    public static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                            using kernel: SwiftGEMM.Kernel = vectorKernel) {
        entryPoints(kernel).tanh(x, y, n)
    }
}

/// One instance's C entry points.
struct ActivationEntryPoints {
    typealias Unary = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    typealias Forward = @convention(c) (UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?,
                                        UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    typealias Backward = @convention(c) (UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
                                         UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    let exp: Unary, sigm: Unary, tanh: Unary, lstmForward: Forward, lstmBackward: Backward
}

/// The entry points of `kernel` (which must be available on this CPU); called per LSTM
/// column, so it only picks among prebuilt tables.
@inline(__always)
func entryPoints(_ kernel: SwiftGEMM.Kernel) -> ActivationEntryPoints {
    precondition(kernel.isAvailable, "KnetAVX2: the \(kernel) kernel cannot run on this CPU")
    switch kernel {
    case .portable: return portableEntryPoints
    case .avx2: return avx2EntryPoints
    case .avx512: return avx512EntryPoints
    }
}

private let portableEntryPoints = ActivationEntryPoints(
    exp: knet_f32_portable_exp, sigm: knet_f32_portable_sigm, tanh: knet_f32_portable_tanh,
    lstmForward: knet_f32_portable_lstm_forward, lstmBackward: knet_f32_portable_lstm_backward)
#if arch(x86_64)
private let avx2EntryPoints = ActivationEntryPoints(
    exp: knet_f32_avx2_exp, sigm: knet_f32_avx2_sigm, tanh: knet_f32_avx2_tanh,
    lstmForward: knet_f32_avx2_lstm_forward, lstmBackward: knet_f32_avx2_lstm_backward)
private let avx512EntryPoints = ActivationEntryPoints(
    exp: knet_f32_avx512_exp, sigm: knet_f32_avx512_sigm, tanh: knet_f32_avx512_tanh,
    lstmForward: knet_f32_avx512_lstm_forward, lstmBackward: knet_f32_avx512_lstm_backward)
#else
private let avx2EntryPoints = portableEntryPoints, avx512EntryPoints = portableEntryPoints   // never available
#endif
