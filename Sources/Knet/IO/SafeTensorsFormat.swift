// The safetensors file format: element types, the checked header, and reading one
// tensor's data (see SafeTensors.swift for the public API and the layout note).

/// The element types of the format (all of the specification's classic set). Floats
/// wider than 32 bits and integers wider than 16 bits load as Float64, the rest as
/// Float32: the smallest Knet dtype that holds every value of the type exactly (a 64-bit
/// integer that Float64 cannot hold, such as 2^53 + 1, is refused when met, not rounded).
enum StoredDType: String, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", u16 = "U16", i16 = "I16", u32 = "U32", i32 = "I32"
    case u64 = "U64", i64 = "I64", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
    case f16 = "F16", bf16 = "BF16", f32 = "F32", f64 = "F64"

    init(_ dtype: DType) { self = dtype == .float32 ? .f32 : .f64 }

    /// Bytes per element in the file.
    var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2: return 1
        case .u16, .i16, .f16, .bf16: return 2
        case .u32, .i32, .f32: return 4
        case .u64, .i64, .f64: return 8
        }
    }

    /// The tensor dtype it loads as.
    var dtype: DType {
        switch self {
        case .u32, .i32, .u64, .i64, .f64: return .float64
        default: return .float32
        }
    }
}

/// A validated header: every tensor's dtype, shape and byte range (ranges tile the data
/// buffer exactly), and the metadata. A dtype outside `StoredDType` (a newer format
/// revision's) is kept by name, so that only reading that tensor fails.
struct SafeTensorsHeader {
    struct Entry {
        let name: String
        /// The dtype as the file names it; `dtype` is nil where we cannot read it.
        let dtypeName: String
        let dtype: StoredDType?
        /// The safetensors (row-major) shape.
        let shape: [Int]
        let begin: Int
        let byteCount: Int
    }
    /// Sorted by `begin`.
    private(set) var entries: [Entry] = []
    private(set) var metadata: [String: String] = [:]

    init(_ bytes: [UInt8], bufferSize: Int, path: String) throws {
        func invalid(_ detail: String) -> SafeTensorsError { .invalidHeader(path: path, detail: detail) }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw invalid("not valid UTF-8") }
        let json: JSON
        do { json = try JSONParser.parse(bytes) } catch let e as JSONParser.Failure {
            throw invalid("invalid JSON at byte \(e.offset): \(e.reason)")
        }
        guard case .object(let members) = json else { throw invalid("the JSON is not an object") }

        var names = Set<String>()
        for (name, value) in members {
            guard names.insert(name).inserted else { throw SafeTensorsError.duplicateName(path: path, name: name) }
            if name == "__metadata__" {
                guard case .object(let pairs) = value else { throw invalid("__metadata__ is not an object") }
                for (k, v) in pairs {
                    guard case .string(let s) = v else { throw invalid("metadata value of \"\(k)\" is not a string") }
                    guard metadata.updateValue(s, forKey: k) == nil else { throw invalid("duplicate metadata key \"\(k)\"") }
                }
            } else {
                entries.append(try Self.entry(name, value, path: path))
            }
        }

