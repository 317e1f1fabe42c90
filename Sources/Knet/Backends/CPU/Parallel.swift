#if canImport(Glibc)
import Glibc
#endif

/// Splitting work over the cores with `ThreadPool` (a hand-off to its spinning workers
/// costs about a µs); only work above `minimumParallelElements` is split.
enum Parallel {
    /// Worker count: `KNET_THREADS` if set, else the online cores.
    static let threads: Int = {
        if let s = getenv("KNET_THREADS"), let n = Int(String(cString: s)), n > 0 { return n }
        return Swift.max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }()

    /// Below this many elements of elementwise work, one thread does it all.
    static let minimumParallelElements = 1 << 16

    /// Into how many parts a sum over `count` elements of `cost` each is cut: a number that
    /// depends on the size alone (at most 16), never on the thread count, so that the
    /// partial sums and the order they are added in — and so the rounding — are the same
    /// on one thread or many.
    ///
    ///     let parts = Parallel.reductionParts(n, cost: 1)     // then forEach(parts)
    static func reductionParts(_ count: Int, cost: Int = 1) -> Int {
        Swift.max(1, Swift.min(16, count, count * cost / minimumParallelElements))
    }

    /// Calls `body(start, end)` over `0..<count` in contiguous chunks, on several threads
    /// when `count * costPerElement` is large enough.
    @inline(__always)
    static func chunks(_ count: Int, costPerElement: Int = 1, _ body: (Int, Int) -> Void) {
        let parts = Swift.min(threads, count * costPerElement / minimumParallelElements)
        if parts <= 1 { body(0, count); return }
        forEach(parts) { p in body(count * p / parts, count * (p + 1) / parts) }
    }

    /// Runs `body(0) ... body(parts-1)`, concurrently when the pool is free.
    static func forEach(_ parts: Int, _ body: (Int) -> Void) {
        if parts > 1 && ThreadPool.shared.run(parts, body) { return }
        for p in 0..<parts { body(p) }
    }
}
