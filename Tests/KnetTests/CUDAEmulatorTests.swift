import XCTest
@testable import Knet

/// The host emulation of the CUDA driver and cuBLAS (`CUDAEmulator`) through Knet's
/// bindings: streams, events and copies, the checks it makes on device addresses and
/// launches, out-of-memory at a set capacity, the grid walk, and GEMM against a Swift
/// triple loop.
final class CUDAEmulatorTests: XCTestCase {
    private var driver: CUDADriver!

    override func setUpWithError() throws {
        driver = try CUDAEmulator.driver()
        try driver.activate(driver.devices[0])
    }

    /// `count` values in [-1, 1) from `seed`.
    private func values(_ count: Int, seed: UInt64) -> [Double] {
        var g = SplitMix(seed: seed)
        return (0..<count).map { _ in 2 * Double(g.next() >> 11) * 0x1p-53 - 1 }
    }

    private func assertFails(_ call: String, _ message: String, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual($0 as? GPUError, .driver(call: call, message: message), line: line) }
    }

    private func module(_ name: String, _ functions: [String]) throws -> CUDADriver.Module {
        try driver.loadModule(Array(name.utf8) + [0], functions: functions)
    }

    func testStreamAndAsyncCopiesRoundTrip() throws {
        let stream = try driver.createStream()
        let kernels = try module("elementwise", ["add_64_ss"])
        defer { try? driver.unload(kernels) }
        let x = values(100, seed: 1), y = values(100, seed: 2)
        let bytes = 100 * 8
        let addresses = try (0..<3).map { _ in try XCTUnwrap(try driver.allocate(bytes)) }
        defer { for a in addresses { try? driver.free(a) } }
        try x.withUnsafeBytes { try driver.copy(toDevice: addresses[0], from: $0.baseAddress!, bytes: bytes, stream: stream) }
        try y.withUnsafeBytes { try driver.copy(toDevice: addresses[1], from: $0.baseAddress!, bytes: bytes, stream: stream) }
        try driver.launch(kernels.functions["add_64_ss"]!, blocks: 1, threads: 64, words: [[addresses[0]], [addresses[1]], [addresses[2]], [100]],
                          stream: stream)
        var z = [Double](repeating: 0, count: 100)
        try z.withUnsafeMutableBytes { try driver.copy(toHost: $0.baseAddress!, from: addresses[2], bytes: bytes, stream: stream) }
        try driver.synchronize(stream)
        XCTAssertEqual(z, zip(x, y).map(+))
        try driver.destroy(stream)
        assertFails("cuStreamSynchronize", "invalid resource handle") { try driver.synchronize(stream) }
        assertFails("cuStreamDestroy", "invalid resource handle") { try driver.destroy(stream) }
    }

    func testDeviceToDeviceCopy() throws {
        let stream = try driver.createStream()
        defer { try? driver.destroy(stream) }
        let x = values(10, seed: 3)
        let source = try driver.upload(x, dtype: .float64), target = try driver.upload([Double](repeating: 0, count: 10), dtype: .float64)
        defer { try? driver.free(source); try? driver.free(target) }
        // x[2..<6] to target[4..<8]
        try driver.copy(deviceToDevice: target + 4 * 8, from: source + 2 * 8, bytes: 4 * 8, stream: stream)
        try driver.synchronize(stream)
        XCTAssertEqual(try driver.download(target, count: 10, dtype: .float64), [0, 0, 0, 0] + x[2..<6] + [0, 0])
        assertFails("cuMemcpyDtoDAsync", "invalid argument") {      // one element past the target's end
            try driver.copy(deviceToDevice: target + 7 * 8, from: source, bytes: 4 * 8, stream: stream)
        }
    }

    func testEventsTimeTheStream() throws {
        let stream = try driver.createStream()
        defer { try? driver.destroy(stream) }
        let start = try driver.createEvent(), end = try driver.createEvent(), never = try driver.createEvent()
        defer { for e in [start, end, never] { try? driver.destroy(e) } }
        try driver.record(start, on: stream)
        let x = try driver.upload(values(1000, seed: 4), dtype: .float32)
        defer { try? driver.free(x) }
        try driver.record(end, on: stream)
        try driver.synchronize(end)
        let ms = try driver.elapsedMilliseconds(from: start, to: end)
        XCTAssertGreaterThanOrEqual(ms, 0)
        XCTAssertLessThan(ms, 60_000)
        assertFails("cuEventElapsedTime", "invalid resource handle") { _ = try driver.elapsedMilliseconds(from: start, to: never) }
        try driver.record(never, on: nil)                         // the default stream
        XCTAssertGreaterThanOrEqual(try driver.elapsedMilliseconds(from: end, to: never), 0)
    }

    func testAddressesOutsideLiveAllocationsFail() throws {
        let host = [Float](repeating: 1, count: 16)
        let device = try XCTUnwrap(try driver.allocate(64))
        try host.withUnsafeBytes { h in
            let hostAddress = UInt64(UInt(bitPattern: h.baseAddress!))
            assertFails("cuMemcpyHtoD", "invalid argument") { try driver.copy(toDevice: hostAddress, from: h.baseAddress!, bytes: 64) }
            assertFails("cuMemcpyHtoD", "invalid argument") { try driver.copy(toDevice: device + 4, from: h.baseAddress!, bytes: 64) }
            try driver.copy(toDevice: device, from: h.baseAddress!, bytes: 64)
        }
        XCTAssertEqual(try driver.download(device, count: 16, dtype: .float32), [Double](repeating: 1, count: 16))
        try driver.free(device)
        var out = [Float](repeating: 0, count: 16)
        assertFails("cuMemcpyDtoH", "invalid argument") {                 // after its free
            try out.withUnsafeMutableBytes { try driver.copy(toHost: $0.baseAddress!, from: device, bytes: 64) }
        }
        assertFails("cuMemFree", "invalid argument") { try driver.free(device) }
    }

    func testNewMemoryReadsAsNaN() throws {
        let x = try XCTUnwrap(try driver.allocate(32))
        defer { try? driver.free(x) }
        XCTAssertTrue(try driver.download(x, count: 4, dtype: .float64).allSatisfy(\.isNaN))
        XCTAssertTrue(try driver.download(x, count: 8, dtype: .float32).allSatisfy(\.isNaN))
    }

    func testHostPointerAsKernelArgumentFailsTheLaunch() throws {
        let kernels = try module("elementwise", ["neg_32"])
        defer { try? driver.unload(kernels) }
        let neg = kernels.functions["neg_32"]!
        let x = try driver.upload([1, 2, 3], dtype: .float32), y = try driver.upload([0, 0, 0], dtype: .float32)
        defer { try? driver.free(x); try? driver.free(y) }
        try CUDAEmulator.resetCounters()
        try driver.launch(neg, blocks: 1, threads: 32, words: [[x], [y], [3]])
        XCTAssertEqual(try driver.download(y, count: 3, dtype: .float32), [-1, -2, -3])
        XCTAssertEqual(try CUDAEmulator.launches(), 1)
        let host = [Float](repeating: 5, count: 3)
        try host.withUnsafeBytes { h in
            assertFails("cuLaunchKernel", "invalid argument") {
                try driver.launch(neg, blocks: 1, threads: 32, words: [[UInt64(UInt(bitPattern: h.baseAddress!))], [y], [3]])
            }
        }
        assertFails("cuLaunchKernel", "invalid argument") { try driver.launch(neg, blocks: 1, threads: 32, words: [[x], [y + 64], [3]]) }
        XCTAssertEqual(try CUDAEmulator.launches(), 1, "failed launches run nothing")
        XCTAssertEqual(try driver.download(y, count: 3, dtype: .float32), [-1, -2, -3])
        try driver.unload(kernels)
        assertFails("cuLaunchKernel", "invalid resource handle") { try driver.launch(neg, blocks: 1, threads: 32, words: [[x], [y], [3]]) }
        assertFails("cuModuleUnload", "invalid resource handle") { try driver.unload(kernels) }
    }

    func testOutOfMemoryAtTheCapacity() throws {
        let live = try CUDAEmulator.liveAllocations()
        let inUse = try driver.memoryInfo().total - driver.memoryInfo().free
        let previous = try CUDAEmulator.setCapacity(inUse + 4096)
        defer { _ = try? CUDAEmulator.setCapacity(previous) }
        try CUDAEmulator.resetCounters()
        let a = try XCTUnwrap(try driver.allocate(4096))
        XCTAssertNil(try driver.allocate(1), "past the capacity")
        XCTAssertEqual(try driver.memoryInfo().free, 0)
        XCTAssertEqual(try driver.memoryInfo().total, inUse + 4096)
        XCTAssertEqual(try CUDAEmulator.liveAllocations(), live + 1)
        try driver.free(a)
        let b = try XCTUnwrap(try driver.allocate(4000), "freed memory is available again")
        XCTAssertEqual(try CUDAEmulator.allocationCalls(), 3)
        XCTAssertEqual(try CUDAEmulator.liveAllocations(), live + 1)
        try driver.free(b)
        XCTAssertEqual(try CUDAEmulator.liveAllocations(), live)
        assertFails("cuMemAlloc", "invalid argument") { _ = try driver.allocate(0) }
    }

    /// Tensors on the emulated GPU at a small capacity: a request that does not fit next
    /// to the cached blocks empties the cache and is retried; one that does not fit at all
    /// stops with the allocator's message.
    func testTensorsPastTheCapacityEmptyTheCacheThenStop() throws {
        let gpu = try EmulatedGPU.device.get()
        guard case .gpu(let n) = gpu, CUDARuntime.current?.driver.isEmulated == true else {
            throw XCTSkip("the test GPU is not the emulator")
        }
        let mib = 1 << 20, floatsPerMiB = mib / 4
        XCTAssertEqual([Float](Tensor.zeros(2, device: gpu)), [0, 0])     // kernels loaded before the capacity is set
        gpuEmptyCache(n)
        let inUse = try driver.memoryInfo().total - driver.memoryInfo().free
        let previous = try CUDAEmulator.setCapacity(inUse + 4 * mib)
        defer { _ = try? CUDAEmulator.setCapacity(previous) }
        XCTAssertEqual(Tensor.zeros(shape: [2 * floatsPerMiB], device: gpu).count, 2 * floatsPerMiB)   // then cached
        let before = try XCTUnwrap(gpuMemoryStats(n))
        XCTAssertEqual(before.bytesCached, 2 * mib)
        let big = Tensor.ones(shape: [3 * floatsPerMiB], device: gpu)    // 2 + 3 MiB > 4: empties the cache, retries
        let after = try XCTUnwrap(gpuMemoryStats(n))
        XCTAssertEqual(after.bytesCached, 0)
        XCTAssertEqual(after.systemAllocations, before.systemAllocations + 1)
        XCTAssertEqual(Set([Float](big)), [1])
        assertKnetError("out of memory on gpu0", "\(4 * mib) bytes requested", "the cache was emptied and the request retried") {
            _ = Tensor.zeros(shape: [4 * floatsPerMiB], device: gpu)
        }
    }

    // MARK: launches

    private typealias RawLaunch = @convention(c) (OpaquePointer?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, OpaquePointer?,
                                                  UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                                  UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32

    /// A 3-D grid of 3-D blocks runs every thread once with its indices; sizes past
    /// CUDA's limits are refused.
    func testThreeDimensionalGridsAndLimits() throws {
        let launch = try XCTUnwrap(try CUDAEmulator.library().function("cuLaunchKernel", as: RawLaunch.self))
        let kernels = try module("emulator_test", ["knet_test_indices"])
        defer { try? driver.unload(kernels) }
        let f = kernels.functions["knet_test_indices"]!.handle
        let grid = (x: 2, y: 3, z: 2), block = (x: 4, y: 2, z: 3), count = 12 * 24
        let out = try XCTUnwrap(try driver.allocate(65535 * 8))     // room for the largest launch below
        defer { try? driver.free(out) }
        var address = out
        func run(_ g: (Int, Int, Int), _ b: (Int, Int, Int), shared: UInt32 = 0) -> Int32 {
            withUnsafeMutablePointer(to: &address) { a in
                var parameters: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(a)]
                return launch(f, UInt32(g.0), UInt32(g.1), UInt32(g.2), UInt32(b.0), UInt32(b.1), UInt32(b.2), shared, nil, &parameters, nil)
            }
        }
        XCTAssertEqual(run((grid.x, grid.y, grid.z), (block.x, block.y, block.z)), 0)
        var expected: [Int] = []
        for bz in 0..<grid.z { for by in 0..<grid.y { for bx in 0..<grid.x {
            for tz in 0..<block.z { for ty in 0..<block.y { for tx in 0..<block.x {
                expected.append(((((bz * 8 + by) * 8 + bx) * 8 + tz) * 8 + ty) * 8 + tx)
            } } }
        } } }
        var got = [Int](repeating: 0, count: count)
        try got.withUnsafeMutableBytes { try driver.copy(toHost: $0.baseAddress!, from: out, bytes: $0.count) }
        XCTAssertEqual(got, expected)
        for (g, b) in [((1, 1, 1), (1025, 1, 1)), ((1, 1, 1), (16, 16, 5)), ((1, 1, 1), (1, 1, 65)), ((1, 65536, 1), (1, 1, 1)),
                       ((0, 1, 1), (1, 1, 1)), ((1, 1, 1), (1, 0, 1))] {
            XCTAssertEqual(run(g, b), 1, "grid \(g), block \(b)")
        }
        XCTAssertEqual(run((1, 1, 1), (1, 1, 1), shared: 1024), 1, "no shared memory")
        for (g, b) in [((1, 1, 65535), (1, 1, 1)), ((1, 1, 1), (1, 1, 64)), ((1, 1, 1), (1024, 1, 1))] {
            XCTAssertEqual(run(g, b), 0, "the limits themselves: grid \(g), block \(b)")
        }
    }

    func testAtomicsAndPreludeMath() throws {
        let kernels = try module("emulator_test", ["knet_test_atomic", "knet_test_math"])
        defer { try? driver.unload(kernels) }
        let f = try driver.upload([0.5], dtype: .float32), d = try driver.upload([0.25], dtype: .float64)
        let out = try XCTUnwrap(try driver.allocate(CUDAEmulator.mathExpected.count * 8))
        defer { for a in [f, d, out] { try? driver.free(a) } }
        try driver.launch(kernels.functions["knet_test_atomic"]!, blocks: 3, threads: 100, words: [[f], [d]])
        XCTAssertEqual(try driver.download(f, count: 1, dtype: .float32), [300.5])
        XCTAssertEqual(try driver.download(d, count: 1, dtype: .float64), [300.25])
        try driver.launch(kernels.functions["knet_test_math"]!, blocks: 1, threads: 1, words: [[out]])
        let got = try driver.download(out, count: CUDAEmulator.mathExpected.count, dtype: .float64)
        for (k, (g, e)) in zip(got, CUDAEmulator.mathExpected).enumerated() {
            XCTAssertEqual(g, e.value, accuracy: e.exact ? 0 : 1e-6 * max(1, abs(e.value)), "out[\(k)]")
        }
    }

    // MARK: cuBLAS

    /// C = alpha·op(A)·op(B) + beta·C, column-major, in Double.
    private func reference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double, a: ArraySlice<Double>, lda: Int,
                           b: ArraySlice<Double>, ldb: Int, beta: Double, c: ArraySlice<Double>, ldc: Int) -> [Double] {
        var out = Array(c)
        let (a, b) = (Array(a), Array(b))
        for j in 0..<n {
            for i in 0..<m {
                var sum = 0.0
                for l in 0..<k { sum += (transA ? a[l + i * lda] : a[i + l * lda]) * (transB ? b[j + l * ldb] : b[l + j * ldb]) }
                out[i + j * ldc] = alpha * sum + (beta == 0 ? 0 : beta * out[i + j * ldc])
            }
        }
        return out
    }

    private func assertClose(_ got: [Double], _ expected: [Double], _ dtype: DType, _ what: String) {
        let tolerance = dtype == .float32 ? 1e-5 : 1e-12
        XCTAssertEqual(got.count, expected.count, what)
        for (k, (g, e)) in zip(got, expected).enumerated() where !(abs(g - e) <= tolerance * (1 + abs(e))) {
            return XCTFail("\(what): element \(k) is \(g), expected \(e)")
        }
    }

    /// Plain and strided-batched GEMM in both dtypes and every transpose, with leading
    /// dimensions past the rows and batch strides with gaps, against the triple loop; the
    /// padding of C is not written.
    func testGEMMAgainstTripleLoop() throws {
        let blas = try CUDAEmulator.cublas(), handle = try blas.createHandle(stream: try driver.createStream())
        defer { try? blas.destroy(handle) }
        let (m, n, k, batch) = (3, 4, 5, 3)
        var seed: UInt64 = 10
        for dtype in [DType.float32, .float64] {
            for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
                let lda = (transA ? k : m) + 2, ldb = (transB ? n : k) + 1, ldc = m + 3
                let strideA = lda * (transA ? m : k) + 1, strideB = ldb * (transB ? k : n) + 2, strideC = ldc * n + 5
                func data(_ count: Int) -> [Double] {
                    seed += 1
                    let v = values(count, seed: seed)
                    return dtype == .float32 ? v.map { Double(Float($0)) } : v
                }
                let a = data(strideA * batch), b = data(strideB * batch), c = data(strideC * batch)
                let (alpha, beta) = (1.5, -0.5)
                let ad = try driver.upload(a, dtype: dtype), bd = try driver.upload(b, dtype: dtype), cd = try driver.upload(c, dtype: dtype)
                defer { for x in [ad, bd, cd] { try? driver.free(x) } }
                let what = "\(dtype) transA \(transA) transB \(transB)"
                try blas.gemm(handle, dtype: dtype, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ad, lda: lda,
                              b: bd, ldb: ldb, beta: beta, c: cd, ldc: ldc)
                var expected = c
                expected.replaceSubrange(0..<ldc * n, with: reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                                                       a: a[...], lda: lda, b: b[...], ldb: ldb, beta: beta,
                                                                       c: c[0..<ldc * n], ldc: ldc))
                assertClose(try driver.download(cd, count: c.count, dtype: dtype), expected, dtype, "gemm " + what)

                let cs = try driver.upload(c, dtype: dtype)
                defer { try? driver.free(cs) }
                try blas.gemmStridedBatched(handle, dtype: dtype, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                            a: ad, lda: lda, strideA: strideA, b: bd, ldb: ldb, strideB: strideB,
                                            beta: beta, c: cs, ldc: ldc, strideC: strideC, batch: batch)
                expected = c
                for s in 0..<batch {
                    let at = s * strideC
                    expected.replaceSubrange(at..<at + ldc * n, with: reference(
                        transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a[(s * strideA)...], lda: lda,
                        b: b[(s * strideB)...], ldb: ldb, beta: beta, c: c[at..<at + ldc * n], ldc: ldc))
                }
                assertClose(try driver.download(cs, count: c.count, dtype: dtype), expected, dtype, "strided batched " + what)
            }
        }
    }

    /// beta = 0 overwrites C without reading it: NaN there does not reach the result.
    func testBetaZeroIgnoresNaNInC() throws {
        let blas = try CUDAEmulator.cublas(), handle = try blas.createHandle(stream: nil)
        defer { try? blas.destroy(handle) }
        for dtype in [DType.float32, .float64] {
            let a = values(6, seed: 20), b = values(6, seed: 21)
            let ad = try driver.upload(a, dtype: dtype), bd = try driver.upload(b, dtype: dtype)
            let cd = try driver.upload([Double](repeating: .nan, count: 4), dtype: dtype)
            defer { for x in [ad, bd, cd] { try? driver.free(x) } }
            try blas.gemmStridedBatched(handle, dtype: dtype, transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 1, a: ad, lda: 2,
                                        strideA: 0, b: bd, ldb: 3, strideB: 0, beta: 0, c: cd, ldc: 2, strideC: 0, batch: 1)
            let got = try driver.download(cd, count: 4, dtype: dtype)
            XCTAssertFalse(got.contains { $0.isNaN }, "\(dtype): \(got)")
            let rounded = dtype == .float32 ? a.map { Double(Float($0)) } : a, bRounded = dtype == .float32 ? b.map { Double(Float($0)) } : b
            assertClose(got, reference(transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 1, a: rounded[...], lda: 2,
                                       b: bRounded[...], ldb: 3, beta: 0, c: [0, 0, 0, 0][...], ldc: 2), dtype, "beta 0 \(dtype)")
        }
    }

    func testInvalidGEMMArgumentsThrow() throws {
        let blas = try CUDAEmulator.cublas(), handle = try blas.createHandle(stream: nil)
        let x = try driver.upload(values(16, seed: 30), dtype: .float32)
        defer { try? driver.free(x) }
        func gemm(m: Int = 2, n: Int = 2, k: Int = 2, lda: Int = 2, ldb: Int = 2, ldc: Int = 2, transA: Bool = false,
                  a: UInt64? = nil, on h: CUBLAS.Handle? = nil) throws {
            try blas.gemm(h ?? handle, dtype: .float32, transA: transA, transB: false, m: m, n: n, k: k, alpha: 1, a: a ?? x, lda: lda,
                          b: x, ldb: ldb, beta: 0, c: x + 32, ldc: ldc)
        }
        XCTAssertNoThrow(try gemm())
        let invalid = "CUBLAS_STATUS_INVALID_VALUE (7)"
        for (what, body) in [("m < 0", { try gemm(m: -1) }), ("lda < m", { try gemm(m: 3, lda: 2, ldc: 3) }),
                             ("lda < k for op(A) = Aᵀ", { try gemm(k: 3, lda: 2, ldb: 3, transA: true) }),
                             ("ldb < k", { try gemm(k: 3, lda: 2, ldb: 2) }), ("ldc < m", { try gemm(ldc: 1) })] as [(String, () throws -> Void)] {
            XCTAssertThrowsError(try body(), what) {
                guard case .driver(let call, let message)? = $0 as? GPUError else { return XCTFail("\($0)") }
                XCTAssertTrue(call.hasPrefix("cublasSgemm"), call)
                XCTAssertEqual(message, invalid, what)
            }
        }
        XCTAssertThrowsError(try gemm(a: 0x1000)) { XCTAssertTrue("\($0)".contains("CUBLAS_STATUS_EXECUTION_FAILED (13)"), "\($0)") }
        XCTAssertThrowsError(try gemm(m: 4, n: 4, k: 4, lda: 4, ldb: 4, ldc: 4), "B (16 floats) fits, C at x + 8 floats does not") {
            XCTAssertTrue("\($0)".contains("CUBLAS_STATUS_EXECUTION_FAILED"), "\($0)")
        }
        XCTAssertThrowsError(try gemm(m: 1 << 31)) { XCTAssertTrue("\($0)".contains("does not fit a C int"), "\($0)") }
        try blas.destroy(handle)
        XCTAssertThrowsError(try gemm(on: handle)) { XCTAssertTrue("\($0)".contains("CUBLAS_STATUS_NOT_INITIALIZED (1)"), "\($0)") }
        XCTAssertThrowsError(try blas.destroy(handle))
    }
}
