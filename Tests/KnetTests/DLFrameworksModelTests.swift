import Foundation
import XCTest
@testable import Knet

/// The DeepLearningFrameworks models (Sources/Knet/Models/CIFARCNN.swift, IMDBGRU.swift)
/// against the PyTorch peer's modules with the same weights (Fixtures/dlframeworks/
/// make_fixtures.py), and their data readers on tiny generated files.
final class DLFrameworksModelTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/dlframeworks")

    /// PyTorch's values in float64 and ours agree to rounding: 1e-9 relative.
    let rtol = 1e-9, atol = 1e-12

    func testCIFARCNNMatchesPyTorch() throws {
        let model = try formulaWeights(CIFARCNN.model(dtype: .float64), CIFARCNN.pytorchLayers).eval()
        let x = Tensor((0..<(2 * 3 * 32 * 32)).map { formula($0, 99, 1) + 0.5 }, shape: [32, 32, 3, 2], dtype: .float64)
        try compare("cifar", model, CIFARCNN.pytorchLayers, x, [3, 7], loss: CIFARCNN.loss)
    }

    func testIMDBGRUMatchesPyTorch() throws {
        let model = IMDBGRU.model(dtype: .float64)
        let layers = IMDBGRU.pytorchLayers(model)
        let io = try load(Self.fixtures.appendingPathComponent("imdb_io.safetensors").path).tensors
        let ids = convert(io["ids"]!, to: .float64)               // PyTorch (B, T): Knet [T, B]
        XCTAssertEqual(ids.shape, [150, 3])
        XCTAssertEqual([Double](ids[.all, 2]).filter { $0 == 0 }.count, 149, "the fixture's padded sequence")
        try compare("imdb", try formulaWeights(model, layers).eval(), layers, ids, [1, 0, 1], loss: IMDBGRU.loss)
    }

    func testLayerShapesAndParameterCounts() {
        let cifar = CIFARCNN.model()
        let counts = cifar.layers.map(\.parameterCount).filter { $0 > 0 }
        XCTAssertEqual(counts, [1_400, 22_550, 45_100, 90_100, 3_277_312, 5_130])
        XCTAssertEqual(cifar.parameterCount, 3_441_592)
        XCTAssertEqual(outputShape(of: cifar, for: [32, 32, 3, 64]), [10, 64])
        XCTAssertEqual(outputShape(of: Chain(Array(cifar.layers.prefix(10))), for: [32, 32, 3, 64]), [8, 8, 100, 64])
        XCTAssertTrue(cifar.summary(for: [32, 32, 3, 1]).contains("3,441,592"))
        let imdb = IMDBGRU.model()
        XCTAssertEqual(imdb.layers.map(\.parameterCount), [0, 3_750_000, 3 * 100 * (125 + 100) + 6 * 100, 202])
        XCTAssertEqual(outputShape(of: imdb, for: [150, 64]), [2, 64])
        XCTAssertEqual(imdb(Tensor(Array(repeating: 5, count: 300), shape: [150, 2])).shape, [2, 2])
    }

    // MARK: - readers

    func testCIFARReaderOnGeneratedFiles() throws {
        let folder = try temporaryFolder("cifar")
        defer { folder.remove() }
        let dir = folder.path + "/" + cifar10Folder
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // record i: label i % 10, pixel j = (i + j) % 256; batches 1-5 hold 2 records each, test 1
        func records(_ first: Int, _ n: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            for i in first..<(first + n) {
                bytes.append(UInt8(i % 10))
                for j in 0..<3072 { bytes.append(UInt8((i + j) % 256)) }
            }
            return bytes
        }
        for b in 1...5 { try Data(records(2 * (b - 1), 2)).write(to: URL(fileURLWithPath: "\(dir)/data_batch_\(b).bin")) }
        try Data(records(10, 1)).write(to: URL(fileURLWithPath: "\(dir)/test_batch.bin"))
        let (xtrn, ytrn, xtst, ytst) = try cifar10(folder: folder.path)
        XCTAssertEqual(xtrn.shape, [32, 32, 3, 10])
        XCTAssertEqual(ytrn, Array(0..<10))
        XCTAssertEqual(ytst, [0])
        XCTAssertEqual(xtst.shape, [32, 32, 3, 1])
        // x[w, h, c, n] is byte 1 + c*1024 + h*32 + w of record n
        let (w, h, c, n) = (5, 7, 2, 3), j = c * 1024 + h * 32 + w
        XCTAssertEqual(xtrn[w, h, c, n].scalar, Double(Float((n + j) % 256) / 255))
        XCTAssertEqual(xtst[0, 0, 1, 0].scalar, Double(Float((10 + 1024) % 256) / 255))

        // typed errors: a bad label, a partial record, an empty file, a missing file
        var bad = records(0, 1); bad[0] = 10
        XCTAssertThrowsError(try cifar10(bytes: bad, name: "b.bin")) { error in
            XCTAssertEqual("\(error)", "b.bin is corrupt or not in the expected format: record 0 has label 10, not a class 0...9")
        }
        XCTAssertThrowsError(try cifar10(bytes: Array(records(0, 2).dropLast()))) { XCTAssertTrue("\($0)".contains("6145 bytes")) }
        XCTAssertThrowsError(try cifar10(bytes: [])) { XCTAssertTrue($0 is DataError) }
        try FileManager.default.removeItem(atPath: "\(dir)/data_batch_4.bin")
        XCTAssertThrowsError(try cifar10(folder: folder.path)) { error in
            guard case .notFound(let file, _, _, _, _)? = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "cifar-10-batches-bin/data_batch_4.bin")
        }
    }

    func testIMDBTokenizerAndVocabulary() throws {
        XCTAssertEqual(try imdbWords(bytes: Array("It's GREAT!<br />10/10, Café_au-lait".utf8)),
                       ["it's", "great", "br", "10", "10", "café", "au", "lait"])
        XCTAssertThrowsError(try imdbWords(bytes: [0x61, 0xFF, 0x62], name: "r.txt")) { error in
            XCTAssertEqual(error as? DataError, .corrupt(path: "r.txt", reason: "not valid UTF-8 text"))
        }
        // counts: a 3, b 2, c 2 (tie: c after b), d 1; size 7 keeps 3 words (ids 4, 5, 6)
        let v = IMDBVocabulary(counting: [["a", "b", "c", "a"], ["d", "c", "a", "b"]], size: 7)
        XCTAssertEqual(v.words, ["a", "b", "c"])
        XCTAssertEqual(["a", "b", "c", "d"].map(v.id), [4, 5, 6, IMDBVocabulary.unknown])
        XCTAssertEqual(v.sequence(["c", "d"], length: 5), [0, 0, 1, 6, 2], "pre-padded, start id first")
        XCTAssertEqual(v.sequence(["a", "b", "c", "d"], length: 3), [5, 6, 2], "truncated from the front")
    }

    func testIMDBReaderOnGeneratedFolder() throws {
        let folder = try temporaryFolder("imdb")
        defer { folder.remove() }
        let reviews = [("train/pos", "1_9.txt", "Great great film"), ("train/pos", "0_8.txt", "great"),
                       ("train/neg", "2_1.txt", "Bad film<br />bad"), ("test/pos", "5_10.txt", "great unseen"),
                       ("test/neg", "6_2.txt", "bad")]
        for (sub, name, text) in reviews {
            let dir = "\(folder.path)/\(imdbFolder)/\(sub)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
        }
        try Data("not a review".utf8).write(to: URL(fileURLWithPath: "\(folder.path)/\(imdbFolder)/train/pos/README"))
        let d = try imdb(folder: folder.path, size: 8, length: 4)
        // train counts: great 3, bad 2, film 2, br 1 → ids great 4, bad 5, film 6, br 7
        XCTAssertEqual(d.vocabulary.words, ["great", "bad", "film", "br"])
        XCTAssertEqual(d.ytrn, [0, 1, 1], "negative first, then positive in file-name order")
        XCTAssertEqual(d.xtrn.shape, [4, 3])
        XCTAssertEqual([Double](d.xtrn), [5, 6, 7, 5,  0, 0, 1, 4,  1, 4, 4, 6], "bad film br bad; great; great great film")
        XCTAssertEqual([Double](d.xtst), [0, 0, 1, 5,  0, 1, 4, 2])
        XCTAssertEqual(d.ytst, [0, 1])
        // typed errors: a review that is not UTF-8, a missing folder
        try Data([0xC3]).write(to: URL(fileURLWithPath: "\(folder.path)/\(imdbFolder)/test/neg/7_1.txt"))
        XCTAssertThrowsError(try imdb(folder: folder.path)) { error in
            guard case .corrupt(let path, _)? = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("test/neg/7_1.txt"))
        }
        try FileManager.default.removeItem(atPath: "\(folder.path)/\(imdbFolder)/test/neg/7_1.txt")
        try FileManager.default.removeItem(atPath: "\(folder.path)/\(imdbFolder)/test/pos")
        XCTAssertThrowsError(try imdb(folder: folder.path)) { error in
            guard case .notFound(let file, _, _, _, _)? = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "aclImdb/test/pos")
        }
    }

    // MARK: - helpers

    /// make_fixtures.py's `formula(n, k, scale)[i]`.
    func formula(_ i: Int, _ k: Int, _ scale: Double) -> Double { Double((i * 7919 + k * 104729) % 2001 - 1000) / 1000 * scale }

    /// `model` with make_fixtures.py's weights: key k (sorted) of its PyTorch state_dict filled by the formula.
    func formulaWeights(_ model: Chain, _ layers: [PyTorch.Layer]) throws -> Chain {
        let template = try PyTorch.stateDict(model, layers: layers)
        var sd: [String: Tensor] = [:]
        for (k, key) in template.keys.sorted().enumerated() {
            let shape = template[key]!.shape, torchShape = Array(shape.reversed())
            let scale = key.hasSuffix("bias") || key.contains("bias_") ? 0.1
                : key.hasPrefix("embedding") ? 1 : 1 / Double(torchShape.dropFirst().reduce(1, *)).squareRoot()
            sd[key] = Tensor((0..<shape.reduce(1, *)).map { formula($0, k, scale) }, shape: shape, dtype: .float64)
        }
        return try PyTorch.filled(model, from: sd, layers: layers)
    }

    /// The scores, loss and digested gradients of `model` on `x`, `y` against fixture `name`.
    func compare(_ name: String, _ model: Chain, _ layers: [PyTorch.Layer], _ x: Tensor, _ y: [Int],
                 loss: @escaping (Chain, Tensor, [Int]) -> Tensor) throws {
        let io = try load(Self.fixtures.appendingPathComponent("\(name)_io.safetensors").path).tensors
        assertClose(model(x), io["y"]!, rtol: rtol, atol: atol)
        let lossgradient: (Chain, Tensor, [Int]) -> (Chain, Tensor) = gradloss(loss)
        let (g, l) = lossgradient(model, x, y)
        XCTAssertEqual(l.scalar, io["loss"]!.scalar, accuracy: 1e-12)
        let gradients = try PyTorch.stateDict(g, layers: layers)
        XCTAssertEqual(Set(gradients.keys), Set(io.keys.filter { $0.hasPrefix("g.") && $0.hasSuffix(".sum") }
            .map { String($0.dropFirst(2).dropLast(4)) }))
        for (key, gradient) in gradients {
            let v = [Double](gradient), n = v.count
            XCTAssertGreaterThan(v.filter { $0 != 0 }.count, 0, "\(key): a zero gradient tests nothing")
            assertClose(Tensor((0..<64).map { v[$0 * n / 64] }, shape: [64], dtype: .float64), io["g.\(key).sample"]!, rtol: rtol, atol: atol)
            var sum = 0.0, dot = 0.0
            for (i, gi) in v.enumerated() { sum += gi; dot += gi * Double(i % 13 - 6) }
            XCTAssertEqual(sum, io["g.\(key).sum"]!.scalar, accuracy: 1e-9 * (1 + Swift.abs(sum)), key)
            XCTAssertEqual(dot, io["g.\(key).dot"]!.scalar, accuracy: 1e-9 * (1 + Swift.abs(dot)), key)
        }
    }
}
