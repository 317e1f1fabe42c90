// Elementwise activations over Float arrays, compiled for AVX2+FMA: the library's
// unary `exp`, `sigm` and `tanh` use them where the CPU has AVX2.

import KnetGEMM
import KnetMath

/// True when the CPU has AVX2 and FMA and the OS saves the YMM registers: the `…AVX2`
/// entry points and `ActivationKernels` may only be called then (the one CPU check
/// that also gates the Swift GEMM, `SwiftGEMM.isSupported`).
public var hasAVX2: Bool { SwiftGEMM.isSupported }

/// `y[i] = f(x[i])` for the activations of `ActivationMath`, on Float, compiled for
/// AVX2+FMA (only when `hasAVX2`).
public enum ActivationKernels {
    /// `y[i] = eˣ⁽ⁱ⁾` for `i < n`.
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = ActivationMath.exp(x[i]) }
    }

    /// `y[i] = sigm(x[i])` for `i < n`.
    public static func sigm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = ActivationMath.sigm(x[i]) }
    }

    /// `y[i] = tanh(x[i])` for `i < n`.
    public static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = ActivationMath.tanh(x[i]) }
    }
}
