import KnetAVX2

/// CPU kernels: tight loops over raw pointers, specialised for Float and Double.
/// Large work is split over the cores by `Parallel.chunks`.
struct CPUBackend: ComputeBackend {
    /// Host memory.
    var device: Device { .cpu }

    func upload(_ host: Tensor, into y: Tensor) { copy(from: host, to: y) }
    func download(_ x: Tensor, into host: Tensor) { copy(from: x, to: host) }

    func unary(_ op: UnaryOp, _ x: Tensor, into y: Tensor) {
        dispatchFloat(x.dtype, { unaryLoop(op, x.pointer(Float.self), y.pointer(Float.self), y.count) },
                               { unaryLoop(op, x.pointer(Double.self), y.pointer(Double.self), y.count) })
    }

    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into y: Tensor) {
        let n = y.count
        if y.isContiguous && a.isContiguous && b.isContiguous
            && (a.count == n || a.count == 1) && (b.count == n || b.count == 1) {
            // No broadcasting beyond scalars: one flat loop, no layout to build.
            let sa = a.count == n ? 1 : 0, sb = b.count == n ? 1 : 0
            dispatchFloat(y.dtype,
                { binaryFlat(op, a.pointer(Float.self), sa, b.pointer(Float.self), sb, y.pointer(Float.self), n) },
                { binaryFlat(op, a.pointer(Double.self), sa, b.pointer(Double.self), sb, y.pointer(Double.self), n) })
            return
        }
        if let blocks = BlockBroadcast(a, b, y) {
            // A bias-like broadcast ([m, n] .+ [m, 1], [m, n] .* [1, n]): runs of whole blocks,
            // no layout to build.
            dispatchFloat(y.dtype,
                { binaryBlocks(op, blocks, a.pointer(Float.self), b.pointer(Float.self), y.pointer(Float.self)) },
                { binaryBlocks(op, blocks, a.pointer(Double.self), b.pointer(Double.self), y.pointer(Double.self)) })
            return
        }
        let layout = StridedLayout(shape: y.shape, strides: [broadcastStrides(a, to: y.shape),
                                                             broadcastStrides(b, to: y.shape),
                                                             y.strides])
        dispatchFloat(y.dtype,
            { binaryLoop(op, layout, a.pointer(Float.self), b.pointer(Float.self), y.pointer(Float.self)) },
            { binaryLoop(op, layout, a.pointer(Double.self), b.pointer(Double.self), y.pointer(Double.self)) })
    }

    func reduce(_ op: ReduceOp, _ x: Tensor, into y: Tensor) {
        dispatchFloat(x.dtype, { reduceLoop(op, x, y, Float.self) }, { reduceLoop(op, x, y, Double.self) })
    }

    func copy(from x: Tensor, to y: Tensor) {
        if x.isContiguous && y.isContiguous && x.count == y.count {
            (y.storage.pointer + y.offset * y.dtype.size).copyMemory(
                from: x.storage.pointer + x.offset * x.dtype.size, byteCount: y.count * y.dtype.size)
            return
        }
        if x.count == 1 && y.isContiguous {     // one value broadcast (a mean's gradient): a fill, no layout to build
            dispatchFloat(y.dtype, { y.pointer(Float.self).update(repeating: x.pointer(Float.self)[0], count: y.count) },
                          { y.pointer(Double.self).update(repeating: x.pointer(Double.self)[0], count: y.count) })
            return
        }
        let layout = StridedLayout(shape: y.shape, strides: [broadcastStrides(x, to: y.shape), y.strides])
        dispatchFloat(y.dtype, { copyLoop(layout, x.pointer(Float.self), y.pointer(Float.self)) },
                               { copyLoop(layout, x.pointer(Double.self), y.pointer(Double.self)) })
    }

    func convert(_ x: Tensor, into y: Tensor) {
        func go<S: KnetFloat, D: KnetFloat>(_ src: UnsafeMutablePointer<S>, _ dst: UnsafeMutablePointer<D>) {
            Parallel.chunks(y.count) { lo, hi in for i in lo..<hi { dst[i] = D(src[i]) } }
        }
        switch (x.dtype, y.dtype) {
        case (.float32, .float64): go(x.pointer(Float.self), y.pointer(Double.self))
        case (.float64, .float32): go(x.pointer(Double.self), y.pointer(Float.self))
        default: copy(from: x, to: y)
        }
    }

    func gather(_ x: Tensor, dim: Int, indices: [Int], into y: Tensor) {
        let inner = x.shape.prefix(dim).reduce(1, *), n = x.size(dim), m = indices.count
        let outer = y.count / Swift.max(inner * m, 1)
        func go<T: KnetFloat>(_ src: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<T>) {
            Parallel.chunks(outer * m, costPerElement: inner) { lo, hi in
                for r in lo..<hi {
                    let o = r / m, j = r % m
                    (dst + (o * m + j) * inner).update(from: src + (o * n + indices[j]) * inner, count: inner)
                }
            }
        }
        dispatchFloat(y.dtype, { go(x.pointer(Float.self), y.pointer(Float.self)) },
                               { go(x.pointer(Double.self), y.pointer(Double.self)) })
    }

    func scatter(_ y: Tensor, dim: Int, indices: [Int], into x: Tensor, accumulate: Bool) {
        let inner = x.shape.prefix(dim).reduce(1, *), n = x.size(dim), m = indices.count
        let outer = y.count / Swift.max(inner * m, 1)
        func go<T: KnetFloat>(_ src: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<T>) {
            // Parallel over `outer` only: within one outer slice, repeated indices collide.
            Parallel.chunks(outer, costPerElement: inner * m) { lo, hi in
                for o in lo..<hi {
                    for j in 0..<m {
                        let s = src + (o * m + j) * inner, d = dst + (o * n + indices[j]) * inner
                        if accumulate { addRun(from: s, to: d, inner) } else { d.update(from: s, count: inner) }
                    }
                }
            }
        }
        dispatchFloat(y.dtype, { go(y.pointer(Float.self), x.pointer(Float.self)) },
                               { go(y.pointer(Double.self), x.pointer(Double.self)) })
    }

    func fill(_ y: Tensor, _ value: Double) {
        if y.isContiguous {            // one run (a 0-d constant, a fresh tensor): no layout to build
            dispatchFloat(y.dtype, { y.pointer(Float.self).update(repeating: Float(value), count: y.count) },
                          { y.pointer(Double.self).update(repeating: value, count: y.count) })
            return
        }
        let layout = StridedLayout(shape: y.shape, strides: [y.strides])
        func go<T: KnetFloat>(_ p: UnsafeMutablePointer<T>) {
            let v = T(value)
            layout.forEachRun(from: 0, to: layout.count) { off, n in
                let s = layout.strides[0][0], q = p + off[0]
                if s == 1 { q.update(repeating: v, count: n) } else { for i in 0..<n { q[i &* s] = v } }
            }
        }
        dispatchFloat(y.dtype, { go(y.pointer(Float.self)) }, { go(y.pointer(Double.self)) })
    }

    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
              a: Tensor, lda: Int, b: Tensor, ldb: Int, beta: Double, c: Tensor, ldc: Int) {
        dispatchFloat(c.dtype, {
            CPUBLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: Float(alpha),
                         a: a.pointer(Float.self), lda: lda, b: b.pointer(Float.self), ldb: ldb,
                         beta: Float(beta), c: c.pointer(Float.self), ldc: ldc)
        }, {
            CPUBLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                         a: a.pointer(Double.self), lda: lda, b: b.pointer(Double.self), ldb: ldb,
                         beta: beta, c: c.pointer(Double.self), ldc: ldc)
        })
    }
}

