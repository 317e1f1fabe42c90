/// Any function of a tensor as a layer (Knet's plain functions inside a `Chain`). Give
/// `shape:` the function's shape rule for `outputShape` and `summary`; without it the
/// rule is found by calling the function once on zeros of the input shape (outside
/// `grad`), the one case where a shape is computed by running code. Tensors the function
/// captures are not parameters of the model (put trainable ones in a layer).
///
///     Chain(Conv(3, 3, out: 8), Lambda("square") { x in x .* x }, Flatten(), Dense(out: 10))
///     Lambda("last step", shape: { [$0[0], $0[1]] }) { y in y[.all, .all, y.shape[2] - 1] }
public final class Lambda: Layer {
    /// The name shown by `description` and `summary`.
    public let name: String
    /// The function.
    public let function: (Tensor) -> Tensor
    /// The function's shape rule, if given.
    public let shapeRule: (([Int]) -> [Int])?

    /// A layer computing `function(x)`, with an optional shape rule.
    ///
    ///     let double = Lambda { x in 2 .* x }
    public init(_ name: String = "Lambda", shape: (([Int]) -> [Int])? = nil,
                _ function: @escaping (Tensor) -> Tensor) {
        self.name = name
        self.shapeRule = shape
        self.function = function
    }

    /// `function(x)`.
    public func callAsFunction(_ x: Tensor) -> Tensor { function(x) }

    /// `shape(inputShape)`, or the shape of `function(zeros(inputShape))`.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        if let shapeRule { return shapeRule(inputShape) }
        let probe = Tensor.zeros(shape: inputShape, dtype: context.build?.dtype ?? .float32,
                                 device: context.build?.device ?? .current)
        return function(probe).shape
    }

    /// Itself: a lambda holds no parameters.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Lambda { self }

    /// The name.
    public var description: String { name }
}
