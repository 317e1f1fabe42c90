import XCTest
@testable import Knet

/// The generated CUDA C elementwise kernels, run on the host emulation of the driver
/// (`CUDAEmulator`: the kernels compiled as C++, launched over every block and thread of
/// the grid). `checkGPUKernels` — what `knet-bench --gpu-check` runs on a real GPU —
/// drives every kernel through the GPU backend and Knet's driver bindings and compares
/// it with the CPU formula of its op on ordinary and special values. This checks each
/// kernel's expression, argument order, scalar variants, broadcast indexing and the
/// launch path's parameter passing without a GPU; `erfinv`, `cospi`, `sinpi` and `exp10`
/// come from the emulator's prelude here, so only their wiring is checked. NVRTC
/// compilation for a real device is `GPUHostTests`'.
final class CUDAKernelHostTests: XCTestCase {
    private typealias K = KernelComparison

    /// Every kernel, through the backend on the emulated driver, agrees with the CPU
    /// formulas, and the memory it used goes back to the driver.
    func testEveryKernelThroughTheDriverBindings() throws {
        let driver = try CUDAEmulator.driver()          // a build failure fails here rather than skipping
        XCTAssertEqual(driver.devices.map(\.name), ["Host emulation"])
        XCTAssertEqual(driver.devices.first?.computeCapability.major, 9)
        XCTAssertTrue(driver.isEmulated)
        guard case .success(.gpu(let ordinal)) = EmulatedGPU.device else { return XCTFail("the emulated GPU is not installed") }
        gpuEmptyCache(ordinal)
        let live = try CUDAEmulator.liveAllocations(), launches = try CUDAEmulator.launches()
        let report = try checkGPUKernels(device: ordinal, bandwidthElements: 1000)
        gpuEmptyCache(ordinal)
        XCTAssertEqual(try CUDAEmulator.liveAllocations(), live, "every device buffer is freed")
        XCTAssertGreaterThanOrEqual(try CUDAEmulator.launches() - launches, CUDAKernelSource.kernelNames.count)
        XCTAssertEqual(report.kernels, CUDAKernelSource.kernelNames.count)
        XCTAssertEqual(report.mismatches, [])
        XCTAssertNotNil(report.bandwidth)
        try driver.activate(driver.devices[0])
        XCTAssertThrowsError(try driver.loadModule(Array("elementwise\0".utf8), functions: ["no_such_kernel"])) {
            XCTAssertTrue("\($0)".contains("cuModuleGetFunction(no_such_kernel) failed: named symbol not found"), "\($0)")
        }
        XCTAssertThrowsError(try driver.loadModule(Array("elementwise\0".utf8), functions: ["copy_32"]),
                             "a kernel of another module is not in this one")
    }

    /// The broadcast kernels, launched through the driver with a `BroadcastLayout`
    /// parameter, index like the CPU's broadcasting: x [3,1,4] with y [1,5,4] (contiguous,
    /// and a strided view with an offset into a [2,5,4] tensor) into z [3,5,4], for ops of
    /// each kind (the indexing is the same code in every op's kernel).
    func testBroadcastKernelsIndexLikeTheCPU() throws {
        let driver = try CUDAEmulator.driver()
        try driver.activate(driver.devices[0])
        let module = try driver.loadModule(Array("elementwise\0".utf8), functions: CUDAKernelSource.kernelNames)
        defer { try? driver.unload(module) }
        for dtype in [DType.float32, .float64] {
            var g = SplitMix(seed: 5)
            func data(_ shape: [Int]) -> Tensor {
                Tensor((0..<shape.reduce(1, *)).map { _ in 6 * Double(g.next() >> 11) * 0x1p-53 - 3 }, shape: shape, dtype: dtype)
            }
            let x = data([3, 1, 4])
            // y contiguous, and a strided view into a larger tensor (with an offset)
            let plain = data([1, 5, 4]), big = data([2, 5, 4])
            for (y, memory) in [(plain, plain), (big[1..<2, .all, .all], big)] {
                let xd = try driver.upload([Double](x), dtype: dtype), yd = try driver.upload([Double](memory), dtype: dtype)
                defer { try? driver.free(xd); try? driver.free(yd) }
                for op in [BinaryOp.sub, .div, .pow, .max, .lt] {
                    let expected = elementwise(op, x, y)
                    let layout = CUDAKernelSource.broadcastLayout(shape: expected.shape,
                                                                  xStrides: (0..<3).map { x.shape[$0] == 1 ? 0 : x.stride($0) },
                                                                  yStrides: (0..<3).map { y.shape[$0] == 1 ? 0 : y.stride($0) })
                    let name = "\(op.name)_\(CUDAKernelSource.suffix(dtype))_bc", n = expected.count
                    let zd = try XCTUnwrap(try driver.allocate(n * dtype.size))
                    defer { try? driver.free(zd) }
                    try driver.launch(module.functions[name]!, blocks: 2, threads: 8,   // 16 threads: each does several elements
                                      words: [[xd], [yd + UInt64(y.offset * dtype.size)], [zd], [UInt64(n)],
                                              layout.map { UInt64(bitPattern: Int64($0)) }])
                    let got = try driver.download(zd, count: n, dtype: dtype)
                    if let line = K.mismatches("\(name) \(dtype)", got, dtype: dtype, cpu: { expected[flat: $0] },
                                               describe: { "element \($0)" }) {
                        XCTFail(line)
                    }
                }
            }
        }
    }
}
