import XCTest
@testable import Knet

/// Asserts two tensors have the same shape and bit-for-bit the same values.
func assertSameTensor(_ a: Tensor, _ b: Tensor, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "shapes", file: file, line: line)
    XCTAssertEqual([Double](a), [Double](b), file: file, line: line)
}

/// The layers API on the CPU and on the emulated GPU: each layer's forward pass is the
/// functional op it wraps, gradients pass gradcheck, training through `grad` changes the
/// user's own model, and the modes switch dropout and batchnorm.
final class LayersAPITests: DeviceTestCase {
    func testDenseIsWbf() {
        let x = rand64(2, 2, 2, 5)
        let d = Dense(out: 3, activation: .tanh)
        XCTAssertFalse(d.isBuilt)
        let y = d(x)
        XCTAssertEqual(d.weight?.shape, [3, 8])
        XCTAssertEqual(d.bias?.shape, [3, 1])
        XCTAssertEqual(d.weight?.dtype, .float64, "built with the input's dtype")
        XCTAssertEqual(d.weight?.device, currentDevice, "and on its device")
        XCTAssertEqual([Double](d.bias!), [0, 0, 0], "Knet's zero biases")
        let bound = (2.0 / Double(8 + 3)).squareRoot()
        XCTAssertTrue([Double](d.weight!).allSatisfy { Swift.abs($0) <= bound }, "xavier")
        assertSameTensor(y, tanh(d.weight! * reshape(x, 8, 5) .+ d.bias!))
        let plain = Dense(out: 4, bias: false)
        assertSameTensor(plain(x), plain.weight! * reshape(x, 8, 5))
        XCTAssertNil(plain.bias)
        XCTAssertEqual("\(d)", "Dense(8 => 3, tanh)")
    }

    func testConvAndConvTransposeAreConv4AndDeconv4() {
        let x = rand64(7, 7, 4, 2)
        let c = Conv(3, 3, out: 4, padding: 1, stride: 2, groups: 2, activation: .relu)
        let y = c(x)
        XCTAssertEqual(c.weight?.shape, [3, 3, 2, 4])
        XCTAssertEqual(c.bias?.shape, [1, 1, 4, 1])
        c.bias!.assign(rand64(1, 1, 4, 1))
        assertSameTensor(c(x), relu(conv4(c.weight!, x, padding: 1, stride: 2, group: 2) .+ c.bias!))
        XCTAssertEqual(y.shape, [4, 4, 4, 2])
        let dilated = Conv(3, 2, out: 3, dilation: [2, 1], mode: 1)
        assertSameTensor(dilated(x) .- dilated.bias!, conv4(dilated.weight!, x, dilation: [2, 1], mode: 1))
        let oneD = Conv(3, out: 2)
        let s = rand64(10, 3, 2)
        assertSameTensor(oneD(s), conv4(oneD.weight!, s) .+ oneD.bias!)
        XCTAssertEqual(oneD.weight?.shape, [3, 3, 2])

        let t = ConvTranspose(2, 2, out: 3, stride: 2)
        let u = rand64(4, 4, 5, 2)
        let up = t(u)
        XCTAssertEqual(t.weight?.shape, [2, 2, 3, 5])
        XCTAssertEqual(up.shape, [8, 8, 3, 2])
        assertSameTensor(up, deconv4(t.weight!, u, stride: 2) .+ t.bias!)
        XCTAssertEqual("\(c)", "Conv(3×3, 4 => 4, relu, padding: 1, stride: 2, groups: 2)")
        XCTAssertEqual("\(t)", "ConvTranspose(2×2, 5 => 3, stride: 2)")
    }

    func testParameterlessLayersAreTheirFunctions() {
        let x = rand64(6, 6, 2, 3)
        assertSameTensor(Pool(2)(x), pool(x))
        assertSameTensor(Pool(3, padding: 1, stride: 1, mode: .averageExcludingPadding)(x),
                         pool(x, window: 3, padding: 1, stride: 1, mode: 2))
        assertSameTensor(Flatten()(x), reshape(x, 72, 3))
        assertSameTensor(Activation.relu(x), relu(x))
        assertSameTensor(Chain(.sigm, .tanh)(x), tanh(sigm(x)))
        assertSameTensor(Lambda { $0 .* 2 }(x), x .* 2)
        assertSameTensor(Chain()(x), x)
    }

