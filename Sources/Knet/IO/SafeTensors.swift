#if canImport(Glibc)
import Glibc
#endif

// Save and load in the safetensors format (https://github.com/huggingface/safetensors),
// readable by the Python `safetensors` package and PyTorch, and theirs by us.
//
// A file is: an 8-byte little-endian header length N; N bytes of UTF-8 JSON
// `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"key": "value"}}`; then the data buffer (offsets are relative to it).
//
// Layout: safetensors stores row-major (C order) arrays, Knet column-major ones. A Knet
// tensor of shape [a, b, c] is written with safetensors shape [c, b, a] and the same
// bytes, i.e. exactly how PyTorch sees Knet's memory (Knet's [W, H, C, N] image batch is
// PyTorch's [N, C, H, W]; a dense weight [out, in] becomes [in, out], so transpose it for
// `torch.nn.Linear`). Loading reverses the shape again, so a round trip is exact.
// Data is little-endian, the byte order of the hosts Swift on Linux runs on (x86-64, arm64).

/// Why a safetensors file could not be read (each case names the file).
/// Failures to open, read or write the file itself are `FileIOError`s.
///
///     do { _ = try load("bad.safetensors") }
///     catch let e as SafeTensorsError { print(e) }
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file is shorter than its header says (`detail` gives the sizes).
    case truncated(path: String, detail: String)
    /// The header length field exceeds the 100 MB limit of the format.
    case headerTooLarge(path: String, length: UInt64)
    /// The header is not UTF-8 JSON, or not of the expected form.
    case invalidHeader(path: String, detail: String)
    /// Two tensors (or a tensor and `__metadata__`) share a name.
    case duplicateName(path: String, name: String)
    /// A tensor's dtype is not F32, F64, F16 or BF16.
    case unsupportedDType(path: String, name: String, dtype: String)
    /// A tensor's shape has a negative dimension or too many elements.
    case invalidShape(path: String, name: String, shape: String)
    /// A tensor's data offsets are reversed, overlap another tensor, leave a gap, or do
    /// not match its shape and dtype.
    case invalidOffsets(path: String, name: String, detail: String)
    /// `loadParams`: the file has no tensor of this name.
    case missingTensor(path: String, name: String)
    /// `loadParams`: the file's tensor has another shape than the container's.
    case shapeMismatch(path: String, name: String, expected: [Int], found: [Int])

    /// A one-line message naming the file and the problem.
    public var description: String {
        switch self {
        case let .truncated(path, detail): return "\(path): truncated safetensors file: \(detail)"
        case let .headerTooLarge(path, length):
            return "\(path): safetensors header length \(length) exceeds the limit of \(safeTensorsHeaderLimit) bytes"
        case let .invalidHeader(path, detail): return "\(path): invalid safetensors header: \(detail)"
        case let .duplicateName(path, name): return "\(path): duplicate tensor name \"\(name)\""
        case let .unsupportedDType(path, name, dtype):
            return "\(path): tensor \"\(name)\" has unsupported dtype \(dtype) (supported: F32, F64, F16, BF16)"
        case let .invalidShape(path, name, shape): return "\(path): tensor \"\(name)\" has invalid shape \(shape)"
        case let .invalidOffsets(path, name, detail): return "\(path): tensor \"\(name)\": \(detail)"
        case let .missingTensor(path, name): return "\(path): no tensor named \"\(name)\""
        case let .shapeMismatch(path, name, expected, found):
            return "\(path): tensor \"\(name)\" has shape \(found) but the container expects \(expected)"
        }
    }
}

/// The format's limit on the JSON header (the same as the Python package's).
let safeTensorsHeaderLimit: UInt64 = 100_000_000

// MARK: - Public API

