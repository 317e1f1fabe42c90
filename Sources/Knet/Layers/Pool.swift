/// A pooling layer over Knet's `pool`: each channel's windows of `[X1, X2, (X3), C, N]`
/// reduced to their maximum or average, `Yi = 1 + (Xi + 2·padding − window) ÷ stride`.
/// No parameters.
///
///     Pool(2)                                  // 2×2 max pooling, stride 2
///     Pool(3, padding: 1, stride: 1, mode: .average)
public final class Pool: Layer {
    /// What a window is reduced to (`pool`'s `mode` 0, 1, 2).
    public enum Mode: Int, Sendable {
        /// The maximum (padding never wins).
        case max = 0
        /// The average, padding zeros counted.
        case average = 1
        /// The average over the real elements only.
        case averageExcludingPadding = 2
    }

    /// Window, padding (both ends) and stride (default: the window), per spatial dim.
    public let window: PoolSize, padding: PoolSize, stride: PoolSize?
    /// The reduction.
    public let mode: Mode

    /// A pooling layer; the options are `pool`'s.
    public init(_ window: PoolSize = 2, padding: PoolSize = 0, stride: PoolSize? = nil, mode: Mode = .max) {
        self.window = window; self.padding = padding; self.stride = stride; self.mode = mode
    }

    /// `pool(x, window:, padding:, stride:, mode:)`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        pool(x, window: window, padding: padding, stride: stride, mode: mode.rawValue)
    }

    /// `pool`'s size rule (checked as `pool` checks it).
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        PoolDescriptor("\(self)", input: inputShape, window: window, padding: padding, stride: stride,
                       mode: mode.rawValue, maxpoolingNanOpt: 0, alpha: 1).outputShape(inputShape)
    }

    /// Itself: no parameters.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Pool { self }

    /// E.g. "Pool(2, max)".
    public var description: String {
        var parts = ["\(window)", "\(mode)"]
        if padding != 0 { parts.append("padding: \(padding)") }
        if let stride, stride != window { parts.append("stride: \(stride)") }
        return "Pool(" + parts.joined(separator: ", ") + ")"
    }
}