    func testEmbedGathersColumns() {
        let e = Embed(vocab: 7, dim: 3, dtype: .float64)
        XCTAssertEqual(e.weight.device, currentDevice)
        let ids = Tensor([3, 0, 6, 6, 1, 2], shape: [2, 3], dtype: .float64)
        let y = e(ids)
        XCTAssertEqual(y.shape, [3, 2, 3])
        assertSameTensor(y, reshape(e.weight[.all, [3, 0, 6, 6, 1, 2]], 3, 2, 3))
        XCTAssertTrue(gradcheck({ (m: Embed, ids: Tensor) in sum(abs2(m(ids))) }, e, ids))
        assertKnetError("Embed(7 => 3)", "index 7", "0..<7") { _ = e(Tensor([1, 7])) }
        assertKnetError("Embed(7 => 3)", "integers", "2.5") { _ = e(Tensor([2.5])) }
    }

    func testRecurrentLayersAreRnnforw() {
        let x = rand64(3, 2, 5)
        let lstm = LSTM(hidden: 4, layers: 2, bidirectional: true)
        let y = lstm(x)
        XCTAssertEqual(y.shape, [8, 2, 5])
        XCTAssertEqual(lstm.rnn?.rnnType, .lstm)
        XCTAssertEqual(lstm.rnn?.inputSize, 3)
        assertSameTensor(y, rnnforw(lstm.rnn!, lstm.rnn!.w, x).y)
        let gru = GRU(hidden: 4, output: .last)
        let last = gru(x)
        XCTAssertEqual(last.shape, [4, 2])
        assertSameTensor(last, rnnforw(gru.rnn!, gru.rnn!.w, x).y[.all, .all, 4])
        for (layer, type) in [(SimpleRNN(hidden: 2) as any Layer, RNNType.tanh), (ReluRNN(hidden: 2), .relu)] {
            let y = layer(x)
            let r = (layer as? SimpleRNN)?.rnn ?? (layer as! ReluRNN).rnn!
            XCTAssertEqual(r.rnnType, type)
            assertSameTensor(y, rnnforw(r, r.w, x).y)
        }
        XCTAssertEqual("\(lstm)", "LSTM(3 => 4, layers: 2, bidirectional)")
        XCTAssertEqual("\(gru)", "GRU(3 => 4, last)")
    }

    /// A small CNN with every kind of layer passes gradcheck in Float64 (in eval mode, so
    /// that batchnorm is the same function inside `grad` and in the finite differences).
    func testChainGradcheck() {
        let x = rand64(6, 6, 2, 3)
        let model = Chain(Conv(3, 3, out: 2, padding: 1, activation: .tanh),
                          Residual(Chain(Conv(3, 3, out: 2, padding: 1, activation: .tanh), Conv(3, 3, out: 2, padding: 1))),
                          Residual(Conv(3, 3, out: 3, padding: 1), projection: Conv(1, 1, out: 3)),
                          BatchNorm(), Pool(2, mode: .average), ConvTranspose(2, 2, out: 2, stride: 2), .elu,
                          Dropout(0.5), Flatten(), Dense(out: 3, activation: .sigm), Dense(out: 2))
        XCTAssertEqual(model(x).shape, [2, 3])
        model.eval()
        (model[3] as! BatchNorm).moments.mean!.assign(rand64(1, 1, 3, 1))
        XCTAssertTrue(gradcheck({ (m: Chain, x: Tensor) in sum(abs2(m(x))) }, model, x))
        let tokens = Tensor([1, 4, 0, 2, 3, 3, 4, 1], shape: [2, 4], dtype: .float64)
        let recurrent = Chain(Embed(vocab: 5, dim: 3, dtype: .float64), LSTM(hidden: 3),
                              GRU(hidden: 2, output: .last), Dense(out: 2))
        _ = recurrent(tokens)
        XCTAssertTrue(gradcheck({ (m: Chain, t: Tensor) in sum(abs2(m(t))) }, recurrent, tokens))
    }