/// Writes `tensors` (Float32 or Float64, any shape) and string `metadata` to a
/// safetensors file at `path`, atomically. Tensors are stored in name order; a Knet
/// shape [a, b, c] is stored as [c, b, a] (see the layout note above). The name
/// `__metadata__` is reserved.
///
///     try save("w.safetensors", ["w": Tensor.randn(3, 4)], metadata: ["epoch": "3"])
public func save(_ path: String, _ tensors: [String: Tensor], metadata: [String: String] = [:]) throws {
    knetCheck(tensors["__metadata__"] == nil, "save: the tensor name \"__metadata__\" is reserved")
    let entries = tensors.sorted { $0.key < $1.key }.map { (name: $0.key, data: $0.value.untracked.contiguousData()) }
    var header = JSONWriter()
    header.beginObject()
    if !metadata.isEmpty {
        header.key("__metadata__")
        header.beginObject()
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { header.key(k); header.string(v) }
        header.endObject()
    }
    var offset = 0
    for (name, t) in entries {
        knetCheck(t.device == .cpu, "save: tensor \"\(name)\" is on \(t.device); move it to the CPU first")
        let bytes = t.count * t.dtype.size
        header.key(name)
        header.beginObject()
        header.key("dtype"); header.string(StoredDType(t.dtype).rawValue)
        header.key("shape"); header.integers(t.shape.reversed())
        header.key("data_offsets"); header.integers([offset, offset + bytes])
        header.endObject()
        offset += bytes
    }
    header.endObject()
    // Pad with spaces so the data starts 8-byte aligned, as the Python package does.
    while header.bytes.count % 8 != 0 { header.bytes.append(UInt8(ascii: " ")) }

    try writeFileAtomically(to: path) { file in
        var length = UInt64(header.bytes.count).littleEndian
        try withUnsafeBytes(of: &length) { try file.write($0) }
        try file.write(header.bytes)
        for (_, t) in entries {
            try withExtendedLifetime(t) {
                let start = UnsafeRawPointer(t.storage.pointer) + t.offset * t.dtype.size
                try file.write(UnsafeRawBufferPointer(start: start, count: t.count * t.dtype.size))
            }
        }
    }
}

/// Reads a safetensors file: its tensors (F32 and F64 as stored; F16 and BF16 converted
/// to Float32) with shapes reversed to Knet's column-major order, and its metadata.
/// Throws `FileIOError` if the file cannot be read and `SafeTensorsError` if its
/// content is damaged. Sizes in the header are checked against the file's size before
/// anything is allocated, so a hostile header cannot make it allocate more tensor
/// memory than the file holds.
///
///     let (tensors, metadata) = try load("w.safetensors")
public func load(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
    let file = try ReadOnlyFile(path) { at, expected in
        SafeTensorsError.truncated(path: path, detail: "end of file at byte \(at), expected \(expected)")
    }
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
    let header = try SafeTensorsHeader(headerBytes, bufferSize: file.size - dataStart, path: path)

    var tensors: [String: Tensor] = [:]
    for entry in header.entries {
        let t = Tensor(uninitialized: entry.shape.reversed(), dtype: entry.dtype.dtype)
        let out = UnsafeMutableRawBufferPointer(start: t.storage.pointer, count: entry.byteCount)
        switch entry.dtype {
        case .f32, .f64:
            try file.read(into: out, at: dataStart + entry.begin)
        case .f16, .bf16:
            var halves = [UInt16](repeating: 0, count: entry.count)
            try halves.withUnsafeMutableBytes { try file.read(into: $0, at: dataStart + entry.begin) }
            let p = t.pointer(Float.self)
            for i in halves.indices {
                let bits = UInt16(littleEndian: halves[i])
                p[i] = entry.dtype == .f16 ? floatFromHalf(bits) : Float(bitPattern: UInt32(bits) << 16)
            }
        }
        tensors[entry.name] = t
    }
    return (tensors, header.metadata)
}

/// The tensors of a `Params` container by name: positions for arrays ("0", "1"...), keys
/// for dictionaries, field names for structs, joined with "." for nesting ("layers.0.w");
/// `prefix` (if not empty) is prepended as a first component ("opt.0.m"). A lone tensor
/// is named `prefix`, or "0" without one. Names come from the container's stored
/// properties (`Mirror`); a container whose tensors cannot all be found that way (for
/// example tensors held in a non-`Params` collection) is named by `mapTensors` position.
///
///     namedTensors([w1, b1])                   // ["0": w1, "1": b1]
///     namedTensors(["w": w], prefix: "model")  // ["model.w": w]
public func namedTensors<P: Params>(_ params: P, prefix: String = "") -> [String: Tensor] {
    var named: [String: Tensor] = [:]
    for (name, t) in zip(parameterNames(params, prefix: prefix), params.tensors) { insertNamed(&named, name, t) }
    return named
}

