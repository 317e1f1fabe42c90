/// Layers applied one after the other (Knet's `Chain`, PyTorch's `nn.Sequential`). A
/// chain is a layer, so chains nest. Its parameters are its layers' in order, saved under
/// the layer's position and field name ("0.weight", "0.bias", "3.params"...), as a
/// PyTorch `Sequential`'s `state_dict` names them.
///
///     let lenet = Chain(Conv(5, 5, out: 20), .relu, Pool(2), Conv(5, 5, out: 50), .relu, Pool(2),
///                       Dense(out: 500, activation: .relu), Dense(out: 10))
///     let scores = lenet(x)                 // x [28, 28, 1, N] → [10, N]
public final class Chain: Layer, CustomReflectable {
    /// The layers, applied first to last.
    public let layers: [any Layer]

    /// A chain of `layers`.
    public init(_ layers: any Layer...) { self.layers = layers }

    /// A chain of the layers in an array.
    ///
    ///     let mlp = Chain(sizes.map { Dense(out: $0, activation: .relu) as any Layer })
    public init(_ layers: [any Layer]) { self.layers = layers }

    /// The layer at `index`.
    public subscript(index: Int) -> any Layer { layers[index] }

    /// `x` through every layer in order.
    public func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }

    /// Each layer's rule applied in order.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        layers.reduce(inputShape) { context.outputShape(of: $1, for: $0) }
    }

    /// The layers.
    public var sublayers: [any Layer] { layers }

    /// A chain of the layers' `mapTensors` copies.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Chain {
        Chain(try layers.map { try $0.mapTensors(transform) })
    }

    /// "Chain".
    public var description: String { "Chain" }

    /// The layers as children named by position (how checkpoints name the tensors).
    public var customMirror: Mirror {
        Mirror(self, children: layers.enumerated().map { (label: String($0.offset), value: $0.element as Any) },
               displayStyle: .struct)
    }
}
