import XCTest
@testable import Knet

/// Interop errors: missing, unexpected and mis-shaped tensors name the key and both
/// shapes; layer lists that do not fit the model say how.
extension InteropTests {
    /// The error `body` throws, which must be a `PyTorchInteropError`.
    private func interopError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> PyTorchInteropError? {
        do { try body() } catch let e as PyTorchInteropError { return e } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
        XCTFail("no error thrown", file: file, line: line)
        return nil
    }

    /// The CNN fixture's state_dict changed by `edit`, loaded as the CNN (mode 0) with `moments`.
    private func loadCNN(_ edit: (inout [String: Tensor]) -> Void = { _ in }, template: [Tensor] = InteropCNN.template(),
                         moments: BNMoments? = bnmoments(), strict: Bool = true) throws -> [Tensor] {
        var sd = try InteropFixture.stateDict("cnn")
        edit(&sd)
        return try PyTorch.filled(template, from: sd, layers: InteropCNN.layers(mode: 0, moments: moments), strict: strict)
    }

    func testMissingKeyNamesTheKeyAndShape() throws {
        let e = interopError { _ = try self.loadCNN { $0["fc1.bias"] = nil } }
        XCTAssertEqual(e, .missingKey(source: "state_dict", key: "fc1.bias", expected: [5]))
        XCTAssertEqual(e?.description, "state_dict: no tensor \"fc1.bias\" (the model needs one of PyTorch shape [5])")
        let missingStats = interopError { _ = try self.loadCNN { $0["bn1.running_var"] = nil } }
        XCTAssertEqual(missingStats, .missingKey(source: "state_dict", key: "bn1.running_var", expected: [3]))
    }

    func testNonStrictLoadingKeepsTheModelsValuesAndIgnoresExtras() throws {
        let template = InteropCNN.template().map { Tensor.fill(7, shape: $0.shape, dtype: .float64) }
        let w = try loadCNN({ $0["fc1.bias"] = nil; $0["bn1.bias"] = nil; $0["head.weight"] = Tensor.zeros(2) },
                            template: template, strict: false)
        let sd = try InteropFixture.stateDict("cnn")
        XCTAssertEqual([Double](w[6]), [Double](repeating: 7, count: 5), "fc1.bias kept")
        XCTAssertEqual([Double](w[2]), [Double](sd["bn1.weight"]!) + [7, 7, 7], "bn1.weight read, bn1.bias kept")
        assertIdentical(w[8], reshape(sd["fc2.bias"]!, [3, 1]), "fc2.bias read")
    }

    func testUnexpectedKeysAreListed() throws {
        let e = interopError { _ = try self.loadCNN { $0["head.weight"] = Tensor.zeros(2) } }
        XCTAssertEqual(e, .unexpectedKeys(source: "state_dict", keys: ["head.weight"]))
        XCTAssertTrue(e!.description.contains("\"head.weight\"") && e!.description.contains("strict: false"), e!.description)
        let noMoments = interopError { _ = try self.loadCNN(moments: nil) }
        XCTAssertEqual(noMoments, .unexpectedKeys(source: "state_dict",
                                                  keys: ["bn1.num_batches_tracked", "bn1.running_mean", "bn1.running_var"]))
    }

    func testShapeMismatchNamesBothPyTorchShapes() throws {
        var template = InteropCNN.template()
        template[5] = Tensor.zeros(5, 9, dtype: .float64)           // fc1 with 9 inputs instead of 8
        let e = interopError { _ = try self.loadCNN(template: template) }
        XCTAssertEqual(e, .shapeMismatch(source: "state_dict", key: "fc1.weight", expected: [5, 9], found: [5, 8]))
        XCTAssertEqual(e?.description, "state_dict: tensor \"fc1.weight\" has PyTorch shape [5, 8] but the model needs [5, 9]")
        let path = InteropFixture.path("cnn.safetensors")
        template = InteropCNN.template()
        template[0] = Tensor.zeros(3, 3, 2, 3, dtype: .float64)      // conv1 with 2 input channels
        XCTAssertEqual(interopError { _ = try loadPyTorch(path, into: template, layers: InteropCNN.layers(mode: 1, moments: nil)) },
                       .shapeMismatch(source: path, key: "conv1.weight", expected: [3, 2, 3, 3], found: [3, 1, 3, 3]))
    }

