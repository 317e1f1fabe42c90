/// Batch normalization as a layer over Knet's `batchnorm`, per channel of `[C, N]`,
/// `[W, H, C, N]` or `[W, H, D, C, N]` input (C inferred): `params` is `bnparams(C)` (the
/// C scales, then the C biases) and `moments` the running mean and variance.
///
/// In `.train` mode (the default) it follows `batchnorm`'s rule: inside `grad` it
/// normalises with the batch's statistics and updates the running ones in place (in the
/// moments your model holds: a `grad` copy shares their tensors); outside `grad` it uses
/// the running statistics. In `.eval` mode it always uses the running statistics and
/// never changes them. The running statistics are state, not parameters: `grad` and the
/// optimizers never see them; `saveCheckpoint`/`loadCheckpoint` keep them; `.gpu()`
/// moves them with the parameters.
///
///     let bn = BatchNorm()
///     let y = bn(Tensor.randn(8, 8, 16, 32))   // params [32], moments [1, 1, 16, 1]
public final class BatchNorm: Layer {
    /// The small number added to the variance.
    public let eps: Double
    /// The running mean and variance (`momentum` is the batch's weight in their update).
    public var moments: BNMoments
    /// `[2C]`: scales then biases; nil until built.
    public var params: Tensor?
    /// `.train` (Knet's rule) or `.eval` (running statistics).
    public var mode: LayerMode

    /// A batch normalization whose channel count comes from the first input.
    public init(momentum: Double = 0.1, eps: Double = 1e-5, mode: LayerMode = .train) {
        knetCheck(momentum >= 0 && momentum <= 1 && eps > 0,
                  "BatchNorm: momentum \(momentum) must be in [0, 1] and eps \(eps) positive")
        self.eps = eps
        self.moments = BNMoments(momentum: momentum)
        self.mode = mode
    }

    private init(eps: Double, moments: BNMoments, params: Tensor, mode: LayerMode) {
        self.eps = eps; self.moments = moments; self.params = params; self.mode = mode
    }

    /// `batchnorm(x, moments, params)`, with `training: false` in eval mode.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        prepare(x)
        checkParameter(params!, matches: x)
        return batchnorm(x, moments, params, training: mode == .eval ? false : nil, eps: eps)
    }

    /// The input shape (2-, 4- or 5-d).
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        knetCheck([2, 4, 5].contains(inputShape.count),
                  "\(self): input must be [C, N], [W, H, C, N] or [W, H, D, C, N], got shape \(inputShape)")
        let cdim = inputShape.count == 2 ? 0 : inputShape.count - 2, c = inputShape[cdim]
        if let params {
            knetCheck(params.count == 2 * c, "\(self): input \(inputShape) has \(c) channels, but the layer was built "
                      + "for \(params.count / 2) (params \(params.shape))")
        } else if let (dtype, device) = context.build {
            params = bnparams(c, dtype: dtype, device: device)
            let stat = inputShape.indices.map { $0 == cdim ? c : 1 }
            if moments.mean == nil { moments.mean = Tensor.zeros(shape: stat, dtype: dtype, device: device) }
            if moments.variance == nil { moments.variance = Tensor.ones(shape: stat, dtype: dtype, device: device) }
        }
        return inputShape
    }

    /// True once `params` exists.
    public var isBuilt: Bool { params != nil }

    /// Sets the mode.
    public func setMode(_ mode: LayerMode) { self.mode = mode }

    /// A copy with `params` transformed. Its moments are a new `BNMoments` holding the
    /// same running-statistics tensors (so training a `grad` copy updates yours), or
    /// copies of them moved and converted when the transform changes the device or dtype
    /// (`.gpu()`, `convert`).
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> BatchNorm {
        requireBuilt()
        let p = try transform(params!)
        func carried(_ t: Tensor?) -> Tensor? {
            guard let t, t.device != p.device || t.dtype != p.dtype else { return t }
            return convert(t.untracked, to: p.dtype).untracked.transferred(to: p.device)
        }
        let m = BNMoments(momentum: moments.momentum, mean: carried(moments.mean), variance: carried(moments.variance),
                          meaninit: moments.meaninit, varinit: moments.varinit)
        return BatchNorm(eps: eps, moments: m, params: p, mode: mode)
    }

    /// E.g. "BatchNorm(16)" (its channels once known).
    public var description: String {
        "BatchNorm(" + (params.map { "\($0.count / 2)" } ?? "") + (mode == .eval ? (params == nil ? "eval" : ", eval") : "") + ")"
    }
}
