// Loss functions and metrics, as Knet.jl's `loss.jl`: `nll`, `accuracy`, `zeroone`,
// `bce`, `logistic`. Labels are 0-based class indices; a label outside the classes
// stops with an error naming it, unless it is the `ignoreIndex` (PyTorch's
// `ignore_index`), which skips its instance as Knet's 0 label does.

extension ClassLayout {
    /// 1 for counted instances, 0 for skipped ones, shaped like scores `shape` with the
    /// class dim `d` reduced to 1.
    func mask(_ shape: [Int], _ d: Int, like x: Tensor) -> Tensor {
        Tensor(labels.indices.map { counts($0) ? 1.0 : 0.0 },
               shape: shape.enumerated().map { $0.offset == d ? 1 : $0.element }, dtype: x.dtype, device: x.device)
    }

    /// One-hot targets of `shape` (zero columns for skipped instances).
    func onehot(_ shape: [Int], like x: Tensor) -> Tensor {
        var v = [Double](repeating: 0, count: inner * classes * outer)
        for j in labels.indices where counts(j) { v[base(j) + labels[j] * inner] = 1 }
        return Tensor(v, shape: shape, dtype: x.dtype, device: x.device)
    }
}

/// Labels stored in a tensor (integer values, 0-based) as `[Int]`.
private func labelArray(_ op: String, _ labels: Tensor) -> [Int] {
    [Double](labels).map { v in
        knetCheck(v == v.rounded() && Swift.abs(v) < 1e15,
                  "\(op): labels must be integers, got \(v) in labels of shape \(labels.shape)")
        return Int(v)
    }
}

/// The gradient of `nll` with respect to the scores, `dy · scale · (softmax − onehot)`,
/// as one fused primitive whose own gradients are Tensor ops (so higher orders work).
private func nllGradient(_ dy: Tensor, _ x: Tensor, _ c: ClassLayout, dims d: Int, scale: Double) -> Tensor {
    let shape = x.shape
    return apply(Primitive("nllgrad", forward: { xs in
        let x = xs[1].contiguousData()
        let dx = Tensor(uninitialized: shape, dtype: x.dtype, device: x.device)
        Backend.on(x.device).nllGradient(x, c, scale: scale, dy: xs[0], into: dx)
        return dx
    }, gradients: [
        { ddx, _, xs in
            let g = (softmax(xs[1], dims: [d]) .* c.mask(shape, d, like: ddx) .- c.onehot(shape, like: ddx)) .* scale
            return sum(ddx .* g)
        },
        { ddx, _, xs in
            let p = softmax(xs[1], dims: [d]), m = ddx .* c.mask(shape, d, like: ddx)
            return (xs[0] .* scale) .* p .* (m .- sum(m .* p, dims: [d]))
        },
    ]), [dy, x])
}

/// Negative log-likelihood of the correct classes under softmax(scores), Knet's `nll`:
/// scores `[classes, instances...]` with `dims: 0` (default), or classes along another
/// dim (`dims: 1` for `[instances, classes]`). `labels` holds one 0-based class per
/// instance (column-major order of the non-class dims), in `0..<classes`: any other
/// stops with an error naming it, except `ignoreIndex` (PyTorch's `ignore_index`, e.g.
/// -1 or a padding class), whose instances are skipped. Returns a 0-d tensor: the
/// mean over counted instances (`average: true`; NaN when none counts, as Knet) or
/// their total. One fused primitive (a stable logsumexp per instance); its gradient is
/// `softmax − onehot`, scaled.
///
///     let loss = nll(w * x .+ b, [3, 0, 9])     // scores [10, 3]
///     let masked = nll(scores, [3, -1, 9], ignoreIndex: -1)
public func nll(_ scores: Tensor, _ labels: [Int], dims: Int = 0, average: Bool = true, ignoreIndex: Int? = nil) -> Tensor {
    let c = ClassLayout("nll", scores.shape, labels, dims: dims, ignoreIndex: ignoreIndex)
    let scale = average ? 1 / Double(c.counted) : 1   // no counted instance: NaN, as Knet
    return apply(Primitive("nll", forward: { xs in
        let x = xs[0].contiguousData()
        return Backend.on(x.device).nllLoss(x, c, scale: scale)
    }, gradients: [{ dy, _, xs in nllGradient(dy, xs[0], c, dims: dims, scale: scale) }]), [scores])
}

