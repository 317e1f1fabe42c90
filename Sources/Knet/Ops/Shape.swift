/// A new shape with at most one `-1`, inferred from the element count.
func resolveShape(_ op: String, _ shape: [Int], count: Int, from old: [Int]) -> [Int] {
    let unknown = shape.indices.filter { shape[$0] == -1 }
    knetCheck(unknown.count <= 1 && shape.allSatisfy { $0 >= -1 },
              "\(op): invalid shape \(shape) (at most one -1, no other negative sizes)")
    var s = shape
    let known = shape.filter { $0 != -1 }.reduce(1, *)
    if let u = unknown.first {
        knetCheck(known > 0 && count % known == 0, "\(op): cannot reshape \(old) to \(shape)")
        s[u] = count / known
    }
    knetCheck(s.reduce(1, *) == count, "\(op): cannot reshape \(old) (\(count) elements) to \(shape)")
    return s
}

/// The same elements with another shape: a view sharing memory when `x` is
/// contiguous (a copy otherwise). One dimension may be `-1`.
///
///     let m = reshape(x, [28 * 28, -1])   // [784, N]
public func reshape(_ x: Tensor, _ shape: [Int]) -> Tensor {
    let shape = resolveShape("reshape", shape, count: x.count, from: x.shape)
    if shape == x.shape { return x }
    if isPlain(x) { return reshapeForward(x, shape) }
    let source = x.shape
    return apply(Primitive("reshape", forward: { xs in reshapeForward(xs[0], shape) },
                           gradients: [{ dy, _, _ in reshape(dy, source) }]), [x])
}

/// Unrecorded `x` as `shape`: a view when contiguous.
private func reshapeForward(_ x: Tensor, _ shape: [Int]) -> Tensor {
    let c = x.contiguousData()
    return c.view(shape: shape, strides: nil, offset: c.offset)
}

/// `reshape` with the dims as arguments: `reshape(x, 784, -1)`.
public func reshape(_ x: Tensor, _ dims: Int...) -> Tensor { reshape(x, dims) }

/// Knet's `mat`: a matrix `[product of the first n−1 dims, last dim]`, e.g. an image
/// batch `[28, 28, 1, N]` becomes `[784, N]`.
public func mat(_ x: Tensor) -> Tensor {
    let last = x.ndims == 0 ? 1 : x.shape[x.ndims - 1]
    return reshape(x, [last == 0 ? 0 : x.count / last, last])
}

/// All elements as a vector `[count]`, column-major.
public func vec(_ x: Tensor) -> Tensor { reshape(x, [x.count]) }

/// A copy with the dims permuted: result dim i is `x`'s dim `perm[i]` (0-based).
///
///     let y = permutedims(x, [1, 0, 2])   // swap the first two dims
public func permutedims(_ x: Tensor, _ perm: [Int]) -> Tensor {
    knetCheck(perm.sorted() == Array(0..<x.ndims),
              "permutedims: \(perm) is not a permutation of the \(x.ndims) dims of \(x.shape)")
    var inverse = perm
    for (i, p) in perm.enumerated() { inverse[p] = i }
    return apply(Primitive("permutedims", forward: { xs in
        let x = xs[0]
        let source = x.view(shape: perm.map { x.shape[$0] }, strides: perm.map { x.strides[$0] }, offset: x.offset)
        let y = Tensor(uninitialized: source.shape, dtype: x.dtype, device: x.device)
        Backend.on(x.device).copy(from: source, to: y)
        return y
    }, gradients: [{ [inverse] dy, _, _ in permutedims(dy, inverse) }]), [x])
}

/// The transpose of a matrix, as a view (no copy): matrix products fold it into the
/// BLAS call. A vector `[n]` becomes `[1, n]`.
///
///     let g = transpose(w) * dy
public func transpose(_ x: Tensor) -> Tensor {
    knetCheck(x.ndims <= 2, "transpose: expects a vector or matrix, got shape \(x.shape)")
    if x.ndims < 2 { return reshape(x, [1, x.count]) }
    return apply(transposePrimitive, [x])
}

private let transposePrimitive = Primitive("transpose", forward: { xs in
    let x = xs[0]
    return x.view(shape: [x.shape[1], x.shape[0]], strides: [x.stride(1), x.stride(0)], offset: x.offset)
}, gradients: [{ dy, _, _ in transpose(dy) }])

/// A fresh contiguous copy (differentiable).
public func copy(_ x: Tensor) -> Tensor { apply(copyPrimitive, [x]) }

private let copyPrimitive = Primitive("copy", forward: { xs in
    let y = Tensor(uninitialized: xs[0].shape, dtype: xs[0].dtype, device: xs[0].device)
    Backend.on(y.device).copy(from: xs[0], to: y)
    return y
}, gradients: [{ dy, _, _ in dy }])

