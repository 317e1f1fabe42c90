import XCTest
@testable import Knet

/// An independent step-by-step RNN built from basic ops and the per-gate `rnnparam`
/// views, following cuDNN's equations gate by gate (Knet's `rnntest`). `x` is
/// `[X, B, T]`; returns y `[H·dirs, B, T]` and the final states, one `[H, B]` per
/// layer-direction.
private func referenceRNN(_ r: RNN, _ w: Tensor, _ x: Tensor, _ h0: Tensor?, _ c0: Tensor?)
    -> (y: Tensor, hy: [Tensor], cy: [Tensor]) {
    let (hs, b, steps) = (r.hiddenSize, x.size(1), x.size(2))
    func mat(_ k: Int, _ id: Int) -> Tensor? { rnnparam(r, w, layer: k, id: id, .matrix).map { transpose($0) } }
    func bias(_ k: Int, _ id: Int) -> Tensor { reshape(rnnparam(r, w, layer: k, id: id, .bias)!, [hs, 1]) }
    var inputs = (0..<steps).map { x[.all, .all, $0] }
    var hy: [Tensor] = [], cy: [Tensor] = []
    for layer in 0..<r.numLayers {
        var outs = [[Tensor]](repeating: [], count: r.directions)
        for d in 0..<r.directions {
            let k = layer * r.directions + d, g = r.rnnType.gates
            var h = h0?[.all, .all, k] ?? Tensor.zeros(shape: [hs, b], dtype: w.dtype)
            var c = c0?[.all, .all, k] ?? Tensor.zeros(shape: [hs, b], dtype: w.dtype)
            var ys = [Tensor?](repeating: nil, count: steps)
            for t in (d == 0 ? Array(0..<steps) : Array((0..<steps).reversed())) {
                let xt = inputs[t]
                func wx(_ id: Int) -> Tensor { (mat(k, id).map { $0 * xt } ?? xt) .+ bias(k, id) }
                func rh(_ id: Int) -> Tensor { mat(k, g + id)! * h .+ bias(k, g + id) }
                switch r.rnnType {
                case .relu: h = relu(wx(0) + rh(0))
                case .tanh: h = tanh(wx(0) + rh(0))
                case .lstm:
                    let i = sigm(wx(0) + rh(0)), f = sigm(wx(1) + rh(1))
                    let n = tanh(wx(2) + rh(2)), o = sigm(wx(3) + rh(3))
                    c = f .* c + i .* n
                    h = o .* tanh(c)
                case .gru:
                    let rg = sigm(wx(0) + rh(0)), z = sigm(wx(1) + rh(1))
                    let n = tanh(wx(2) + rg .* rh(2))
                    h = (1 .- z) .* n + z .* h
                }
                ys[t] = h
            }
            outs[d] = ys.map { $0! }
            hy.append(h); cy.append(c)
        }
        inputs = (0..<steps).map { t in vcat(outs.map { $0[t] }) }
    }
    let y = cat(inputs.map { reshape($0, [$0.shape[0], b, 1]) }, dims: 2)
    return (y, hy, r.rnnType == .lstm ? cy : [])
}

private let allTypes: [RNNType] = [.lstm, .gru, .tanh, .relu]

/// (layers, bidirectional) combinations exercised for every type.
private let shapes: [(Int, Bool)] = [(1, false), (2, false), (1, true), (2, true)]

private func randn(_ shape: Int...) -> Tensor { Tensor.randn(shape: shape, dtype: .float64) }

private func maxDiff(_ a: Tensor, _ b: Tensor) -> Double {
    XCTAssertEqual(a.shape, b.shape)
    return zip([Double](a), [Double](b)).map { Swift.abs($0 - $1) }.max() ?? 0
}

/// A scalar loss that weighs every output with fixed random weights.
private func weightedLoss(_ out: RNNOutput, _ ry: Tensor, _ rh: Tensor, _ rc: Tensor) -> Tensor {
    var l = sum(out.y .* ry) + sum(out.hy .* rh)
    if let cy = out.cy { l = l + sum(cy .* rc) }
    return l
}

final class RNNTests: DeviceTestCase {
    override func setUp() { setseed(42) }