/// `nll` with labels given as a tensor of integer values (0-based), e.g. a minibatch's `y`.
///
///     let loss = nll(predict(w, x), y)
public func nll(_ scores: Tensor, _ labels: Tensor, dims: Int = 0, average: Bool = true, ignoreIndex: Int? = nil) -> Tensor {
    nll(scores, labelArray("nll", labels), dims: dims, average: average, ignoreIndex: ignoreIndex)
}

/// Fraction of counted instances whose label has the largest score (Knet's
/// `accuracy`). Labels are checked as `nll`'s: out of range stops with an error, except
/// `ignoreIndex`, whose instances are skipped. Not differentiable; NaN when no instance
/// counts.
///
///     let acc = accuracy(scores, [3, 0, 9])     // e.g. 0.6667
public func accuracy(_ scores: Tensor, _ labels: [Int], dims: Int = 0, ignoreIndex: Int? = nil) -> Double {
    let c = ClassLayout("accuracy", scores.shape, labels, dims: dims, ignoreIndex: ignoreIndex)
    let predicted = argmax(scores, dims: dims)
    let correct = c.labels.indices.reduce(0) { $0 + (c.counts($1) && predicted[$1] == c.labels[$1] ? 1 : 0) }
    return Double(correct) / Double(c.counted)
}

/// `accuracy` with labels given as a tensor of integer values (0-based).
public func accuracy(_ scores: Tensor, _ labels: Tensor, dims: Int = 0, ignoreIndex: Int? = nil) -> Double {
    accuracy(scores, labelArray("accuracy", labels), dims: dims, ignoreIndex: ignoreIndex)
}

/// Classification error `1 − accuracy` (Knet's `zeroone`).
///
///     let err = zeroone(scores, [3, 0, 9])
public func zeroone(_ scores: Tensor, _ labels: [Int], dims: Int = 0, ignoreIndex: Int? = nil) -> Double {
    1 - accuracy(scores, labels, dims: dims, ignoreIndex: ignoreIndex)
}

/// `zeroone` with labels given as a tensor of integer values (0-based).
public func zeroone(_ scores: Tensor, _ labels: Tensor, dims: Int = 0, ignoreIndex: Int? = nil) -> Double {
    1 - accuracy(scores, labels, dims: dims, ignoreIndex: ignoreIndex)
}

/// `labels` as a tensor of `scores`' shape and dtype, checking they are as many.
private func binaryLabels(_ op: String, _ scores: Tensor, _ labels: Tensor) -> Tensor {
    knetCheck(labels.count == scores.count,
              "\(op): labels of shape \(labels.shape) do not match scores of shape \(scores.shape)")
    return reshape(convert(labels, to: scores.dtype), scores.shape)
}

/// Binary cross-entropy on logits (Knet's `bce`): with p = sigm(scores),
/// `-(labels .* log(p) .+ (1 .- labels) .* log(1 .- p))`, computed stably as
/// `softplus(scores) .- labels .* scores`; labels in {0, 1} (any values in [0, 1] work),
/// as many as scores (read in scores' shape). Returns the mean (`average: true`) or the
/// sum, as a 0-d tensor; the gradient is `sigm(scores) .- labels`, scaled.
///
///     let loss = bce(scores, Tensor([1, 0, 1]))  // scores [3] or [1, 3]
public func bce(_ scores: Tensor, _ labels: Tensor, average: Bool = true) -> Tensor {
    let l = softplus(scores) .- binaryLabels("bce", scores, labels) .* scores
    return average ? mean(l) : sum(l)
}

/// Logistic loss for labels in {-1, 1} (Knet's `logistic`): the mean (or sum) of
/// `log(1 .+ exp(-labels .* scores))`, the same loss as `bce` with {0, 1} labels.
///
///     let loss = logistic(scores, Tensor([1, -1, 1]))
public func logistic(_ scores: Tensor, _ labels: Tensor, average: Bool = true) -> Tensor {
    bce(scores, (binaryLabels("logistic", scores, labels) .+ 1) ./ 2, average: average)
}

/// The mean of `f(x)` over all elements, Julia's `mean(f, x)`: the old Knet losses read
/// `quadloss(ŷ, y) = mean(abs2, y - ŷ)` and `softloss(ŷ, p) = -sum(p .* logp(ŷ, dims: [0])) / N`.
///
///     let loss = mean(abs2, y - predict(w, x))
public func mean(_ f: (Tensor) -> Tensor, _ x: Tensor) -> Tensor { mean(f(x)) }
