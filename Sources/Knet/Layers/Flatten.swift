/// Flattens each instance: `[d1, …, dk, N]` → `[d1·…·dk, N]` (Knet's `mat`), e.g. a
/// convolution's `[5, 5, 256, N]` into `[6400, N]` for a `Dense`.
///
///     Chain(Conv(3, 3, out: 8), Flatten(), Dense(out: 10))
public final class Flatten: Layer {
    /// A flattening layer.
    public init() {}

    /// `mat(x)`; `x` needs a batch dim (at least 2 dims).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        _ = outputShape(for: x.shape, in: ShapeContext(build: nil))
        return mat(x)
    }

    /// `[product of all dims but the last, last dim]`.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        knetCheck(inputShape.count >= 2, "Flatten: input must have a batch dim [..., N], got shape \(inputShape)")
        return [inputShape.dropLast().reduce(1, *), inputShape.last!]
    }

    /// Itself: no parameters.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Flatten { self }

    /// "Flatten".
    public var description: String { "Flatten" }
}
