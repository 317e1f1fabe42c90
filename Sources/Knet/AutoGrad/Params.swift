/// A container of tensors that `grad` can differentiate with respect to and `update`
/// can optimise: a `Tensor`, `[Tensor]`, `[String: Tensor]`, nestings of these, or
/// your own struct (conform with `mapTensors`, or list key paths with `TensorStruct`).
///
///     struct Linear: Params {
///         var w: Tensor, b: Tensor
///         func mapTensors(_ f: (Tensor) throws -> Tensor) rethrows -> Linear {
///             Linear(w: try f(w), b: try f(b))
///         }
///     }
public protocol Params {
    /// The same structure with every tensor replaced by `transform(tensor)`, visiting
    /// tensors in a fixed order.
    func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Self

    /// The tensors in `mapTensors` order (a requirement so that `Tensor` and `[Tensor]`,
    /// which every training step asks, answer without building the list one by one).
    ///
    ///     [w1, b1].tensors.count   // 2
    var tensors: [Tensor] { get }
}

extension Params {
    /// The tensors in `mapTensors` order, collected by `mapTensors`.
    ///
    ///     [w1, b1].tensors.count   // 2
    public var tensors: [Tensor] {
        var out: [Tensor] = []
        _ = mapTensors { out.append($0); return $0 }
        return out
    }
}

/// A `Params` struct described by the key paths of its tensor fields.
///
///     struct MLP: TensorStruct {
///         var w1: Tensor, b1: Tensor
///         static let tensorKeyPaths = [\MLP.w1, \MLP.b1]
///     }
public protocol TensorStruct: Params {
    /// The writable key paths of the tensors, in a fixed order.
    static var tensorKeyPaths: [WritableKeyPath<Self, Tensor>] { get }
}

extension TensorStruct {
    /// Maps the tensors named by `tensorKeyPaths`.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Self {
        var copy = self
        for path in Self.tensorKeyPaths { copy[keyPath: path] = try transform(copy[keyPath: path]) }
        return copy
    }
}

extension Tensor: Params {
    /// A tensor is a container of one tensor.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Tensor {
        try transform(self)
    }

    /// `[self]`.
    public var tensors: [Tensor] { [self] }
}

extension Array: Params where Element: Params {
    /// Maps every element in order.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> [Element] {
        if Element.self == Tensor.self {        // the common case, without a generic call per element
            return unsafeBitCast(try unsafeBitCast(self, to: [Tensor].self).map(transform), to: [Element].self)
        }
        return try map { try $0.mapTensors(transform) }
    }

    /// The elements' tensors in order (an array of tensors is itself).
    public var tensors: [Tensor] {
        Element.self == Tensor.self ? unsafeBitCast(self, to: [Tensor].self) : flatMap(\.tensors)
    }
}

extension Dictionary: Params where Value: Params {
    /// Maps every value (in the dictionary's own iteration order).
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> [Key: Value] {
        try mapValues { try $0.mapTensors(transform) }
    }
}

extension Optional: Params where Wrapped: Params {
    /// Maps the wrapped value, if any.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Wrapped? {
        try map { try $0.mapTensors(transform) }
    }
}
