/// Global average pooling: each channel of `[X1, (X2, X3,) C, N]` averaged over its
/// spatial positions, giving `[C, N]` (PyTorch's `AdaptiveAvgPool2d(1)` followed by
/// `flatten(1)`, ResNet's pooled features). No parameters.
///
///     GlobalAveragePool()(Tensor.randn(7, 7, 2048, 32)).shape    // [2048, 32]
public final class GlobalAveragePool: Layer {
    /// A global average pooling layer.
    public init() {}

    /// `mean(x, dims: spatial dims)` reshaped to `[C, N]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = outputShape(for: x.shape, in: ShapeContext(build: nil))
        return reshape(mean(x, dims: Array(0..<(x.ndims - 2))), y)
    }

    /// `[C, N]` for `[X..., C, N]` with 1 to 3 spatial dims.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        knetCheck((3...5).contains(inputShape.count) && inputShape.dropLast(2).allSatisfy { $0 > 0 },
                  "GlobalAveragePool: input must be [X1, (X2, X3,) C, N] with positive spatial sizes, got shape \(inputShape)")
        return Array(inputShape.suffix(2))
    }

    /// Itself: no parameters.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> GlobalAveragePool { self }

    /// "GlobalAveragePool".
    public var description: String { "GlobalAveragePool" }
}
