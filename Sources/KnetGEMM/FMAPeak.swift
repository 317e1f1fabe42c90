// The FMA-only loop that the benchmarks time for the peak their GEMM figures are quoted
// against.

import CKnetCPU

extension SwiftGEMM {
    /// Runs `iterations` × 12 independent vector FMAs in `kernel`'s instruction set on the
    /// calling thread (CKnetCPU's `…_fma_chains`: nothing but FMAs) and returns the flops
    /// done; timed on every core at once it gives the Float32 peak. Nil for the portable
    /// kernel or one the CPU lacks.
    ///
    ///     let flops = SwiftGEMM.fmaChains(using: .avx512, iterations: 10_000_000)   // 3.84e9
    public static func fmaChains(using kernel: Kernel, iterations: Int) -> Double? {
        #if arch(x86_64)
        guard kernel.isAvailable else { return nil }
        switch kernel {
        case .portable: return nil
        case .avx2: _ = knet_f32_avx2_fma_chains(iterations); return 2 * 12 * 8 * Double(iterations)
        case .avx512: _ = knet_f32_avx512_fma_chains(iterations); return 2 * 12 * 16 * Double(iterations)
        }
        #else
        return nil
        #endif
    }
}
