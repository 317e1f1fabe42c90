import Dispatch
import Synchronization
import XCTest
@testable import Knet
#if canImport(Glibc)
import Glibc
#endif

/// The CPU-side parts of the GPU backend: graceful absence of CUDA, device selection,
/// dlopen bindings, the caching allocator (on a simulated device) and the generated
/// kernel source. (The kernels run on the host, behind a stand-in driver, in
/// `CUDAKernelHostTests`; on a GPU, `knet-bench --gpu-check` runs them.)
final class GPUHostTests: XCTestCase {
    func testMissingCUDAMeansTheCPUQuietly() throws {
        let info = GPUInfo.current
        guard info.driver == nil else {
            print("GPUHostTests: a CUDA driver is present (\(info.summary[0])); checking what it reports instead")
            XCTAssertFalse(info.devices.isEmpty)
            return
        }
        XCTAssertEqual(info.devices, [])
        // This machine's runtime (none), whatever the tests installed before.
        let (installed, active) = (CUDARuntime.current, gpu())
        CUDARuntime.install(nil)
        defer { CUDARuntime.install(installed); gpu(active) }
        XCTAssertEqual(gpu(-1), -1)
        XCTAssertEqual(info.summary.first, "CUDA driver: not found (libcuda.so.1); Knet runs on the CPU")
        XCTAssertNil(gpuMemoryStats())
        assertKnetError("gpu0", "no CUDA GPU is usable here") { _ = Tensor.zeros(3, device: .gpu(0)) }
        assertKnetError("gpu(): no GPU is active") { _ = Tensor.zeros(3).gpu() }
        XCTAssertEqual(gpu(0), -1, "no device 0 to select")
        XCTAssertEqual(gpu(), -1)
        XCTAssertThrowsError(try checkGPUKernels(bandwidthElements: 0)) { XCTAssertEqual($0 as? GPUError, .noDevice(-1)) }
    }

    func testSelectionRules() {
        XCTAssertEqual(selectableGPU(1, count: 2), 1)
        XCTAssertEqual(selectableGPU(2, count: 2), -1)
        XCTAssertEqual(selectableGPU(-1, count: 2), -1)
        XCTAssertEqual(initialGPU(environment: nil, count: 2), 0)
        XCTAssertEqual(initialGPU(environment: nil, count: 0), -1)
        XCTAssertEqual(initialGPU(environment: "1", count: 2), 1)
        XCTAssertEqual(initialGPU(environment: "-1", count: 2), -1)
        XCTAssertEqual(initialGPU(environment: "7", count: 2), -1)
        XCTAssertEqual(initialGPU(environment: "yes", count: 2), 0, "a non-integer is ignored")
    }

    func testDynamicLibraryBinding() throws {
        XCTAssertNil(DynamicLibrary.open(["libknet-does-not-exist.so.9"]))
        let libm = try XCTUnwrap(DynamicLibrary.open(["libknet-does-not-exist.so", "libm.so.6"]))
        XCTAssertEqual(libm.name, "libm.so.6")
        let cosine = try XCTUnwrap(libm.function("cos", as: (@convention(c) (Double) -> Double).self))
        XCTAssertEqual(cosine(0), 1)
        XCTAssertNil(libm.function("cuInit", as: (@convention(c) (UInt32) -> Int32).self))
        setenv("KNET_TEST_LIB", "/opt/custom/libcublas.so", 1)
        defer { unsetenv("KNET_TEST_LIB") }
        XCTAssertEqual(libraryCandidates("libcublas", versions: ["12", "11"], override: "KNET_TEST_LIB"),
                       ["/opt/custom/libcublas.so", "libcublas.so.12", "libcublas.so.11", "libcublas.so"])
    }

