/// log(sum(exp(x))) over `dims` (all dims when nil), computed stably by subtracting
/// the maximum. Reduced dims keep size 1.
///
///     let lse = logsumexp(scores, dims: [0])
public func logsumexp(_ x: Tensor, dims: [Int]? = nil) -> Tensor {
    let d = dims ?? Array(0..<x.ndims)
    knetCheck(d.allSatisfy { $0 >= 0 }, "logsumexp: dims must be 0 or more, got \(d) for shape \(x.shape)")
    return apply(Primitive("logsumexp", forward: { xs in
        let x = xs[0]
        let m = maximum(x, dims: d)
        return binaryForward(.add, log(sum(exp(binaryForward(.sub, x, m)), dims: d)), m)
    }, gradients: [{ dy, y, xs in dy .* exp(xs[0] .- y) }]), [x])
}

/// Log-probabilities `x .- logsumexp(x, dims)`: Knet's `logp`. Its gradient is
/// `dy .- exp(y) .* sum(dy, dims)`. With `[classes, batch]`
/// scores use `dims: [0]`; the default normalises over all elements, as Knet.
///
///     let lp = logp(scores, dims: [0])
public func logp(_ x: Tensor, dims: [Int]? = nil) -> Tensor {
    fusedSoftmax(x, dims ?? Array(0..<x.ndims), log: true) ?? (x .- logsumexp(x, dims: dims))
}

/// Same as `logp`.
public func logsoftmax(_ x: Tensor, dims: [Int]? = nil) -> Tensor { logp(x, dims: dims) }

/// `logsumexp` over the dims listed, as the reductions take them.
///
///     let lse = logsumexp(scores, dims: 0)
public func logsumexp(_ x: Tensor, dims first: Int, _ more: Int...) -> Tensor { logsumexp(x, dims: [first] + more) }
/// `logp` over the dims listed.
///
///     let lp = logp(scores, dims: 0)
public func logp(_ x: Tensor, dims first: Int, _ more: Int...) -> Tensor { logp(x, dims: [first] + more) }
/// `logsoftmax` over the dims listed.
public func logsoftmax(_ x: Tensor, dims first: Int, _ more: Int...) -> Tensor { logp(x, dims: [first] + more) }
/// `softmax` over the dims listed.
///
///     let p = softmax(scores, dims: 0)
public func softmax(_ x: Tensor, dims first: Int, _ more: Int...) -> Tensor { softmax(x, dims: [first] + more) }

/// Probabilities `exp(x .- max) ./ sum(exp(x .- max))`, summing to 1 over `dims`
/// (all dims when nil). Its gradient is `y .* (dy .- sum(dy .* y, dims))`.
///
///     let p = softmax(scores, dims: [0])
public func softmax(_ x: Tensor, dims: [Int]? = nil) -> Tensor {
    let d = dims ?? Array(0..<x.ndims)
    if let fused = fusedSoftmax(x, d, log: false) { return fused }
    return apply(Primitive("softmax", forward: { xs in
        // One fresh array, then exp and the division in place (elementwise, so safe).
        let e = binaryForward(.sub, xs[0], maximum(xs[0], dims: d))
        let backend = Backend.on(e.device)
        backend.unary(.exp, e, into: e)
        backend.binary(.div, e, sum(e, dims: d), into: e)
        return e
    }, gradients: [{ dy, y, _ in y .* (dy .- sum(dy .* y, dims: d)) }]), [x])
}

/// Softmax (or log-softmax) over `dims` as one backend call, when `dims` is a run of
/// adjacent dims and the backend accepts it (the CPU always, the GPU with cuDNN); its
/// gradient is one backend call too unless an outer `grad` records it, then the
/// differentiable formula. Nil otherwise: the caller composes the op.
private func fusedSoftmax(_ x: Tensor, _ dims: [Int], log: Bool) -> Tensor? {
    guard let layout = NormalizationLayout(shape: x.shape, dims: dims),
          let y = Backend.on(x.device).softmax(x.untracked.contiguousData(), layout, log: log) else { return nil }
    return fusedPrimitive(log ? "logp" : "softmax", [x], forward: { _ in y }) { dy, y, xs in
        if isUnrecorded(dy, y, xs), let dx = Backend.on(dy.device).softmaxBackward(y, dy.contiguousData(), layout, log: log) {
            return [dx]
        }
        return [log ? dy .- exp(y) .* sum(dy, dims: dims) : y .* (dy .- sum(dy .* y, dims: dims))]
    }
}
