import XCTest
@testable import Knet

/// A reference `FusedRNNBackend` on the CPU, switched on only inside `FusedRNNTests`: it
/// computes the flat output and the gradients with `rnnforw`'s own per-layer path (the
/// switch off), so the tests check `rnnforw`'s plumbing around a whole-RNN call — the flat
/// output's slices, the order of gradients, the fused backward when nothing records it and
/// the differentiable definition when an outer `grad` does — which cuDNN plugs into on the
/// GPU.
final class ReferenceRNNReserve: RNNReserveSpace {
    let backward: (Tensor) -> [Tensor]
    var uses = 0
    init(_ backward: @escaping (Tensor) -> [Tensor]) { self.backward = backward }
}

nonisolated(unsafe) private var referenceRNNEnabled = false
nonisolated(unsafe) private var referenceRNNCalls = (forward: 0, backward: 0)

extension CPUBackend: FusedRNNBackend {
    public func rnnForward(_ r: RNN, w: Tensor, x: Tensor, h0: Tensor?, c0: Tensor?, steps: [Int]) -> (out: Tensor, reserve: RNNReserveSpace)? {
        guard referenceRNNEnabled else { return nil }
        referenceRNNEnabled = false
        defer { referenceRNNEnabled = true }
        referenceRNNCalls.forward += 1
        func flat(_ p: [Tensor]) -> Tensor {
            let h = h0 == nil ? nil : p[2], c = c0 == nil ? nil : p[h0 == nil ? 2 : 3]
            let o = rnnforw(r, p[0], p[1], h: h, c: c, batchSizes: steps)
            return vcat([vec(o.y), vec(o.hy)] + (o.cy.map { [vec($0)] } ?? []))
        }
        let inputs = [w, x] + (h0.map { [$0] } ?? []) + (c0.map { [$0] } ?? [])
        return (flat(inputs), ReferenceRNNReserve { dout in
            referenceRNNEnabled = false
            defer { referenceRNNEnabled = true }
            return grad { (p: [Tensor]) in sum(flat(p) .* dout) }(inputs)
        })
    }

    public func rnnBackward(_ reserve: RNNReserveSpace, _ dout: Tensor) -> (dw: Tensor, dx: Tensor, dh0: Tensor?, dc0: Tensor?) {
        let s = reserve as! ReferenceRNNReserve
        s.uses += 1
        XCTAssertEqual(s.uses, 1, "a reserve is used once")
        referenceRNNCalls.backward += 1
        let g = s.backward(dout)
        return (g[0], g[1], g.count > 2 ? g[2] : nil, g.count > 3 ? g[3] : nil)
    }
}

final class FusedRNNTests: XCTestCase {
    override func setUp() { setseed(21) }
    override func tearDown() { referenceRNNEnabled = false }

    /// Outputs and gradients of `rnnforw` with the reference whole-RNN call equal those of
    /// the per-layer path, for every cell type, with and without initial states, packed
    /// and not; the whole-RNN call runs, and its backward only when nothing records.
    func testWholeRNNCallPlumbing() {
        for type in [RNNType.lstm, .gru, .tanh] {
            for (layers, bidirectional, packed, states) in [(1, false, false, true), (2, true, true, false), (2, false, false, false)] {
                let r = RNN(3, 4, rnnType: type, numLayers: layers, bidirectional: bidirectional, dtype: .float64)
                let tag = "\(type) layers \(layers) bidirectional \(bidirectional) packed \(packed) states \(states)"
                let batchSizes: [Int]? = packed ? [3, 2, 2, 1] : nil
                let x = packed ? Tensor.randn(shape: [3, 8], dtype: .float64) : Tensor.randn(shape: [3, 3, 4], dtype: .float64)
                let k = r.layerDirections, b = 3
                let h0 = states ? Tensor.randn(shape: [4, b, k], dtype: .float64) : nil
                let c0 = states && type == .lstm ? Tensor.randn(shape: [4, b, k], dtype: .float64) : nil
                let weights = (y: Tensor.randn(shape: [4 * r.directions, packed ? 8 : 12], dtype: .float64),
                               h: Tensor.randn(shape: [4, b, k], dtype: .float64), c: Tensor.randn(shape: [4, b, k], dtype: .float64))
                func loss(_ p: [Tensor]) -> Tensor {
                    let o = rnnforw(r, p[0], p[1], h: states ? p[2] : nil, c: c0 == nil ? nil : p[3], batchSizes: batchSizes)
                    var l = sum(reshape(o.y, [4 * r.directions, o.y.count / (4 * r.directions)]) .* weights.y) + sum(o.hy .* weights.h)
                    if let cy = o.cy { l = l + sum(cy .* weights.c) }
                    return l
                }
                let params = [r.w, x] + (h0.map { [$0] } ?? []) + (c0.map { [$0] } ?? [])
                let reference = (loss(params), grad(loss)(params))
                referenceRNNEnabled = true
                referenceRNNCalls = (0, 0)
                let fused = (loss(params), grad(loss)(params))
                XCTAssertEqual(referenceRNNCalls.forward, 2, tag)
                XCTAssertEqual(referenceRNNCalls.backward, 1, tag)
                XCTAssertEqual(fused.0.scalar, reference.0.scalar, accuracy: 1e-12, tag)
                for (a, b) in zip(fused.1, reference.1) { assertClose(a, b, rtol: 1e-12, atol: 1e-12) }
                // Under an outer grad the backward is the definition's gradient (second order).
                let hvp = grad { (p: [Tensor]) in sum(abs2(grad(loss)(p)[0])) }
                let secondFused = hvp(params)
                referenceRNNEnabled = false
                for (a, b) in zip(secondFused, hvp(params)) { assertClose(a, b, rtol: 1e-10, atol: 1e-10) }
            }
        }
    }

    func testDropoutBetweenLayersKeepsThePerLayerPath() {
        let r = RNN(3, 4, numLayers: 2, dropout: 0.5, dtype: .float64)
        referenceRNNEnabled = true
        referenceRNNCalls = (0, 0)
        _ = grad { (w: Tensor) in sum(rnnforw(r, w, Tensor.randn(shape: [3, 2, 3], dtype: .float64)).y) }(r.w)
        XCTAssertEqual(referenceRNNCalls.forward, 0, "Knet's dropout, not the backend's")
        _ = rnnforw(r, r.w, Tensor.randn(shape: [3, 2, 3], dtype: .float64))
        XCTAssertEqual(referenceRNNCalls.forward, 1, "no dropout outside grad")
    }
}
