/// A residual (skip) block: `block(x) + x`, or `block(x) + projection(x)` when the block
/// changes the shape (ResNet's downsampling shortcut). Both terms must have the same
/// shape. Follow it with an activation for ResNet's `relu(block(x) + x)`.
///
///     Residual(Chain(Conv(3, 3, out: 64, padding: 1), BatchNorm(), .relu,
///                    Conv(3, 3, out: 64, padding: 1), BatchNorm()))
///     Residual(Chain(Conv(3, 3, out: 128, padding: 1, stride: 2), BatchNorm()),
///              projection: Chain(Conv(1, 1, out: 128, stride: 2), BatchNorm()))
public final class Residual: Layer {
    /// The main path.
    public let block: any Layer
    /// The shortcut path, or nil for the identity.
    public let projection: (any Layer)?

    /// `block(x) + (projection ?? identity)(x)`.
    public init(_ block: any Layer, projection: (any Layer)? = nil) {
        self.block = block
        self.projection = projection
    }

    /// `block(x) + shortcut`, where the shortcut is `x` or `projection(x)`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = block(x), skip = projection?(x) ?? x
        checkShapes(y.shape, skip.shape, input: x.shape)
        return y + skip
    }

    /// The block's output shape, which must equal the shortcut's.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        let y = context.outputShape(of: block, for: inputShape)
        let skip = projection.map { context.outputShape(of: $0, for: inputShape) } ?? inputShape
        checkShapes(y, skip, input: inputShape)
        return y
    }

    private func checkShapes(_ y: [Int], _ skip: [Int], input: [Int]) {
        knetCheck(y == skip, "Residual: the block maps input \(input) to \(y) but the "
                  + (projection == nil ? "identity shortcut keeps \(skip); give a projection: to match it"
                                       : "projection gives \(skip)"))
    }

    /// The block and the projection.
    public var sublayers: [any Layer] { [block] + (projection.map { [$0] } ?? []) }

    /// The block's and the projection's `mapTensors` copies.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Residual {
        Residual(try block.mapTensors(transform), projection: try projection.map { try $0.mapTensors(transform) })
    }

    /// "Residual" or "Residual(projection)".
    public var description: String { projection == nil ? "Residual" : "Residual(projection)" }
}