    func testSizeClasses() {
        XCTAssertEqual(CachingAllocator.sizeClass(0), 64)
        XCTAssertEqual(CachingAllocator.sizeClass(65), 128)
        XCTAssertEqual(CachingAllocator.sizeClass(1000), 1024)
        XCTAssertEqual(CachingAllocator.sizeClass(1 << 20), 1 << 20)
        XCTAssertEqual(CachingAllocator.sizeClass((1 << 20) + 1), 1_179_648)        // 1.125 MiB
        XCTAssertEqual(CachingAllocator.sizeClass(3 << 20), 3 << 20)
        var indices: Set<Int> = []
        for bytes in [1, 777, 4096, 1 << 20, 5_000_000, 123_456_789] {
            let c = CachingAllocator.sizeClass(bytes)
            XCTAssert(c >= bytes && (bytes <= 1 << 20 || Double(c) <= Double(bytes) * 1.125), "\(bytes) → \(c)")
            XCTAssertEqual(CachingAllocator.sizeClass(c), c)
            indices.insert(CachingAllocator.classIndex(c))
        }
        XCTAssertEqual(indices.count, 6, "distinct classes get distinct pools")
    }

    func testFreedBlocksAreReusedWithoutDeviceCalls() throws {
        let device = SimulatedDevice(capacity: 1 << 20)
        let allocator = CachingAllocator(source: device)
        let a = try allocator.allocate(1000)
        allocator.free(a, 1000)
        XCTAssertEqual(allocator.stats, MemoryStats(bytesInUse: 0, bytesCached: 1024, systemAllocations: 1))
        for _ in 0..<100 {                      // a steady-state training step: no device calls
            let b = try allocator.allocate(900)
            XCTAssertEqual(b, a)
            allocator.free(b, 900)
        }
        XCTAssertEqual(allocator.stats, MemoryStats(bytesInUse: 0, bytesCached: 1024, systemAllocations: 1, poolHits: 100))
        XCTAssertEqual(device.calls, 1)
        let c = try allocator.allocate(2000)    // another size class: a new block
        XCTAssertNotEqual(c, a)
        XCTAssertEqual(allocator.stats.bytesInUse, 2048)
        allocator.emptyCache()
        XCTAssertEqual(device.live, [c: 2048])
    }

    func testOutOfMemoryEmptiesTheCacheAndRetriesThenFails() throws {
        let device = SimulatedDevice(capacity: 4096)
        let allocator = CachingAllocator(source: device)
        allocator.free(try allocator.allocate(2048), 2048)      // 2048 pooled, the device has 2048 of 4096 left
        let big = try allocator.allocate(4096)                   // fails once, empties the pool, retries
        XCTAssertEqual(allocator.stats, MemoryStats(bytesInUse: 4096, bytesCached: 0, systemAllocations: 2))
        XCTAssertEqual(device.live, [big: 4096])
        XCTAssertThrowsError(try allocator.allocate(10)) { error in
            let e = error as? AllocationError
            XCTAssertEqual(e?.requested, 10)
            XCTAssertEqual(e?.device, "simulated")
            XCTAssert("\(error)".contains("out of memory on simulated: 10 bytes requested with 4096 bytes in use"), "\(error)")
        }
        allocator.free(big, 4096)
        XCTAssertNoThrow(try allocator.allocate(10))
    }

    func testPoolLimitReturnsBlocksToTheSource() throws {
        let device = SimulatedDevice(capacity: 1 << 20)
        let allocator = CachingAllocator(source: device, cacheLimit: 1024)
        let a = try allocator.allocate(1024), b = try allocator.allocate(1024)
        allocator.free(a, 1024)
        allocator.free(b, 1024)                                   // over the limit: back to the device
        XCTAssertEqual(allocator.stats.bytesCached, 1024)
        XCTAssertEqual(device.live, [a: 1024])
    }

