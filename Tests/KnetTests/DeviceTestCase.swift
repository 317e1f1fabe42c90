import Foundation
import XCTest
@testable import Knet

/// The GPU device of the tests: GPU 0 of the host emulation of the CUDA driver and
/// cuBLAS (`CUDAEmulator`), installed as the process's CUDA runtime at first use; nil
/// (with the reason) where the emulator cannot be built. With `KNET_TEST_GPU=cuda` (the
/// device check on a GPU machine) it is GPU 0 of this machine's real CUDA instead.
enum EmulatedGPU {
    /// `.gpu(0)` on the emulated (or real) runtime, or the reason there is none.
    static let device: Result<Device, XCTSkip> = {
        if ProcessInfo.processInfo.environment["KNET_TEST_GPU"] == "cuda" {
            guard let runtime = CUDARuntime.current, !runtime.driver.isEmulated, !runtime.backends.isEmpty else {
                return .failure(XCTSkip("KNET_TEST_GPU=cuda but no CUDA GPU is usable here"))
            }
            return .success(.gpu(0))
        }
        do {
            let runtime = CUDARuntime(driver: try CUDAEmulator.driver(), blas: try CUDAEmulator.cublas(), nvrtc: nil)
            CUDARuntime.install(runtime)
            return .success(.gpu(0))
        } catch let skip as XCTSkip {
            return .failure(skip)
        } catch {
            return .failure(XCTSkip("the CUDA emulator failed: \(error)"))
        }
    }()
}

/// A test case whose every test runs twice (candle's `test_device!`): once with the CPU
/// as the default device and once with the emulated GPU, so tensors the test makes with
/// `Tensor(...)`, `zeros`, `randn`... live on that device and every op it calls runs on
/// its backend; the test's expected values are the same for both. Failures on the second
/// run are marked "[gpu0]". Where the emulator cannot be built the GPU run is skipped
/// with a notice.
class DeviceTestCase: XCTestCase {
    /// The device of the run in progress.
    private(set) var currentDevice: Device = .cpu

    /// Wraps each test's body so that one invocation (one setUp, one tearDown) runs it on
    /// the CPU and then on the GPU: XCTest runs a test case's teardown machinery once.
    required init(name: String, testClosure: @escaping XCTestCaseClosure) {
        super.init(name: name) { test in
            let run = test as! DeviceTestCase
            run.currentDevice = .cpu
            try testClosure(test)
            switch EmulatedGPU.device {
            case .failure(let skip):
                print("\(name): the GPU run is skipped: \(skip.message ?? "no emulator")")
            case .success(let gpu):
                run.currentDevice = gpu
                defer { run.currentDevice = .cpu }
                try withDevice(gpu) { try testClosure(test) }
            }
        }
    }

    /// The caching allocator's counters of the device of the run in progress.
    func currentMemoryStats() -> MemoryStats {
        guard case .gpu(let n) = currentDevice, let stats = gpuMemoryStats(n) else { return memoryStats() }
        return stats
    }

    override func recordFailure(withDescription description: String, inFile filePath: String, atLine lineNumber: Int,
                                expected: Bool) {
        let tag = currentDevice == .cpu ? "" : "[\(currentDevice)] "
        super.recordFailure(withDescription: tag + description, inFile: filePath, atLine: lineNumber, expected: expected)
    }
}
