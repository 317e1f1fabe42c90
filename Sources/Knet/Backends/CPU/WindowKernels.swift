// The loops of the CPU convolution's lowering (im2col, col2im) and of pooling: CKnetCPU's
// window_kernels.c, one instance per instruction set (portable, AVX2+FMA, AVX-512) and
// element type, chosen at run time from CPUID. No compiler flag selects an instruction set.

import CKnetCPU
import KnetGEMM

/// The instance of the lowering and pooling loops the CPU backend runs, and its entry points.
/// Every instance gives the same bits.
enum WindowKernels {
    /// The instruction set used: the GEMM's (`SwiftGEMM.kernel`: `KNET_GEMM_KERNEL` when it
    /// names an available one, else the widest the CPU has). Tests set it to compare the
    /// instances; it must be available.
    nonisolated(unsafe) static var kernel: SwiftGEMM.Kernel = SwiftGEMM.kernel

    /// The loops of `kernel` for elements of type `T` (Float or Double).
    @inline(__always)
    static func entryPoints<T: KnetFloat>(_: T.Type) -> knet_window_kernels {
        precondition(kernel.isAvailable, "Knet: the \(kernel) lowering and pooling loops cannot run on this CPU")
        let float = T.self == Float.self
        #if arch(x86_64)
        switch kernel {
        case .portable: return float ? knet_f32_portable_windows : knet_f64_portable_windows
        case .avx2: return float ? knet_f32_avx2_windows : knet_f64_avx2_windows
        case .avx512: return float ? knet_f32_avx512_windows : knet_f64_avx512_windows
        }
        #else
        return float ? knet_f32_portable_windows : knet_f64_portable_windows
        #endif
    }
}