    func testLayoutSizesAndKnetInitialisation() {
        let r = RNN(3, 2, rnnType: .lstm, dtype: .float64)
        XCTAssertEqual(r.paramCount, 4 * (2 * 3 + 2 * 2 + 2 + 2))          // Knet's getRNNParamsSize
        XCTAssertEqual(r.w.shape, [r.paramCount])
        let bi = RNN(3, 2, rnnType: .gru, numLayers: 2, bidirectional: true)
        XCTAssertEqual(bi.paramCount, 2 * 3 * (2 * 3 + 2 * 2 + 4) + 2 * 3 * (2 * 4 + 2 * 2 + 4))
        XCTAssertEqual(rnnparam(bi, bi.w, layer: 2, id: 0, .matrix)!.shape, [4, 2])   // input 2H
        XCTAssertEqual(rnnparam(bi, bi.w, layer: 3, id: 5, .matrix)!.shape, [2, 2])
        XCTAssertEqual(rnnparam(r, r.w, layer: 0, id: 0, .matrix)!.shape, [3, 2])
        // Matrices and biases tile w exactly once, in order.
        var covered = 0
        for kind in [RNNParamKind.matrix, .bias] { for id in 0..<8 {
            covered += rnnparam(r, r.w, layer: 0, id: id, kind)!.count } }
        XCTAssertEqual(covered, r.paramCount)
        for id in 0..<8 {
            let b = [Double](rnnparam(r, r.w, layer: 0, id: id, .bias)!)
            XCTAssertEqual(b, Array(repeating: id == 1 || id == 5 ? 1 : 0, count: 2), "bias \(id)")
            let m = [Double](rnnparam(r, r.w, layer: 0, id: id, .matrix)!)
            let bound = (2.0 / Double(m.count == 6 ? 5 : 4)).squareRoot()        // xavier ±sqrt(2/(in+H))
            XCTAssertTrue(m.allSatisfy { Swift.abs($0) <= bound } && m.contains { $0 != 0 }, "matrix \(id)")
        }
        let skip = RNN(2, 2, rnnType: .tanh, bidirectional: true, skipInput: true)
        XCTAssertNil(rnnparam(skip, skip.w, layer: 1, id: 0, .matrix))
        XCTAssertEqual(skip.paramCount, 2 * (4 + 2 + 2))
        // rnnparam returns views: writing through one changes w.
        rnnparam(skip, skip.w, layer: 1, id: 1, .bias)!.assign(7)
        XCTAssertEqual([Double](skip.w).suffix(2), [7, 7])
    }

    func testFusedEqualsStepByStepReference() {
        for type in allTypes {
            for (layers, bidir) in shapes {
                let r = RNN(3, 4, rnnType: type, numLayers: layers, bidirectional: bidir, dtype: .float64)
                let x = randn(3, 2, 5), k = r.layerDirections
                let h0 = randn(4, 2, k), c0 = type == .lstm ? randn(4, 2, k) : nil
                let out = rnnforw(r, r.w, x, h: h0, c: c0)
                let ref = referenceRNN(r, r.w, x, h0, c0)
                let tag = "\(type) layers \(layers) bidirectional \(bidir)"
                XCTAssertEqual(out.y.shape, [4 * r.directions, 2, 5], tag)
                XCTAssertLessThan(maxDiff(out.y, ref.y), 1e-10, tag)
                XCTAssertLessThan(maxDiff(out.hy, cat(ref.hy, dims: 2)), 1e-10, tag)
                if type == .lstm { XCTAssertLessThan(maxDiff(out.cy!, cat(ref.cy, dims: 2)), 1e-10, tag) }
                else { XCTAssertNil(out.cy, tag) }
                // nil initial states are zeros.
                let zero = rnnforw(r, r.w, x)
                XCTAssertLessThan(maxDiff(zero.y, referenceRNN(r, r.w, x, nil, nil).y), 1e-10, tag)
            }
        }
    }

    func testOneStepAndSkipInput() {
        let r = RNN(3, 3, rnnType: .gru, skipInput: true, dtype: .float64)
        let x = randn(3, 2)
        let y = r(x)
        XCTAssertEqual(y.shape, [3, 2])
        XCTAssertLessThan(maxDiff(y, reshape(referenceRNN(r, r.w, reshape(x, [3, 2, 1]), nil, nil).y, [3, 2])), 1e-12)
    }

    func testFloat32MatchesFloat64() {
        for type in allTypes {
            let r64 = RNN(3, 4, rnnType: type, bidirectional: true, dtype: .float64)
            let r32 = r64.mapTensors { Tensor([Double]($0), shape: $0.shape, dtype: .float32) }
            let x = randn(3, 2, 4)
            let y32 = r32(Tensor([Double](x), shape: x.shape, dtype: .float32))
            XCTAssertEqual(y32.dtype, .float32)
            XCTAssertLessThan(maxDiff(Tensor([Double](y32), shape: y32.shape, dtype: .float64), r64(x)), 1e-5, "\(type)")
        }
    }

