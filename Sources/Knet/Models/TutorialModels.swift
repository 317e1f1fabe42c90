// The Knet tutorial's models, defined once: the `knet` program and the benchmark table
// (KnetBenchmarks) both train these. Each is its parameters' shapes and initialisation
// and its prediction function; how it is trained (optimizer, epochs, data) is the
// caller's.

/// A tutorial model: fresh parameters and the prediction of a minibatch.
///
///     let model = TutorialModel.mlp(hidden: [64])
///     var w = model.parameters()
///     let scores = model.predict(w, x)            // [10, B] for x [784, B] or [28, 28, 1, B]
public struct TutorialModel: Sendable {
    /// A short name, e.g. "mlp 784-64-10".
    public let name: String
    /// New parameters, drawn from the package's random generator (`setseed`).
    public let parameters: @Sendable () -> [Tensor]
    /// The output for inputs `x` (scores `[10, B]`, or predictions `[1, B]` for linreg).
    public let predict: @Sendable ([Tensor], Tensor) -> Tensor

    /// A model from its parts.
    public init(name: String, parameters: @escaping @Sendable () -> [Tensor],
                predict: @escaping @Sendable ([Tensor], Tensor) -> Tensor) {
        self.name = name; self.parameters = parameters; self.predict = predict
    }

    /// Linear regression on 13 Housing features: `w[0] * x .+ w[1]`, weights `0.1·randn(1, 13)`.
    public static let linreg = TutorialModel(
        name: "linreg", parameters: { [Tensor.randn(1, 13) * 0.1, Tensor.zeros(1, 1)] },
        predict: { w, x in w[0] * x .+ w[1] })

    /// Softmax regression on MNIST: scores `w[0] * mat(x) .+ w[1]`, weights `0.1·randn(10, 784)`.
    public static let softmax = TutorialModel(
        name: "softmax", parameters: { [Tensor.randn(10, 784) * 0.1, Tensor.zeros(10, 1)] },
        predict: { w, x in w[0] * mat(x) .+ w[1] })

    /// A multi-layer perceptron on MNIST with relu hidden layers of the given sizes
    /// (`0.1·randn` weights, zero biases), e.g. the tutorial's `mlp(hidden: [64])`.
    public static func mlp(hidden: [Int] = [64]) -> TutorialModel {
        let widths = [784] + hidden + [10]
        return TutorialModel(name: "mlp \(widths.map(String.init).joined(separator: "-"))", parameters: {
            zip(widths.dropFirst(), widths).flatMap { out, inp in [Tensor.randn(out, inp) * 0.1, Tensor.zeros(out, 1)] }
        }, predict: { w, x in
            var h = mat(x)
            for i in stride(from: 0, to: w.count - 2, by: 2) { h = relu(w[i] * h .+ w[i + 1]) }
            return w[w.count - 2] * h .+ w[w.count - 1]
        })
    }

    /// LeNet on MNIST: two `cbfp` layers (5×5 convolutions to 20 and 50 channels, relu,
    /// 2×2 max pooling), a relu layer of 500 and a linear layer of 10, Knet's `xavier`
    /// initialisation; images `[28, 28, 1, B]` (or columns `[784, B]`).
    public static let lenet = TutorialModel(name: "lenet", parameters: {
        cbfpParams(window: 5, inputs: 1, outputs: 20) + cbfpParams(window: 5, inputs: 20, outputs: 50)
            + wbfParams(inputs: 800, outputs: 500) + wbfParams(inputs: 500, outputs: 10)
    }, predict: { w, x in
        let a = cbfp(w[2], w[3], cbfp(w[0], w[1], reshape(x, [28, 28, 1, -1])))
        return wbf(w[6], w[7], wbf(w[4], w[5], a), f: { $0 })
    })
}
