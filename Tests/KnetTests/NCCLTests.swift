import XCTest
@testable import Knet

/// The NCCL path of `Distributed` on the emulated GPU, against the emulator's NCCL of one
/// rank (`CUDAEmulator/nccl.cpp`): the bindings, the unique id passed by value, the
/// collectives queued on the backend's stream, `Distributed` and `DataParallel` routing GPU
/// tensors to NCCL. (A real NCCL runs in the device check, `scripts/device-check.sh`.)
final class NCCLTests: XCTestCase {
    /// A host transport that claims a job of two, for the failure of a communicator of two
    /// on the one-rank emulation.
    final class TwoRankHost: CollectiveTransport {
        var rank: Int { 0 }
        var size: Int { 2 }
        var name: String { "a pretend job of two" }
        func handles(_ device: Device) -> Bool { device == .cpu }
        func barrier() {}
        func allReduce(_ x: Tensor, _ op: AllReduceOp) {}
        func startAllReduce(_ x: Tensor, _ op: AllReduceOp) -> PendingReduce { PendingReduce(buffer: x) }
        func progress(_ pending: [PendingReduce]) {}
        func wait(_ pending: [PendingReduce]) {}
        func broadcast(_ x: Tensor, root: Int) {}
        func allGather(_ x: Tensor, into y: Tensor) {}
        func broadcast(_ values: inout [Int64], root: Int) {}
        func abort(_ code: Int32) -> Never { fatalError("abort \(code)") }
        func finalize() {}
    }

    /// The emulated GPU and its NCCL bindings, or a skip.
    private func emulatedNCCL() throws -> (Device, NCCLLibrary) {
        if ProcessInfo.processInfo.environment["KNET_TEST_GPU"] == "cuda" {
            throw XCTSkip("a real GPU is under test: the emulator's NCCL cannot reach its memory (the device check runs the real NCCL)")
        }
        let gpu = try EmulatedGPU.device.get()
        let nccl = try XCTUnwrap(NCCLLibrary(try CUDAEmulator.library()), "the NCCL bindings do not bind the emulator's NCCL")
        return (gpu, nccl)
    }

    func testBindingRejectsOtherLibraries() throws {
        let (_, nccl) = try emulatedNCCL()
        XCTAssertEqual(nccl.version, 21903)
        XCTAssertEqual(NCCLLibrary.datatype(.float32), 7)
        XCTAssertEqual(NCCLLibrary.datatype(.float64), 8)
        XCTAssertEqual(AllReduceOp.allCases.map(NCCLLibrary.operation), [0, 0, 2, 3])
        XCTAssertNil(NCCLLibrary(try XCTUnwrap(DynamicLibrary.open(["libm.so.6"]))))
    }

    func testOneRankCollectivesOnTheGPU() throws {
        let (gpu, nccl) = try emulatedNCCL()
        let transport = try NCCLTransport(nccl, backend: CUDARuntime.backend(0), host: SingleProcessTransport(reason: "test"))
        XCTAssertTrue(transport.handles(gpu))
        XCTAssertFalse(transport.handles(.cpu))
        XCTAssertTrue(transport.name.hasPrefix("NCCL 21903"))
        let start = try CUDAEmulator.ncclCalls()
        for dtype in [DType.float32, .float64] {
            let x = Tensor([1, -2, 3], dtype: dtype, device: gpu)
            transport.allReduce(x, .sum)
            transport.broadcast(x, root: 0)
            let y = Tensor.zeros(shape: [3], dtype: dtype, device: gpu)
            transport.allGather(x, into: y)
            XCTAssertEqual([Double](x), [1, -2, 3])
            XCTAssertEqual([Double](y), [1, -2, 3], "a gather of one rank is a copy")
        }
        XCTAssertEqual(try CUDAEmulator.ncclCalls() - start, 6)
        // A communicator of two cannot be made on one emulated GPU: the error names the call.
        XCTAssertThrowsError(try NCCLTransport(nccl, backend: CUDARuntime.backend(0), host: TwoRankHost())) {
            XCTAssertEqual($0 as? GPUError, .driver(call: "ncclCommInitRank", message: "invalid usage (the emulation has one rank)"))
        }
    }

    func testDistributedAndDataParallelSendGPUTensorsToNCCL() throws {
        let (gpu, nccl) = try emulatedNCCL()
        let transport = try NCCLTransport(nccl, backend: CUDARuntime.backend(0), host: SingleProcessTransport(reason: "test"))
        let previous = Distributed.activeWorld
        Distributed.install(World(host: SingleProcessTransport(reason: "test"), deviceTransport: { _ in transport }))
        defer { Distributed.install(previous) }
        var start = try CUDAEmulator.ncclCalls()
        let m = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], device: gpu)
        Distributed.allReduce(m, .mean)
        Distributed.allReduce(m[1, .all], .max)                 // strided: staged through a contiguous GPU copy
        XCTAssertEqual([Double](m), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual([Double](Distributed.allGather(m)), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try CUDAEmulator.ncclCalls() - start, 3)

        let model = TinyModel.lenet, (x, y) = model.data(8)
        let w = model.parameters(seed: 2).map { $0.transferred(to: gpu) }, xg = x.transferred(to: gpu)
        let dp = DataParallel(bucketBytes: 0, firstBucketBytes: 0)
        let lossgradient = dp.gradloss(model.loss), plain = grad(model.loss)
        start = try CUDAEmulator.ncclCalls()
        let (g, _) = lossgradient(w, xg, y)
        XCTAssertEqual(try CUDAEmulator.ncclCalls() - start, w.count, "one NCCL all-reduce per bucket, on the GPU")
        for (a, b) in zip(g, plain(w, xg, y)) {
            XCTAssertEqual(a.device, gpu)
            XCTAssertEqual([Double](a), [Double](b))
        }
    }

    func testTheDeviceCheckPassesOnTheEmulation() throws {
        let (_, nccl) = try emulatedNCCL()
        let report = try checkNCCL(nccl, device: 0, elements: 1 << 12)
        XCTAssertEqual(report.mismatches, [])
        XCTAssertTrue(report.transport.contains("on gpu0"), report.transport)
        XCTAssertGreaterThan(report.bandwidth, 0)
        XCTAssertThrowsError(try checkNCCL(nccl, device: 5, elements: 16)) { XCTAssertEqual($0 as? GPUError, .noDevice(5)) }
    }
}
