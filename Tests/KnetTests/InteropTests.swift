import Foundation
import XCTest
@testable import Knet

/// PyTorch state_dicts ↔ Knet models: fixtures made by Fixtures/interop/make_fixtures.py
/// load and give PyTorch's outputs; exports reproduce the state_dicts and reload exactly;
/// PyTorch itself reads Knet's exports (when torch is importable).
final class InteropTests: XCTestCase {
    /// Float64 fixtures: PyTorch's and Knet's outputs agree to rounding.
    let tight = (rtol: 1e-10, atol: 1e-12)

    func testCNNLoadsAndMatchesPyTorchInBothConvModes() throws {
        let io = try InteropFixture.io("cnn")
        for mode in [0, 1] {
            let m = bnmoments()
            let w = try loadPyTorch(InteropFixture.path("cnn.safetensors"), into: InteropCNN.template(),
                                    layers: InteropCNN.layers(mode: mode, moments: m))
            assertClose(InteropCNN.forward(w, m, io["x"]!, mode: mode), io["y"]!, rtol: tight.rtol, atol: tight.atol)
            let other = InteropCNN.forward(w, m, io["x"]!, mode: 1 - mode)    // the fixture notices a kernel flip
            XCTAssertGreaterThan(maximum(abs(other - io["y"]!)).scalar, 1e-3)
        }
    }

    func testFloat32ModelLoadsFloat64File() throws {
        let io = try InteropFixture.io("cnn"), m = bnmoments()
        let w = try loadPyTorch(InteropFixture.path("cnn.safetensors"), into: InteropCNN.template(dtype: .float32),
                                layers: InteropCNN.layers(mode: 0, moments: m))
        XCTAssertTrue(w.allSatisfy { $0.dtype == .float32 })
        XCTAssertEqual(m.mean?.dtype, .float32)
        let y = InteropCNN.forward(w, m, convert(io["x"]!, to: .float32), mode: 0)
        XCTAssertEqual(y.dtype, .float32)
        assertClose(y, io["y"]!, rtol: 1e-5, atol: 1e-6)
    }

    /// The layouts of the table in PyTorch.swift, element by element.
    func testLayoutsElementByElement() throws {
        let sd = try InteropFixture.stateDict("cnn")
        func torch(_ key: String) -> [Double] { [Double](sd[key]!) }   // row-major PyTorch order
        let m = bnmoments(), w0 = try PyTorch.filled(InteropCNN.template(), from: sd, layers: InteropCNN.layers(mode: 0, moments: m))
        let w1 = try PyTorch.filled(InteropCNN.template(), from: sd, layers: InteropCNN.layers(mode: 1, moments: nil), strict: false)
        // conv2.weight [O=4, C=3, kH=2, kW=3]: mode 1 is Knet [kW, kH, C, O] with the same bytes; mode 0 flips kW and kH.
        let k = torch("conv2.weight"), k0 = [Double](w0[3]), k1 = [Double](w1[3])
        for o in 0..<4 { for c in 0..<3 { for i in 0..<2 { for j in 0..<3 {
            let t = k[((o * 3 + c) * 2 + i) * 3 + j]
            XCTAssertEqual(k1[j + 3 * (i + 2 * (c + 3 * o))], t)
            XCTAssertEqual(k0[(2 - j) + 3 * ((1 - i) + 2 * (c + 3 * o))], t)
        } } } }
        // fc1.weight [5, 8] row-major is Knet w [5, 8] column-major: transposed bytes.
        let f = torch("fc1.weight"), fk = [Double](w0[5])
        for o in 0..<5 { for i in 0..<8 { XCTAssertEqual(fk[o + 5 * i], f[o * 8 + i]) } }
        XCTAssertEqual(w0[6].shape, [5, 1]); XCTAssertEqual([Double](w0[6]), torch("fc1.bias"))
        XCTAssertEqual(w0[1].shape, [1, 1, 3, 1]); XCTAssertEqual([Double](w0[1]), torch("conv1.bias"))
        XCTAssertEqual([Double](w0[2]), torch("bn1.weight") + torch("bn1.bias"))
        XCTAssertEqual([Double](m.mean!), torch("bn1.running_mean"))
        XCTAssertEqual([Double](m.variance!), torch("bn1.running_var"))
        XCTAssertEqual(m.mean!.shape, [3])
    }

