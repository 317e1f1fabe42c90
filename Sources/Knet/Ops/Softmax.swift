/// log(sum(exp(x))) over `dims` (all dims when nil), computed stably by subtracting
/// the maximum. Reduced dims keep size 1.
///
///     let lse = logsumexp(scores, dims: [0])
public func logsumexp(_ x: Tensor, dims: [Int]? = nil) -> Tensor {
    let d = dims ?? Array(0..<x.ndims)
    return apply(Primitive("logsumexp", forward: { xs in
        let x = xs[0]
        let m = maximum(x, dims: d)
        return binaryForward(.add, log(sum(exp(binaryForward(.sub, x, m)), dims: d)), m)
    }, gradients: [{ dy, y, xs in dy .* exp(xs[0] .- y) }]), [x])
}

/// Log-probabilities `x .- logsumexp(x, dims)`: Knet's `logp`. With `[classes, batch]`
/// scores use `dims: [0]`; the default normalises over all elements, as Knet.
///
///     let lp = logp(scores, dims: [0])
public func logp(_ x: Tensor, dims: [Int]? = nil) -> Tensor { x .- logsumexp(x, dims: dims) }

/// Same as `logp`.
public func logsoftmax(_ x: Tensor, dims: [Int]? = nil) -> Tensor { logp(x, dims: dims) }

/// Probabilities `exp(x .- max) ./ sum(exp(x .- max))`, summing to 1 over `dims`
/// (all dims when nil). Its gradient is `y .* (dy .- sum(dy .* y, dims))`.
///
///     let p = softmax(scores, dims: [0])
public func softmax(_ x: Tensor, dims: [Int]? = nil) -> Tensor {
    let d = dims ?? Array(0..<x.ndims)
    return apply(Primitive("softmax", forward: { xs in
        // One fresh array, then exp and the division in place (elementwise, so safe).
        let e = binaryForward(.sub, xs[0], maximum(xs[0], dims: d))
        let backend = Backend.on(e.device)
        backend.unary(.exp, e, into: e)
        backend.binary(.div, e, sum(e, dims: d), into: e)
        return e
    }, gradients: [{ dy, y, _ in y .* (dy .- sum(dy .* y, dims: d)) }]), [x])
}