/// Adds `t` under `name`; the name may repeat only for the same tensor (tied weights).
private func insertNamed(_ named: inout [String: Tensor], _ name: String, _ t: Tensor) {
    if let other = named[name] {
        knetCheck(other === t, "save: two different tensors are named \"\(name)\" (rename a field or an extra tensor)")
    }
    named[name] = t
}

/// Saves the tensors of a `Params` container (named as `namedTensors` does), plus
/// `extra` named tensors such as optimizer state, plus string `metadata`, to a
/// safetensors file. Two different tensors under one name is a usage error.
///
///     try save("ckpt.safetensors", params: w, extra: namedTensors(state, prefix: "opt"),
///              metadata: ["epoch": "10"])
public func save<P: Params>(_ path: String, params: P, extra: [String: Tensor] = [:],
                            metadata: [String: String] = [:]) throws {
    var all = extra
    for (name, t) in namedTensors(params) { insertNamed(&all, name, t) }
    try save(path, all, metadata: metadata)
}

/// A copy of `template` whose tensors are read from the safetensors file at `path`,
/// matched by the names `namedTensors(template, prefix:)` gives. Shapes must match
/// (`SafeTensorsError.shapeMismatch`); values are converted to each template tensor's
/// dtype; `Param`s stay `Param`s. Other tensors in the file are ignored.
///
///     var w = [Tensor.zeros(10, 784), .zeros(10, 1)]
///     w = try loadParams("w.safetensors", into: w)
public func loadParams<P: Params>(_ path: String, into template: P, prefix: String = "") throws -> P {
    try fillParams(template, from: load(path).tensors, prefix: prefix, source: path)
}

/// A copy of `template` whose tensors are taken from `tensors` (the result of `load`)
/// by name, as `loadParams` does; `source` names the origin in errors. Use it to fill
/// both a model and its optimizer state from one `load`.
///
///     let file = try load("ckpt.safetensors")
///     let w2 = try fillParams(w, from: file.tensors, source: "ckpt.safetensors")
public func fillParams<P: Params>(_ template: P, from tensors: [String: Tensor], prefix: String = "",
                                  source: String = "tensors") throws -> P {
    let names = parameterNames(template, prefix: prefix)
    var position = 0
    return try template.mapTensors { t in
        let name = names[position]
        position += 1
        guard let stored = tensors[name] else { throw SafeTensorsError.missingTensor(path: source, name: name) }
        guard stored.shape == t.shape else {
            throw SafeTensorsError.shapeMismatch(path: source, name: name, expected: t.shape, found: stored.shape)
        }
        let value = convert(stored.untracked, to: t.dtype).untracked
        return t.isParam ? Param(value) : value
    }
}

// MARK: - Names of a container's tensors

/// One name per tensor of `params`, in `mapTensors` order (see `namedTensors`).
func parameterNames<P: Params>(_ params: P, prefix: String) -> [String] {
    var found: [ObjectIdentifier: String] = [:]
    var visited = Set<ObjectIdentifier>()
    collectTensorPaths(params, path: prefix, depth: 0, into: &found, visited: &visited)
    let tensors = params.tensors
    let named = tensors.map { found[ObjectIdentifier($0)] }
    if named.allSatisfy({ $0 != nil }) {
        return named.map { $0!.isEmpty ? "0" : $0! }
    }
    return tensors.indices.map { joinPath(prefix, String($0)) }
}

private func joinPath(_ path: String, _ component: String) -> String {
    path.isEmpty ? component : path + "." + component
}

