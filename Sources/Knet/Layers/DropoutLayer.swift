/// Dropout as a layer over Knet's `dropout`: in `.train` mode (the default) each element
/// becomes 0 with probability `p`, the others are scaled by 1/(1−p), only while a gradient
/// is recorded (inside `grad`), as `dropout` does; in `.eval` mode it is the identity,
/// inside `grad` too. No parameters.
///
///     let model = Chain(Dense(out: 512, activation: .relu), Dropout(0.5), Dense(out: 10))
///     model.eval()                              // dropout off for evaluation
public final class Dropout: Layer {
    /// The probability of dropping an element.
    public let p: Double
    /// `.train` (Knet's rule) or `.eval` (identity).
    public var mode: LayerMode

    /// Dropout with probability `p` in [0, 1].
    public init(_ p: Double, mode: LayerMode = .train) {
        knetCheck(p >= 0 && p <= 1, "Dropout: probability \(p) not in [0, 1]")
        self.p = p
        self.mode = mode
    }

    /// `dropout(x, p)` in training mode, `x` in eval mode.
    public func callAsFunction(_ x: Tensor) -> Tensor { mode == .eval ? x : dropout(x, p) }

    /// The input shape.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] { inputShape }

    /// Sets the mode.
    public func setMode(_ mode: LayerMode) { self.mode = mode }

    /// A copy (same probability and mode): dropout holds no tensors.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Dropout { Dropout(p, mode: mode) }

    /// E.g. "Dropout(0.25)".
    public var description: String { "Dropout(\(p)" + (mode == .eval ? ", eval" : "") + ")" }
}
