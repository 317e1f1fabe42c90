/// How a matrix view is handed to GEMM: `transposed` when it is the transpose view of
/// a column-major matrix, with its leading dimension; nil when it must be copied.
func gemmLayout(_ x: Tensor) -> (transposed: Bool, ld: Int)? {
    let (r, c, s0, s1) = (x.shape[0], x.shape[1], x.stride(0), x.stride(1))
    if s0 == 1 && (c == 1 || s1 >= Swift.max(r, 1)) { return (false, Swift.max(s1, r, 1)) }
    if s1 == 1 && (r == 1 || s0 >= Swift.max(c, 1)) { return (true, Swift.max(s0, c, 1)) }
    return nil
}

/// `t` and its `gemmLayout`: as is when GEMM can take it, else a contiguous copy.
func gemmOperand(_ t: Tensor) -> (tensor: Tensor, layout: (transposed: Bool, ld: Int)) {
    if let layout = gemmLayout(t) { return (t, layout) }
    let copy = t.contiguousData()
    return (copy, gemmLayout(copy)!)
}

/// `t` itself when its rows are adjacent in memory (a matrix or a column range of one),
/// else a contiguous copy: the operand form of the recurrent cell kernels.
func unitRowStride(_ t: Tensor) -> Tensor { t.strides[0] == 1 ? t : t.contiguousData() }

/// Distance between columns of a matrix with unit row stride (0 for one column).
func columnStride(_ t: Tensor) -> Int { t.shape[1] > 1 ? t.strides[1] : 0 }

/// The matrix product primitive; transposed views are passed to BLAS as flags.
private let matmulPrimitive = Primitive("*", forward: { xs in
    checkCompatible("*", xs[0], xs[1])
    let (a, la) = gemmOperand(xs[0]), (b, lb) = gemmOperand(xs[1])
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    let c = Tensor(uninitialized: [m, n], dtype: a.dtype, device: a.device)
    Backend.on(a.device).gemm(transA: la.transposed, transB: lb.transposed, m: m, n: n, k: k, alpha: 1,
                              a: a, lda: la.ld, b: b, ldb: lb.ld, beta: 0, c: c, ldc: Swift.max(m, 1))
    return c
}, gradients: [
    { dy, _, xs in dy * transpose(xs[1]) },
    { dy, _, xs in transpose(xs[0]) * dy },
])

/// Matrix product `[m, k] * [k, n] → [m, n]` on BLAS (a vector `[k]` on the right is a
/// `[k, 1]` column, giving `[m]`). Transposes made by `transpose` are folded into the
/// BLAS call, not copied.
///
///     let h = w * x            // [64, 784] * [784, 100] → [64, 100]
public func * (a: Tensor, b: Tensor) -> Tensor {
    knetCheck(a.ndims == 2 && (b.ndims == 2 || b.ndims == 1),
              "*: matrix product needs a matrix and a matrix or vector, got \(a.shape) * \(b.shape) (use mat() first, or .* for elementwise)")
    knetCheck(a.shape[1] == b.shape[0], "*: inner dimensions differ in \(a.shape) * \(b.shape)")
    if b.ndims == 1 { return reshape(apply(matmulPrimitive, [a, reshape(b, [b.count, 1])]), [a.shape[0]]) }
    return apply(matmulPrimitive, [a, b])
}

/// `y .+= alpha .* x` in place (BLAS axpy); not recorded.
///
///     axpy(-0.1, g, w)    // w -= 0.1 g
public func axpy(_ alpha: Double, _ x: Tensor, _ y: Tensor) {
    knetCheck(x.shape == y.shape, "axpy: shapes \(x.shape) and \(y.shape) differ")
    checkCompatible("axpy", x, y)
    knetCheck(!y.isRecorded, "axpy: cannot update a tensor that is being recorded by grad")
    let backend = Backend.on(y.device)
    let scaled = binaryForward(.mul, x.untracked, constant(alpha, like: x))
    backend.binary(.add, y, scaled, into: y)
}

/// The dot product `sum(a .* b)` of equal-shaped tensors, as a 0-d tensor.
public func dot(_ a: Tensor, _ b: Tensor) -> Tensor {
    knetCheck(a.shape == b.shape, "dot: shapes \(a.shape) and \(b.shape) differ")
    return sum(a .* b)
}
