import XCTest
import Foundation
@testable import Knet

final class CheckpointTests: DeviceTestCase {
    /// Training, saving, and training on must equal loading the checkpoint into fresh
    /// parameters and optimizers and training on: the optimizer state round-trips.
    func testResumeFromCheckpointMatchesUninterruptedTraining() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knet-ckpt-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.safetensors").path
        let x = rand64(3, 8), y = rand64(2, 8)
        func loss(_ w: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor { sum(abs2(tanh(w[0] * x .+ w[1]) .- y)) }
        let g = grad(loss)
        for prototype in [Adam(lr: 0.05), Momentum(), Nesterov(), Adagrad(), Rmsprop(), Adadelta(), Sgd()] as [any Optimizer] {
            var w = [rand64(2, 3), rand64(2, 1)]
            var opt = optimizers(w, prototype)
            for _ in 0..<3 { update(&w, g(w, x, y), &opt) }
            try saveCheckpoint(path, params: w, optimizers: opt, metadata: ["step": "3"])
            for _ in 0..<2 { update(&w, g(w, x, y), &opt) }

            let fresh = optimizers(w, prototype)
            var (w2, meta) = try loadCheckpoint(path, into: [Tensor.zeros(2, 3, dtype: .float64), Tensor.zeros(2, 1, dtype: .float64)],
                                                optimizers: fresh)
            XCTAssertEqual(meta["step"], "3")
            var opt2 = fresh
            for _ in 0..<2 { update(&w2, g(w2, x, y), &opt2) }
            XCTAssertEqual([Double](w2[0]), [Double](w[0]), "\(prototype)")
            XCTAssertEqual([Double](w2[1]), [Double](w[1]), "\(prototype)")
        }
    }

    /// Optimizer state from another model (another shape), a broken step counter, or
    /// another dtype: the first two throw at load time, the last is converted.
    func testForeignOptimizerStateIsCheckedOnLoad() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knet-ckpt-bad-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.safetensors").path
        let w = [Tensor.zeros(2, 3)]
        try save(path, params: w, extra: ["opt.0.m": Tensor.zeros(3, 2), "opt.0.v": Tensor.zeros(2, 3), "opt.0.t": Tensor(scalar: 2)])
        XCTAssertThrowsError(try loadCheckpoint(path, into: w, optimizers: optimizers(w, Adam()))) { error in
            XCTAssertEqual(error as? SafeTensorsError, .shapeMismatch(path: path, name: "opt.0.m", expected: [2, 3], found: [3, 2]))
        }
        try save(path, params: w, extra: ["opt.0.m": Tensor.zeros(2, 3), "opt.0.v": Tensor.zeros(2, 3), "opt.0.t": Tensor(scalar: -5)])
        XCTAssertThrowsError(try loadCheckpoint(path, into: w, optimizers: optimizers(w, Adam()))) { error in
            guard case .invalidShape(_, let name, _)? = error as? SafeTensorsError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "opt.0.t")
        }
        try save(path, params: w, extra: ["opt.0.velocity": Tensor.ones(2, 3, dtype: .float64)])
        let opt = optimizers(w, Momentum())
        _ = try loadCheckpoint(path, into: w, optimizers: opt)
        XCTAssertEqual(opt[0].state["velocity"]?.dtype, .float32)
        var w2 = w
        var o2 = opt
        update(&w2, [Tensor.zeros(2, 3)], &o2)                    // runs with the converted state
        XCTAssertEqual([Double](w2[0]), [Double](repeating: Double(Float(0.95)), count: 6))
    }

    func testStateIsEmptyBeforeTheFirstStep() {
        XCTAssertTrue(Adam().state.isEmpty)
        let a = Adam(), w = Tensor.ones(3), gr = Tensor.ones(3)
        a.step(w, gr, GradientAdjustment())
        XCTAssertEqual(Set(a.state.keys), ["t", "m", "v"])
        XCTAssertEqual(a.state["t"]?.scalar, 1)
    }
}
