/// Running mean and variance of a batch normalization layer (Knet's `BNMoments`),
/// updated in place by `batchnorm` in training mode and used in inference mode:
/// `new = momentum · batch + (1 − momentum) · running`. `mean`/`variance` start nil and
/// are created by `meaninit`/`varinit` (zeros/ones) at the first `batchnorm` call, shaped
/// like the input with every dim but the channel dim set to 1 (`[C, 1]` for 2-d input,
/// `[1, 1, C, 1]` for 4-d).
///
///     let m = bnmoments()
///     let y = batchnorm(x, m, params, training: true)   // fills m.mean, m.variance
public final class BNMoments {
    /// The weight of the current batch in the running averages.
    public var momentum: Double
    /// Running mean per channel (nil until first use unless given).
    public var mean: Tensor?
    /// Running (unbiased) variance per channel (nil until first use unless given).
    public var variance: Tensor?
    /// Makes the initial running mean from a shape and dtype.
    public var meaninit: ([Int], DType) -> Tensor
    /// Makes the initial running variance from a shape and dtype.
    public var varinit: ([Int], DType) -> Tensor

    /// Moments with the given momentum, optional initial statistics and initialisers.
    public init(momentum: Double = 0.1, mean: Tensor? = nil, variance: Tensor? = nil,
                meaninit: @escaping ([Int], DType) -> Tensor = { Tensor.zeros(shape: $0, dtype: $1) },
                varinit: @escaping ([Int], DType) -> Tensor = { Tensor.ones(shape: $0, dtype: $1) }) {
        self.momentum = momentum; self.mean = mean; self.variance = variance
        self.meaninit = meaninit; self.varinit = varinit
    }
}

/// Knet's `bnmoments`: running statistics for `batchnorm` (momentum 0.1, mean starting
/// at zeros and variance at ones unless given).
///
///     let moments = bnmoments(momentum: 0.1)
public func bnmoments(momentum: Double = 0.1, mean: Tensor? = nil, variance: Tensor? = nil,
                      meaninit: @escaping ([Int], DType) -> Tensor = { Tensor.zeros(shape: $0, dtype: $1) },
                      varinit: @escaping ([Int], DType) -> Tensor = { Tensor.ones(shape: $0, dtype: $1) }) -> BNMoments {
    BNMoments(momentum: momentum, mean: mean, variance: variance, meaninit: meaninit, varinit: varinit)
}

/// Knet's `bnparams`: the affine parameters of `batchnorm` for `channels` channels as one
/// vector `[2C]`, the scales (ones) followed by the biases (zeros).
///
///     let params = bnparams(16)        // [32]
public func bnparams(_ channels: Int, dtype: DType = .float32, device: Device = .current) -> Tensor {
    knetCheck(channels >= 0, "bnparams: negative channel count \(channels)")
    return Tensor([Double](repeating: 1, count: channels) + [Double](repeating: 0, count: channels),
                  shape: [2 * channels], dtype: dtype, device: device)
}

/// Batch normalization (Knet's `batchnorm`) of 2-d `[C, N]`, 4-d `[W, H, C, N]` or 5-d
/// `[W, H, D, C, N]` input, per channel (dim 0 for 2-d, dim `ndims-2` otherwise):
/// `y = scale .* (x .- mean) ./ sqrt(var .+ eps) .+ bias`, with `scale`/`bias` the halves
/// of `params` (`bnparams(C)`; none when nil). In training mode (default: while
/// recording, `isRecording()`) mean and biased variance come from the batch (all dims
/// but the channel dim) and `moments`, if given, are updated in place with the batch
/// mean and the unbiased variance (as cuDNN and PyTorch). In inference mode the
/// running statistics of `moments` are used (required). Differentiable in `x` and
/// `params` in both modes.
///
///     let y = batchnorm(x, moments, params)              // x [W, H, C, N], params [2C]
public func batchnorm(_ x: Tensor, _ moments: BNMoments? = nil, _ params: Tensor? = nil,
                      training: Bool? = nil, eps: Double = 1e-5) -> Tensor {
    knetCheck([2, 4, 5].contains(x.ndims),
              "batchnorm: input must be 2-d [C, N], 4-d [W, H, C, N] or 5-d, got shape \(x.shape)")
    let cdim = x.ndims == 2 ? 0 : x.ndims - 2
    let channels = x.shape[cdim]
    let statShape = x.shape.indices.map { $0 == cdim ? channels : 1 }
    let reduced = x.shape.indices.filter { $0 != cdim }
    knetCheck(params.map { $0.count == 2 * channels } ?? true,
              "batchnorm: params of shape \(params?.shape ?? []) should hold 2×\(channels) values for input \(x.shape)")
    let shape = BatchNormShape(cdim: cdim, channels: channels, statShape: statShape, reduced: reduced, eps: eps)
    if training ?? isRecording() {
        if let fused = fusedBatchNorm(x, moments, params, shape) { return fused }
        let (y, mu, variance) = normalizedWithBatchStatistics(x, params, shape)
        if let moments {
            let n = Double(x.count / Swift.max(channels, 1))
            updateRunning(moments, mean: mu.untracked, variance: variance.untracked .* (n / Swift.max(n - 1, 1)), statShape, x)
        }
        return y
    }
    knetCheck(moments != nil, "batchnorm: inference mode (training: false) needs moments, input shape \(x.shape)")
    let (runMean, runVar) = runningStats(moments!, statShape, x)
    return normalized(x .- runMean, runVar, params, shape)
}

