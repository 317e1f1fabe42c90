// The LSTM cell kernels' Float entry points in the CPU's vector instructions (CKnetCPU's
// activations.c instances, chosen at run time).

import KnetGEMM
import KnetMath

extension LSTMCellKernels {
    /// `forward` for Float in vector instructions (only when `hasAVX2`; `kernel` must be
    /// available), with `forward`'s bits.
    public static func forwardAVX2(
        gates: UnsafeMutablePointer<Float>, cell: UnsafePointer<Float>, newHidden: UnsafeMutablePointer<Float>,
        newCell: UnsafeMutablePointer<Float>, tanhCell: UnsafeMutablePointer<Float>, _ h: Int,
        using kernel: SwiftGEMM.Kernel = vectorKernel
    ) {
        entryPoints(kernel).lstmForward(gates, cell, newHidden, newCell, tanhCell, h)
    }

    /// `backward` for Float in vector instructions (only when `hasAVX2`), with `backward`'s bits.
    public static func backwardAVX2(
        activations: UnsafeMutablePointer<Float>, tanhCell: UnsafePointer<Float>, cell: UnsafePointer<Float>,
        dOutput: UnsafePointer<Float>, dState: UnsafeMutablePointer<Float>, _ h: Int,
        using kernel: SwiftGEMM.Kernel = vectorKernel
    ) {
        entryPoints(kernel).lstmBackward(activations, tanhCell, cell, dOutput, dState, h)
    }
}
