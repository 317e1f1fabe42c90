// The LSTM cell kernels' Float entry points, compiled for AVX2+FMA.

import KnetMath

extension LSTMCellKernels {
    /// `forward` for Float, compiled for AVX2+FMA (only when `hasAVX2`).
    public static func forwardAVX2(
        gates: UnsafeMutablePointer<Float>, cell: UnsafePointer<Float>, newHidden: UnsafeMutablePointer<Float>,
        newCell: UnsafeMutablePointer<Float>, tanhCell: UnsafeMutablePointer<Float>, _ h: Int
    ) {
        forward(gates: gates, cell: cell, newHidden: newHidden, newCell: newCell, tanhCell: tanhCell, h)
    }

    /// `backward` for Float, compiled for AVX2+FMA (only when `hasAVX2`).
    public static func backwardAVX2(
        activations: UnsafeMutablePointer<Float>, tanhCell: UnsafePointer<Float>, cell: UnsafePointer<Float>,
        dOutput: UnsafePointer<Float>, dState: UnsafeMutablePointer<Float>, _ h: Int
    ) {
        backward(activations: activations, tanhCell: tanhCell, cell: cell, dOutput: dOutput, dState: dState, h)
    }
}
