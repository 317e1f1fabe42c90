import KnetAVX2

// The CPU kernels of `nll`: one pass per instance with a stable log-sum-exp, split over
// the cores.

extension CPUBackend {
    func nllLoss(_ x: Tensor, _ layout: ClassLayout, scale: Double) -> Tensor {
        var total = 0.0
        dispatchFloat(x.dtype, { total = nllTotalKernel(UnsafePointer(x.pointer(Float.self)), layout) },
                               { total = nllTotalKernel(UnsafePointer(x.pointer(Double.self)), layout) })
        return Tensor(scalar: total * scale, dtype: x.dtype, device: .cpu)
    }

    func nllGradient(_ x: Tensor, _ layout: ClassLayout, scale: Double, dy: Tensor, into dx: Tensor) {
        let scale = scale * dy.scalar
        dispatchFloat(x.dtype,
            { nllGradientKernel(x.pointer(Float.self), dx.pointer(Float.self), layout, Float(scale)) },
            { nllGradientKernel(x.pointer(Double.self), dx.pointer(Double.self), layout, scale) })
    }
}

extension ClassLayout {
    /// Instance `j`'s softmax numerators (for strided scores; class-contiguous ones go
    /// through `forEachSoftmax`'s blocks) `e[k] = exp(x[k] − max)` (in `e`, `classes`
    /// long) and its log-sum-exp as `max + log`, where `log = log1p(Σ e[k], k ≠ argmax)`:
    /// leaving out the maximum's 1 keeps a confident prediction's tiny loss in Float32.
    @inline(__always)
    func softmaxTerms<T: KnetFloat>(_ x: UnsafePointer<T>, _ j: Int, _ e: UnsafeMutablePointer<T>) -> (max: T, log: T) {
        let p = x + base(j)
        var m = -T.infinity, at = 0
        for k in 0..<classes where p[k &* inner] > m { m = p[k &* inner]; at = k }
        if m == -.infinity { e.update(repeating: .nan, count: classes); return (m, .nan) }
        for k in 0..<classes { e[k] = ScalarMath.exp(p[k &* inner] - m) }
        e[at] = 0
        let rest = reduceRun(.sum, UnsafePointer(e), classes, 1)
        e[at] = 1
        return (m, T.log(onePlus: rest))
    }
}

/// Instances per block of `forEachSoftmax`'s class-contiguous path (its scratch stays in L1).
private let softmaxBlockInstances = 64

/// Calls `body(j, e, terms)` for each instance `j` in `lo..<hi` in order, with `e` its
/// softmax numerators and `terms` its `softmaxTerms`. Class-contiguous scores (inner 1)
/// go in blocks of instances whose exps are taken in one vector pass (the AVX2/AVX-512
/// instance for Float where the CPU has it: the same bits as `ScalarMath.exp`).
private func forEachSoftmax<T: KnetFloat>(_ x: UnsafePointer<T>, _ c: ClassLayout, _ lo: Int, _ hi: Int,
                                          _ body: (Int, UnsafeMutablePointer<T>, (max: T, log: T)) -> Void) {
    let block = c.inner == 1 ? softmaxBlockInstances : 1
    let e = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(block * c.classes, 1))
    defer { e.deallocate() }
    if c.inner != 1 {
        for j in lo..<hi { body(j, e, c.softmaxTerms(x, j, e)) }
        return
    }
    var maxima = [(max: T, at: Int)](repeating: (0, 0), count: block)
    for first in stride(from: lo, to: hi, by: block) {
        let count = Swift.min(block, hi - first), n = c.classes
        for b in 0..<count {
            let p = x + (first + b) * n, q = e + b * n
            var m = -T.infinity, at = 0
            for k in 0..<n where p[k] > m { m = p[k]; at = k }
            maxima[b] = (m, at)
            for k in 0..<n { q[k] = p[k] - m }
        }
        if T.self == Float.self && hasAVX2 {
            let f: UnsafeMutablePointer<Float> = cast(e)
            ActivationKernels.exp(UnsafePointer(f), f, count * n)
        } else {
            for i in 0..<(count * n) { e[i] = ScalarMath.exp(e[i]) }
        }
        for b in 0..<count {
            let q = e + b * n, (m, at) = maxima[b]
            if m == -.infinity { q.update(repeating: .nan, count: n); body(first + b, q, (m, .nan)); continue }
            q[at] = 0
            let rest = reduceRun(.sum, UnsafePointer(q), n, 1)
            q[at] = 1
            body(first + b, q, (m, T.log(onePlus: rest)))
        }
    }
}

/// Splits `0..<n` into `Parallel.reductionParts` over the cores and adds up `part(lo, hi)`
/// (in Double, in order: the same on any thread count).
private func parallelSum(_ n: Int, cost: Int, _ part: (Int, Int) -> Double) -> Double {
    let parts = Parallel.reductionParts(n, cost: cost)
    let partial = UnsafeMutablePointer<Double>.allocate(capacity: parts)
    defer { partial.deallocate() }
    Parallel.forEach(parts) { p in partial[p] = part(n * p / parts, n * (p + 1) / parts) }
    return (0..<parts).reduce(0) { $0 + partial[$1] }
}

/// Σ over counted instances of logsumexp(x) − x[label].
private func nllTotalKernel<T: KnetFloat>(_ x: UnsafePointer<T>, _ c: ClassLayout) -> Double {
    parallelSum(c.labels.count, cost: 16 * c.classes) { lo, hi in
        var total = 0.0
        forEachSoftmax(x, c, lo, hi) { j, _, lse in
            if c.counts(j) { total += Double(lse.log - (x[c.base(j) &+ c.labels[j] &* c.inner] - lse.max)) }
        }
        return total
    }
}

/// dx = scale · (softmax(x) − onehot) on counted instances, 0 on skipped ones.
private func nllGradientKernel<T: KnetFloat>(_ x: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>,
                                             _ c: ClassLayout, _ scale: T) {
    Parallel.chunks(c.labels.count, costPerElement: 16 * c.classes) { lo, hi in
        forEachSoftmax(UnsafePointer(x), c, lo, hi) { j, e, lse in
            let b = c.base(j)
            guard c.counts(j) else {
                for k in 0..<c.classes { dx[b &+ k &* c.inner] = 0 }
                return
            }
            let f = scale * T.exp(-lse.log)
            for k in 0..<c.classes { dx[b &+ k &* c.inner] = f * e[k] }
            dx[b &+ c.labels[j] &* c.inner] -= scale
        }
    }
}

