/// `C[:, :, s] = op(A[:, :, s]) * op(B[:, :, s])` for every slice `s`, on contiguous data.
private func bmmForward(_ a: Tensor, _ b: Tensor, transA: Bool, transB: Bool,
                        m: Int, n: Int, k: Int, batchShape: [Int]) -> Tensor {
    let a = a.contiguousData(), b = b.contiguousData()
    let c = Tensor(uninitialized: [m, n] + batchShape, dtype: a.dtype, device: a.device)
    let backend = Backend.on(c.device)
    if k == 0 { backend.fill(c, 0); return c }
    backend.batchedGemm(transA: transA, transB: transB, m: m, n: n, k: k,
                        a: a, lda: Swift.max(a.shape[0], 1), strideA: a.shape[0] * a.shape[1],
                        b: b, ldb: Swift.max(b.shape[0], 1), strideB: b.shape[0] * b.shape[1],
                        c: c, ldc: Swift.max(m, 1), strideC: m * n, batch: batchShape.reduce(1, *))
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
