// The one door between Swift values and tensor memory: host pointers of host storage,
// and the conversions that build tensors from Swift values or read them back. A tensor
// on a GPU is copied through the host explicitly (`transferred(to:)`), so everything that
// reads or writes bytes (printing, `[Float](t)`, files, datasets) works on every device.

extension Storage {
    /// The host address of host storage. Stops for device storage: code that gets here
    /// with a GPU tensor has skipped its backend.
    @inline(__always) var pointer: UnsafeMutableRawPointer {
        guard case .host(let address) = buffer else {
            knetFail("internal: host pointer asked of a tensor on \(device); this path must go through its backend")
        }
        return UnsafeMutableRawPointer(bitPattern: address)!
    }

    /// `pointer`, typed. The caller checks the dtype.
    @inline(__always) func typed<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        pointer.assumingMemoryBound(to: T.self)
    }
}

extension Tensor {
    /// Pointer to the first element of a host tensor, typed. The caller checks the dtype.
    @inline(__always) func pointer<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        storage.typed(T.self) + offset
    }

    /// Calls `body` with the bytes of contiguous host tensor `t` (for file readers that
    /// fill a fresh tensor in place).
    func withUnsafeMutableHostBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        knetCheck(device == .cpu && isContiguous, "internal: host bytes of a \(device) tensor of shape \(shape)")
        return try body(UnsafeMutableRawBufferPointer(start: storage.pointer + offset * dtype.size, count: count * dtype.size))
    }

    /// Calls `body` with the bytes of this tensor's values in column-major order (a host
    /// copy when the tensor is on a GPU or strided).
    func withUnsafeHostBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let host = transferred(to: .cpu)
        return try body(UnsafeRawBufferPointer(start: host.storage.pointer + host.offset * dtype.size, count: count * dtype.size))
    }

    /// A tensor from Swift values in column-major order, on `device` (default: the
    /// default device, `.cpu` unless changed).
    ///
    ///     let m = Tensor([1, 2, 3, 4], shape: [2, 2])          // [1 3; 2 4]
    ///     let v = Tensor([0.5, 1.5], device: .gpu(0))         // shape [2] on gpu0
    public convenience init<S: Sequence>(_ values: S, shape: [Int]? = nil, dtype: DType = .float32,
                                         device: Device = .current)
    where S.Element: BinaryFloatingPoint {
        let array = Array(values)
        let shape = shape ?? [array.count]
        knetCheck(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        knetCheck(shape.reduce(1, *) == array.count,
                  "Tensor: \(array.count) values do not fill shape \(shape)")
        let host = Tensor(uninitialized: shape, dtype: dtype)
        switch dtype {
        case .float32: let p = host.pointer(Float.self); for (i, v) in array.enumerated() { p[i] = Float(v) }
        case .float64: let p = host.pointer(Double.self); for (i, v) in array.enumerated() { p[i] = Double(v) }
        }
        self.init(moving: host, to: device)
    }

    /// `host` itself on the CPU, else a handle on a fresh copy of it on `device`.
    private convenience init(moving host: Tensor, to device: Device) {
        let t = host.transferred(to: device)
        self.init(storage: t.storage, shape: t.shape, strides: nil, offset: t.offset)
    }

    /// A tensor from integer values (converted to `dtype`).
    ///
    ///     let t = Tensor([1, 2, 3], shape: [3, 1])
    public convenience init(_ values: [Int], shape: [Int]? = nil, dtype: DType = .float32, device: Device = .current) {
        self.init(values.map { Double($0) }, shape: shape, dtype: dtype, device: device)
    }

    /// A 0-dimensional tensor holding one number.
    ///
    ///     let s = Tensor(scalar: 3.5)   // shape [], count 1
    public convenience init(scalar: Double, dtype: DType = .float32, device: Device = .current) {
        self.init([scalar], shape: [], dtype: dtype, device: device)
    }

    /// The single element of a one-element tensor, as a `Double` (read from the device,
    /// which waits for the work producing it).
    ///
    ///     let loss = sum(x).scalar
    public var scalar: Double {
        knetCheck(count == 1, "scalar: tensor of shape \(shape) has \(count) elements, not 1")
        return self[flat: 0]
    }

    /// The single element as a `Float`.
    public var floatValue: Float { Float(scalar) }

    /// Storage offset of column-major linear position `i` of the logical array.
    private func storageOffset(_ i: Int) -> Int {
        var rem = i, off = offset
        for d in shape.indices { off += (rem % shape[d]) * stride(d); rem /= shape[d] }
        return off
    }

    /// Element at column-major linear position `i` of the logical array.
    subscript(flat i: Int) -> Double {
        let element = view(shape: [], strides: [], offset: storageOffset(i))
        let host = element.transferred(to: .cpu)
        switch dtype {
        case .float32: return Double(host.pointer(Float.self).pointee)
        case .float64: return host.pointer(Double.self).pointee
        }
    }

    /// Writes element `i` (column-major position) of the logical array; for gradcheck.
    func setFlat(_ i: Int, _ v: Double) {
        Backend.on(device).fill(view(shape: [], strides: [], offset: storageOffset(i)), v)
    }
}

extension Array where Element == Float {
    /// The tensor's elements in column-major order, converted to `Float` (copied from
    /// the device when the tensor is on a GPU).
    ///
    ///     let values = [Float](Tensor([1, 2, 3]))   // [1.0, 2.0, 3.0]
    public init(_ t: Tensor) {
        let c = t.transferred(to: .cpu)
        switch c.dtype {
        case .float32: self = Array(UnsafeBufferPointer(start: c.pointer(Float.self), count: c.count))
        case .float64: self = UnsafeBufferPointer(start: c.pointer(Double.self), count: c.count).map { Float($0) }
        }
    }
}

extension Array where Element == Double {
    /// The tensor's elements in column-major order, converted to `Double` (copied from
    /// the device when the tensor is on a GPU).
    ///
    ///     let values = [Double](Tensor([1, 2, 3]))   // [1.0, 2.0, 3.0]
    public init(_ t: Tensor) {
        let c = t.transferred(to: .cpu)
        switch c.dtype {
        case .float32: self = UnsafeBufferPointer(start: c.pointer(Float.self), count: c.count).map { Double($0) }
        case .float64: self = Array(UnsafeBufferPointer(start: c.pointer(Double.self), count: c.count))
        }
    }
}
