import Foundation
import XCTest
@testable import Knet

/// A struct container for the `Params` round trip.
private struct Layer: TensorStruct {
    var w: Tensor, b: Tensor
    static let tensorKeyPaths = [\Layer.w, \Layer.b]
}

private struct Model: Params {
    var layers: [Layer]
    var embed: [String: Tensor]
    var steps = 3   // not a tensor: ignored
    func mapTensors(_ f: (Tensor) throws -> Tensor) rethrows -> Model {
        Model(layers: try layers.mapTensors(f), embed: try embed.mapTensors(f), steps: steps)
    }
}

/// A container whose tensors sit in a non-`Params` collection, which names skip.
private struct Box { var t: Tensor }
private struct Opaque: Params {
    var boxes: [Box]
    func mapTensors(_ f: (Tensor) throws -> Tensor) rethrows -> Opaque {
        Opaque(boxes: try boxes.map { Box(t: try f($0.t)) })
    }
}

/// save/load in the safetensors format, the Python-made fixture, hostile files, and
/// atomic writes.
final class SafeTensorsTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        setseed(5)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("knet-st-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    private func path(_ name: String) -> String { dir + "/" + name }

    /// The file names in the test directory.
    private func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir).sorted() }

    private func assertSameTensor(_ a: Tensor?, _ b: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        guard let a else { return XCTFail("missing tensor", file: file, line: line) }
        XCTAssertEqual(a.shape, b.shape, file: file, line: line)
        XCTAssertEqual(a.dtype, b.dtype, file: file, line: line)
        XCTAssertEqual([Double](a), [Double](b), file: file, line: line)
    }

    // MARK: round trips

    func testRoundTripDTypesRanksScalarsEmptyAndMetadata() throws {
        let tensors: [String: Tensor] = [
            "scalar": Tensor(scalar: 2.5), "scalar64": Tensor(scalar: -1.25, dtype: .float64),
            "empty": Tensor.zeros(0, 3), "empty64": Tensor.zeros(4, 0, dtype: .float64),
            "vector": Tensor.randn(5), "matrix64": Tensor.randn(shape: [2, 3], dtype: .float64),
            "rank4": Tensor.randn(2, 3, 4, 2), "rank5_64": Tensor.randn(shape: [1, 2, 1, 3, 2], dtype: .float64),
            "ünïcode name \"quoted\"": Tensor([1, 2, 3]),
        ]
        let metadata = ["epoch": "12", "note": "line\nbreak \"quotes\" \\ tab\t \u{01} é 😀", "": "empty key"]
        try save(path("a.safetensors"), tensors, metadata: metadata)
        let (loaded, meta) = try load(path("a.safetensors"))
        XCTAssertEqual(Set(loaded.keys), Set(tensors.keys))
        for (name, t) in tensors { assertSameTensor(loaded[name], t) }
        XCTAssertEqual(meta, metadata)
        XCTAssertEqual(try listing(), ["a.safetensors"], "no temporary file is left behind")
    }

    func testFileLayoutIsRowMajorWithReversedShapeAndAlignedData() throws {
        let m = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])   // column-major [1 3 5; 2 4 6]
        try save(path("m.safetensors"), ["m": m])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("m.safetensors"))))
        let n = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual((8 + n) % 8, 0, "data is 8-byte aligned")
        let header = String(decoding: bytes[8..<8 + n], as: UTF8.self)
        XCTAssertTrue(header.contains(#""m":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}"#), header)
        let values = bytes[(8 + n)...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(values, [1, 2, 3, 4, 5, 6], "the same bytes as Knet's memory")
    }

    func testViewsAndRecordedTensorsSaveTheirValues() throws {
        let x = Tensor.randn(3, 4)
        let view = x[.all, 1..<3]
        try save(path("v.safetensors"), ["view": view, "transposed": transpose(x)])
        let loaded = try load(path("v.safetensors")).tensors
        assertSameTensor(loaded["view"], copy(view))
        assertSameTensor(loaded["transposed"], copy(transpose(x)))
    }

    func testSaveReplacesAnExistingFile() throws {
        try save(path("r.safetensors"), ["a": Tensor.ones(100)])
        try save(path("r.safetensors"), ["b": Tensor.zeros(2)])
        XCTAssertEqual(Array(try load(path("r.safetensors")).tensors.keys), ["b"])
    }

    // MARK: Params containers

    func testNamesOfContainers() {
        let (a, b, c) = (Tensor.randn(2), Tensor.randn(3), Tensor.randn(4))
        XCTAssertEqual(namedTensors([a, b]).mapValues(ObjectIdentifier.init), ["0": ObjectIdentifier(a), "1": ObjectIdentifier(b)])
        XCTAssertEqual(Set(namedTensors(["w": a, "b": b], prefix: "model").keys), ["model.w", "model.b"])
        XCTAssertEqual(Set(namedTensors([[a, b], [c]]).keys), ["0.0", "0.1", "1.0"])
        XCTAssertEqual(Array(namedTensors(a).keys), ["0"])
        XCTAssertEqual(Array(namedTensors(a, prefix: "x").keys), ["x"])
        let model = Model(layers: [Layer(w: a, b: b)], embed: ["tokens": c])
        XCTAssertEqual(Set(namedTensors(model).keys), ["layers.0.w", "layers.0.b", "embed.tokens"])
        XCTAssertEqual(parameterNames(Layer?.some(Layer(w: a, b: b)), prefix: ""), ["w", "b"])
        XCTAssertEqual(parameterNames(Opaque(boxes: [Box(t: a), Box(t: b)]), prefix: "p"), ["p.0", "p.1"],
                       "tensors Mirror cannot find are named by position")
    }

    func testParamsRoundTripWithExtraState() throws {
        let model = Model(layers: [Layer(w: Param(Tensor.randn(3, 2)), b: Tensor.randn(3)),
                                   Layer(w: Tensor.randn(1, 3), b: Tensor.randn(1))],
                          embed: ["tokens": Tensor.randn(shape: [4, 5], dtype: .float64)])
        let state = [Tensor.randn(3, 2), Tensor.randn(3)]
        try save(path("ckpt.safetensors"), params: model, extra: namedTensors(state, prefix: "opt"),
                 metadata: ["epoch": "4"])
        let template = model.mapTensors { t in
            let zero = Tensor.zeros(shape: t.shape, dtype: t.dtype)
            return t.isParam ? Param(zero) : zero
        }
        let restored = try loadParams(path("ckpt.safetensors"), into: template)
        for (r, m) in zip(restored.tensors, model.tensors) { assertSameTensor(r, m) }
        XCTAssertTrue(restored.layers[0].w.isParam, "a Param stays a Param")
        XCTAssertFalse(restored.layers[0].b.isParam)

        let file = try load(path("ckpt.safetensors"))
        XCTAssertEqual(file.metadata, ["epoch": "4"])
        let restoredState = try fillParams(state.map { Tensor.zeros(like: $0) }, from: file.tensors, prefix: "opt")
        for (r, s) in zip(restoredState, state) { assertSameTensor(r, s) }
    }

    func testLoadParamsConvertsDTypeAndReportsMissingOrMisshapenTensors() throws {
        let w = [Tensor.randn(2, 3), Tensor.randn(3)]
        try save(path("w.safetensors"), params: w)
        let as64 = try loadParams(path("w.safetensors"), into: w.map { Tensor.zeros(shape: $0.shape, dtype: .float64) })
        XCTAssertEqual(as64.map(\.dtype), [.float64, .float64])
        assertClose(as64[0], w[0])

        XCTAssertThrowsError(try loadParams(path("w.safetensors"), into: [Tensor.zeros(3, 2), .zeros(3)])) {
            XCTAssertEqual($0 as? SafeTensorsError,
                           .shapeMismatch(path: path("w.safetensors"), name: "0", expected: [3, 2], found: [2, 3]))
        }
        XCTAssertThrowsError(try loadParams(path("w.safetensors"), into: [Tensor.zeros(2, 3), .zeros(3), .zeros(1)])) {
            XCTAssertEqual($0 as? SafeTensorsError, .missingTensor(path: path("w.safetensors"), name: "2"))
        }
    }

    func testTiedTensorsAreSavedOnceAndStayTied() throws {
        let shared = Tensor.randn(4)
        try save(path("tied.safetensors"), params: ["a": shared, "b": Tensor.randn(2)], extra: [:])
        XCTAssertEqual(try load(path("tied.safetensors")).tensors.count, 2)
        let w = [shared, shared]
        try save(path("tied2.safetensors"), params: w)
        XCTAssertEqual(Array(try load(path("tied2.safetensors")).tensors.keys), ["0"])
        let restored = try loadParams(path("tied2.safetensors"), into: w)
        XCTAssertTrue(restored[0] === restored[1])
        // ties also survive a Param template and a conversion to another dtype
        let p = Param(Tensor.zeros(shape: [4], dtype: .float64))
        let params = try loadParams(path("tied2.safetensors"), into: [p, p])
        XCTAssertTrue(params[0] === params[1] && params[0].isParam && params[0].dtype == .float64)
        assertClose(params[0], convert(shared, to: .float64), rtol: 0)
    }

    func testSavingTwoTensorsUnderOneNameIsAUsageError() {
        let w = [Tensor.randn(2)]
        let file = path("clash.safetensors")
        assertKnetError("two different tensors are named \"0\"") { try? save(file, params: w, extra: ["0": Tensor.randn(2)]) }
        assertKnetError("reserved") { try? save(file, ["__metadata__": Tensor.randn(2)]) }
    }

    // MARK: files written by Python

    private func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/safetensors").appendingPathComponent(name).path
    }

    func testPythonFixtureLoads() throws {
        let (t, meta) = try load(fixture("python.safetensors"))
        XCTAssertEqual(meta, ["framework": "pytorch", "epoch": "7"])
        XCTAssertEqual(Set(t.keys), ["weight", "bias", "image", "scalar", "empty", "half", "brain"])
        assertValues(t["weight"]!, (0..<12).map { 0.5 * Double($0) - 1 }, shape: [4, 3])
        XCTAssertEqual(t["weight"]!.dtype, .float32)
        assertValues(t["bias"]!, (0..<5).map { Double($0) / 3 }, shape: [5], rtol: 1e-15, atol: 0)
        XCTAssertEqual(t["bias"]!.dtype, .float64)
        assertValues(t["image"]!, (0..<120).map { Double($0) / 7 }, shape: [5, 4, 3, 2])
        // torch's image[n=1, c=2, h=3, w=4] is Knet's image[w, h, c, n]
        XCTAssertEqual(t["image"]![4, 3, 2, 1].scalar, Double(Float(Double(60 + 40 + 15 + 4) / 7)))
        XCTAssertEqual(t["scalar"]!.shape, [])
        XCTAssertEqual(t["scalar"]!.scalar, 3.25)
        XCTAssertEqual(t["empty"]!.shape, [3, 0])
        XCTAssertEqual(t["half"]!.dtype, .float32)
        XCTAssertEqual([Float](t["half"]!), [1, -2.5, 65504, 0x1p-24])
        XCTAssertEqual([Float](t["brain"]!), [1, -2, 0.5, 3.140625])
        XCTAssertEqual(t["brain"]!.shape, [2, 2])
    }

    func testIntegerBoolAndFloat8TensorsLoadExactly() throws {
        let (t, _) = try load(fixture("integers.safetensors"))
        func check(_ name: String, _ expected: [Double], dtype: DType, shape: [Int]? = nil) {
            guard let x = t[name] else { return XCTFail("no tensor \(name)") }
            XCTAssertEqual(x.dtype, dtype, name)
            XCTAssertEqual(x.shape, shape ?? [expected.count], name)
            let got = (0..<x.count).map { x[flat: $0] }
            XCTAssertTrue(zip(got, expected).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) } && got.count == expected.count,
                          "\(name): \(got) vs \(expected)")
        }
        check("labels", [1, 2, -3], dtype: .float64)
        check("edge", [0x1p53, -0x1p53, 0x1p60, -0x1p63], dtype: .float64)
        check("num_batches_tracked", [7], dtype: .float64, shape: [])
        check("counts", [0, -2147483648, 2147483647, 5], dtype: .float64, shape: [2, 2])
        XCTAssertEqual(t["counts"]![0, 1].scalar, 2147483647)      // torch's counts[1, 0] (row-major)
        check("ucounts", [0, 4294967295], dtype: .float64)
        check("ulongs", [0x1p63, 12345], dtype: .float64)
        check("bytes", [0, 255, 7], dtype: .float32)
        check("signed", [-128, 127], dtype: .float32)
        check("shorts", [-32768, 32767], dtype: .float32)
        check("ushorts", [0, 65535], dtype: .float32)
        check("mask", [1, 0, 1], dtype: .float32)                  // its last byte is 2: nonzero is true
        check("e4m3", [1, -2, 448, 0x1p-9, 0.875], dtype: .float32)
        check("e5m2", [1, -3, 57344, 0x1p-16, .infinity, .nan], dtype: .float32)
    }

    func testA64BitIntegerFloat64CannotHoldThrows() {
        let file = fixture("inexact.safetensors")
        XCTAssertThrowsError(try load(file)) {
            guard case .inexactValue(let path, let name, let detail)? = $0 as? SafeTensorsError else {
                return XCTFail("not inexactValue: \($0)")
            }
            XCTAssertEqual(path, file)
            XCTAssertEqual(name, "big")
            XCTAssertTrue(detail.contains("9007199254740993"), detail)
        }
    }

    func testLoadParamsReadsOnlyTheTensorsItNeeds() throws {
        // "w" is F32 [2]; "z" has a dtype of a newer revision of the format (C64).
        let w: [Float] = [1.5, -2]
        let data = w.withUnsafeBytes { Array($0) } + [UInt8](repeating: 0, count: 16)
        let file = try rawFile("{\(entry("w")),\(entry("z", dtype: "C64", offsets: "[8,24]"))}", data: data)
        let restored = try loadParams(file, into: ["w": Tensor.zeros(2)])
        XCTAssertEqual([Float](restored["w"]!), w)
        try assertRejects(file, "unsupportedDType", "C64")          // load reads every tensor
        XCTAssertThrowsError(try loadParams(file, into: ["z": Tensor.zeros(2)])) {
            XCTAssertEqual($0 as? SafeTensorsError, .unsupportedDType(path: file, name: "z", dtype: "C64"))
        }
    }

    func testFloat8E4M3ConversionIsExact() {
        XCTAssertEqual(floatFromE4M3(0x00), 0)
        XCTAssertEqual(floatFromE4M3(0x80).sign, .minus)
        XCTAssertEqual(floatFromE4M3(0x38), 1)                      // exponent 7 = bias
        XCTAssertEqual(floatFromE4M3(0x01), 0x1p-9)                 // smallest subnormal
        XCTAssertEqual(floatFromE4M3(0x07), 7 * 0x1p-9)             // largest subnormal
        XCTAssertEqual(floatFromE4M3(0x08), 0x1p-6)                 // smallest normal
        XCTAssertEqual(floatFromE4M3(0x7e), 448)                    // largest: no infinities
        XCTAssertEqual(floatFromE4M3(0xfe), -448)
        XCTAssertTrue(floatFromE4M3(0x7f).isNaN)
        XCTAssertTrue(floatFromE4M3(0xff).isNaN)
    }

    func testHalfPrecisionConversionIsExact() {
        XCTAssertEqual(floatFromHalf(0x0000), 0)
        XCTAssertEqual(floatFromHalf(0x8000).sign, .minus)
        XCTAssertEqual(floatFromHalf(0x3c00), 1)
        XCTAssertEqual(floatFromHalf(0xc000), -2)
        XCTAssertEqual(floatFromHalf(0x03ff), 1023 * 0x1p-24)   // largest subnormal
        XCTAssertEqual(floatFromHalf(0x7c00), .infinity)
        XCTAssertEqual(floatFromHalf(0xfc00), -.infinity)
        XCTAssertTrue(floatFromHalf(0x7e00).isNaN)
    }

    // MARK: damaged and hostile files

    /// Writes a file of an 8-byte length (`length`, default the header's size), the
    /// header text or bytes, and `data`; returns its path.
    private func rawFile(_ header: [UInt8], data: [UInt8] = [], length: UInt64? = nil) throws -> String {
        let file = path("raw-\(UUID().uuidString).safetensors")
        var bytes = withUnsafeBytes(of: (length ?? UInt64(header.count)).littleEndian) { Array($0) }
        bytes += header + data
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    private func rawFile(_ header: String, data: [UInt8] = [], length: UInt64? = nil) throws -> String {
        try rawFile(Array(header.utf8), data: data, length: length)
    }

    /// Asserts that loading `file` throws the `SafeTensorsError` case `expected` whose
    /// message names the file and contains `fragment`.
    private func assertRejects(_ file: String, _ expected: String, _ fragment: String = "",
                               line: UInt = #line) {
        XCTAssertThrowsError(try load(file), line: line) { error in
            guard let e = error as? SafeTensorsError else { return XCTFail("not a SafeTensorsError: \(error)", line: line) }
            XCTAssertEqual(Mirror(reflecting: e).children.first?.label, expected, "\(e)", line: line)
            XCTAssertTrue("\(e)".contains(file), "message names the file: \(e)", line: line)
            XCTAssertTrue(fragment.isEmpty || "\(e)".contains(fragment), "message \"\(e)\" lacks \"\(fragment)\"", line: line)
        }
    }

    private func entry(_ name: String = "x", dtype: String = "F32", shape: String = "[2]", offsets: String = "[0,8]") -> String {
        #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
    }

    func testHostileHeadersThrowTypedErrors() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        try assertRejects(rawFile(""), "invalidHeader", "invalid JSON")
        try assertRejects(rawFile("{}", length: 1000), "truncated", "header length 1000")
        try assertRejects(rawFile("{}", length: 200_000_000), "headerTooLarge", "200000000")
        try assertRejects(rawFile("{}", length: UInt64.max), "headerTooLarge")
        try assertRejects(rawFile([0x7b, 0xff, 0xfe, 0x7d]), "invalidHeader", "UTF-8")
        try assertRejects(rawFile("{\"x\": "), "invalidHeader", "invalid JSON")
        try assertRejects(rawFile("{\"x\":{}} trailing"), "invalidHeader", "invalid JSON")
        try assertRejects(rawFile("[1, 2]"), "invalidHeader", "not an object")
        try assertRejects(rawFile(#"{"\u+abc":{}}"#), "invalidHeader", "invalid \\u escape")   // strict: four hex digits
        XCTAssertNoThrow(try JSONParser.parse(Array(#"{"\u00E9\u00e9":1}"#.utf8)))
        try assertRejects(rawFile(String(repeating: "[", count: 100_000)), "invalidHeader", "nested too deeply")
        try assertRejects(rawFile(#"{"x":{"shape":[2],"data_offsets":[0,8]}}"#, data: eight), "invalidHeader", "missing \"dtype\"")
        try assertRejects(rawFile(#"{"x":{"dtype":"F32","data_offsets":[0,8]}}"#, data: eight), "invalidHeader", "missing \"shape\"")
        try assertRejects(rawFile(#"{"x":{"dtype":"F32","shape":[2]}}"#, data: eight), "invalidHeader", "missing \"data_offsets\"")
        try assertRejects(rawFile("{\(entry(offsets: "[0,8.5]"))}", data: eight), "invalidHeader", "non-integer")
        try assertRejects(rawFile("{\(entry(offsets: "[0]"))}", data: eight), "invalidHeader", "2 numbers")
        try assertRejects(rawFile("{\(entry(dtype: "C64"))}", data: eight), "unsupportedDType", "C64")
        try assertRejects(rawFile("{\(entry(dtype: "I32", offsets: "[0,16]"))}", data: eight + eight), "invalidOffsets", "needs 8")
        try assertRejects(rawFile("{\(entry(shape: "[-2]"))}", data: eight), "invalidShape")
        let manyDims = "[" + Array(repeating: "1", count: 65).joined(separator: ",") + "]"
        try assertRejects(rawFile("{\(entry(shape: manyDims))}", data: eight), "invalidHeader", "array longer than 64")
        try assertRejects(rawFile("{\(entry(shape: "[4294967296,4294967296]"))}", data: eight), "invalidShape", "too many")
        try assertRejects(rawFile("{\(entry(shape: "[99999999999999999999]"))}", data: eight), "invalidHeader", "non-integer")
        try assertRejects(rawFile("{\(entry(offsets: "[0,4]"))}", data: eight), "invalidOffsets", "needs 8")
        try assertRejects(rawFile("{\(entry(offsets: "[8,0]"))}", data: eight), "invalidOffsets", "[8, 0]")
        try assertRejects(rawFile("{\(entry(offsets: "[-8,0]"))}", data: eight), "invalidOffsets")
        try assertRejects(rawFile("{\(entry(offsets: "[4,12]"))}", data: eight + eight), "invalidOffsets", "gap")
        try assertRejects(rawFile("{\(entry("a")),\(entry("b", offsets: "[4,12]"))}", data: eight + eight),
                          "invalidOffsets", "overlaps")
        try assertRejects(rawFile("{\(entry())}", data: eight + [1]), "invalidOffsets", "1 bytes after")
        try assertRejects(rawFile("{\(entry("a")),\(entry("a", offsets: "[8,16]"))}", data: eight + eight),
                          "duplicateName", "\"a\"")
        try assertRejects(rawFile(#"{"__metadata__":{"k":1}}"#), "invalidHeader", "not a string")
        try assertRejects(rawFile(#"{"__metadata__":{"k":"a","k":"b"}}"#), "invalidHeader", "duplicate metadata key")
        // A huge tensor that the file cannot hold is refused before anything is allocated.
        try assertRejects(rawFile("{\(entry(shape: "[1099511627776]", offsets: "[0,4398046511104]"))}", data: eight),
                          "truncated", "4398046511104")
    }

    func testEveryTruncationThrows() throws {
        try save(path("full.safetensors"), ["a": Tensor.randn(3, 2), "b": Tensor.randn(shape: [4], dtype: .float64)],
                 metadata: ["k": "v"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path("full.safetensors")))
        for cut in 0..<bytes.count {
            let file = path("cut.safetensors")
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: file))
            XCTAssertThrowsError(try load(file), "cut at \(cut)") { XCTAssertTrue($0 is SafeTensorsError, "\($0)") }
        }
        let headerEnd = 8 + bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        try bytes.prefix(headerEnd + 3).write(to: URL(fileURLWithPath: path("cut.safetensors")))
        assertRejects(path("cut.safetensors"), "truncated")
    }

    func testUnreadablePathsThrowFileIOError() {
        XCTAssertThrowsError(try load(path("missing.safetensors"))) {
            XCTAssertEqual(($0 as? FileIOError)?.code, ENOENT)
            XCTAssertTrue("\($0)".contains("missing.safetensors"))
        }
        XCTAssertThrowsError(try load(dir)) { XCTAssertTrue($0 is FileIOError) }
    }

    // MARK: atomic writes

    func testAtomicWriteLeavesNoTemporaryFiles() throws {
        try writeFileAtomically(Array("hello".utf8), to: path("a.txt"))
        try writeFileAtomically(Array("world".utf8), to: path("a.txt"))
        XCTAssertEqual(try String(contentsOfFile: path("a.txt"), encoding: .utf8), "world")
        XCTAssertEqual(try listing(), ["a.txt"])
    }

    func testFailedAtomicWriteKeepsTheOldFile() throws {
        struct Interrupted: Error {}
        try writeFileAtomically(Array("old".utf8), to: path("keep.txt"))
        XCTAssertThrowsError(try writeFileAtomically(to: path("keep.txt")) { w in
            try w.write(Array("partial new content".utf8))
            throw Interrupted()
        }) { XCTAssertTrue($0 is Interrupted) }
        XCTAssertEqual(try String(contentsOfFile: path("keep.txt"), encoding: .utf8), "old")
        XCTAssertEqual(try listing(), ["keep.txt"])

        // The target is a non-empty directory: the rename fails after the data is written.
        try FileManager.default.createDirectory(atPath: path("sub/inner"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try save(path("sub"), ["x": Tensor.ones(2)])) {
            XCTAssertTrue(($0 as? FileIOError)?.operation.hasPrefix("rename") ?? false, "\($0)")
        }
        XCTAssertEqual(try listing(), ["keep.txt", "sub"])

        XCTAssertThrowsError(try writeFileAtomically([1], to: path("no/such/dir/x"))) {
            XCTAssertEqual(($0 as? FileIOError)?.code, ENOENT)
            XCTAssertTrue("\($0)".contains("no/such/dir/x"))
        }
        XCTAssertThrowsError(try writeFileAtomically([1], to: dir + "/")) {
            XCTAssertEqual(($0 as? FileIOError)?.code, EISDIR)
        }
    }

    func testCheckAtomicWriteRefusesWhatAWriteWouldAndTouchesNothing() throws {
        try writeFileAtomically(Array("old".utf8), to: path("keep.txt"))
        try checkAtomicWrite(to: path("keep.txt"))
        try checkAtomicWrite(to: path("new.txt"))
        XCTAssertEqual(try listing(), ["keep.txt"], "no probe file left, nothing created")
        XCTAssertEqual(try String(contentsOfFile: path("keep.txt"), encoding: .utf8), "old")
        XCTAssertThrowsError(try checkAtomicWrite(to: path("no/such/dir/x"))) {
            XCTAssertEqual($0 as? FileIOError, FileIOError("create temporary file for", path("no/such/dir/x"), code: ENOENT))
        }
        try FileManager.default.createDirectory(atPath: path("sub"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try checkAtomicWrite(to: path("sub"))) { XCTAssertEqual(($0 as? FileIOError)?.code, EISDIR) }
    }

    func testMakeDirectoriesCreatesParentsAndNamesTheFolderAtFault() throws {
        try makeDirectories(path("a/b/c"))
        try makeDirectories(path("a/b/c"))                       // already there: fine
        var isFolder: ObjCBool = false
        XCTAssert(FileManager.default.fileExists(atPath: path("a/b/c"), isDirectory: &isFolder) && isFolder.boolValue)
        try writeFileAtomically([1], to: path("a/file"))
        XCTAssertThrowsError(try makeDirectories(path("a/file/d/e"))) {
            XCTAssertEqual($0 as? FileIOError, FileIOError("create directory", path("a/file/d"), code: ENOTDIR))
        }
    }
}
