/// Batches whose matrix products are smaller than this many flops are spread over the
/// cores one slice per job; larger products run one after another, each split by GEMM.
private let bmmParallelSliceFlops = 1 << 22

/// `C[:, :, s] = op(A[:, :, s]) * op(B[:, :, s])` for every slice `s`, on contiguous data.
private func bmmForward(_ a: Tensor, _ b: Tensor, transA: Bool, transB: Bool,
                        m: Int, n: Int, k: Int, batchShape: [Int]) -> Tensor {
    let a = a.contiguousData(), b = b.contiguousData()
    let c = Tensor(uninitialized: [m, n] + batchShape, dtype: a.dtype, device: a.device)
    if k == 0 { Backend.on(c.device).fill(c, 0); return c }
    let batch = batchShape.reduce(1, *)
    let (lda, ldb) = (Swift.max(a.shape[0], 1), Swift.max(b.shape[0], 1))
    let (sa, sb, sc) = (a.shape[0] * a.shape[1], b.shape[0] * b.shape[1], m * n)
    let parts = 2 * m * n * k < bmmParallelSliceFlops ? Swift.min(Parallel.threads, batch) : 1
    func run<T: KnetFloat>(_: T.Type) {
        let pa = UnsafePointer(a.pointer(T.self)), pb = UnsafePointer(b.pointer(T.self)), pc = c.pointer(T.self)
        Parallel.forEach(parts) { p in
            for s in (batch * p / parts)..<(batch * (p + 1) / parts) {
                CPUBLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: pa + s * sa, lda: lda,
                             b: pb + s * sb, ldb: ldb, beta: 0, c: pc + s * sc, ldc: Swift.max(m, 1))
            }
        }
    }
    dispatchFloat(c.dtype, { run(Float.self) }, { run(Double.self) })
    return c
}

/// Batched matrix product (Knet's `bmm`): `[m, k, batch...] × [k, n, batch...] →
/// [m, n, batch...]`, one GEMM per slice (slices spread over the cores). `transA`/`transB`
/// use the transpose of every slice (`a` is then `[k, m, batch...]`, `b` `[n, k, batch...]`).
/// The batch dims must be equal; 2-d inputs give the plain matrix product. The gradient
/// is again `bmm` with transposes, so it is differentiable to any order.
///
///     let c = bmm(q, k, transA: true)      // [d, t, B]ᵀ × [d, t, B] → [t, t, B]
public func bmm(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false) -> Tensor {
    knetCheck(a.ndims >= 2 && b.ndims >= 2, "bmm: needs arrays of at least 2 dims, got \(a.shape) × \(b.shape)")
    checkCompatible("bmm", a, b)
    let (m, ka) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (kb, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    knetCheck(ka == kb, "bmm: inner dimensions differ in \(a.shape) × \(b.shape) (transA: \(transA), transB: \(transB))")
    let batchShape = Array(a.shape.dropFirst(2))
    knetCheck(batchShape == Array(b.shape.dropFirst(2)), "bmm: batch dims differ in \(a.shape) × \(b.shape)")
    return apply(Primitive("bmm", forward: { xs in
        bmmForward(xs[0], xs[1], transA: transA, transB: transB, m: m, n: n, k: ka, batchShape: batchShape)
    }, gradients: [
        { dy, _, xs in transA ? bmm(xs[1], dy, transA: transB, transB: true) : bmm(dy, xs[1], transB: !transB) },
        { dy, _, xs in transB ? bmm(dy, xs[0], transA: true, transB: transA) : bmm(xs[0], dy, transA: !transA) },
    ]), [a, b])
}