/// The sizes `batchnorm` works with: the channel dim and count, the `[1.., C, ..1]`
/// statistics shape, the dims reduced over, and eps.
private struct BatchNormShape {
    let cdim: Int, channels: Int, statShape: [Int], reduced: [Int], eps: Double
}

/// Training-mode batch normalization in differentiable ops (the moments untouched), with
/// the batch mean and biased variance it used (shaped `statShape`).
private func normalizedWithBatchStatistics(_ x: Tensor, _ params: Tensor?, _ s: BatchNormShape)
    -> (y: Tensor, mean: Tensor, variance: Tensor) {
    let mu = mean(x, dims: s.reduced)
    let centered = x .- mu
    let variance = mean(abs2(centered), dims: s.reduced)
    return (normalized(centered, variance, params, s), mu, variance)
}

/// `centered ./ sqrt(variance .+ eps)`, scaled and shifted by `params`.
private func normalized(_ centered: Tensor, _ variance: Tensor, _ params: Tensor?, _ s: BatchNormShape) -> Tensor {
    let inverse = 1 ./ sqrt(variance .+ s.eps)            // per channel: the full-size work is
    guard let params else { return centered .* inverse }   // one multiply (and one add)
    let p = vec(params), c = s.channels
    return centered .* (reshape(p[0..<c], s.statShape) .* inverse) .+ reshape(p[c..<(2 * c)], s.statShape)
}

/// Training-mode batch normalization as one backend call (the running statistics updated
/// by it), with a backward pass that is one backend call unless an outer `grad` records
/// it, then the gradient of `normalizedWithBatchStatistics`. Nil when the backend
/// declines (the GPU without cuDNN) or the moments or params are not in x's dtype and
/// device: the caller composes the op.
private func fusedBatchNorm(_ x: Tensor, _ moments: BNMoments?, _ params: Tensor?, _ s: BatchNormShape) -> Tensor? {
    guard let layout = NormalizationLayout(shape: x.shape, dims: [s.cdim]) else { return nil }
    func usable(_ t: Tensor) -> Bool { t.dtype == x.dtype && t.device == x.device && t.isContiguous }
    var running: (mean: Tensor, variance: Tensor)?
    if let moments {
        _ = runningStats(moments, s.statShape, x)
        guard usable(moments.mean!), usable(moments.variance!) else { return nil }
        running = (moments.mean!, moments.variance!)
    }
    let p = params.map { vec($0).untracked.contiguousData() }
    if let p, !usable(p) { return nil }
    let c = s.channels
    let scale = p.map { $0[0..<c] } ?? Tensor.ones(shape: [c], dtype: x.dtype, device: x.device)
    let bias = p.map { $0[c..<(2 * c)] } ?? Tensor.zeros(shape: [c], dtype: x.dtype, device: x.device)
    let backend = Backend.on(x.device), input = x.untracked.contiguousData()
    guard let out = backend.batchNormTraining(input, scale: scale, bias: bias, running: running,
                                              momentum: moments?.momentum ?? 0, eps: s.eps, layout) else { return nil }
    return fusedPrimitive("batchnorm", [x] + (params.map { [$0] } ?? []), forward: { _ in out.y }) { dy, y, xs in
        if isUnrecorded(dy, y, xs),
           let g = backend.batchNormBackward(input, dy.contiguousData(), scale: scale, saved: out.saved, eps: s.eps, layout) {
            return [g.dx] + (xs.count > 1 ? [reshape(vcat(g.dscale, g.dbias), xs[1].shape)] : [])
        }
        return differentiate(xs, op: "batchnorm") { q in
            sum(normalizedWithBatchStatistics(q[0], q.count > 1 ? q[1] : nil, s).y .* dy)
        }.gradient
    }
}

/// The running mean and variance of `moments` shaped `statShape`, created by their
/// initialisers on first use (on `x`'s device); checked against input `x`.
private func runningStats(_ m: BNMoments, _ statShape: [Int], _ x: Tensor) -> (Tensor, Tensor) {
    if m.mean == nil { m.mean = m.meaninit(statShape, x.dtype).transferred(to: x.device) }
    if m.variance == nil { m.variance = m.varinit(statShape, x.dtype).transferred(to: x.device) }
    let c = statShape.reduce(1, *)
    for (name, t) in [("mean", m.mean!), ("variance", m.variance!)] {
        knetCheck(t.count == c, "batchnorm: running \(name) of shape \(t.shape) does not match \(c) channels of input \(x.shape)")
    }
    return (reshape(convert(m.mean!, to: x.dtype), statShape), reshape(convert(m.variance!, to: x.dtype), statShape))
}

/// running ← momentum · batch + (1 − momentum) · running, written into the existing tensors.
private func updateRunning(_ m: BNMoments, mean: Tensor, variance: Tensor, _ statShape: [Int], _ x: Tensor) {
    let (runMean, runVar) = runningStats(m, statShape, x)
    let k = m.momentum
    for (target, batch, running) in [(m.mean!, mean, runMean), (m.variance!, variance, runVar)] {
        target.assign(reshape(convert(batch .* k .+ running .* (1 - k), to: target.dtype), target.shape))
    }
}