/// `x` repeated along its size-1 (or missing trailing) dims to `shape`.
///
///     let b = broadcast(Tensor.zeros(3, 1), to: [3, 4])
public func broadcast(_ x: Tensor, to shape: [Int]) -> Tensor {
    if x.shape == shape { return x }
    knetCheck(broadcastShape("broadcast", x.shape, shape) == shape,
              "broadcast: cannot broadcast \(x.shape) to \(shape)")
    if isPlain(x) { return broadcastForward(x, shape) }
    let source = x.shape
    return apply(Primitive("broadcast", forward: { xs in broadcastForward(xs[0], shape) },
                           gradients: [{ dy, _, _ in sumTo(dy, source) }]), [x])
}

/// Unrecorded `x` copied out to `shape`.
private func broadcastForward(_ x: Tensor, _ shape: [Int]) -> Tensor {
    let y = Tensor(uninitialized: shape, dtype: x.dtype, device: x.device)
    Backend.on(y.device).copy(from: x, to: y)
    return y
}

/// Sums `x` over the dims where `shape` has size 1 (the reverse of broadcasting) and
/// returns it with exactly `shape`.
func sumTo(_ x: Tensor, _ shape: [Int]) -> Tensor {
    if x.shape == shape { return x }
    let dims = x.shape.indices.filter { d in x.shape[d] != 1 && (d >= shape.count || shape[d] == 1) }
    let s = dims.isEmpty ? x : sum(x, dims: dims)
    return s.shape == shape ? s : reshape(s, shape)
}

/// Concatenation along dim `dims` (0-based); the other dims must agree. Dims past
/// an input's rank count as 1, so `cat([a, b], dims: 2)` of matrices stacks them.
///
///     let ab = cat([a, b], dims: 0)
public func cat(_ xs: [Tensor], dims d: Int) -> Tensor {
    knetCheck(!xs.isEmpty, "cat: no tensors to concatenate")
    knetCheck(d >= 0, "cat: negative dim \(d)")
    let rank = Swift.max(d + 1, xs.map(\.ndims).max()!)
    let shapes = xs.map { x in (0..<rank).map { x.size($0) } }
    for (i, s) in shapes.enumerated() {
        checkCompatible("cat", xs[0], xs[i])
        knetCheck((0..<rank).allSatisfy { $0 == d || s[$0] == shapes[0][$0] },
                  "cat: shapes \(xs.map(\.shape)) do not agree outside dim \(d)")
    }
    var outShape = shapes[0]
    outShape[d] = shapes.map { $0[d] }.reduce(0, +)
    let starts = shapes.reduce(into: [0]) { $0.append($0.last! + $1[d]) }
    let gradients: [Primitive.Gradient] = xs.indices.map { k in
        { dy, _, inputs in
            let slice = narrow(dy, dim: d, start: starts[k], length: shapes[k][d])
            return slice.shape == inputs[k].shape ? slice : reshape(slice, inputs[k].shape)
        }
    }
    return apply(Primitive("cat", forward: { [outShape] inputs in
        let y = Tensor(uninitialized: outShape, dtype: inputs[0].dtype, device: inputs[0].device)
        for (k, x) in inputs.enumerated() {
            let part = y.view(shape: shapes[k], strides: y.strides, offset: starts[k] * y.strides[d])
            Backend.on(y.device).copy(from: x.view(shape: shapes[k], strides: (0..<rank).map {
                $0 < x.ndims ? x.strides[$0] : 0 }, offset: x.offset), to: part)
        }
        return y
    }, gradients: gradients), xs)
}

/// Horizontal concatenation (Julia's `hcat`): along dim 1, vectors as columns.
///
///     let m = hcat(a, b)   // [n] and [n] → [n, 2]
public func hcat(_ xs: Tensor...) -> Tensor { cat(xs, dims: 1) }
/// Horizontal concatenation of an array of tensors.
public func hcat(_ xs: [Tensor]) -> Tensor { cat(xs, dims: 1) }
/// Vertical concatenation (Julia's `vcat`): along dim 0.
public func vcat(_ xs: Tensor...) -> Tensor { cat(xs, dims: 0) }
/// Vertical concatenation of an array of tensors.
public func vcat(_ xs: [Tensor]) -> Tensor { cat(xs, dims: 0) }

/// The sub-tensor `start..<start+length` along `dim`, all of the other dims (a view).
func narrow(_ x: Tensor, dim: Int, start: Int, length: Int) -> Tensor {
    var index = [TensorIndex](repeating: .all, count: Swift.max(x.ndims, dim + 1))
    index[dim] = .range(start..<(start + length))
    let v = x.ndims > dim ? x : reshape(x, (0..<(dim + 1)).map { x.size($0) })
    return v[index]
}
