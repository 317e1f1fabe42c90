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
// `torch.nn.Linear`; `loadPyTorch`/`savePyTorch` in Interop/ do such conversions by layer).
// Loading reverses the shape again, so a round trip is exact.
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
    /// A tensor's dtype is none of the format's classic set (see `load`).
    case unsupportedDType(path: String, name: String, dtype: String)
    /// A 64-bit integer tensor holds a value Float64 cannot hold exactly (2^53 + 1, say).
    case inexactValue(path: String, name: String, detail: String)
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
            let supported = StoredDType.allCases.map(\.rawValue).joined(separator: ", ")
            return "\(path): tensor \"\(name)\" has unsupported dtype \(dtype) (supported: \(supported))"
        case let .inexactValue(path, name, detail): return "\(path): tensor \"\(name)\": \(detail)"
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
            try t.withUnsafeHostBytes { try file.write($0) }
        }
    }
}

/// Reads a safetensors file: its tensors with shapes reversed to Knet's column-major
/// order, and its metadata. Every dtype of the format's classic set loads, converted
/// exactly to the smallest Knet dtype holding all its values: F64, I64, U64, I32 and U32
/// as Float64 (a 64-bit integer Float64 cannot hold exactly throws `inexactValue`); F32,
/// F16, BF16, F8_E4M3, F8_E5M2, I16, U16, I8, U8 and BOOL (nonzero is 1) as Float32.
/// Throws `FileIOError` if the file cannot be read and `SafeTensorsError` if its content
/// is damaged or a tensor has another dtype. Sizes in the header are checked against the
/// file's size before anything is allocated, so a hostile header cannot make it allocate
/// more than 4 bytes of tensor memory per byte the file holds (1-byte types widen to
/// Float32; conversion happens in place, with no second copy).
///
///     let (tensors, metadata) = try load("w.safetensors")
public func load(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
    try allTensors(SafeTensorsFile(path))
}

/// `load(_:)` for the bytes of a safetensors file already in memory (received over a
/// network, say); `name` stands for the file's path in errors. The same checks apply:
/// the header's sizes are checked against `bytes.count` before anything is allocated.
///
///     let (tensors, metadata) = try load(bytes: received, name: "upload")
public func load(bytes: [UInt8], name: String = "<bytes>") throws -> (tensors: [String: Tensor], metadata: [String: String]) {
    try allTensors(SafeTensorsFile(bytes: bytes, name: name))
}

/// Every tensor of `file` and its metadata.
private func allTensors(_ file: SafeTensorsFile) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
    var tensors: [String: Tensor] = [:]
    for entry in file.header.entries { tensors[entry.name] = try file.tensor(entry) }
    return (tensors, file.header.metadata)
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
/// dtype and placed on its device (a GPU model loads onto its GPU); `Param`s stay `Param`s. Other tensors in the file are neither read nor checked
/// beyond the header (one of a dtype we cannot read does not matter).
///
///     var w = [Tensor.zeros(10, 784), .zeros(10, 1)]
///     w = try loadParams("w.safetensors", into: w)
public func loadParams<P: Params>(_ path: String, into template: P, prefix: String = "") throws -> P {
    let file = try SafeTensorsFile(path)
    let entries = Dictionary(uniqueKeysWithValues: file.header.entries.map { ($0.name, $0) })   // names are unique
    return try fillParams(template, prefix: prefix, source: path) { name, shape in
        guard let entry = entries[name] else { return nil }
        guard entry.shape.reversed() == shape else {               // refused before reading its data
            throw SafeTensorsError.shapeMismatch(path: path, name: name, expected: shape, found: entry.shape.reversed())
        }
        return try file.tensor(entry)
    }
}

/// A copy of `template` whose tensors are taken from `tensors` (the result of `load`)
/// by name, as `loadParams` does; `source` names the origin in errors. Use it to fill
/// both a model and its optimizer state from one `load`.
///
///     let file = try load("ckpt.safetensors")
///     let w2 = try fillParams(w, from: file.tensors, source: "ckpt.safetensors")
public func fillParams<P: Params>(_ template: P, from tensors: [String: Tensor], prefix: String = "",
                                  source: String = "tensors") throws -> P {
    try fillParams(template, prefix: prefix, source: source) { name, shape in
        guard let t = tensors[name] else { return nil }
        guard t.shape == shape else { throw SafeTensorsError.shapeMismatch(path: source, name: name, expected: shape, found: t.shape) }
        return t
    }
}

/// `fillParams` over any source of named tensors: `stored(name, shape)` is nil where
/// absent and throws `shapeMismatch` when its tensor is not of the template's `shape`. A template tensor met twice (tied weights) is
/// filled once, so the copy's tensors stay tied.
private func fillParams<P: Params>(_ template: P, prefix: String, source: String,
                                   stored: (_ name: String, _ shape: [Int]) throws -> Tensor?) throws -> P {
    let names = parameterNames(template, prefix: prefix)
    var position = 0
    var filled: [ObjectIdentifier: Tensor] = [:]
    return try template.mapTensors { t in
        let name = names[position]
        position += 1
        if let done = filled[ObjectIdentifier(t)] { return done }
        guard let found = try stored(name, t.shape) else { throw SafeTensorsError.missingTensor(path: source, name: name) }
        let value = convert(found.untracked, to: t.dtype).untracked.transferred(to: t.device)
        let result = t.isParam ? Param(value) : value
        filled[ObjectIdentifier(t)] = result
        return result
    }
}
