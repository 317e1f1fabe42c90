// Loss functions and metrics, as Knet.jl's `loss.jl`: `nll`, `accuracy`, `zeroone`,
// `bce`, `logistic`. Labels are 0-based class indices; a label outside the classes
// (e.g. -1) skips its instance, as Knet's 0 label does.

/// Where each instance's class scores sit in a scores tensor viewed as
/// `[inner, classes, outer]` (the class dim in the middle), and which labels count.
struct ClassLayout {
    let inner: Int, classes: Int, outer: Int
    let labels: [Int]
    /// Number of instances whose label lies in `0..<classes`.
    let counted: Int

    /// Checks `labels` against the instances of `shape` with classes along dim `d`.
    init(_ op: String, _ shape: [Int], _ labels: [Int], dims d: Int) {
        knetCheck(d >= 0 && d < shape.count,
                  "\(op): class dim \(d) out of range for scores of shape \(shape)")
        inner = shape.prefix(d).reduce(1, *)
        classes = shape[d]
        outer = shape.suffix(from: d + 1).reduce(1, *)
        knetCheck(labels.count == inner * outer,
                  "\(op): \(labels.count) labels for \(inner * outer) instances of scores \(shape) (classes in dim \(d))")
        self.labels = labels
        let c = shape[d]
        counted = labels.reduce(0) { $0 + ($1 >= 0 && $1 < c ? 1 : 0) }
    }

    /// True when instance `j` has a label in range.
    @inline(__always) func counts(_ j: Int) -> Bool { labels[j] >= 0 && labels[j] < classes }
    /// Element offset of instance `j`'s score for class 0; class `k` is at `+ k * inner`.
    @inline(__always) func base(_ j: Int) -> Int { j % inner + (j / inner) * inner * classes }

    /// 1 for counted instances, 0 for skipped ones, shaped like scores `shape` with the
    /// class dim `d` reduced to 1.
    func mask(_ shape: [Int], _ d: Int, _ dtype: DType) -> Tensor {
        Tensor(labels.indices.map { counts($0) ? 1.0 : 0.0 },
               shape: shape.enumerated().map { $0.offset == d ? 1 : $0.element }, dtype: dtype)
    }

    /// One-hot targets of `shape` (zero columns for skipped instances).
    func onehot(_ shape: [Int], _ dtype: DType) -> Tensor {
        var v = [Double](repeating: 0, count: inner * classes * outer)
        for j in labels.indices where counts(j) { v[base(j) + labels[j] * inner] = 1 }
        return Tensor(v, shape: shape, dtype: dtype)
    }

    /// Instance `j`'s softmax numerators `e[k] = exp(x[k] − max)` (in `e`, `classes`
    /// long) and its log-sum-exp as `max + log`, where `log = log1p(Σ e[k], k ≠ argmax)`:
    /// leaving out the maximum's 1 keeps a confident prediction's tiny loss in Float32.
    @inline(__always)
    func softmaxTerms<T: KnetFloat>(_ x: UnsafePointer<T>, _ j: Int, _ e: UnsafeMutablePointer<T>) -> (max: T, log: T) {
        let p = x + base(j)
        var m = -T.infinity, at = 0
        for k in 0..<classes where p[k * inner] > m { m = p[k * inner]; at = k }
        if m == -.infinity { e.update(repeating: .nan, count: classes); return (m, .nan) }
        if inner == 1 { for k in 0..<classes { e[k] = ScalarMath.exp(p[k] - m) } }   // vectorised
        else { for k in 0..<classes { e[k] = ScalarMath.exp(p[k * inner] - m) } }
        e[at] = 0
        let rest = reduceRun(.sum, UnsafePointer(e), classes, 1)
        e[at] = 1
        return (m, T.log(onePlus: rest))
    }
}

/// Runs `body` with a scratch buffer of `n` elements.
@inline(__always) private func withScratch<T, R>(_: T.Type, _ n: Int, _ body: (UnsafeMutablePointer<T>) -> R) -> R {
    let e = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(n, 1))
    defer { e.deallocate() }
    return body(e)
}

/// Labels stored in a tensor (integer values, 0-based) as `[Int]`.
private func labelArray(_ op: String, _ labels: Tensor) -> [Int] {
    [Double](labels).map { v in
        knetCheck(v == v.rounded() && Swift.abs(v) < 1e15,
                  "\(op): labels must be integers, got \(v) in labels of shape \(labels.shape)")
        return Int(v)
    }
}

/// Splits `0..<n` over the cores and adds up `part(lo, hi)` (in Double).
private func parallelSum(_ n: Int, cost: Int, _ part: (Int, Int) -> Double) -> Double {
    let parts = Swift.max(1, Swift.min(Parallel.threads, n * cost / Parallel.minimumParallelElements))
    let partial = UnsafeMutablePointer<Double>.allocate(capacity: parts)
    defer { partial.deallocate() }
    Parallel.forEach(parts) { p in partial[p] = part(n * p / parts, n * (p + 1) / parts) }
    return (0..<parts).reduce(0) { $0 + partial[$1] }
}

/// Σ over counted instances of logsumexp(x) − x[label].
private func nllTotal<T: KnetFloat>(_ x: UnsafePointer<T>, _ c: ClassLayout) -> Double {
    parallelSum(c.labels.count, cost: 16 * c.classes) { lo, hi in
        withScratch(T.self, c.classes) { e in
            var total = 0.0
            for j in lo..<hi where c.counts(j) {
                let lse = c.softmaxTerms(x, j, e)
                total += Double(lse.log - (x[c.base(j) + c.labels[j] * c.inner] - lse.max))
            }
            return total
        }
    }
}

