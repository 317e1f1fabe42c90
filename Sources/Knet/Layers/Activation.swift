/// An elementwise function as a layer, with a name for `summary`. The common ones are
/// static members, so a `Chain` or a layer's `activation:` can name them with a dot.
///
///     Chain(Conv(3, 3, out: 50, padding: 1), .relu, Pool(2))
///     Dense(out: 512, activation: .relu)
///     Activation({ x in x .* sigm(x) }, name: "swish")
public final class Activation: Layer {
    /// The name shown by `description` and `summary`.
    public let name: String
    /// The function applied to the input.
    public let function: (Tensor) -> Tensor

    /// An activation computing `function(x)`.
    ///
    ///     let act = Activation(tanh, name: "tanh")
    public init(_ function: @escaping (Tensor) -> Tensor, name: String = "Activation") {
        self.function = function
        self.name = name
    }

    /// `function(x)`, of any shape.
    public func callAsFunction(_ x: Tensor) -> Tensor { function(x) }

    /// The input shape (an elementwise function keeps it).
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] { inputShape }

    /// Itself: an activation holds no tensors.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Activation { self }

    /// The name, e.g. "relu".
    public var description: String { name }
}

extension Layer where Self == Activation {
    /// `relu` as a layer.
    public static var relu: Activation { Activation(Knet.relu, name: "relu") }
    /// `sigm` (the logistic sigmoid) as a layer.
    public static var sigm: Activation { Activation(Knet.sigm, name: "sigm") }
    /// `tanh` as a layer.
    public static var tanh: Activation { Activation(Knet.tanh, name: "tanh") }
    /// `elu` as a layer.
    public static var elu: Activation { Activation(Knet.elu, name: "elu") }
    /// `selu` as a layer.
    public static var selu: Activation { Activation(Knet.selu, name: "selu") }
    /// `gelu` as a layer.
    public static var gelu: Activation { Activation(Knet.gelu, name: "gelu") }
    /// `softplus` as a layer.
    public static var softplus: Activation { Activation(Knet.softplus, name: "softplus") }
}
