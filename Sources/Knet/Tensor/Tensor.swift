/// An n-dimensional array of `Float` or `Double` on the CPU (or, later, a GPU).
///
/// Column-major and 0-based: `shape[0]` varies fastest, a minibatch is
/// `[features, batch]`, an image batch `[W, H, C, N]`. A `Tensor` is a reference
/// (like a Julia array): views made by `reshape` or range indexing share memory.
/// While `grad` records, ops return tensors that carry their place on the tape.
///
/// Not `Sendable` (as MLX Swift's `MLXArray`): in-place ops (`update`, `assign`, `x[i] = t`)
/// write the shared memory without synchronisation, and a recorded tensor appends to
/// its thread's tape. Each thread may train its own model; to hand values to another
/// task, copy them out (`[Float](t)`) and make a tensor there.
///
/// Thread safety: any number of threads may read a tensor and run ops on it at once
/// (each thread records on tapes of its own). Writing one in place — `assign`, indexed
/// assignment, `update` — is not synchronized: do it from one thread at a time, with no
/// other thread reading it meanwhile. A second thread writing a tensor while another
/// writes it stops with a usage error rather than interleaving the writes; a read racing
/// a write is not detected.
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
    /// A contiguous tensor with the same values (self when already contiguous), on the
    /// same device. Not recorded; use `copy(_:)` for a differentiable copy.
    func contiguousData() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitialized: shape, dtype: dtype, device: device)
        Backend.on(device).copy(from: self, to: out)
        return out
    }

    /// A contiguous copy of this tensor's values on `target` (self when it is already a
    /// contiguous tensor there). Not recorded: `to(_:)` is the differentiable move.
    func transferred(to target: Device) -> Tensor {
        let source = contiguousData()
        if device == target { return source }
        let out = Tensor(uninitialized: shape, dtype: dtype, device: target)
        switch (device, target) {
        case (.cpu, _): Backend.on(target).upload(source, into: out)
        case (_, .cpu): Backend.on(device).download(source, into: out)
        default:                                  // GPU to GPU goes through the host
            let host = Tensor(uninitialized: shape, dtype: dtype, device: .cpu)
            Backend.on(device).download(source, into: host)
            Backend.on(target).upload(host, into: out)
        }
        return out
    }
}
