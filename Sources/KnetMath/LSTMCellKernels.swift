// cuDNN's LSTM cell on one column of a batch, forward and backward, as generic
// `@inlinable` functions: the library instantiates them for Double and for Float on CPUs
// without AVX2. KnetAVX2's Float entry points are C instances of the same operations
// (CKnetCPU's activation_kernel.h), held to these functions' bits by the tests.

import RealModule

/// The LSTM cell's per-column kernels (KnetAVX2 adds `…AVX2` entry points, which may only
/// be called when its `hasAVX2` is true).
public enum LSTMCellKernels {
    /// One column of the forward cell: activates the gate pre-activations in `gates` `[4H]`
    /// (i, f, g̃, o) in place, and from the previous `cell` `[H]` writes
    /// `c' = f∘c + i∘tanh g̃`, `tanh c'` and `h' = o∘tanh c'`.
    @inlinable @inline(__always)
    public static func forward<T: Real & BinaryFloatingPoint>(
        gates a: UnsafeMutablePointer<T>, cell: UnsafePointer<T>, newHidden: UnsafeMutablePointer<T>,
        newCell: UnsafeMutablePointer<T>, tanhCell: UnsafeMutablePointer<T>, _ h: Int
    ) {
        // Simple loops that vectorise (in place, so no aliasing check sends them to the
        // scalar fallback): the activations first, then plain arithmetic.
        for k in 0..<(2 * h) { a[k] = ActivationMath.sigm(a[k]) }
        for k in (2 * h)..<(3 * h) { a[k] = ActivationMath.tanh(a[k]) }
        for k in (3 * h)..<(4 * h) { a[k] = ActivationMath.sigm(a[k]) }
        for k in 0..<h { newCell[k] = a[h + k] * cell[k] + a[k] * a[2 * h + k] }
        for k in 0..<h { tanhCell[k] = ActivationMath.tanh(newCell[k]) }
        for k in 0..<h { newHidden[k] = a[3 * h + k] * tanhCell[k] }
    }

    /// The backward pass of `forward` on one column, from its stored `activations`
    /// `[4H]`, `tanhCell` and the previous `cell`: with `dOutput` (the gradient of h' from
    /// the layer's output) and `dState` `[dh'; dc']` (from the next step), overwrites
    /// `activations` with the gradient of the pre-activations and the dc' half of `dState`
    /// with the gradient of the previous cell. The dh half is left to the caller.
    @inlinable @inline(__always)
    public static func backward<T: Real & BinaryFloatingPoint>(
        activations a: UnsafeMutablePointer<T>, tanhCell: UnsafePointer<T>, cell: UnsafePointer<T>,
        dOutput: UnsafePointer<T>, dState: UnsafeMutablePointer<T>, _ h: Int
    ) {
        for k in 0..<h {
            let (si, sf, cand, so, th) = (a[k], a[h + k], a[2 * h + k], a[3 * h + k], tanhCell[k])
            let dh = dOutput[k] + dState[k]
            let dc = dState[h + k] + dh * so * (1 - th * th)
            a[k] = dc * cand * si * (1 - si)
            a[h + k] = dc * cell[k] * sf * (1 - sf)
            a[2 * h + k] = dc * si * (1 - cand * cand)
            a[3 * h + k] = dh * th * so * (1 - so)
            dState[h + k] = dc * sf
        }
    }
}
