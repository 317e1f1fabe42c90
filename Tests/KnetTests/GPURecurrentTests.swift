import Foundation
import XCTest
@testable import Knet

/// GPU-specific checks of `CUDARecurrent.swift` and its kernels on the test GPU
/// (`EmulatedGPU`): the fused layer's outputs, final states and the gradients of weights,
/// initial states and input equal the CPU's (1e-5 relative in Float32, 1e-12 in Float64)
/// for every cell type, stacked and bidirectional layers and packed sequences whose batch
/// shrinks; an `RNN` moved with `.to(gpu)` keeps its configuration; the one-step cells
/// called directly on views with column strides.
final class GPURecurrentTests: XCTestCase {
    /// The test GPU; skips the test where there is none.
    private func gpu() throws -> Device { try EmulatedGPU.device.get() }

    /// The layer's outputs and the gradients of `[w, h0, c0, x]` for a weighted loss, with
    /// `batchSizes` when the input is packed.
    private func results(_ r: RNN, _ p: [Tensor], batchSizes: [Int]?) -> [Tensor] {
        let (x, ry, rh, rc) = (p[3], p[4], p[5], p[6])
        let lstm = r.rnnType == .lstm
        func forward(_ q: [Tensor]) -> RNNOutput {
            rnnforw(r, q[0], q[3], h: q[1], c: lstm ? q[2] : nil, batchSizes: batchSizes)
        }
        let out = forward(p)
        let g = grad { (q: [Tensor]) -> Tensor in
            let o = forward(q)
            var l = sum(o.y .* ry) + sum(o.hy .* rh)
            if let cy = o.cy { l = l + sum(cy .* rc) }
            return l
        }(Array(p[0..<4]))
        return [out.y, out.hy] + (out.cy.map { [$0] } ?? []) + g.enumerated().compactMap { k, t in
            k == 2 && !lstm ? nil : t
        }
    }

    /// Asserts that `results` agree on the CPU and on `gpu` in `dtype`.
    private func assertSameOnBothDevices(_ gpu: Device, _ r: RNN, _ inputs: [Tensor], batchSizes: [Int]? = nil,
                                         _ what: String, line: UInt = #line) {
        for dtype in [DType.float32, .float64] {
            let tolerance = dtype == .float32 ? 1e-5 : 1e-12
            let cast = inputs.map { convert($0, to: dtype) }
            let cpu = results(r, cast, batchSizes: batchSizes)
            let onGPU = results(r.to(gpu), cast.map { $0.to(gpu) }, batchSizes: batchSizes)
            XCTAssertEqual(cpu.count, onGPU.count, what, line: line)
            for (k, (a, b)) in zip(cpu, onGPU).enumerated() {
                XCTAssertEqual(b.device, gpu, "\(what) \(dtype) result \(k)", line: line)
                XCTAssertEqual(b.dtype, dtype, "\(what) \(dtype) result \(k)", line: line)
                assertClose(b, a, rtol: tolerance, atol: tolerance, line: line)
            }
        }
    }

    func testEveryLayerConfigurationMatchesTheCPU() throws {
        let gpu = try gpu()
        setseed(5)
        for type in [RNNType.lstm, .gru, .tanh, .relu] {
            for (layers, bidirectional) in [(1, false), (2, true)] {
                let r = RNN(3, 4, rnnType: type, numLayers: layers, bidirectional: bidirectional, dtype: .float64)
                let k = r.layerDirections
                let y = rnnforw(r, r.w, rand64(3, 2, 5)).y
                let inputs = [r.w, rand64(4, 2, k), rand64(4, 2, k), rand64(3, 2, 5),
                              rand64(shape: y.shape), rand64(4, 2, k), rand64(4, 2, k)]
                assertSameOnBothDevices(gpu, r, inputs, "\(type) layers \(layers) bidirectional \(bidirectional)")
            }
        }
    }

    func testPackedSequencesMatchTheCPU() throws {
        let gpu = try gpu()
        setseed(6)
        let batchSizes = [4, 3, 3, 1], n = batchSizes.reduce(0, +)
        for type in [RNNType.lstm, .gru] {
            let r = RNN(3, 5, rnnType: type, bidirectional: true, dtype: .float64)
            let k = r.layerDirections
            let inputs = [r.w, rand64(5, 4, k), rand64(5, 4, k), rand64(3, n),
                          rand64(10, n), rand64(5, 4, k), rand64(5, 4, k)]
            assertSameOnBothDevices(gpu, r, inputs, batchSizes: batchSizes, "\(type) packed \(batchSizes)")
        }
    }

    func testMovedLayerKeepsItsConfiguration() throws {
        let gpu = try gpu()
        let r = RNN(3, 4, rnnType: .gru, numLayers: 2, bidirectional: true, dtype: .float32)
        let moved = r.to(gpu)
        XCTAssertEqual(moved.w.device, gpu)
        XCTAssertEqual([moved.inputSize, moved.hiddenSize, moved.numLayers, moved.directions],
                       [r.inputSize, r.hiddenSize, r.numLayers, r.directions])
        XCTAssertEqual(moved.rnnType, r.rnnType)
        XCTAssertEqual([Float](moved.w), [Float](r.w))
        XCTAssertEqual(moved.cpu().w.device, Device.cpu)
    }

    /// The one-step cells on column ranges of larger matrices (column strides ≠ rows).
    func testCellsOnStridedColumnsMatchTheCPU() throws {
        let gpu = try gpu()
        setseed(7)
        let h = 3
        let gates = rand64(4 * h + 2, 5), cell = rand64(h + 1, 5)
        let x = rand64(3 * h, 4), q = rand64(3 * h + 1, 4), s = rand64(h, 6)
        func cells(_ t: [Tensor]) -> [Tensor] {
            let backend = Backend.on(t[0].device)
            let g = t[0].view(shape: [4 * h, 3], strides: [1, 4 * h + 2], offset: t[0].offset + 4 * h + 2)
            let c = t[1].view(shape: [h, 3], strides: [1, h + 1], offset: t[1].offset)
            let xs = t[2].view(shape: [3 * h, 2], strides: [1, 2 * 3 * h], offset: t[2].offset)
            let qs = t[3].view(shape: [3 * h, 2], strides: [1, 3 * h + 1], offset: t[3].offset + 3 * h + 1)
            let ss = t[4].view(shape: [h, 2], strides: [1, 3 * h], offset: t[4].offset + h)
            return [backend.lstmCell(g, c), backend.gruCell(xs, qs, ss)]
        }
        for dtype in [DType.float32, .float64] {
            let tolerance = dtype == .float32 ? 1e-5 : 1e-12
            let inputs = [gates, cell, x, q, s].map { convert($0, to: dtype) }
            for (a, b) in zip(cells(inputs), cells(inputs.map { $0.to(gpu) })) {
                XCTAssertEqual(b.device, gpu)
                assertClose(b, a, rtol: tolerance, atol: tolerance)
            }
        }
    }
}