/// dx = scale · (softmax(x) − onehot) on counted instances, 0 on skipped ones.
private func nllGradientKernel<T: KnetFloat>(_ x: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>,
                                             _ c: ClassLayout, _ scale: T) {
    Parallel.chunks(c.labels.count, costPerElement: 16 * c.classes) { lo, hi in
        withScratch(T.self, c.classes) { e in
            for j in lo..<hi {
                let b = c.base(j)
                guard c.counts(j) else {
                    for k in 0..<c.classes { dx[b + k * c.inner] = 0 }
                    continue
                }
                let f = scale * T.exp(-c.softmaxTerms(x, j, e).log)
                for k in 0..<c.classes { dx[b + k * c.inner] = f * e[k] }
                dx[b + c.labels[j] * c.inner] -= scale
            }
        }
    }
}

/// The gradient of `nll` with respect to the scores, `dy · scale · (softmax − onehot)`,
/// as one fused primitive whose own gradients are Tensor ops (so higher orders work).
private func nllGradient(_ dy: Tensor, _ x: Tensor, _ c: ClassLayout, dims d: Int, scale: Double) -> Tensor {
    let shape = x.shape
    return apply(Primitive("nllgrad", forward: { xs in
        let x = xs[1].contiguousData()
        let dx = Tensor(uninitialized: shape, dtype: x.dtype, device: x.device)
        let s = scale * xs[0].scalar
        dispatchFloat(x.dtype,
            { nllGradientKernel(x.pointer(Float.self), dx.pointer(Float.self), c, Float(s)) },
            { nllGradientKernel(x.pointer(Double.self), dx.pointer(Double.self), c, s) })
        return dx
    }, gradients: [
        { ddx, _, xs in
            let g = (softmax(xs[1], dims: [d]) .* c.mask(shape, d, ddx.dtype) .- c.onehot(shape, ddx.dtype)) .* scale
            return sum(ddx .* g)
        },
        { ddx, _, xs in
            let p = softmax(xs[1], dims: [d]), m = ddx .* c.mask(shape, d, ddx.dtype)
            return (xs[0] .* scale) .* p .* (m .- sum(m .* p, dims: [d]))
        },
    ]), [dy, x])
}

/// Negative log-likelihood of the correct classes under softmax(scores), Knet's `nll`:
/// scores `[classes, instances...]` with `dims: 0` (default), or classes along another
/// dim (`dims: 1` for `[instances, classes]`). `labels` holds one 0-based class per
/// instance (column-major order of the non-class dims); a label outside `0..<classes`
/// skips its instance. Returns a 0-d tensor: the mean over counted instances
/// (`average: true`) or their total. One fused primitive (a stable logsumexp per
/// instance); its gradient is `softmax − onehot`, scaled.
///
///     let loss = nll(w * x .+ b, [3, 0, 9])     // scores [10, 3]
public func nll(_ scores: Tensor, _ labels: [Int], dims: Int = 0, average: Bool = true) -> Tensor {
    let c = ClassLayout("nll", scores.shape, labels, dims: dims)
    let scale = average ? 1 / Double(c.counted) : 1   // no counted instance: NaN, as Knet
    return apply(Primitive("nll", forward: { xs in
        let x = xs[0].contiguousData()
        var total = 0.0
        dispatchFloat(x.dtype, { total = nllTotal(UnsafePointer(x.pointer(Float.self)), c) },
                               { total = nllTotal(UnsafePointer(x.pointer(Double.self)), c) })
        return Tensor(scalar: total * scale, dtype: x.dtype)
    }, gradients: [{ dy, _, xs in nllGradient(dy, xs[0], c, dims: dims, scale: scale) }]), [scores])
}

/// `nll` with labels given as a tensor of integer values (0-based), e.g. a minibatch's `y`.
///
///     let loss = nll(predict(w, x), y)
public func nll(_ scores: Tensor, _ labels: Tensor, dims: Int = 0, average: Bool = true) -> Tensor {
    nll(scores, labelArray("nll", labels), dims: dims, average: average)
}

/// Fraction of counted instances whose label has the largest score (Knet's
/// `accuracy`); instances with a label outside `0..<classes` are skipped. Not
/// differentiable; NaN when no instance counts.
///
///     let acc = accuracy(scores, [3, 0, 9])     // e.g. 0.6667
public func accuracy(_ scores: Tensor, _ labels: [Int], dims: Int = 0) -> Double {
    let c = ClassLayout("accuracy", scores.shape, labels, dims: dims)
    let predicted = argmax(scores, dims: dims)
    let correct = labels.indices.reduce(0) { $0 + (c.counts($1) && predicted[$1] == labels[$1] ? 1 : 0) }
    return Double(correct) / Double(c.counted)
}

/// `accuracy` with labels given as a tensor of integer values (0-based).
public func accuracy(_ scores: Tensor, _ labels: Tensor, dims: Int = 0) -> Double {
    accuracy(scores, labelArray("accuracy", labels), dims: dims)
}

/// Classification error `1 − accuracy` (Knet's `zeroone`).
///
///     let err = zeroone(scores, [3, 0, 9])
public func zeroone(_ scores: Tensor, _ labels: [Int], dims: Int = 0) -> Double {
    1 - accuracy(scores, labels, dims: dims)
}

/// `zeroone` with labels given as a tensor of integer values (0-based).
public func zeroone(_ scores: Tensor, _ labels: Tensor, dims: Int = 0) -> Double {
    1 - accuracy(scores, labels, dims: dims)
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