/// Walks `value`'s stored properties and records the path of every tensor found (the
/// first path wins for a tensor reachable twice).
private func collectTensorPaths(_ value: Any, path: String, depth: Int,
                                into found: inout [ObjectIdentifier: String], visited: inout Set<ObjectIdentifier>) {
    if let t = value as? Tensor {
        if found[ObjectIdentifier(t)] == nil { found[ObjectIdentifier(t)] = path }
        return
    }
    guard depth < 64 else { return }
    let mirror = Mirror(reflecting: value)
    switch mirror.displayStyle {
    case .optional:
        if let child = mirror.children.first {
            collectTensorPaths(child.value, path: path, depth: depth + 1, into: &found, visited: &visited)
        }
    case .dictionary:
        guard value is any Params else { return }
        for entry in mirror.children {
            let pair = Array(Mirror(reflecting: entry.value).children)
            guard pair.count == 2 else { continue }
            collectTensorPaths(pair[1].value, path: joinPath(path, String(describing: pair[0].value)),
                               depth: depth + 1, into: &found, visited: &visited)
        }
    case .collection, .set:
        guard value is any Params else { return }
        for (i, child) in mirror.children.enumerated() {
            collectTensorPaths(child.value, path: joinPath(path, String(i)), depth: depth + 1,
                               into: &found, visited: &visited)
        }
    default:
        if mirror.displayStyle == .class, !visited.insert(ObjectIdentifier(value as AnyObject)).inserted { return }
        var level: Mirror? = mirror
        while let m = level {
            for (i, child) in m.children.enumerated() {
                var label = child.label ?? String(i)
                if label.hasPrefix(".") { label.removeFirst() }   // tuple elements are ".0", ".1"
                collectTensorPaths(child.value, path: joinPath(path, label), depth: depth + 1,
                                   into: &found, visited: &visited)
            }
            level = m.superclassMirror
        }
    }
}

// MARK: - Header

/// The element types we read.
enum StoredDType: String {
    case f32 = "F32", f64 = "F64", f16 = "F16", bf16 = "BF16"

    init(_ dtype: DType) { self = dtype == .float32 ? .f32 : .f64 }

    /// Bytes per element in the file.
    var size: Int {
        switch self {
        case .f64: return 8
        case .f32: return 4
        case .f16, .bf16: return 2
        }
    }

    /// The tensor dtype it loads as.
    var dtype: DType { self == .f64 ? .float64 : .float32 }
}