    /// THE PITFALL: `grad` differentiates a copy of the model. A chain sized by inference
    /// must be built before `grad` (an unbuilt one is refused, naming the layer), and then
    /// training changes the parameters of the very objects the user holds.
    func testTrainingThroughGradChangesTheUsersModel() {
        setseed(7)
        let x = Tensor.randn(4, 30), labels = (0..<30).map { $0 % 3 }
        var model = Chain(Dense(out: 16, activation: .relu), Dense(out: 3))
        let first = model[0] as! Dense
        let lossgradient = gradloss { (m: Chain, x: Tensor, y: [Int]) in nll(m(x), y) }
        assertKnetError("Dense(out: 16, relu)", "not built yet", "before grad") { _ = lossgradient(model, x, labels) }
        assertKnetError("Dense(out: 16, relu)", "not built yet") { _ = optimizers(model, Adam()) }
        XCTAssertNil(first.weight, "a refused grad leaves the model as it was")

        let before = nll(model(x), labels).scalar        // the first call builds the model in place
        let w0 = [Float](first.weight!), weightObject = first.weight!
        var opt = optimizers(model, Adam(lr: 0.01))
        XCTAssertEqual(opt.count, 4)
        var losses: [Double] = []
        for _ in 0..<30 {
            let (dm, loss) = lossgradient(model, x, labels)
            XCTAssertEqual(dm.tensors.map(\.shape), model.tensors.map(\.shape), "the gradient is a Chain like the model")
            losses.append(loss.scalar)
            update(&model, dm, &opt)
        }
        XCTAssertEqual(losses[0], before, accuracy: 1e-5)
        XCTAssertLessThan(nll(model(x), labels).scalar, 0.8 * before, "the loss falls")
        XCTAssertTrue(model[0] === first && first.weight! === weightObject, "the user's objects")
        XCTAssertNotEqual([Float](first.weight!), w0, "their parameters changed")

        // The same through build(for:) and the Trainer.
        let built = Chain(Dense(out: 8, activation: .relu), Dense(out: 3)).build(for: [4, 1], device: currentDevice)
        let trainer = Trainer(built, Sgd(lr: 0.5))
        let trained = Array(trainer.minimize({ (m: Chain, x: Tensor, y: [Int]) in nll(m(x), y) },
                                             Array(repeating: (x, labels), count: 20)))
        XCTAssertLessThan(trained.last!, trained.first!)
    }

    func testDropoutModes() {
        let x = Tensor.ones(1000)
        let d = Dropout(0.5)
        XCTAssertTrue(d(x) === x, "train mode outside grad: as dropout, inactive")
        setseed(3)
        let expected = [Float](dropout(x, 0.5, drop: true))
        setseed(3)
        XCTAssertEqual([Float](forwardRecorded({ (x: Tensor) in d(x) }, x)), expected, "train mode while recording drops")
        let model = Chain(d).eval()
        XCTAssertEqual(d.mode, .eval, "eval() reaches the layers inside")
        XCTAssertEqual([Float](forwardRecorded({ (x: Tensor) in model(x) }, x)), [Float](x),
                       "eval mode: the identity while recording too")
        model.train()
        XCTAssertEqual(d.mode, .train)

        // A recurrent layer's dropout between layers follows the mode too.
        let seq = rand64(3, 2, 4)
        let lstm = LSTM(hidden: 3, layers: 2, dropout: 0.5)
        let plain = [Double](lstm(seq))
        setseed(4)
        XCTAssertNotEqual([Double](forwardRecorded({ (x: Tensor) in lstm(x) }, seq)), plain, "train: drops while recording")
        lstm.eval()
        XCTAssertEqual([Double](forwardRecorded({ (x: Tensor) in lstm(x) }, seq)), plain, "eval: no dropout")
        XCTAssertEqual(lstm.mapTensors { $0 }.mode, .eval, "copies keep the mode")
    }