    func testEmbeddingMatchesPyTorch() throws {
        let io = try InteropFixture.io("embed")
        let w = try loadPyTorch(InteropFixture.path("embed.safetensors"), into: Tensor.zeros(4, 7, dtype: .float64),
                                layers: [.embedding("")])
        assertIdentical(embed(w, io["indices"]!), io["y"]!, "embedding lookup")
    }

    func testLSTMsAndGRUsMatchPyTorch() throws {
        for (name, template) in InteropFixture.rnns {
            let io = try InteropFixture.io(name)
            let r = try loadPyTorch(InteropFixture.path(name + ".safetensors"), into: template, layers: [.rnn("", template)])
            let out = rnnforw(r, r.w, io["x"]!, h: io["h0"]!, c: io["c0"])
            assertClose(out.y, io["y"]!, rtol: tight.rtol, atol: tight.atol)
            assertClose(out.hy, io["hy"]!, rtol: tight.rtol, atol: tight.atol)
            if let cy = io["cy"] { assertClose(out.cy!, cy, rtol: tight.rtol, atol: tight.atol) }
            XCTAssertEqual(out.y.shape, [template.bidirectional ? 8 : 4, 2, 5], name)
        }
    }

    /// A model on a GPU (the emulated one here) loads onto it, runs there and exports from it.
    func testGPUModelLoadsRunsAndExports() throws {
        let gpu = try EmulatedGPU.device.get()
        let io = try InteropFixture.io("cnn"), sd = try InteropFixture.stateDict("cnn")
        let m = bnmoments(), layers = InteropCNN.layers(mode: 0, moments: m)
        let w = try PyTorch.filled(InteropCNN.template().map { $0.transferred(to: gpu) }, from: sd, layers: layers)
        XCTAssertEqual(Set(w.map(\.device) + [m.mean!.device, m.variance!.device]), [gpu])
        let y = InteropCNN.forward(w, m, io["x"]!.transferred(to: gpu), mode: 0)
        assertClose(y.transferred(to: .cpu), io["y"]!, rtol: tight.rtol, atol: tight.atol)
        for (key, t) in try PyTorch.stateDict(w, layers: layers) {
            XCTAssertEqual(t.device, .cpu, key)
            assertIdentical(t, sd[key]!, key)
        }
    }

    /// Import then export gives back PyTorch's state_dict bit for bit (less num_batches_tracked).
    func testExportReproducesThePyTorchStateDict() throws {
        let cnn = try InteropFixture.stateDict("cnn")
        var cases: [(name: String, sd: [String: Tensor], exported: [String: Tensor])] = []
        for mode in [0, 1] {
            let m = bnmoments(), layers = InteropCNN.layers(mode: mode, moments: m)
            let w = try PyTorch.filled(InteropCNN.template(), from: cnn, layers: layers)
            cases.append(("cnn mode \(mode)", cnn, try PyTorch.stateDict(w, layers: layers)))
        }
        let embedding = try InteropFixture.stateDict("embed")
        let w = try PyTorch.filled(Tensor.zeros(4, 7, dtype: .float64), from: embedding, layers: [.embedding("")])
        cases.append(("embed", embedding, try PyTorch.Layer.embedding("").stateDict([w])))
        for (name, template) in InteropFixture.rnns {
            let sd = try InteropFixture.stateDict(name)
            let r = try PyTorch.filled(template, from: sd, layers: [.rnn("", template)])
            cases.append((name, sd, try PyTorch.stateDict(r, layers: [.rnn("", template)])))
        }
        for (name, sd, exported) in cases {
            XCTAssertEqual(Set(exported.keys), Set(sd.keys).subtracting(["bn1.num_batches_tracked"]), name)
            for (key, t) in exported { assertIdentical(t, sd[key]!, "\(name): \(key)") }
        }
    }

