import Foundation
import XCTest
import Knet

/// Programs written against the public API only (no `@testable`), as a user writes them:
/// models moved with `.to(_:)`/`.gpu()`, trained on the emulated GPU (or the real one with
/// `KNET_TEST_GPU=cuda`), and compared with the same program on the CPU.
final class GPUTrainingTests: XCTestCase {
    private func gpuDevice() throws -> Device { try EmulatedGPU.device.get() }

    /// Five Adam steps of a 2-layer MLP on `device`; the losses.
    private func trainMLP(on device: Device) -> [Double] {
        setseed(7)
        var w = [Tensor.randn(16, 20) * 0.1, Tensor.zeros(16, 1), Tensor.randn(4, 16) * 0.1, Tensor.zeros(4, 1)].to(device)
        let x = Tensor.randn(20, 30).to(device)
        let labels = (0..<30).map { $0 % 4 }
        func loss(_ w: [Tensor], _ x: Tensor, _ y: [Int]) -> Tensor {
            nll(w[2] * relu(w[0] * x .+ w[1]) .+ w[3], y)
        }
        let lossgradient = gradloss(loss)
        var opt = optimizers(w, Adam(lr: 0.01))
        var losses: [Double] = []
        for _ in 0..<5 {
            let (dw, l) = lossgradient(w, x, labels)
            XCTAssertEqual(dw.map(\.device), w.map(\.device), "gradients come back on the parameters' device")
            update(&w, dw, &opt, gclip: 1)
            losses.append(l.scalar)
        }
        return losses
    }

    /// Three SGD steps of a small LeNet (conv, pool, conv, pool, dense) on `device`.
    private func trainLeNet(on device: Device) -> [Double] {
        setseed(3)
        var w = [Tensor.xavier(3, 3, 1, 4), Tensor.zeros(1, 1, 4, 1), Tensor.xavier(3, 3, 4, 6), Tensor.zeros(1, 1, 6, 1),
                 Tensor.xavier(5, 6), Tensor.zeros(5, 1)].to(device)
        func predict(_ w: [Tensor], _ x: Tensor) -> Tensor {
            var h = pool(relu(conv4(w[0], x) .+ w[1]))            // [12,12,1,N] → [5,5,4,N]
            h = pool(relu(conv4(w[2], h) .+ w[3]))                // → [3,3,6,N] → [1,1,6,N]
            return w[4] * mat(h) .+ w[5]
        }
        let x = Tensor.rand(12, 12, 1, 6)
        let labels = [0, 1, 2, 3, 4, 0]
        let batches = minibatch(x, labels, 3).to(device)
        let lossgradient = gradloss { (w: [Tensor], x: Tensor, y: [Int]) in nll(predict(w, x), y) }
        var losses: [Double] = []
        for _ in 0..<2 {
            for (xb, yb) in batches {
                XCTAssertEqual(xb.device, device)
                let (dw, l) = lossgradient(w, xb, yb)
                update(&w, dw, lr: 0.1)
                losses.append(l.scalar)
            }
        }
        return losses
    }

    private func assertSameLosses(_ cpu: [Double], _ gpu: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(cpu.count, gpu.count, file: file, line: line)
        for (a, b) in zip(cpu, gpu) {
            XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(a)), "CPU \(cpu) vs GPU \(gpu)", file: file, line: line)
        }
    }

    func testMLPTrainsOnTheGPUWithTheCPUsLosses() throws {
        let gpu = try gpuDevice()
        let cpu = trainMLP(on: .cpu)
        XCTAssertLessThan(cpu.last!, cpu.first!, "the loss falls")
        assertSameLosses(cpu, trainMLP(on: gpu))
    }

    func testLeNetTrainsOnTheGPUWithTheCPUsLosses() throws {
        let gpu = try gpuDevice()
        assertSameLosses(trainLeNet(on: .cpu), trainLeNet(on: gpu))
    }

    /// After a warm-up step, a training step takes every block from the caching allocator.
    func testNoDeviceAllocationsPerStepAfterWarmUp() throws {
        guard case .gpu(let n) = try gpuDevice() else { return XCTFail("not a GPU") }
        var w = [Tensor.randn(8, 10), Tensor.zeros(8, 1)].gpu(n)
        let x = Tensor.randn(10, 16).gpu(n), labels = (0..<16).map { $0 % 8 }
        let lossgradient = grad { (w: [Tensor], x: Tensor, y: [Int]) in nll(w[0] * x .+ w[1], y) }
        var opt = optimizers(w, Adam())
        func step() { update(&w, lossgradient(w, x, labels), &opt) }
        step(); step()
        let before = try XCTUnwrap(gpuMemoryStats(n))
        for _ in 0..<5 { step() }
        let after = try XCTUnwrap(gpuMemoryStats(n))
        XCTAssertEqual(after.systemAllocations, before.systemAllocations, "steady state: no cuMemAlloc per step")
        XCTAssertGreaterThan(after.poolHits, before.poolHits)
    }

    func testCheckpointSavedFromAndLoadedToTheGPU() throws {
        let gpu = try gpuDevice()
        let w = [Tensor.randn(3, 4), Tensor.randn(3, 1)].to(gpu)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("knet-gpu-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try save(path, params: w)
        let loaded = try loadParams(path, into: [Tensor.zeros(3, 4), Tensor.zeros(3, 1)].to(gpu))
        XCTAssertEqual(loaded.map(\.device), [gpu, gpu])
        XCTAssertEqual(loaded.map { [Float]($0) }, w.map { [Float]($0) })
        let onCPU = try loadParams(path, into: [Tensor.zeros(3, 4), Tensor.zeros(3, 1)])
        XCTAssertEqual(onCPU.map(\.device), [.cpu, .cpu])
        XCTAssertEqual(onCPU.map { [Float]($0) }, w.map { [Float]($0) })
    }

    func testMixingDevicesStopsNamingTheOpAndBothDevices() throws {
        let gpu = try gpuDevice()
        let x = Tensor([1, 2, 3]), y = Tensor([4, 5, 6]).to(gpu)
        assertKnetError("device mismatch", "\(gpu)", "cpu") { _ = x .+ y }
        assertKnetError("device mismatch", "\(gpu)", "cpu") { _ = Tensor.randn(2, 3) * Tensor.randn(3, 1).to(gpu) }
        XCTAssertEqual([Float](x .+ y.cpu()), [5, 7, 9])
    }
}
