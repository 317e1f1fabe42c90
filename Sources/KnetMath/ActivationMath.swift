// The activation functions' scalar definitions, shared by the library's elementwise
// table (through `ScalarMath`) and the LSTM cell kernels. They are `@inlinable`, so each
// caller compiles them into its own loops (for the library, the generic CPU). The vector
// entry points of KnetAVX2 are C instances of the same operations (CKnetCPU's
// activation_kernel.h), which tests hold to these definitions' bits.

import RealModule

/// eˣ, the logistic sigmoid and tanh, written so that loops over them vectorise.
public enum ActivationMath {
    /// eˣ. For Float a branch-free Cephes-style polynomial (max error ~1 ulp,
    /// denormals included) that the compiler vectorises, unlike a libm call; Double
    /// uses libm.
    @inlinable @inline(__always)
    public static func exp<T: Real & BinaryFloatingPoint>(_ x: T) -> T {
        guard T.self == Float.self else { return .exp(x) }
        return T(expf(Float(x)))
    }

    /// The Float polynomial of `exp`.
    @inlinable @inline(__always)
    public static func expf(_ v: Float) -> Float {
        let x = v < -104 ? -104 : (v > 89 ? 89 : v)                 // keeps n in range; NaN passes
        let t = x * 1.44269504088896341 + 12582912                   // round(x·log2 e) in the low bits
        let n = Int32(bitPattern: t.bitPattern) &- 0x4B40_0000
        let k = t - 12582912
        let r = x - k * 0.693359375 - k * -2.12194440e-4             // x − n·ln 2 in two parts
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * r * r + r + 1
        let n1 = n >> 1, n2 = n &- n1                                // 2ⁿ as two factors: no overflow
        let s1 = Float(bitPattern: UInt32(bitPattern: (n1 &+ 127) &<< 23))
        let s2 = Float(bitPattern: UInt32(bitPattern: (n2 &+ 127) &<< 23))
        let y = p * s1 * s2
        return v > 88.72283905206835 ? .infinity : (v < -103.972077 ? 0 : y)
    }

    /// The logistic sigmoid 1/(1+e⁻ˣ), stable for large |x| (on `exp`, so vectorisable
    /// for Float).
    @inlinable @inline(__always)
    public static func sigm<T: Real & BinaryFloatingPoint>(_ x: T) -> T {
        let e = exp(-Swift.abs(x))
        return x >= 0 ? 1 / (1 + e) : e / (1 + e)
    }

    /// tanh x. For Float Cephes' odd polynomial below |x| = 0.625 and 1 − 2/(e²ˣ + 1)
    /// above, both vectorisable; Double uses libm.
    @inlinable @inline(__always)
    public static func tanh<T: Real & BinaryFloatingPoint>(_ x: T) -> T {
        guard T.self == Float.self else { return .tanh(x) }
        let v = Float(x), a = Swift.abs(v), z = v * v
        var p: Float = -5.70498872745e-3
        p = p * z + 2.06390887954e-2
        p = p * z - 5.37397155531e-2
        p = p * z + 1.33314422036e-1
        p = p * z - 3.33332819422e-1
        let small = p * z * v + v
        let large = 1 - 2 / (expf(2 * a) + 1)
        return T(a < 0.625 ? small : (v < 0 ? -large : large))
    }
}