// MARK: - loops

/// Relative cost of a function compared with an add, for the parallel threshold.
@inline(__always) private func cost(_ op: UnaryOp) -> Int {
    switch op {
    case .abs, .abs2, .neg, .relu, .ceil, .floor, .round, .trunc, .sign, .invx: return 1
    default: return 16
    }
}

@inline(__always)
private func map<T>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int, _ f: (T) -> T) {
    for i in 0..<n { y[i] = f(x[i]) }
}

/// The AVX2 loop of a Float `exp`, `sigm` or `tanh` where the CPU has AVX2, else nil.
private func avx2Loop<T>(_ op: UnaryOp, _: T.Type) -> ((UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
    guard T.self == Float.self && hasAVX2 else { return nil }
    switch op {
    case .exp: return { ActivationKernels.exp($0, $1, $2) }
    case .sigm: return { ActivationKernels.sigm($0, $1, $2) }
    case .tanh: return { ActivationKernels.tanh($0, $1, $2) }
    default: return nil
    }
}

/// y[i] = op(x[i]). relu, abs, abs2 and neg run in the C loops of `ElementwiseKernels`,
/// Float exp, sigm and tanh in the activation kernels where the CPU has AVX2 (both in its
/// widest vector instructions); sqrt, invx and Double exp/sigm/tanh get Swift loops of
/// their own (constant-folded from the table, so they vectorise); the rest share one loop.
private func unaryLoop<T: KnetFloat>(_ op: UnaryOp, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
    let avx2 = avx2Loop(op, T.self)
    Parallel.chunks(n, costPerElement: cost(op)) { lo, hi in
        let xs = UnsafePointer(x + lo), ys = y + lo, m = hi - lo
        if let avx2 { avx2(cast(xs), cast(ys), m); return }
        if let c = ElementwiseKernels.Unary(op) { ElementwiseKernels.unary(c, xs, ys, m); return }
        switch op {
        case .sqrt: map(xs, ys, m) { UnaryOp.sqrt.scalar($0) }
        case .invx: map(xs, ys, m) { UnaryOp.invx.scalar($0) }
        case .exp: map(xs, ys, m) { UnaryOp.exp.scalar($0) }
        case .tanh: map(xs, ys, m) { UnaryOp.tanh.scalar($0) }
        case .sigm: map(xs, ys, m) { UnaryOp.sigm.scalar($0) }
        default: map(xs, ys, m) { op.scalar($0) }
        }
    }
}

@inline(__always)
private func zip2<T>(_ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>, _ sb: Int,
                     _ y: UnsafeMutablePointer<T>, _ n: Int, _ f: (T, T) -> T) {
    if sa == 1 && sb == 1 { for i in 0..<n { y[i] = f(a[i], b[i]) } }
    else if sa == 1 && sb == 0 { let v = b[0]; for i in 0..<n { y[i] = f(a[i], v) } }
    else if sa == 0 && sb == 1 { let v = a[0]; for i in 0..<n { y[i] = f(v, b[i]) } }
    else { for i in 0..<n { y[i] = f(a[i &* sa], b[i &* sb]) } }
}

/// y = op(a, b) over flat arrays, `a` and `b` advancing by 1 or 0 (a scalar).
private func binaryFlat<T: KnetFloat>(_ op: BinaryOp, _ a: UnsafeMutablePointer<T>, _ sa: Int,
                                      _ b: UnsafeMutablePointer<T>, _ sb: Int, _ y: UnsafeMutablePointer<T>, _ n: Int) {
    Parallel.chunks(n, costPerElement: op == .pow ? 16 : 1) { lo, hi in
        binaryRun(op, UnsafePointer(a + lo * sa), sa, UnsafePointer(b + lo * sb), sb, y + lo, hi - lo)
    }
}

/// One contiguous run of y: the common ops with unit or zero strides in the C loops of
/// the CPU's widest vector instructions (`ElementwiseKernels`), the rest in Swift.
@inline(__always)
private func binaryRun<T: KnetFloat>(_ op: BinaryOp, _ pa: UnsafePointer<T>, _ sa: Int, _ pb: UnsafePointer<T>, _ sb: Int,
                                     _ py: UnsafeMutablePointer<T>, _ n: Int) {
    if let c = ElementwiseKernels.Binary(op), sa == 0 || sa == 1, sb == 0 || sb == 1, sa + sb > 0 || n <= 1 {
        ElementwiseKernels.binary(c, pa, sa, pb, sb, py, n)
        return
    }
    zip2(pa, sa, pb, sb, py, n) { op.scalar($0, $1) }
}

extension ElementwiseKernels.Binary {
    /// The C loop of `op`, if it has one.
    init?(_ op: BinaryOp) {
        switch op {
        case .add: self = .add
        case .sub: self = .sub
        case .mul: self = .mul
        case .div: self = .div
        case .max: self = .max
        case .min: self = .min
        case .reluback: self = .reluback
        case .sigmback: self = .sigmback
        case .tanhback: self = .tanhback
        default: return nil
        }
    }
}

extension ElementwiseKernels.Unary {
    /// The C loop of `op`, if it has one.
    init?(_ op: UnaryOp) {
        switch op {
        case .relu: self = .relu
        case .abs: self = .abs
        case .abs2: self = .abs2
        case .neg: self = .neg
        default: return nil
        }
    }
}

/// A broadcast of contiguous operands into a contiguous y that cuts y at one dim into
/// `outer` blocks of `inner` elements, where each operand is whole (it advances with y), the
/// same block for every block (`[m, 1]` against `[m, n]`), one value per block (`[1, n]`),
/// or a scalar: every run is then a flat loop over one block.
struct BlockBroadcast {
    /// Elements per block and blocks.
    let inner: Int, outer: Int
    /// Per operand (a, b): its stride within a block (0 or 1) and its offset step from one
    /// block to the next.
    let within: (Int, Int), step: (Int, Int)

    init?(_ a: Tensor, _ b: Tensor, _ y: Tensor) {
        guard y.isContiguous && a.isContiguous && b.isContiguous && y.ndims >= 2 else { return nil }
        for cut in 1..<y.ndims {
            let inner = y.shape[..<cut].reduce(1, *)
            // (within, step) for an operand, if it has one of the four forms at this cut.
            func form(_ x: Tensor) -> (Int, Int)? {
                let leading = (0..<cut).allSatisfy { x.size($0) == y.shape[$0] }
                let leadingOnes = (0..<cut).allSatisfy { x.size($0) == 1 }
                let trailing = (cut..<y.ndims).allSatisfy { x.size($0) == y.shape[$0] }
                let trailingOnes = (cut..<y.ndims).allSatisfy { x.size($0) == 1 }
                guard x.ndims <= y.ndims else { return nil }
                if leading && trailing { return (1, inner) }
                if leading && trailingOnes { return (1, 0) }
                if leadingOnes && trailing { return (0, 1) }
                if leadingOnes && trailingOnes { return (0, 0) }
                return nil
            }
            if let fa = form(a), let fb = form(b) {
                self.inner = inner; outer = y.count / Swift.max(inner, 1)
                within = (fa.0, fb.0); step = (fa.1, fb.1)
                return
            }
        }
        return nil
    }
}

/// y = op(a, b) over the blocks of a `BlockBroadcast`, split over the cores by blocks.
private func binaryBlocks<T: KnetFloat>(_ op: BinaryOp, _ l: BlockBroadcast, _ a: UnsafeMutablePointer<T>,
                                        _ b: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>) {
    Parallel.chunks(l.outer, costPerElement: l.inner * (op == .pow ? 16 : 1)) { lo, hi in
        for j in lo..<hi {
            binaryRun(op, UnsafePointer(a + j * l.step.0), l.within.0, UnsafePointer(b + j * l.step.1), l.within.1,
                      y + j * l.inner, l.inner)
        }
    }
}

/// y = op(a, b) over a broadcast layout (operands: a, b, y); y is contiguous or a
/// strided view (in-place accumulation into a region).
private func binaryLoop<T: KnetFloat>(_ op: BinaryOp, _ layout: StridedLayout,
                                      _ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>,
                                      _ y: UnsafeMutablePointer<T>) {
    let sa = layout.strides[0][0], sb = layout.strides[1][0], sy = layout.strides[2][0]
    let cost = op == .pow ? 16 : 1
    Parallel.chunks(layout.count, costPerElement: cost) { lo, hi in
        layout.forEachRun(from: lo, to: hi) { off, n in
            let pa = a + off[0], pb = b + off[1], py = y + off[2]
            if sy == 1 { binaryRun(op, UnsafePointer(pa), sa, UnsafePointer(pb), sb, py, n) }
            else { for i in 0..<n { py[i &* sy] = op.scalar(pa[i &* sa], pb[i &* sb]) } }
        }
    }
}

/// y = x over a layout (operands: x, y), x possibly strided or broadcast.
private func copyLoop<T: KnetFloat>(_ layout: StridedLayout, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>) {
    let sx = layout.strides[0][0], sy = layout.strides[1][0]
    Parallel.chunks(layout.count) { lo, hi in
        layout.forEachRun(from: lo, to: hi) { off, n in
            let px = x + off[0], py = y + off[1]
            if sx == 1 && sy == 1 { py.update(from: px, count: n) }
            else if sx == 0 { let v = px[0]; for i in 0..<n { py[i &* sy] = v } }
            else { for i in 0..<n { py[i &* sy] = px[i &* sx] } }
        }
    }
}

/// Reduces a contiguous run with 8 independent accumulators (vectorisable, and more
/// accurate than one running sum).
@inline(__always)
func reduceRun<T: KnetFloat>(_ op: ReduceOp, _ p: UnsafePointer<T>, _ n: Int, _ stride: Int) -> T {
    var acc = op.identity(T.self)
    if stride == 1 && n >= 16 {
        var v = SIMD8<T>(repeating: acc)
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i &+ 8 <= n {
            let x = raw.loadUnaligned(fromByteOffset: i &* MemoryLayout<T>.stride, as: SIMD8<T>.self)
            switch op {
            case .sum: v += x
            case .prod: v *= x
            case .max: v = v.replacing(with: x, where: x .> v .| x .!= x)
            case .min: v = v.replacing(with: x, where: x .< v .| x .!= x)
            }
            i += 8
        }
        for j in 0..<8 { acc = op.combine(acc, v[j]) }
        for j in i..<n { acc = op.combine(acc, p[j]) }
        return acc
    }
    for j in 0..<n { acc = op.combine(acc, p[j &* stride]) }
    return acc
}

/// `dst[i] = op(dst[i], src[i])` over a contiguous run: one loop per op, so the sums and
/// products vectorise.
@inline(__always)
private func combineRun<T: KnetFloat>(_ op: ReduceOp, _ dst: UnsafeMutablePointer<T>, _ src: UnsafePointer<T>, _ m: Int) {
    switch op {
    case .sum: addRun(from: src, to: dst, m)
    case .prod: for i in 0..<m { dst[i] *= src[i] }
    case .max, .min: for i in 0..<m { dst[i] = op.combine(dst[i], src[i]) }
    }
}

/// y = reduce(x) where y has size 1 on the reduced dims. The layout keeps reduced and
/// kept dims apart; runs along a reduced dim fold to one value, runs along a kept dim
/// combine elementwise into y.
private func reduceLoop<T: KnetFloat>(_ op: ReduceOp, _ x: Tensor, _ y: Tensor, _: T.Type) {
    if y.count == 1 && x.isContiguous && x.count < Parallel.minimumParallelElements {
        // A small dense array to one value (a loss): no layout to build.
        y.pointer(T.self)[0] = reduceRun(op, x.pointer(T.self), x.count, 1)
        return
    }
    let reduced = x.shape.indices.map { d in d >= y.ndims || (y.shape[d] == 1 && x.shape[d] != 1) }
    let layout = StridedLayout(shape: x.shape,
                               strides: [x.strides, broadcastStrides(y, to: x.shape)], kind: reduced)
    let px = x.pointer(T.self), py = y.pointer(T.self)
    let n = y.count
    py.update(repeating: op.identity(T.self), count: n)
    if x.count == 0 { return }
    let sx = layout.strides[0][0], sy = layout.strides[1][0]
    let outermost = layout.shape.count - 1
    // Split across threads along the outermost dim when it is kept (disjoint outputs).
    let splitKept = !layout.kinds[outermost] && layout.shape[outermost] > 1
    func run(_ lo: Int, _ hi: Int, _ out: UnsafeMutablePointer<T>) {
        layout.forEachRun(from: lo, to: hi) { off, m in
            let src = UnsafePointer(px + off[0]), dst = out + off[1]
            if layout.kinds[0] {
                dst[0] = op.combine(dst[0], reduceRun(op, src, m, sx))
            } else if sx == 1 && sy == 1 {
                combineRun(op, dst, src, m)
            } else {
                for i in 0..<m { dst[i &* sy] = op.combine(dst[i &* sy], src[i &* sx]) }
            }
        }
    }
    let total = layout.count, outer = layout.shape[outermost], slab = total / outer
    if splitKept {
        Parallel.chunks(outer, costPerElement: slab) { lo, hi in run(lo * slab, hi * slab, py) }
        return
    }
    let parts = Swift.min(outer, Parallel.reductionParts(total))
    if parts < 2 { run(0, total, py); return }
    // Reduced outermost dim: each part folds a slab into a private buffer, then they are
    // combined in order (the same parts on any number of threads).
    let partials = UnsafeMutablePointer<T>.allocate(capacity: parts * n)
    defer { partials.deallocate() }
    partials.update(repeating: op.identity(T.self), count: parts * n)
    Parallel.forEach(parts) { p in
        run(outer * p / parts * slab, outer * (p + 1) / parts * slab, partials + p * n)
    }
    for p in 0..<parts { combineRun(op, py, partials + p * n, n) }
}

/// Adds `count` contiguous elements of `source` into `target`, eight at a time, then the rest.
@inline(__always) func addRun<T: KnetFloat>(from source: UnsafePointer<T>, to target: UnsafeMutablePointer<T>,
                                                    _ count: Int) {
    var t = 0
    while t + 8 <= count {
        let sum = UnsafeRawPointer(target + t).loadUnaligned(as: SIMD8<T>.self)
            + UnsafeRawPointer(source + t).loadUnaligned(as: SIMD8<T>.self)
        UnsafeMutableRawPointer(target + t).storeBytes(of: sum, as: SIMD8<T>.self)
        t += 8
    }
    while t < count { target[t] += source[t]; t += 1 }
}

extension CPUBackend {
    /// Σ x² over the elements of `x`, accumulated in Double, over the cores for large
    /// tensors (in `Parallel.reductionParts`, so the same on any thread count).
    func sumOfSquares(_ x: Tensor) -> Double {
        let n = x.count
        let parts = Parallel.reductionParts(n)
        func go<T: KnetFloat>(_ p: UnsafeMutablePointer<T>) -> Double {
            withUnsafeTemporaryAllocation(of: Double.self, capacity: parts) { partial in
                Parallel.forEach(parts) { k in
                    // Four accumulators break the dependency chain of one running sum.
                    var s = (0.0, 0.0, 0.0, 0.0), i = n * k / parts
                    let end = n * (k + 1) / parts
                    while i + 4 <= end {
                        let a = Double(p[i]), b = Double(p[i + 1]), c = Double(p[i + 2]), d = Double(p[i + 3])
                        s.0 += a * a; s.1 += b * b; s.2 += c * c; s.3 += d * d
                        i += 4
                    }
                    while i < end { let a = Double(p[i]); s.0 += a * a; i += 1 }
                    partial[k] = (s.0 + s.1) + (s.2 + s.3)
                }
                return partial.reduce(0, +)
            }
        }
        switch x.dtype {
        case .float32: return go(x.pointer(Float.self))
        case .float64: return go(x.pointer(Double.self))
        }
    }
}

extension CPUBackend {
    func batchedGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     a: Tensor, lda: Int, strideA: Int, b: Tensor, ldb: Int, strideB: Int,
                     c: Tensor, ldc: Int, strideC: Int, batch: Int) {
        // Small products are spread over the cores one slice per job; larger ones run one
        // after another, each split by the GEMM itself.
        let parts = 2 * m * n * k < bmmParallelSliceFlops ? Swift.min(Parallel.threads, batch) : 1
        func run<T: KnetFloat>(_: T.Type) {
            let pa = UnsafePointer(a.pointer(T.self)), pb = UnsafePointer(b.pointer(T.self)), pc = c.pointer(T.self)
            Parallel.forEach(parts) { p in
                for s in (batch * p / parts)..<(batch * (p + 1) / parts) {
                    CPUBLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: pa + s * strideA, lda: lda,
                                 b: pb + s * strideB, ldb: ldb, beta: 0, c: pc + s * strideC, ldc: ldc)
                }
            }
        }
        dispatchFloat(c.dtype, { run(Float.self) }, { run(Double.self) })
    }
}

/// Batches whose matrix products are smaller than this many flops are spread over the
/// cores one slice per job.
private let bmmParallelSliceFlops = 1 << 22