    func testLayerListsThatDoNotFitTheModel() throws {
        let w = InteropCNN.template()
        XCTAssertEqual(interopError { _ = try PyTorch.stateDict(w, layers: [.dense("fc")]) }, .tensorCount(layers: 2, model: 9))
        XCTAssertEqual(interopError { _ = try PyTorch.Layer.dense("fc").stateDict([w[0], w[1]]) },
                       .layerMismatch(layer: "fc", detail: "weight of shape [3, 3, 1, 3] is not 2-d [out, in]"))
        XCTAssertEqual(interopError { _ = try PyTorch.Layer.dense("fc").stateDict([w[5], w[8]]) },
                       .layerMismatch(layer: "fc", detail: "bias of shape [3, 1] does not hold 5 values"))
        XCTAssertEqual(interopError { _ = try PyTorch.Layer.dense("fc", bias: false).stateDict([w[5], w[6]]) },
                       .layerMismatch(layer: "fc", detail: "takes 1 Knet tensor, got 2"))
        XCTAssertEqual(interopError { _ = try PyTorch.Layer.batchNorm("bn").stateDict([Tensor.zeros(5)]) },
                       .layerMismatch(layer: "bn", detail: "params of shape [5] do not hold 2C values (bnparams(C))"))
        let r = RNN(3, 4)
        XCTAssertEqual(interopError { _ = try PyTorch.Layer.rnn("lstm", r).stateDict([Tensor.zeros(10)]) },
                       .layerMismatch(layer: "lstm", detail: "weights of shape [10], expected [\(r.paramCount)] for its RNN configuration"))
        let m = bnmoments(mean: Tensor.zeros(4))
        XCTAssertEqual(interopError { _ = try PyTorch.Layer.batchNorm("bn", moments: m).stateDict([bnparams(3)]) },
                       .layerMismatch(layer: "bn", detail: "running mean of shape [4] does not hold 3 values"))
        XCTAssertEqual(interopError { _ = try PyTorch.stateDict([w[5], w[6], w[5], w[6]], layers: [.dense("fc"), .dense("fc")]) },
                       .layerMismatch(layer: "fc", detail: "uses the key \"fc.weight\" of layer \"fc\" too"))
    }

    func testLayersWithoutAPyTorchCounterpart() throws {
        let skip = RNN(4, 4, rnnType: .gru, skipInput: true)
        let e = interopError { _ = try PyTorch.Layer.rnn("gru", skip).stateDict([skip.w]) }
        XCTAssertEqual(e, .unsupported(layer: "gru", detail: "an RNN with skipInput"))
        XCTAssertEqual(e?.description, "layer \"gru\": an RNN with skipInput has no PyTorch counterpart")
        let w = InteropCNN.template()
        XCTAssertEqual(interopError { _ = try PyTorch.Layer.conv("c", mode: 2).stateDict([w[0], w[1]]) },
                       .unsupported(layer: "c", detail: "conv mode 2"))
    }

    /// A failed load leaves the batchnorm moments as they were; a successful one fills them.
    func testMomentsChangeOnlyWhenTheWholeModelLoads() throws {
        let m = bnmoments()
        XCTAssertNotNil(interopError { _ = try self.loadCNN({ $0["fc2.weight"] = nil }, moments: m) })
        XCTAssertNil(m.mean); XCTAssertNil(m.variance)
        _ = try loadCNN(moments: m)
        XCTAssertEqual(m.mean?.shape, [3])
    }
}