    func testBatchNormModes() {
        let x = rand64(4, 4, 3, 8) .* 2 .+ 1
        let bn = BatchNorm()
        let inference = bn(x)                                   // builds; outside grad: running statistics
        XCTAssertEqual(bn.params?.shape, [6])
        XCTAssertEqual(bn.moments.mean?.shape, [1, 1, 3, 1])
        assertClose(inference, x ./ sqrt(1 + 1e-5), rtol: 1e-12, atol: 1e-12)

        // Training mode inside grad: batch statistics, and the running ones of the user's
        // layer move (the grad copy shares them).
        let p = bn.params!
        var recorded: Tensor?
        let g = grad { (m: BatchNorm, x: Tensor) -> Tensor in
            let y = m(x)
            recorded = value(y)
            return sum(y .* y .* x)
        }
        _ = g(bn, x)
        assertClose(recorded!, batchnorm(x, nil, p, training: true), rtol: 1e-10, atol: 1e-10)
        let batchMean = mean(x, dims: [0, 1, 3])
        assertClose(bn.moments.mean!, batchMean .* 0.1, rtol: 1e-10, atol: 1e-12)

        // Eval mode: running statistics inside grad too, and they stay.
        bn.eval()
        let meanBefore = [Double](bn.moments.mean!)
        _ = g(bn, x)
        assertClose(recorded!, batchnorm(x, bn.moments, p, training: false), rtol: 1e-12, atol: 1e-12)
        XCTAssertEqual([Double](bn.moments.mean!), meanBefore)
        XCTAssertTrue(gradcheck({ (m: BatchNorm, x: Tensor) in sum(abs2(m(x)) .* x) }, bn, x))
        XCTAssertEqual("\(bn)", "BatchNorm(3, eval)")

        let flat = BatchNorm()
        let v = rand64(5, 7)
        assertClose(flat(v), batchnorm(v, flat.moments, flat.params, training: false))
        XCTAssertEqual(flat.moments.mean?.shape, [5, 1])
    }

    /// Layers inside a plain function model, and a function inside a chain.
    func testLayersAndFunctionsMix() {
        struct Hybrid: Params {
            var features: Chain
            var head: Tensor
            func mapTensors(_ f: (Tensor) throws -> Tensor) rethrows -> Hybrid {
                Hybrid(features: try features.mapTensors(f), head: try f(head))
            }
        }
        let x = rand64(5, 4)
        let h = Hybrid(features: Chain(Dense(out: 3, activation: .tanh), Lambda("square", shape: { $0 }) { $0 .* $0 }),
                       head: rand64(2, 3))
        func predict(_ h: Hybrid, _ x: Tensor) -> Tensor { h.head * h.features(x) }
        XCTAssertEqual(predict(h, x).shape, [2, 4])
        XCTAssertEqual(h.tensors.count, 3)
        XCTAssertTrue(gradcheck({ (h: Hybrid, x: Tensor) in sum(abs2(predict(h, x))) }, h, x))
        let d = h.features[0] as! Dense
        assertSameTensor(h.features(x), tanh(d.weight! * x .+ d.bias!) .* tanh(d.weight! * x .+ d.bias!))
    }

    func testErrorsNameTheLayerAndTheShapes() {
        let d = Dense(out: 3)
        _ = d(rand64(8, 5))
        assertKnetError("Dense(8 => 3)", "[9, 5]", "9 features", "built for 8") { _ = d(rand64(9, 5)) }
        assertKnetError("Dense(out: 2)", "[7]") { _ = Dense(out: 2)(rand64(7)) }
        let c = Conv(3, 3, out: 4)
        _ = c(rand64(5, 5, 2, 1))
        assertKnetError("Conv(3×3, 2 => 4)", "[5, 5, 3, 1]", "[3, 3, 3, 4]") { _ = c(rand64(5, 5, 3, 1)) }
        let small = Conv(3, 3, out: 4)
        assertKnetError("Conv(3×3, out: 4)", "[2, 2, 1, 1]", "window") { _ = small(rand64(2, 2, 1, 1)) }
        XCTAssertFalse(small.isBuilt, "an input the layer cannot take does not build it")
        assertKnetError("Conv(3×3, out: 4, groups: 2)", "3 channels", "groups 2") {
            _ = Conv(3, 3, out: 4, groups: 2)(rand64(5, 5, 3, 1))
        }
        assertKnetError("Residual", "[4, 5]", "[3, 5]") { _ = Residual(Dense(out: 4))(rand64(3, 5)) }
        assertKnetError("Flatten", "[7]") { _ = Flatten()(rand64(7)) }
        assertKnetError("LSTM(hidden: 2)", "[3]") { _ = LSTM(hidden: 2)(rand64(3)) }
        assertKnetError("BatchNorm", "[2, 3, 4]") { _ = BatchNorm()(rand64(2, 3, 4)) }
        assertKnetError("Dense(8 => 3)", "Float64", "Float32") { _ = d(Tensor.randn(8, 2)) }
    }
}