        entries.sort { ($0.begin, $0.byteCount) < ($1.begin, $1.byteCount) }
        var end = 0
        for e in entries {
            if e.begin < end { throw SafeTensorsError.invalidOffsets(path: path, name: e.name, detail: "data overlaps another tensor's") }
            if e.begin > end { throw SafeTensorsError.invalidOffsets(path: path, name: e.name, detail: "gap of \(e.begin - end) bytes before its data") }
            end = e.begin + e.byteCount
        }
        if end > bufferSize {
            throw SafeTensorsError.truncated(path: path, detail: "the header describes \(end) data bytes but the file holds \(bufferSize)")
        }
        if end < bufferSize {
            throw SafeTensorsError.invalidOffsets(path: path, name: entries.last?.name ?? "",
                                                  detail: "\(bufferSize - end) bytes after the last tensor's data")
        }
    }

    /// Parses and checks one tensor's description.
    private static func entry(_ name: String, _ value: JSON, path: String) throws -> Entry {
        func invalid(_ detail: String) -> SafeTensorsError { .invalidHeader(path: path, detail: "tensor \"\(name)\": \(detail)") }
        guard case .object(let fields) = value else { throw invalid("description is not an object") }
        func field(_ key: String) throws -> JSON {
            let matches = fields.filter { $0.key == key }
            guard matches.count == 1 else { throw invalid(matches.isEmpty ? "missing \"\(key)\"" : "duplicate \"\(key)\"") }
            return matches[0].value
        }
        func integers(_ key: String) throws -> [Int] {
            guard case .array(let items) = try field(key) else { throw invalid("\"\(key)\" is not an array") }
            return try items.map {
                guard case .number(let text) = $0, let n = Int(text) else { throw invalid("\"\(key)\" holds a non-integer") }
                return n
            }
        }
        guard case .string(let dtypeName) = try field("dtype") else { throw invalid("\"dtype\" is not a string") }
        let shape = try integers("shape")
        let offsets = try integers("data_offsets")
        let dtype = StoredDType(rawValue: dtypeName)
        var count = 1, overflow = false
        for d in shape where !overflow {
            if d < 0 { throw SafeTensorsError.invalidShape(path: path, name: name, shape: "\(shape)") }
            (count, overflow) = count.multipliedReportingOverflow(by: d)
        }
        if overflow || dtype.map({ count.multipliedReportingOverflow(by: $0.size).overflow }) == true {
            throw SafeTensorsError.invalidShape(path: path, name: name, shape: "\(shape) (too many elements)")
        }
        guard offsets.count == 2 else { throw invalid("\"data_offsets\" does not hold 2 numbers") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end else {
            throw SafeTensorsError.invalidOffsets(path: path, name: name, detail: "invalid data offsets [\(begin), \(end)]")
        }
        if let dtype, end - begin != count * dtype.size {
            throw SafeTensorsError.invalidOffsets(path: path, name: name,
                detail: "data offsets [\(begin), \(end)] hold \(end - begin) bytes, but \(dtypeName)\(shape) needs \(count * dtype.size)")
        }
        return Entry(name: name, dtypeName: dtypeName, dtype: dtype, shape: shape, begin: begin, byteCount: end - begin)
    }
}

/// A safetensors file (or the bytes of one) with its header checked; tensors are read
/// one at a time, so that a reader that needs some tensors reads (and converts) only those.
struct SafeTensorsFile {
    let path: String
    let header: SafeTensorsHeader
    private let file: PositionedBytes
    private let dataStart: Int

    /// Opens `path` and checks its header against the file's size (nothing the header
    /// claims is allocated before that check).
    init(_ path: String) throws {
        try self.init(ReadOnlyFile(path, endOfFile: Self.endOfFile(path)), path: path)
    }

    /// The safetensors file held in `bytes`; `name` stands for its path in errors.
    init(bytes: [UInt8], name: String) throws {
        try self.init(InMemoryBytes(bytes: bytes, endOfFile: Self.endOfFile(name)), path: name)
    }

    private static func endOfFile(_ path: String) -> (Int, Int) -> Error {
        { at, expected in SafeTensorsError.truncated(path: path, detail: "end of file at byte \(at), expected \(expected)") }
    }

    private init(_ file: PositionedBytes, path: String) throws {
        guard file.size >= 8 else {
            throw SafeTensorsError.truncated(path: path, detail: "\(file.size) bytes, less than the 8-byte header length")
        }
        var length: UInt64 = 0
        try withUnsafeMutableBytes(of: &length) { try file.read(into: $0, at: 0) }
        length = UInt64(littleEndian: length)
        if length > safeTensorsHeaderLimit { throw SafeTensorsError.headerTooLarge(path: path, length: length) }
        guard length <= UInt64(file.size - 8) else {
            throw SafeTensorsError.truncated(path: path, detail: "header length \(length) but only \(file.size - 8) bytes follow it")
        }
        var headerBytes = [UInt8](repeating: 0, count: Int(length))
        try headerBytes.withUnsafeMutableBytes { try file.read(into: $0, at: 8) }
        let dataStart = 8 + Int(length)
        header = try SafeTensorsHeader(headerBytes, bufferSize: file.size - dataStart, path: path)
        (self.path, self.file, self.dataStart) = (path, file, dataStart)
    }

    /// The tensor `entry` describes, with its shape reversed to Knet's column-major order
    /// and its elements converted to `StoredDType.dtype`.
    func tensor(_ entry: SafeTensorsHeader.Entry) throws -> Tensor {
        guard let stored = entry.dtype else {
            throw SafeTensorsError.unsupportedDType(path: path, name: entry.name, dtype: entry.dtypeName)
        }
        let t = Tensor(uninitialized: entry.shape.reversed(), dtype: stored.dtype, device: .cpu)
        let at = dataStart + entry.begin
        try t.withUnsafeMutableHostBytes { memory in
            if stored == .f32 || stored == .f64 { return try file.read(into: memory, at: at) }
            try widen(memory, stored, at: at, name: entry.name)
        }
        return t
    }

