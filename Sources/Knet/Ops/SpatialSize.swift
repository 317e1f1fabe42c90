/// A size per spatial dimension for convolution and pooling options (window, padding,
/// stride, dilation): one number for every spatial dim, or one per dim (first dim
/// first, as the tensor's).
///
///     conv4(w, x, padding: 1, stride: [2, 1])
///     pool(x, window: [2, 3])
///     conv4(w, x, padding: SpatialSize(p))      // from a variable
public struct SpatialSize: ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, Equatable, Sendable,
                           CustomStringConvertible {
    /// One value (shared by every spatial dim) or one per spatial dim.
    public let values: [Int]

    /// The same size along every spatial dim: `SpatialSize(2)`.
    public init(_ value: Int) { values = [value] }
    /// One size per spatial dim: `SpatialSize([2, 1])`.
    public init(_ values: [Int]) { self.values = values }
    /// `padding: 1`
    public init(integerLiteral value: Int) { values = [value] }
    /// `stride: [2, 1]`
    public init(arrayLiteral elements: Int...) { values = elements }

    /// `2` or `[2, 1]`.
    public var description: String { values.count == 1 ? "\(values[0])" : "\(values)" }

    /// One value per spatial dim of `dims`; a usage error naming `op`, the option `name`
    /// and `context` (the shapes) when the count is neither 1 nor `dims`.
    func perDim(_ dims: Int, _ op: String, _ name: String, _ context: @autoclosure () -> String) -> [Int] {
        knetCheck(values.count == 1 || values.count == dims,
                  "\(op): \(name)=\(self) needs 1 or \(dims) values for \(dims) spatial dims (\(context()))")
        return values.count == 1 ? Array(repeating: values[0], count: dims) : values
    }
}

/// The per-dim options of `conv4`/`deconv4` (padding, stride, dilation).
public typealias ConvSize = SpatialSize
/// The per-dim options of `pool`/`unpool` (window, padding, stride).
public typealias PoolSize = SpatialSize