    func testGradientMatchesReferenceGradient() {
        for type in allTypes {
            let r = RNN(3, 2, rnnType: type, numLayers: 2, bidirectional: true, dtype: .float64)
            let x = randn(3, 2, 3), k = r.layerDirections
            let ry = randn(4, 2, 3), rh = randn(2, 2, k), rc = randn(2, 2, k)
            let p = [r.w, randn(2, 2, k), randn(2, 2, k)]
            let fused = grad { (p: [Tensor]) in
                weightedLoss(rnnforw(r, p[0], x, h: p[1], c: type == .lstm ? p[2] : nil), ry, rh, rc)
            }
            let reference = grad { (p: [Tensor]) -> Tensor in
                let o = referenceRNN(r, p[0], x, p[1], type == .lstm ? p[2] : nil)
                return weightedLoss(RNNOutput(y: o.y, hy: cat(o.hy, dims: 2), cy: o.cy.isEmpty ? nil : cat(o.cy, dims: 2)), ry, rh, rc)
            }
            let (a, b) = (fused(p), reference(p))
            for i in 0..<(type == .lstm ? 3 : 2) {
                XCTAssertLessThan(maxDiff(a[i], b[i]), 1e-10, "\(type) gradient \(i)")
                XCTAssertGreaterThan(b[i].count > 0 ? [Double](b[i]).map(Swift.abs).max()! : 1, 0)
            }
        }
    }

    func testGradcheckEveryConfiguration() {
        for type in allTypes {
            for (layers, bidir) in shapes {
                let r = RNN(2, 2, rnnType: type, numLayers: layers, bidirectional: bidir, dtype: .float64)
                let x = randn(2, 2, 3), k = r.layerDirections
                let ry = randn(2 * r.directions, 2, 3), rh = randn(2, 2, k), rc = randn(2, 2, k)
                let tag = "\(type) layers \(layers) bidirectional \(bidir)"
                // Random biases too: Knet's zero biases put relu exactly on its kink for zero inputs.
                let w = randn(r.paramCount) * 0.7
                XCTAssertTrue(gradcheck({ (w: Tensor, x: Tensor) in
                    weightedLoss(rnnforw(r, w, x), ry, rh, rc) }, w, x, samples: 12), tag + " zero states")
                let states = [w, randn(2, 2, k), randn(2, 2, k)]
                XCTAssertTrue(gradcheck({ (p: [Tensor], x: Tensor) in
                    weightedLoss(rnnforw(r, p[0], x, h: p[1], c: type == .lstm ? p[2] : nil), ry, rh, rc)
                }, states, x, samples: 8), tag + " initial states")
            }
        }
    }

    func testSecondOrderGradientThroughFusedCells() {
        for type in [RNNType.lstm, .gru] {
            let r = RNN(2, 2, rnnType: type, bidirectional: true, dtype: .float64)
            let w = randn(r.paramCount) * 0.7, v = randn(r.paramCount), ry = randn(4, 2, 3)
            let dw = grad { (w: Tensor, x: Tensor) in sum(rnnforw(r, w, x).y .* ry) }
            XCTAssertTrue(gradcheck({ (x: Tensor, w: Tensor) in sum(dw(w, x) .* v) }, randn(2, 2, 3), w,
                                    samples: 12), "\(type)")
        }
    }

    func testLSTMSequenceKernelBackwardEqualsItsDifferentiableDefinition() {
        // With the loss weights recorded by an outer grad, the inner backward pass is recorded
        // too, so the LSTM sequence primitive differentiates its step-by-step definition
        // instead of running its backward kernel: both must give the same gradient.
        let lengths = [4, 3, 3, 1]
        let batchSizes = (0..<4).map { t in lengths.filter { $0 > t }.count }
        let r = RNN(3, 2, rnnType: .lstm, numLayers: 2, bidirectional: true, dtype: .float64)
        let k = r.layerDirections, n = lengths.reduce(0, +)
        let x = randn(3, n), p = [randn(r.paramCount) * 0.7, randn(2, 4, k), randn(2, 4, k)]
        let ry = randn(4, n), rh = randn(2, 4, k), rc = randn(2, 4, k)
        func gradient(_ ry: Tensor) -> [Tensor] {
            let g = grad { (p: [Tensor]) in
                weightedLoss(rnnforw(r, p[0], x, h: p[1], c: p[2], batchSizes: batchSizes), ry, rh, rc)
            }
            return g(p)
        }
        let kernel = gradient(ry)
        var definition: [Tensor] = []
        let outer = grad { (ry: Tensor) -> Tensor in
            let g = gradient(ry)
            definition = g.map(value)
            return sum(g[0])
        }
        XCTAssertGreaterThan([Double](outer(ry)).map(Swift.abs).max()!, 0)
        for i in 0..<3 {
            XCTAssertLessThan(maxDiff(kernel[i], definition[i]), 1e-10, "gradient \(i)")
            XCTAssertGreaterThan([Double](kernel[i]).map(Swift.abs).max()!, 0, "gradient \(i)")
        }
    }