    /// Reads `stored` elements at `at` into the end of `memory` and converts them in place
    /// to the tensor's dtype.
    private func widen(_ memory: UnsafeMutableRawBufferPointer, _ stored: StoredDType, at: Int, name: String) throws {
        // Widened in place: the stored elements (s bytes each) are read into the end of
        // the tensor's memory, at `tail`, and converted front to back into d-byte ones.
        // Element i is read before it is written, and its d bytes at i·d end before stored
        // element i+1 at tail + (i+1)·s, since (i+1)·(d − s) ≤ count·(d − s) = tail.
        let byteCount = memory.count / stored.dtype.size * stored.size, tail = memory.count - byteCount
        let raw = UnsafeMutableRawBufferPointer(start: memory.baseAddress! + tail, count: byteCount)
        try file.read(into: raw, at: at)
        if stored.dtype == .float64 {
            try decodeWide(UnsafeRawBufferPointer(raw), stored, into: memory.baseAddress!.assumingMemoryBound(to: Double.self), name: name)
        } else {
            decodeNarrow(UnsafeRawBufferPointer(raw), stored, into: memory.baseAddress!.assumingMemoryBound(to: Float.self))
        }
    }

    /// 32- and 64-bit integers to Double; a 64-bit value that Double cannot hold exactly
    /// (2^53 + 1, say) throws.
    private func decodeWide(_ bytes: UnsafeRawBufferPointer, _ stored: StoredDType,
                            into p: UnsafeMutablePointer<Double>, name: String) throws {
        let count = bytes.count / stored.size
        func each<I: FixedWidthInteger>(_: I.Type) throws {
            for i in 0..<count {
                let v = I(littleEndian: bytes.loadUnaligned(fromByteOffset: i * stored.size, as: I.self))
                guard let d = Double(exactly: v) else {
                    throw SafeTensorsError.inexactValue(path: path, name: name,
                        detail: "\(stored.rawValue) element \(i) is \(v), which Float64 cannot hold exactly")
                }
                p[i] = d
            }
        }
        switch stored {
        case .i32: try each(Int32.self)
        case .u32: try each(UInt32.self)
        case .i64: try each(Int64.self)
        case .u64: try each(UInt64.self)
        default: preconditionFailure("\(stored) does not load as Float64")
        }
    }

    /// 8- and 16-bit types to Float (exact for each).
    private func decodeNarrow(_ bytes: UnsafeRawBufferPointer, _ stored: StoredDType, into p: UnsafeMutablePointer<Float>) {
        let count = bytes.count / stored.size
        func each<I: FixedWidthInteger>(_: I.Type, _ f: (I) -> Float) {
            for i in 0..<count { p[i] = f(I(littleEndian: bytes.loadUnaligned(fromByteOffset: i * stored.size, as: I.self))) }
        }
        switch stored {
        case .bool: each(UInt8.self) { $0 == 0 ? 0 : 1 }
        case .u8: each(UInt8.self) { Float($0) }
        case .i8: each(Int8.self) { Float($0) }
        case .u16: each(UInt16.self) { Float($0) }
        case .i16: each(Int16.self) { Float($0) }
        case .f16: each(UInt16.self, floatFromHalf)
        case .bf16: each(UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
        case .f8e5m2: each(UInt8.self) { floatFromHalf(UInt16($0) << 8) }   // the top byte of an IEEE half
        case .f8e4m3: each(UInt8.self, floatFromE4M3)
        default: preconditionFailure("\(stored) does not load as Float32")
        }
    }
}

/// IEEE half-precision bits to `Float` (exact; subnormals, infinities and NaN included).
func floatFromHalf(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int(h >> 10) & 0x1f
    let mantissa = UInt32(h & 0x3ff)
    switch exponent {
    case 0:  // zero or subnormal: mantissa × 2^-24
        let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -magnitude : magnitude
    case 0x1f:
        return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
    default:
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}

/// 8-bit float E4M3 ("fn": bias 7, no infinities, S.1111.111 is NaN, as PyTorch's
/// `float8_e4m3fn`) to `Float`, exactly.
func floatFromE4M3(_ b: UInt8) -> Float {
    let negative = b & 0x80 != 0
    let exponent = Int(b >> 3) & 0xf
    let mantissa = Float(b & 0x7)
    let magnitude: Float
    if exponent == 0xf && b & 0x7 == 0x7 {
        magnitude = .nan
    } else if exponent == 0 {
        magnitude = mantissa * 0x1p-9                                   // subnormal: m × 2^-6 / 8
    } else {
        magnitude = (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    }
    return negative ? -magnitude : magnitude
}
