/// A fully connected layer, Knet's `wbf`: `activation(weight * mat(x) .+ bias)` with
/// `weight [out, in]` and `bias [out, 1]`. `x` is `[in, N]`, or any `[d1, …, dk, N]` with
/// `d1·…·dk == in` (flattened as `mat` does, so an image batch can come straight from a
/// convolution). `in` is inferred from the first input unless given. No activation by
/// default.
///
///     let fc = Dense(out: 10)                            // in inferred
///     let hidden = Dense(in: 784, out: 64, activation: .relu)   // built now
///     fc(Tensor.randn(64, 100)).shape                    // [10, 100]
public final class Dense: Layer {
    /// Output features.
    public let outputs: Int
    /// The activation after the affine map (nil: none).
    public let activation: Activation?
    /// Whether the layer has a bias.
    public let hasBias: Bool
    /// How the parameters are initialised when built.
    public let initialization: Initialization
    /// `[out, in]`, nil until built.
    public var weight: Tensor?
    /// `[out, 1]`, nil until built or without a bias.
    public var bias: Tensor?

    /// A layer with `out` outputs whose input size comes from the first input.
    public init(out: Int, activation: Activation? = nil, bias: Bool = true, initialization: Initialization = .knet) {
        knetCheck(out > 0, "Dense: out must be positive, got \(out)")
        outputs = out
        self.activation = activation
        hasBias = bias
        self.initialization = initialization
    }

    /// A layer built at once for `in` input features.
    ///
    ///     let d = Dense(in: 800, out: 500, activation: .relu, dtype: .float64)
    public convenience init(in inputs: Int, out: Int, activation: Activation? = nil, bias: Bool = true,
                            initialization: Initialization = .knet, dtype: DType = .float32, device: Device = .current) {
        self.init(out: out, activation: activation, bias: bias, initialization: initialization)
        build(for: [inputs, 1], dtype: dtype, device: device)
    }

    /// `activation(weight * mat(x) .+ bias)`: `[out, N]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        prepare(x)
        checkParameter(weight!, matches: x)
        let f = activation?.function ?? { $0 }
        guard let bias else { return f(weight! * mat(x)) }
        return wbf(weight!, bias, x, f: f)
    }

    /// `[out, N]` for `[in, N]` or `[d1, …, dk, N]`.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        knetCheck(inputShape.count >= 2,
                  "\(self): input must be [features, N] (or [d1, ..., dk, N], flattened), got shape \(inputShape)")
        let features = inputShape.dropLast().reduce(1, *)
        if let weight {
            knetCheck(weight.shape[1] == features,
                      "\(self): input of shape \(inputShape) has \(features) features per instance, but the layer "
                      + "was built for \(weight.shape[1]) (weight \(weight.shape))")
        } else if let (dtype, device) = context.build {
            knetCheck(features > 0, "\(self): input of shape \(inputShape) has no features")
            weight = initialization.weight([outputs, features], fanIn: features, dtype: dtype, device: device)
            if hasBias { bias = initialization.bias([outputs, 1], fanIn: features, dtype: dtype, device: device) }
        }
        return [outputs, inputShape.last!]
    }

    /// True once the weight exists.
    public var isBuilt: Bool { weight != nil }

    /// A copy with the weight and bias transformed (the layer must be built).
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Dense {
        requireBuilt()
        let copy = Dense(out: outputs, activation: activation, bias: hasBias, initialization: initialization)
        copy.weight = try transform(weight!)
        copy.bias = try bias.map(transform)
        return copy
    }

    /// E.g. "Dense(800 => 500, relu)", or "Dense(out: 500, relu)" before it is built.
    public var description: String {
        let size = weight.map { "\($0.shape[1]) => \(outputs)" } ?? "out: \(outputs)"
        return "Dense(\(size)" + (activation.map { ", \($0)" } ?? "") + (hasBias ? "" : ", bias: false") + ")"
    }
}
