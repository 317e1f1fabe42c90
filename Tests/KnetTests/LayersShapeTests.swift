import XCTest
@testable import Knet

/// Size inference, `outputShape` and `summary` on the models of issue 15: LeNet and the
/// DeepLearningFrameworks CIFAR-10 CNN.
final class LayersShapeTests: XCTestCase {
    /// Knet's LeNet: 5×5×1×20+20, 5×5×20×50+50, 800×500+500, 500×10+10.
    func lenet() -> Chain {
        Chain(Conv(5, 5, out: 20), .relu, Pool(2), Conv(5, 5, out: 50), .relu, Pool(2),
              Dense(out: 500, activation: .relu), Dense(out: 10))
    }

    /// conv3×3 3→50 pad 1, relu, conv 50→50, maxpool 2, relu, dropout 0.25, conv 50→100,
    /// relu, conv 100→100, maxpool 2, relu, dropout 0.25, flatten 6400 → dense 512, relu,
    /// dropout 0.5 → dense 10.
    func cifar() -> Chain {
        Chain(Conv(3, 3, out: 50, padding: 1), .relu, Conv(3, 3, out: 50, padding: 1), Pool(2), .relu, Dropout(0.25),
              Conv(3, 3, out: 100, padding: 1), .relu, Conv(3, 3, out: 100, padding: 1), Pool(2), .relu, Dropout(0.25),
              Flatten(), Dense(out: 512, activation: .relu), Dropout(0.5), Dense(out: 10))
    }

    /// Every layer's output shape from the shape rules equals the one a real forward pass
    /// gives, and computing it builds nothing.
    func assertShapesMatchForward(_ model: Chain, _ input: [Int], _ expected: [Int],
                                  file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(outputShape(of: model, for: input), expected, file: file, line: line)
        XCTAssertFalse(model.isBuilt, "outputShape builds nothing", file: file, line: line)
        var shapes: [[Int]] = [], s = input
        for layer in model.layers { s = layer.outputShape(for: s); shapes.append(s) }
        var x = Tensor.randn(shape: input)
        for (layer, shape) in zip(model.layers, shapes) {
            x = layer(x)
            XCTAssertEqual(x.shape, shape, "\(layer)", file: file, line: line)
        }
        XCTAssertEqual(model.tensors.count, model.layers.filter { $0 is Conv || $0 is Dense }.count * 2,
                       file: file, line: line)
    }

    func testLeNetShapesAndParameters() {
        let model = lenet()
        assertShapesMatchForward(model, [28, 28, 1, 3], [10, 3])
        XCTAssertEqual(model.tensors.map(\.shape), [[5, 5, 1, 20], [1, 1, 20, 1], [5, 5, 20, 50], [1, 1, 50, 1],
                                                    [500, 800], [500, 1], [10, 500], [10, 1]])
        XCTAssertEqual(model.parameterCount, 431_080)
        XCTAssertEqual(outputShape(of: model, for: [28, 28, 1, 64]), [10, 64], "the batch size is free")
        assertKnetError("Dense(800 => 500, relu)", "[5, 5, 50, 7]", "1250 features", "built for 800") { _ = model.outputShape(for: [32, 32, 1, 7]) }
    }

    func testCIFARShapesAndParameters() {
        let model = cifar()
        assertShapesMatchForward(model, [32, 32, 3, 2], [10, 2])
        XCTAssertEqual((model[13] as! Dense).weight?.shape, [512, 6400], "flatten 6400 → dense 512")
        XCTAssertEqual(model.parameterCount, 1400 + 22_550 + 45_100 + 90_100 + 3_277_312 + 5130)
    }

    func testSummary() {
        let text = summary(lenet(), inputShape: [28, 28, 1, 1])
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 11, text)
        XCTAssertEqual(lines.first?.split(separator: " ", omittingEmptySubsequences: true), ["layer", "output", "shape", "parameters"])
        XCTAssertTrue(lines[1].hasPrefix("Chain ") && lines[1].hasSuffix("431,080") && lines[1].contains("[10, 1]"), text)
        XCTAssertTrue(lines[2].hasPrefix("  Conv(5×5, 1 => 20) ") && lines[2].contains("[24, 24, 20, 1]")
                      && lines[2].hasSuffix(" 520"), text)
        XCTAssertTrue(lines[3].hasPrefix("  relu ") && lines[3].hasSuffix(" 0"), text)
        XCTAssertTrue(lines[8].hasPrefix("  Dense(800 => 500, relu) ") && lines[8].hasSuffix("400,500"), text)
        XCTAssertTrue(lines[10].hasPrefix("total ") && lines[10].hasSuffix("431,080"), text)
        XCTAssertEqual(Set(lines.map(\.count)).count, 1, "aligned columns:\n\(text)")

        let nested = Chain(Residual(Chain(Conv(3, 3, out: 4, padding: 1), BatchNorm()), projection: Conv(1, 1, out: 4)),
                           Flatten(), Dense(out: 2))
        let rows = nested.summary(for: [5, 5, 2, 1]).split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.map { $0.prefix { $0 == " " }.count }, [0, 0, 2, 4, 6, 6, 4, 2, 2, 0], rows.joined(separator: "\n"))
        XCTAssertTrue(rows[5].hasPrefix("      BatchNorm(4) ") && rows[5].hasSuffix(" 8"), "running statistics are not counted")
        XCTAssertTrue(rows[2].contains("Residual(projection)") && rows[2].contains("[5, 5, 4, 1]"))
    }

    func testBuildAndInitialization() {
        let model = Chain(Conv(3, 3, out: 4), LSTM(hidden: 2))
        XCTAssertFalse(model.isBuilt)
        assertKnetError("LSTM(hidden: 2)", "[4, 4, 4, 1]", "[X, B, T]") { _ = model.outputShape(for: [6, 6, 2, 1]) }
        let rnnModel = Chain(Embed(vocab: 10, dim: 4), LSTM(hidden: 2))
        XCTAssertEqual(outputShape(of: rnnModel, for: [3, 5]), [2, 3, 5])
        XCTAssertFalse(rnnModel.isBuilt)
        rnnModel.build(for: [3, 5], dtype: .float64)
        XCTAssertTrue(rnnModel.isBuilt)
        XCTAssertEqual(rnnModel.tensors.map(\.dtype), [.float32, .float64], "Embed is sized at init; the LSTM follows build")

        let pytorch = Chain(Conv(3, 3, out: 4, initialization: .pytorch), Flatten(), Dense(out: 3, initialization: .pytorch))
            .build(for: [6, 6, 2, 1], dtype: .float64)
        let t = pytorch.tensors
        for (tensor, fanIn) in zip(t, [18, 18, 64, 64]) {
            let values = [Double](tensor), bound = 1 / Double(fanIn).squareRoot()
            XCTAssertTrue(values.allSatisfy { Swift.abs($0) <= bound }, "U(±1/√\(fanIn))")
            XCTAssertGreaterThan(values.map { Swift.abs($0) }.max()!, bound / 2, "not all near zero")
        }
        let knet = Dense(in: 5, out: 3)
        XCTAssertEqual([Double](knet.bias!), [0, 0, 0])
    }
}