    /// A `[Tensor]` model saved with layer names reloads exactly, moments included.
    func testSavedModelHasLayerNamesAndReloadsExactly() throws {
        let folder = try temporaryFolder("knet-interop")
        defer { folder.remove() }
        let m = bnmoments(mean: Tensor.randn(1, 1, 3, 1, dtype: .float64), variance: Tensor.rand(1, 1, 3, 1, dtype: .float64))
        let w = InteropCNN.template().map { Param(Tensor.randn(shape: $0.shape, dtype: .float64)) }
        let path = folder.path + "/cnn.safetensors"
        try savePyTorch(path, w, layers: InteropCNN.layers(mode: 0, moments: m), metadata: ["epoch": "2"])
        let file = try load(path)
        XCTAssertEqual(file.metadata, ["epoch": "2"])
        XCTAssertEqual(Set(file.tensors.keys), ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                                "bn1.running_var", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
                                                "fc2.weight", "fc2.bias"])
        XCTAssertEqual(file.tensors["conv2.weight"]!.shape.reversed(), [4, 3, 2, 3], "PyTorch's [O, C, kH, kW]")
        let m2 = bnmoments()
        let w2 = try loadPyTorch(path, into: InteropCNN.template().map { Param($0) }, layers: InteropCNN.layers(mode: 0, moments: m2))
        for (i, (a, b)) in zip(w, w2).enumerated() { assertIdentical(a, b, "tensor \(i)"); XCTAssertTrue(b.isParam) }
        assertIdentical(reshape(m.mean!, [3]), m2.mean!, "running mean")
        assertIdentical(reshape(m.variance!, [3]), m2.variance!, "running variance")
    }

    /// A struct model (embedding, LSTM, dense) by prefixed names, in its `mapTensors` order.
    func testStructModelLoadsByPrefixedNames() throws {
        struct Tagger: Params {
            var embed: Tensor, lstm: RNN, out: [Tensor]
            func mapTensors(_ f: (Tensor) throws -> Tensor) rethrows -> Tagger {
                Tagger(embed: try f(embed), lstm: try lstm.mapTensors(f), out: try out.mapTensors(f))
            }
        }
        let lstm = InteropFixture.rnns[0].rnn
        var sd: [String: Tensor] = ["out.weight": Tensor.randn(4, 3, dtype: .float64), "out.bias": Tensor.randn(3, dtype: .float64)]
        for (k, v) in try InteropFixture.stateDict("embed") { sd["embed." + k] = v }
        for (k, v) in try InteropFixture.stateDict("lstm1") { sd["lstm." + k] = v }
        let template = Tagger(embed: Tensor.zeros(4, 7, dtype: .float64), lstm: lstm,
                              out: [Tensor.zeros(3, 4, dtype: .float64), Tensor.zeros(3, 1, dtype: .float64)])
        let layers: [PyTorch.Layer] = [.embedding("embed"), .rnn("lstm", lstm), .dense("out")]
        let model = try PyTorch.filled(template, from: sd, layers: layers)
        let alone = try PyTorch.filled(lstm, from: try InteropFixture.stateDict("lstm1"), layers: [.rnn("", lstm)])
        assertIdentical(model.lstm.w, alone.w, "lstm")
        assertIdentical(model.out[0], transpose(sd["out.weight"]!), "out.weight")
        assertIdentical(model.out[1], reshape(sd["out.bias"]!, [3, 1]), "out.bias")
        XCTAssertEqual(try PyTorch.Layer.rnn("lstm", lstm).keys(like: [lstm.w]),
                       ["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0"])
    }

    /// The README's LeNet example, as written there, on a file with a PyTorch LeNet's names and shapes.
    func testReadmeLeNetExample() throws {
        let folder = try temporaryFolder("knet-interop-readme")
        defer { folder.remove() }
        let path = folder.path + "/lenet.safetensors"
        let trained = (cbfpParams(window: 5, inputs: 1, outputs: 20) + cbfpParams(window: 5, inputs: 20, outputs: 50)
                       + wbfParams(inputs: 800, outputs: 500) + wbfParams(inputs: 500, outputs: 10))
            .map { $0 .+ Tensor.randn(shape: $0.shape) * 0.01 }
        try savePyTorch(path, trained, layers: [.conv("conv1"), .conv("conv2"), .dense("fc1"), .dense("fc2")])
        let shapes = try load(path).tensors.mapValues { Array($0.shape.reversed()) }
        XCTAssertEqual(shapes, ["conv1.weight": [20, 1, 5, 5], "conv1.bias": [20], "conv2.weight": [50, 20, 5, 5], "conv2.bias": [50],
                                "fc1.weight": [500, 800], "fc1.bias": [500], "fc2.weight": [10, 500], "fc2.bias": [10]])
        let x = Tensor.rand(28, 28, 1, 3)
        // The README's lines:
        let layers: [PyTorch.Layer] = [.conv("conv1"), .conv("conv2"), .dense("fc1"), .dense("fc2")]
        let lenet = cbfpParams(window: 5, inputs: 1, outputs: 20) + cbfpParams(window: 5, inputs: 20, outputs: 50)
                  + wbfParams(inputs: 800, outputs: 500) + wbfParams(inputs: 500, outputs: 10)
        let w = try loadPyTorch(path, into: lenet, layers: layers)
        let scores = wbf(w[6], w[7], wbf(w[4], w[5], cbfp(w[2], w[3], cbfp(w[0], w[1], x))), f: { $0 })   // [10, N]
        let t = trained
        let expected = wbf(t[6], t[7], wbf(t[4], t[5], cbfp(t[2], t[3], cbfp(t[0], t[1], x))), f: { $0 })
        XCTAssertEqual(scores.shape, [10, 3])
        assertIdentical(scores, expected, "LeNet scores")
    }

    /// PyTorch loads Knet's exports of random models strictly and computes Knet's outputs.
    func testPyTorchReadsKnetExports() throws {
        let probe = try runProcess(["python3", "-c", "import torch, safetensors"], collectOutput: true)
        guard probe.status == 0 else {
            print("InteropTests: skipping the PyTorch check (python3 with torch and safetensors is not importable)")
            throw XCTSkip("torch is not importable")
        }
        let folder = try temporaryFolder("knet-interop-export")
        defer { folder.remove() }
        func write(_ name: String, _ model: some Params, _ layers: [PyTorch.Layer], io: [String: Tensor]) throws {
            try savePyTorch(folder.path + "/\(name).safetensors", model, layers: layers)
            try save(folder.path + "/\(name)_io.safetensors", io)
        }
        let cnnIO = try InteropFixture.io("cnn")
        let m = bnmoments(mean: Tensor.randn(3, dtype: .float64), variance: Tensor.rand(3, dtype: .float64) .+ 0.5)
        let w = InteropCNN.template().map { Tensor.randn(shape: $0.shape, dtype: .float64) * 0.5 }
        try write("cnn", w, InteropCNN.layers(mode: 0, moments: m),
                  io: ["x": cnnIO["x"]!, "y": InteropCNN.forward(w, m, cnnIO["x"]!, mode: 0)])
        let e = Tensor.randn(4, 7, dtype: .float64), indices = try InteropFixture.io("embed")["indices"]!
        try write("embed", e, [.embedding("")], io: ["indices": indices, "y": embed(e, indices)])
        for (name, template) in InteropFixture.rnns {
            let io = try InteropFixture.io(name)
            let r = template.mapTensors { Tensor.randn(shape: $0.shape, dtype: .float64) * 0.5 }
            let out = rnnforw(r, r.w, io["x"]!, h: io["h0"]!, c: io["c0"])
            var knet = ["x": io["x"]!, "h0": io["h0"]!, "y": out.y, "hy": out.hy]
            if let c0 = io["c0"] { knet["c0"] = c0; knet["cy"] = out.cy! }
            try write(name, r, [.rnn("", r)], io: knet)
        }
        let script = InteropFixture.path("make_fixtures.py")
        let result = try runProcess(["python3", script, "--check", folder.path], collectOutput: true)
        print(result.stdout, result.stderr)
        XCTAssertEqual(result.status, 0, "PyTorch disagrees with Knet's exports:\n\(result.stdout)\(result.stderr)")
        XCTAssertEqual(result.stdout.split(separator: "\n").count, 1 + 1 + 3 + 3 + 2 + 2, "one line per output")
    }
}
