/// An n-dimensional array of `Float` or `Double` on the CPU (or, later, a GPU).
///
/// Column-major and 0-based: `shape[0]` varies fastest, a minibatch is
/// `[features, batch]`, an image batch `[W, H, C, N]`. A `Tensor` is a reference
/// (like a Julia array): views made by `reshape` or range indexing share memory.
/// While `grad` records, ops return tensors that carry their place on the tape.
///
///     let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
///     let y = exp(x) .+ 1
///     print(y.shape)   // [2, 3]
public final class Tensor {
    /// The size of each dimension.
    public let shape: [Int]
    /// Element strides of each dimension (column-major for a fresh tensor).
    public var strides: [Int] { explicitStrides ?? Tensor.columnMajorStrides(shape) }

    /// The stride of dimension `d` (`strides[d]` without building the array).
    ///
    ///     Tensor.zeros(3, 4).stride(1)   // 3
    @inline(__always)
    func stride(_ d: Int) -> Int {
        if let explicitStrides { return explicitStrides[d] }
        var s = 1
        for i in 0..<d { s *= shape[i] }
        return s
    }
    /// The strides when they are not plain column-major; nil for a contiguous tensor
    /// (the common case, which then costs no array and checks in O(1)).
    let explicitStrides: [Int]?
    /// Element offset of the first element into `storage`.
    let offset: Int
    let storage: Storage
    /// Non-nil when this value was recorded on a tape (see `AutoGrad/Tape.swift`).
    let tracker: Tracker?
    /// True for a tensor made by `Param(_:)`: `diff { }` records it automatically.
    public let isParam: Bool

    init(storage: Storage, shape: [Int], strides: [Int]?, offset: Int,
         tracker: Tracker? = nil, isParam: Bool = false) {
        self.storage = storage
        self.shape = shape
        self.explicitStrides = strides.flatMap { Tensor.isColumnMajor(shape, $0) ? nil : $0 }
        self.offset = offset
        self.tracker = tracker
        self.isParam = isParam
    }

    /// A fresh, uninitialised, contiguous tensor.
    convenience init(uninitialized shape: [Int], dtype: DType, device: Device = .cpu) {
        let n = shape.reduce(1, *)
        self.init(storage: Storage(count: n, dtype: dtype, device: device),
                  shape: shape, strides: nil, offset: 0)
    }

    /// Element type.
    public var dtype: DType { storage.dtype }
    /// Where the memory lives.
    public var device: Device { storage.device }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of dimensions.
    public var ndims: Int { shape.count }
    /// True when the elements are laid out densely in column-major order.
    public var isContiguous: Bool { explicitStrides == nil }
    /// True while this value is being recorded by an active `grad`/`diff`.
    public var isRecorded: Bool { tracker?.tape.isActive ?? false }

    /// Size of dimension `d` (0-based); 1 past the last dimension, as Julia's `size(x, d)`.
    public func size(_ d: Int) -> Int { d < shape.count ? shape[d] : 1 }

    /// Column-major strides of a dense array of `shape`.
    static func columnMajorStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in shape.indices { s[i] = acc; acc *= shape[i] }
        return s
    }

    /// True when `strides` walk `shape` densely in column-major order (size-1 dims
    /// may have any stride).
    static func isColumnMajor(_ shape: [Int], _ strides: [Int]) -> Bool {
        var expected = 1
        for d in shape.indices where shape[d] != 1 {
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// Pointer to the first element, typed. The caller checks the dtype.
    @inline(__always) func pointer<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        storage.typed(T.self) + offset
    }

    /// A handle on the same memory with another shape/strides, never recorded.
    func view(shape: [Int], strides: [Int]?, offset: Int) -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    /// This tensor's data with all tape boxes removed (same memory).
    var untracked: Tensor {
        tracker == nil && !isParam ? self : view(shape: shape, strides: explicitStrides, offset: offset)
    }
}

extension Tensor {
    /// A tensor from Swift values in column-major order.
    ///
    ///     let m = Tensor([1, 2, 3, 4], shape: [2, 2])          // [1 3; 2 4]
    ///     let v = Tensor([0.5, 1.5])                          // shape [2]
    public convenience init<S: Sequence>(_ values: S, shape: [Int]? = nil, dtype: DType = .float32)
    where S.Element: BinaryFloatingPoint {
        let array = Array(values)
        let shape = shape ?? [array.count]
        knetCheck(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        knetCheck(shape.reduce(1, *) == array.count,
                  "Tensor: \(array.count) values do not fill shape \(shape)")
        self.init(uninitialized: shape, dtype: dtype)
        switch dtype {
        case .float32: let p = pointer(Float.self); for (i, v) in array.enumerated() { p[i] = Float(v) }
        case .float64: let p = pointer(Double.self); for (i, v) in array.enumerated() { p[i] = Double(v) }
        }
    }

    /// A tensor from integer values (converted to `dtype`).
    ///
    ///     let t = Tensor([1, 2, 3], shape: [3, 1])
    public convenience init(_ values: [Int], shape: [Int]? = nil, dtype: DType = .float32) {
        self.init(values.map { Double($0) }, shape: shape, dtype: dtype)
    }

    /// A 0-dimensional tensor holding one number.
    ///
    ///     let s = Tensor(scalar: 3.5)   // shape [], count 1
    public convenience init(scalar: Double, dtype: DType = .float32) {
        self.init([scalar], shape: [], dtype: dtype)
    }

    /// The single element of a one-element tensor, as a `Double`.
    ///
    ///     let loss = sum(x).scalar
    public var scalar: Double {
        knetCheck(count == 1, "scalar: tensor of shape \(shape) has \(count) elements, not 1")
        return self[flat: 0]
    }

    /// The single element as a `Float`.
    public var floatValue: Float { Float(scalar) }

    /// Element at column-major linear position `i` of the logical array.
    subscript(flat i: Int) -> Double {
        var rem = i, off = offset
        for d in shape.indices { off += (rem % shape[d]) * strides[d]; rem /= shape[d] }
        switch dtype {
        case .float32: return Double(storage.typed(Float.self)[off])
        case .float64: return storage.typed(Double.self)[off]
        }
    }

    /// A contiguous tensor with the same values (self when already contiguous).
    /// Not recorded; use `copy(_:)` for a differentiable copy.
    func contiguousData() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitialized: shape, dtype: dtype, device: device)
        Backend.cpu.copy(from: self, to: out)
        return out
    }
}

extension Array where Element == Float {
    /// The tensor's elements in column-major order, converted to `Float`.
    ///
    ///     let values = [Float](Tensor([1, 2, 3]))   // [1.0, 2.0, 3.0]
    public init(_ t: Tensor) {
        let c = t.contiguousData()
        switch c.dtype {
        case .float32: self = Array(UnsafeBufferPointer(start: c.pointer(Float.self), count: c.count))
        case .float64: self = UnsafeBufferPointer(start: c.pointer(Double.self), count: c.count).map { Float($0) }
        }
    }
}

extension Array where Element == Double {
    /// The tensor's elements in column-major order, converted to `Double`.
    public init(_ t: Tensor) {
        let c = t.contiguousData()
        switch c.dtype {
        case .float32: self = UnsafeBufferPointer(start: c.pointer(Float.self), count: c.count).map { Double($0) }
        case .float64: self = Array(UnsafeBufferPointer(start: c.pointer(Double.self), count: c.count))
        }
    }
}