    func testConcurrentUseKeepsTheCountersExact() throws {
        let allocator = CachingAllocator(source: SimulatedDevice(capacity: 1 << 30))
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<200 {
                let bytes = 512 * (1 + (i + t) % 5)
                allocator.free(try! allocator.allocate(bytes), bytes)
            }
        }
        let stats = allocator.stats
        XCTAssertEqual(stats.bytesInUse, 0)
        XCTAssertEqual(stats.poolHits + stats.systemAllocations, 1600)
        XCTAssertLessThanOrEqual(stats.systemAllocations, 8 * 5)
    }

    func testHostTensorsUseTheSameAllocator() {
        let before = memoryStats()
        do {
            let t = Tensor.zeros(1000)
            XCTAssertEqual(memoryStats().bytesInUse - before.bytesInUse, CachingAllocator.sizeClass(4000))
            XCTAssertEqual(Int(bitPattern: UInt(bitPattern: t.pointer(Float.self))) % 64, 0, "64-byte aligned")
        }
        XCTAssertEqual(memoryStats().bytesInUse, before.bytesInUse)
    }

    /// NVRTC runs on the host: where it is installed (KNET_LIBNVRTC, e.g. from PyPI's
    /// nvidia-cuda-nvrtc-cu12) the generated source must compile to a CUBIN for Hopper with
    /// one entry per kernel, and a broken source must throw with the compiler's log.
    func testNVRTCCompilesTheGeneratedKernels() throws {
        guard let nvrtc = NVRTC.shared else {
            throw XCTSkip("no libnvrtc here (tried \(NVRTC.nvrtcCandidates.joined(separator: ", "))); set KNET_LIBNVRTC")
        }
        // every module of the GPU backend, as machine code for sm_90: an ELF image naming each of its kernels
        for module in CUDAKernelSource.modules {
            let cubin = try nvrtc.compileBinary(module.source, name: "knet_\(module.name).cu", architecture: (9, 0))
            XCTAssertEqual(Array(cubin.prefix(4)), [0x7f, 0x45, 0x4c, 0x46], module.name)
            let symbols = Set(String(decoding: cubin.map { $0 == 0 ? 10 : $0 }, as: UTF8.self).split(separator: "\n").map(String.init))
            for name in module.kernels { XCTAssert(symbols.contains(name), "\(module.name): \(name)") }
            XCTAssertEqual(UInt16(cubin[18]) | UInt16(cubin[19]) << 8, 190, "e_machine is EM_CUDA")
            XCTAssertEqual(cubin[48], 90, "e_flags name sm_90")
        }
        let names = CUDAKernelSource.modules.flatMap(\.kernels)
        XCTAssertEqual(Set(names).count, names.count, "kernel names are unique across modules")
        XCTAssertThrowsError(try nvrtc.compileBinary("extern \"C\" __global__ void k() { undeclared_thing(); }", name: "bad.cu",
                                               architecture: (9, 0))) { error in
            guard case .compilation(let name, let log)? = error as? GPUError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "bad.cu")
            XCTAssert(log.contains("undeclared_thing"), log)
        }
        XCTAssertEqual(GPUInfo.current.nvrtc?.version, "\(nvrtc.version.major).\(nvrtc.version.minor)")
    }

    func testKernelSourceCoversTheOpTables() {
        let source = CUDAKernelSource.elementwise
        let names = CUDAKernelSource.kernelNames
        XCTAssertEqual(names.count, 2 * (UnaryOp.allCases.count + 4 * BinaryOp.allCases.count))
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertEqual(source.components(separatedBy: "__global__ void ").count - 1, names.count)
        for name in names { XCTAssert(source.contains("__global__ void \(name)("), name) }
        for op in UnaryOp.allCases { XCTAssert(source.contains("ys[i] = (double)(\(op.cuda));"), "\(op)") }
        for op in BinaryOp.allCases { XCTAssert(source.contains("zs[i] = (float)(\(op.cuda));"), "\(op)") }
        XCTAssertEqual(source.filter { $0 == "{" }.count, source.filter { $0 == "}" }.count)
        XCTAssertEqual(source.filter { $0 == "(" }.count, source.filter { $0 == ")" }.count)
    }
}

/// A device with `capacity` bytes for the allocator tests: requests fail (nil) when
/// they would exceed it.
private final class SimulatedDevice: MemorySource, @unchecked Sendable {
    private struct State {
        var live: [UInt: Int] = [:]
        var calls = 0
        var next: UInt = 0x1000
    }
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    var deviceName: String { "simulated" }
    var live: [UInt: Int] { state.withLock { $0.live } }
    var calls: Int { state.withLock { $0.calls } }

    func allocate(_ bytes: Int) throws -> UInt? {
        state.withLock { s in
            s.calls += 1
            guard s.live.values.reduce(0, +) + bytes <= capacity else { return nil }
            let address = s.next
            s.next += UInt(bytes)
            s.live[address] = bytes
            return address
        }
    }

    func free(_ address: UInt) { state.withLock { _ = $0.live.removeValue(forKey: address) } }
}
