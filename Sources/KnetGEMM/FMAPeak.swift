// The measured FMA peak that the benchmarks quote GEMM throughput against.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CKnetCPU
import Dispatch

extension SwiftGEMM {
    /// The Float32 fused multiply-add peak of `threads` cores in `kernel`'s instruction set,
    /// in GFLOP/s, measured: every thread runs twelve independent chains of vector FMAs
    /// (CKnetCPU's `…_fma_chains`) at once; the best of three timings of about 0.1 s each.
    /// Nil for the portable kernel or one the CPU lacks.
    ///
    ///     let peak = SwiftGEMM.fmaPeak(using: .avx512, threads: 2)   // e.g. 230 on 2 Zen 4 cores
    public static func fmaPeak(using kernel: Kernel, threads: Int) -> Double? {
        #if arch(x86_64)
        guard kernel.isAvailable, threads > 0 else { return nil }
        let chains: @convention(c) (Int) -> Float
        let width: Int
        switch kernel {
        case .portable: return nil
        case .avx2: (chains, width) = (knet_f32_avx2_fma_chains, 8)
        case .avx512: (chains, width) = (knet_f32_avx512_fma_chains, 16)
        }
        let iterations = 20_000_000 / (width / 8)
        var best = Double.infinity
        for _ in 0..<3 {
            let start = monotonicSeconds()
            let body: (Int) -> Void = { _ in _ = chains(iterations) }
            if let run = parallelRunner { run(threads, body) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: body) }
            best = min(best, monotonicSeconds() - start)
        }
        return 2 * 12 * Double(width) * Double(iterations) * Double(threads) / best / 1e9
        #else
        return nil
        #endif
    }
}

/// CLOCK_MONOTONIC in seconds.
private func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}
