/// An array of unsigned bytes read from an IDX file (the format of MNIST and
/// Fashion-MNIST): `dims` as the file lists them (row-major, slowest first, e.g.
/// `[60000, 28, 28]`), `values` the payload in file order.
///
///     let labels = try readIDX("t10k-labels-idx1-ubyte.gz").labels   // [7, 2, 1, ...]
public struct IDXArray: Sendable {
    /// The dimensions in file order (the last varies fastest).
    public let dims: [Int]
    /// The payload bytes in file order, `dims.reduce(1, *)` of them.
    public let values: ArraySlice<UInt8>

    /// The values as 0-based integer classes (for a label file).
    ///
    ///     let y = try readIDX(path).labels
    public var labels: [Int] { values.map { Int($0) } }

    /// The values times `scale` as a tensor. File order is row-major, so the
    /// column-major tensor has the dims reversed (`[28, 28, 60000]` for MNIST images:
    /// `x[c, r, i]` is row `r`, column `c` of image `i`, as in Knet.jl), unless `shape`
    /// (with the same element count) is given.
    ///
    ///     let x = try readIDX(path).tensor(scale: 1.0 / 255, shape: [28, 28, 1, 60000])
    public func tensor(scale: Double = 1, shape: [Int]? = nil, dtype: DType = .float32, device: Device = .current) -> Tensor {
        let shape = shape ?? dims.reversed()
        knetCheck(shape.reduce(1, *) == values.count,
                  "IDXArray.tensor: shape \(shape) does not hold the \(values.count) values of dims \(dims)")
        switch dtype {
        case .float32: let s = Float(scale); return Tensor(values.map { Float($0) * s }, shape: shape, dtype: dtype, device: device)
        case .float64: return Tensor(values.map { Double($0) * scale }, shape: shape, dtype: dtype, device: device)
        }
    }
}

/// Reads an IDX file of unsigned bytes (type code 0x08), gzipped or not, checking the
/// magic number and that the file holds exactly the data its header declares.
/// Throws `DataError` naming the path on any problem.
///
///     let images = try readIDX("/data/train-images-idx3-ubyte.gz")   // dims [60000, 28, 28]
public func readIDX(_ path: String) throws -> IDXArray {
    try parseIDX(readDataFile(path), path: path)
}

/// `readIDX(_:)` for the bytes of an IDX file already in memory (gzipped or not);
/// `name` stands for the file's path in errors. The dims are checked against the byte
/// count before anything is allocated, and decompression never produces more than
/// 1032 bytes per compressed byte (DEFLATE's largest ratio).
///
///     let labels = try readIDX(bytes: downloaded, name: "labels.gz").labels
public func readIDX(bytes: [UInt8], name: String = "<bytes>") throws -> IDXArray {
    try parseIDX(bytes, path: name)
}

/// Parses IDX bytes (decompressing them first when they start with the gzip magic).
func parseIDX(_ raw: [UInt8], path: String) throws -> IDXArray {
    func corrupt(_ why: String) -> DataError { .corrupt(path: path, reason: why) }
    var data = raw
    if data.count >= 2 && data[0] == 0x1f && data[1] == 0x8b {
        do { data = try gunzip(data) } catch let e as InflateError { throw corrupt("gzip: \(e)") }
    }
    guard data.count >= 4 else { throw corrupt("IDX: \(data.count) bytes, too short for the 4-byte magic number") }
    guard data[0] == 0, data[1] == 0 else {
        throw corrupt("IDX: bad magic number (first bytes \(data[0]), \(data[1]); expected 0, 0)")
    }
    guard data[2] == 0x08 else {
        throw corrupt("IDX: element type 0x\(String(data[2], radix: 16)) is not supported (only unsigned bytes, 0x08)")
    }
    let ndims = Int(data[3])
    guard ndims >= 1 else { throw corrupt("IDX: zero dimensions") }
    let header = 4 + 4 * ndims
    guard data.count >= header else {
        throw corrupt("IDX: truncated header (\(data.count) bytes, \(ndims) dims need \(header))")
    }
    var dims: [Int] = []
    var nonzero = 1      // the product of the nonzero dims: with it no partial product of the dims overflows
    for d in 0..<ndims {
        let o = 4 + 4 * d
        let n = Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3])
        dims.append(n)
        let (product, overflow) = nonzero.multipliedReportingOverflow(by: Swift.max(n, 1))
        guard !overflow else { throw corrupt("IDX: dims \(dims) are too large") }
        nonzero = product
    }
    let total = dims.contains(0) ? 0 : nonzero
    guard data.count - header == total else {
        let what = data.count - header < total ? "truncated" : "has trailing data"
        throw corrupt("IDX: \(what): dims \(dims) need \(total) data bytes, the file has \(data.count - header)")
    }
    return IDXArray(dims: dims, values: data[header...])
}