    func testBatchSizesMatchPerSequenceReference() {
        let lengths = [4, 3, 3, 1]
        let batchSizes = (0..<4).map { t in lengths.filter { $0 > t }.count }   // [4, 3, 3, 1]
        for type in allTypes {
            for (layers, bidir) in [(1, false), (2, true)] {
                let r = RNN(3, 2, rnnType: type, numLayers: layers, bidirectional: bidir, dtype: .float64)
                let k = r.layerDirections, n = lengths.reduce(0, +)
                let x = randn(3, n), h0 = randn(2, 4, k), c0 = randn(2, 4, k)
                let c = type == .lstm ? c0 : nil
                let out = rnnforw(r, r.w, x, h: h0, c: c, batchSizes: batchSizes)
                XCTAssertEqual(out.y.shape, [2 * r.directions, n])
                XCTAssertEqual(out.hy.shape, [2, 4, k])
                var offsets = [0]
                for b in batchSizes { offsets.append(offsets.last! + b) }
                let tag = "\(type) layers \(layers) bidirectional \(bidir)"
                for (j, len) in lengths.enumerated() {
                    let xj = cat((0..<len).map { t in reshape(x[.all, offsets[t] + j], [3, 1, 1]) }, dims: 2)
                    let ref = referenceRNN(r, r.w, xj, h0[.all, j..<(j + 1), .all], c?[.all, j..<(j + 1), .all])
                    for t in 0..<len {
                        XCTAssertLessThan(maxDiff(out.y[.all, offsets[t] + j], ref.y[.all, 0, t]), 1e-10, tag)
                    }
                    XCTAssertLessThan(maxDiff(out.hy[.all, j, .all], reshape(cat(ref.hy, dims: 1), [2, k])), 1e-10, tag)
                    if type == .lstm {
                        XCTAssertLessThan(maxDiff(out.cy![.all, j, .all], reshape(cat(ref.cy, dims: 1), [2, k])), 1e-10, tag)
                    }
                }
                let ry = randn(2 * r.directions, n), rh = randn(2, 4, k), rc = randn(2, 4, k)
                XCTAssertTrue(gradcheck({ (p: [Tensor], x: Tensor) in
                    weightedLoss(rnnforw(r, p[0], x, h: p[1], c: type == .lstm ? p[2] : nil, batchSizes: batchSizes), ry, rh, rc)
                }, [randn(r.paramCount) * 0.7, h0, c0], x, samples: 8), tag + " batchSizes gradcheck")
            }
        }
    }

    func testGradThroughLayerParamsAndDropoutOnlyWhileRecording() {
        let r = RNN(3, 2, rnnType: .lstm, numLayers: 2, dropout: 0.5, dtype: .float64)
        let x = randn(3, 2, 4)
        XCTAssertEqual([Double](r(x)), [Double](r(x)))                  // no dropout outside grad
        let g = grad { (r: RNN, x: Tensor) in sum(r(x)) }
        let dr = g(r, x)
        XCTAssertEqual(dr.w.shape, r.w.shape)
        XCTAssertGreaterThan([Double](dr.w).map(Swift.abs).max()!, 0)
        XCTAssertEqual(dr.rnnType, .lstm)
        var plain = RNN(3, 2, rnnType: .lstm, numLayers: 2, dtype: .float64)
        plain.w = r.w
        XCTAssertEqual([Double](plain(x)), [Double](r(x)))
        XCTAssertNotEqual([Double](g(plain, x).w), [Double](dr.w))   // dropped while recording
    }

    func testUsageErrors() {
        let r = RNN(3, 2, rnnType: .gru, dtype: .float64)
        assertKnetError("rnnforw", "[4, 2, 5]") { _ = r(randn(4, 2, 5)) }
        assertKnetError("initial h", "[2, 3, 1]") { _ = r(randn(3, 3, 5), h: randn(2, 2, 1)) }
        assertKnetError("only for LSTM") { _ = r(randn(3, 2, 5), c: randn(2, 2, 1)) }
        assertKnetError("batchSizes") { _ = r(randn(3, 5), batchSizes: [2, 3]) }
        assertKnetError("skipInput") { _ = RNN(3, 2, skipInput: true) }
        assertKnetError("rnnparam", "id 6") { _ = rnnparam(r, r.w, layer: 0, id: 6, .bias) }
    }
}
