import XCTest
import Foundation
@testable import Knet

/// Layer models through checkpoints and device moves, on the CPU and the emulated GPU.
final class LayersCheckpointTests: DeviceTestCase {
    func model() -> Chain {
        Chain(Conv(3, 3, out: 4, padding: 1), BatchNorm(), .relu, Pool(2), Dropout(0.2), Flatten(), Dense(out: 3))
    }

    /// Trains a few steps (which moves the batchnorm statistics and the optimizer state).
    func train(_ m: inout Chain, _ opt: inout [any Optimizer], _ x: Tensor, _ y: [Int], steps: Int) {
        let g = grad { (m: Chain, x: Tensor, y: [Int]) in nll(m(x), y) }
        for _ in 0..<steps { update(&m, g(m, x, y), &opt) }
    }

    func testChainRoundTripsThroughACheckpoint() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("knet-layers-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        setseed(1)
        let x = Tensor.randn(6, 6, 2, 8), y = (0..<8).map { $0 % 3 }
        var m = model()
        _ = m(x)
        XCTAssertEqual(namedTensors(m).keys.sorted(), ["0.bias", "0.weight", "1.params", "6.bias", "6.weight"],
                       "named as a PyTorch Sequential")
        var opt = optimizers(m, Adam(lr: 0.01))
        train(&m, &opt, x, y, steps: 3)
        try saveCheckpoint(path, params: m, optimizers: opt, metadata: ["epoch": "1"])
        let file = try load(path)
        XCTAssertNotNil(file.tensors["1.moments.mean"], "running statistics are saved")
        XCTAssertNotNil(file.tensors["1.moments.variance"])

        let template = model().build(for: [6, 6, 2, 1], device: currentDevice)
        let templateMean = [Float]((template[1] as! BatchNorm).moments.mean!)
        var fresh = optimizers(template, Adam(lr: 0.01))
        var (loaded, meta) = try loadCheckpoint(path, into: template, optimizers: fresh)
        XCTAssertEqual(meta["epoch"], "1")
        XCTAssertEqual([Float]((template[1] as! BatchNorm).moments.mean!), templateMean, "the template keeps its statistics")
        let bn = m[1] as! BatchNorm, loadedBN = loaded[1] as! BatchNorm
        XCTAssertEqual([Float](loadedBN.moments.mean!), [Float](bn.moments.mean!))
        XCTAssertEqual([Float](loadedBN.moments.variance!), [Float](bn.moments.variance!))
        XCTAssertEqual(loadedBN.moments.mean!.device, currentDevice)
        m.eval(); loaded.eval()
        XCTAssertEqual([Float](loaded(x)), [Float](m(x)), "the same function")
        m.train(); loaded.train()
        // Optimizer state came back too: training on gives the same parameters.
        setseed(5)
        train(&m, &opt, x, y, steps: 2)
        setseed(5)                                       // the same dropout masks
        train(&loaded, &fresh, x, y, steps: 2)
        XCTAssertEqual(loaded.tensors.map { [Float]($0) }, m.tensors.map { [Float]($0) })
        XCTAssertEqual([Float]((loaded[1] as! BatchNorm).moments.mean!), [Float](bn.moments.mean!))
    }

    /// A plain function model's `BNMoments` are saved and restored too (in place: its
    /// copies share the object).
    func testPlainModelsRunningStatisticsRoundTrip() throws {
        struct Net: Params {
            var w: Tensor
            var moments: BNMoments
            func mapTensors(_ f: (Tensor) throws -> Tensor) rethrows -> Net { Net(w: try f(w), moments: moments) }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("knet-bn-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let x = rand64(3, 10)
        let net = Net(w: bnparams(3, dtype: .float64), moments: bnmoments())
        let g = grad { (n: Net, x: Tensor) in sum(batchnorm(x, n.moments, n.w)) }
        _ = g(net, x)                                  // training mode: the statistics move
        let saved = [Double](net.moments.mean!)
        try saveCheckpoint(path, params: net, optimizers: [])
        let other = Net(w: bnparams(3, dtype: .float64), moments: bnmoments())
        let (loaded, _) = try loadCheckpoint(path, into: other, optimizers: [])
        XCTAssertEqual([Double](loaded.moments.mean!), saved)
        XCTAssertEqual(loaded.moments.variance!.shape, [3, 1])
        XCTAssertTrue(loaded.moments === other.moments)
    }

    /// `.cpu()`/`.to(_:)` and `convert` copies move the parameters and the running
    /// statistics; the copy computes the same function.
    func testDeviceAndDtypeMovesCarryTheRunningStatistics() {
        setseed(2)
        let x = Tensor.randn(6, 6, 2, 4)
        let m = model()
        _ = m(x)
        var opt = optimizers(m, Sgd(lr: 0.1))
        var mm = m
        train(&mm, &opt, x, (0..<4).map { $0 % 3 }, steps: 2)
        m.eval()
        let onCPU = m.cpu()
        let bn = onCPU[1] as! BatchNorm
        XCTAssertEqual(onCPU.tensors.map(\.device), Array(repeating: .cpu, count: 5))
        XCTAssertEqual(bn.moments.mean?.device, .cpu)
        XCTAssertEqual(bn.mode, .eval, "the mode is copied")
        XCTAssertEqual([Float](onCPU(x.cpu())), [Float](m(x)))
        let fromCPU = model().build(for: [6, 6, 2, 1], device: .cpu)
        let moved = fromCPU.to(currentDevice)
        XCTAssertEqual(moved.tensors.map(\.device), Array(repeating: currentDevice, count: 5))
        XCTAssertEqual((moved[1] as! BatchNorm).moments.mean?.device, currentDevice)
        XCTAssertEqual([Float](moved(x)), [Float](fromCPU(x.cpu())))
        let double = m.mapTensors { convert($0, to: .float64) }
        XCTAssertEqual((double[1] as! BatchNorm).moments.variance?.dtype, .float64)
        assertClose(double(convert(x, to: .float64)), m(x), rtol: 1e-4, atol: 1e-5)
        assertKnetError("Conv(3×3, 2 => 4", "Float64", "Float32") { _ = double(x) }
    }
}
