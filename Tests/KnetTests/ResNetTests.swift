import Foundation
import XCTest
@testable import Knet

/// ResNet (Sources/Knet/Models/ResNet.swift) against PyTorch: a tiny torchvision-layout
/// ResNet from Fixtures/resnet/make_fixture.py (bottleneck [1, 1, 1, 1], widths
/// [2, 4, 6, 8], fc to 5, float64, random running statistics, input H ≠ W) loads and
/// gives PyTorch's eval-mode outputs; the loader's errors; ResNet-50's sizes.
final class ResNetTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/resnet")
    static let weights = folder.appendingPathComponent("tiny_resnet.safetensors").path
    static let tiny = ResNet.Configuration(block: .bottleneck, layers: [1, 1, 1, 1], widths: [2, 4, 6, 8], classes: 5)

    func io() throws -> [String: Tensor] {
        try load(Self.folder.appendingPathComponent("tiny_resnet_io.safetensors").path).tensors
    }

    func testTinyResNetMatchesPyTorch() throws {
        let io = try io()
        let x = io["x"]!
        XCTAssertEqual(x.shape, [20, 16, 3, 2], "PyTorch's (2, 3, 16, 20) is Knet's [W, H, C, N]")
        let model = try ResNet.load(Self.weights, Self.tiny, dtype: .float64)
        assertClose(model(x), io["logits"]!, rtol: 1e-10, atol: 1e-10)
        let pooled = try ResNet.load(Self.weights, .init(block: .bottleneck, layers: [1, 1, 1, 1], widths: [2, 4, 6, 8]),
                                     dtype: .float64)
        assertClose(pooled(x), io["pooled"]!, rtol: 1e-10, atol: 1e-10)
        // Folding the batchnorms into the convolutions keeps the outputs (to rounding).
        let fast: any Layer = pooled.folded()
        assertClose(fast.callAsFunction(x), io["pooled"]!, rtol: 1e-10, atol: 1e-10)
        XCTAssertFalse(fast.leafLayers.contains { $0 is BatchNorm })
        XCTAssertEqual(fast.leafLayers.filter { $0 is Conv }.count, pooled.leafLayers.filter { $0 is Conv }.count)
        // A transposed input (H and W swapped) does not give PyTorch's outputs.
        let swapped = permutedims(x, [1, 0, 2, 3])
        XCTAssertGreaterThan(maximum(abs(pooled.eval()(swapped) - io["pooled"]!)).scalar, 1e-3)
    }

    func testFloat32LoadIsClose() throws {
        let io = try io()
        let model = try ResNet.load(Self.weights, Self.tiny)
        XCTAssertTrue(model.tensors.allSatisfy { $0.dtype == .float32 })
        assertClose(model(convert(io["x"]!, to: .float32)), io["logits"]!, rtol: 1e-4, atol: 1e-4)
    }

    func testRoundTripThroughSavePyTorch() throws {
        let model = try ResNet.load(Self.weights, Self.tiny, dtype: .float64)
        let original = try load(Self.weights).tensors
        let exported = try PyTorch.stateDict(model, layers: model.pytorchLayers)
        XCTAssertEqual(Set(exported.keys), Set(original.keys.filter { !$0.hasSuffix("num_batches_tracked") }))
        for (key, t) in exported { XCTAssertEqual([Double](t), [Double](original[key]!), key) }
    }

    func testLoaderErrorsNameKeyAndShapes() throws {
        // A wrong width: layer4's tensors have other shapes.
        let wide = ResNet.Configuration(block: .bottleneck, layers: [1, 1, 1, 1], widths: [2, 4, 6, 9], classes: 5)
        var message = ""
        do { _ = try ResNet.load(Self.weights, wide) } catch { message = "\(error)" }
        XCTAssertTrue(message.contains("tensor \"layer4.0.") && message.contains("has PyTorch shape"), message)
        // A missing key.
        var sd = try load(Self.weights).tensors
        sd["layer2.0.bn2.running_var"] = nil
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("resnet-missing-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try save(path, sd)
        XCTAssertThrowsError(try ResNet.load(path, Self.tiny)) { error in
            XCTAssertEqual(error as? PyTorchInteropError, .missingKey(source: path, key: "layer2.0.bn2.running_var", expected: [4]))
        }
        // Classes asked for, no fc in the file.
        sd = try load(Self.weights).tensors.filter { !$0.key.hasPrefix("fc.") }
        try save(path, sd)
        XCTAssertThrowsError(try ResNet.load(path, Self.tiny)) { error in
            XCTAssertEqual(error as? PyTorchInteropError, .missingKey(source: path, key: "fc.weight", expected: [5, 32]))
        }
        // A basic-block model does not read a bottleneck file.
        XCTAssertThrowsError(try ResNet.load(Self.weights, .init(block: .basic, layers: [1, 1, 1, 1], widths: [2, 4, 6, 8])))
    }

    func testResNet50Sizes() {
        XCTAssertEqual(outputShape(of: ResNet.resnet50(), for: [224, 224, 3, 32]), [2048, 32])
        XCTAssertEqual(outputShape(of: ResNet.resnet50(classes: 1000), for: [224, 224, 3, 2]), [1000, 2])
        let model = ResNet.resnet50(classes: 1000).build(for: [32, 32, 3, 1])
        XCTAssertEqual(model.parameterCount, 25_557_032)
        XCTAssertEqual(model.parameterCount - 2048 * 1000 - 1000, 23_508_032)
        XCTAssertEqual(model.pytorchLayers.count, 53 + 53 + 1, "53 convolutions, 53 batchnorms, fc")
        XCTAssertEqual(model.pytorchLayers.last?.name, "fc")
        XCTAssertEqual(model.pytorchLayers[6].name, "layer1.0.conv3")
        XCTAssertEqual(model.pytorchLayers[8].name, "layer1.0.downsample.0")
    }
}