/// A validated header: every tensor's dtype, shape and byte range (ranges tile the data
/// buffer exactly), and the metadata.
struct SafeTensorsHeader {
    struct Entry {
        let name: String
        let dtype: StoredDType
        /// The safetensors (row-major) shape.
        let shape: [Int]
        let count: Int
        let begin: Int
        var byteCount: Int { count * dtype.size }
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
        guard let dtype = StoredDType(rawValue: dtypeName) else {
            throw SafeTensorsError.unsupportedDType(path: path, name: name, dtype: dtypeName)
        }
        var count = 1, overflow = false
        for d in shape where !overflow {
            if d < 0 { throw SafeTensorsError.invalidShape(path: path, name: name, shape: "\(shape)") }
            (count, overflow) = count.multipliedReportingOverflow(by: d)
        }
        if overflow || count.multipliedReportingOverflow(by: dtype.size).overflow {
            throw SafeTensorsError.invalidShape(path: path, name: name, shape: "\(shape) (too many elements)")
        }
        guard offsets.count == 2 else { throw invalid("\"data_offsets\" does not hold 2 numbers") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end else {
            throw SafeTensorsError.invalidOffsets(path: path, name: name, detail: "invalid data offsets [\(begin), \(end)]")
        }
        guard end - begin == count * dtype.size else {
            throw SafeTensorsError.invalidOffsets(path: path, name: name,
                detail: "data offsets [\(begin), \(end)] hold \(end - begin) bytes, but \(dtypeName)\(shape) needs \(count * dtype.size)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, count: count, begin: begin)
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

// MARK: - Minimal JSON

/// A parsed JSON value. Objects keep their members in order, duplicates included, so
/// the header check can reject duplicate names; numbers keep their text.
enum JSON {
    case object([(key: String, value: JSON)])
    case array([JSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null
}

/// A strict RFC 8259 parser over UTF-8 bytes, with limits that keep hostile input from
/// exhausting the stack (nesting depth) or memory (array length: a safetensors header
/// holds only short arrays, a shape and a pair of offsets).
struct JSONParser {
    struct Failure: Error { let offset: Int; let reason: String }

    private let bytes: [UInt8]
    private var i = 0
    private static let maxDepth = 64
    static let maxArrayCount = 64

    static func parse(_ bytes: [UInt8]) throws -> JSON {
        var p = JSONParser(bytes: bytes)
        let value = try p.value(depth: 0)
        p.skipSpace()
        if p.i != bytes.count { throw p.fail("unexpected data after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func fail(_ reason: String) -> Failure { Failure(offset: i, reason: reason) }

    private mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0a, 0x0d: i += 1
            default: return
            }
        }
    }

    private mutating func expect(_ c: UInt8) throws {
        skipSpace()
        guard i < bytes.count, bytes[i] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        i += 1
    }

    /// Consumes `c` (after spaces) if it is next.
    private mutating func consume(_ c: UInt8) -> Bool {
        skipSpace()
        if i < bytes.count, bytes[i] == c { i += 1; return true }
        return false
    }

    private mutating func value(depth: Int) throws -> JSON {
        guard depth < Self.maxDepth else { throw fail("nested too deeply") }
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [(key: String, value: JSON)] = []
            if consume(UInt8(ascii: "}")) { return .object(members) }
            repeat {
                skipSpace()
                let key = try string()
                try expect(UInt8(ascii: ":"))
                members.append((key, try value(depth: depth + 1)))
            } while consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"))
            return .object(members)
        case UInt8(ascii: "["):
            i += 1
            var items: [JSON] = []
            if consume(UInt8(ascii: "]")) { return .array(items) }
            repeat {
                guard items.count < Self.maxArrayCount else { throw fail("array longer than \(Self.maxArrayCount) items") }
                items.append(try value(depth: depth + 1))
            } while consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
            return .array(items)
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            for (word, v) in [("true", JSON.bool(true)), ("false", .bool(false)), ("null", .null)]
            where bytes[i...].starts(with: word.utf8) {
                i += word.utf8.count
                return v
            }
            throw fail("unexpected character")
        }
    }

    private mutating func number() throws -> String {
        let start = i
        func digits() -> Int { let s = i; while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }; return i - s }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        let n = digits()
        if n == 0 || (n > 1 && bytes[intStart] == UInt8(ascii: "0")) { throw fail("malformed number") }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            if digits() == 0 { throw fail("malformed number") }
        }
        if i < bytes.count, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { throw fail("malformed number") }
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    private mutating func string() throws -> String {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string") }
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard i < bytes.count else { throw fail("unterminated string") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xd800..<0xdc00).contains(scalar) {   // a surrogate pair
                        guard bytes[i...].starts(with: "\\u".utf8) else { throw fail("unpaired surrogate") }
                        i += 2
                        let low = try hex4()
                        guard (0xdc00..<0xe000).contains(low) else { throw fail("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("unpaired surrogate") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw fail("invalid escape")
                }
            case 0..<0x20:
                throw fail("control character in string")
            default:
                out.append(c)
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, bytes[i..<i + 4].allSatisfy({ UInt8(ascii: "0")...UInt8(ascii: "9") ~= $0
                                                                    || UInt8(ascii: "a")...UInt8(ascii: "f") ~= $0 | 0x20 }),
              let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw fail("invalid \\u escape")
        }
        i += 4
        return v
    }
}

/// Builds compact JSON text (objects, strings, integer arrays: what a header needs).
struct JSONWriter {
    var bytes: [UInt8] = []
    private var needsComma = false

    mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }

    /// An object key and its colon.
    mutating func key(_ k: String) { string(k); bytes.append(UInt8(ascii: ":")); needsComma = false }

    mutating func string(_ s: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), c]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 15)]]
            default: bytes.append(c)
            }
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    mutating func integers(_ values: [Int]) {
        separate()
        bytes += Array("[\(values.map(String.init).joined(separator: ","))]".utf8)
        needsComma = true
    }

    private mutating func separate() { if needsComma { bytes.append(UInt8(ascii: ",")) } }
}
