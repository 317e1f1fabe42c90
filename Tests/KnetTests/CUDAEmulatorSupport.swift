import Dispatch
import Foundation
import Synchronization
import XCTest
@testable import Knet

/// The host emulation of the CUDA driver API and of cuBLAS that Knet's GPU backend runs
/// on in `swift test` on a machine without a GPU. Built once per test process into one
/// shared library by the toolchain's clang++ (or `$KNET_CXX`) from the C++ under
/// `CUDAEmulator/`: `driver.cpp` (one device, host memory behind checked device
/// addresses, synchronous streams and events, launches that run a kernel over every
/// block and thread in turn), `cublas.cpp` (reference GEMM), `nccl.cpp` (NCCL for a
/// communicator of one rank) and, for each module of
/// `CUDAKernelSource.modules`, one C++ file of `prelude.h` (what CUDA's headers give
/// kernels), the module's CUDA C and a table of launchers that registers its kernels
/// (plus `testModule`, kernels that test the emulator). A part that fails to build is a
/// test failure naming it, with the compiler's output; no usable clang++ is a skip.
///
///     let driver = try CUDAEmulator.driver(), blas = try CUDAEmulator.cublas()
enum CUDAEmulator {
    /// The folder of the emulator's C++ sources.
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("CUDAEmulator")

    /// A part of the emulator that does not build or load on a machine that can build
    /// host C++: a test that needs it fails with the compiler's output.
    struct BuildError: Error, CustomStringConvertible {
        /// "module elementwise", "driver.cpp", "link"...
        let part: String
        /// What the compiler, linker or dlopen said.
        let output: String
        var description: String { "the CUDA emulator's \(part) does not build as host C++:\n\(output)" }
    }

    private static let built = Result { try build() }
    private static let boundDriver = built.flatMap { lib in Result { try bound(CUDADriver(lib), "CUDADriver") } }
    private static let boundBLAS = built.flatMap { lib in Result { try bound(CUBLAS(lib), "CUBLAS") } }

    /// `value`, or a `BuildError` saying that Knet's `bindings` do not bind the library.
    private static func bound<T>(_ value: T?, _ bindings: String) throws -> T {
        guard let value else { throw BuildError(part: "library", output: "\(bindings) does not bind it (an entry point is missing or fails)") }
        return value
    }

    /// The emulator's shared library. Throws `XCTSkip` where no clang++ can build and
    /// load host C++ at all, and `BuildError` (a test failure) where a part of it does
    /// not build.
    ///
    ///     let lib = try CUDAEmulator.library()
    static func library() throws -> DynamicLibrary { try built.get() }

    /// Knet's driver bindings on the emulator (one device, "Host emulation", sm_90).
    ///
    ///     let driver = try CUDAEmulator.driver(); try driver.activate(driver.devices[0])
    static func driver() throws -> CUDADriver { try boundDriver.get() }

    /// Knet's cuBLAS bindings on the emulator.
    ///
    ///     let h = try CUDAEmulator.cublas().createHandle(stream: nil)
    static func cublas() throws -> CUBLAS { try boundBLAS.get() }

    /// Device allocations not yet freed.
    ///
    ///     XCTAssertEqual(try CUDAEmulator.liveAllocations(), before)
    static func liveAllocations() throws -> Int { try counter("knet_emulator_live_allocations") }

    /// cuMemAlloc calls, failed ones included, since the start or `resetCounters`.
    ///
    ///     XCTAssertEqual(try CUDAEmulator.allocationCalls(), 2)
    static func allocationCalls() throws -> Int { try counter("knet_emulator_allocation_calls") }

    /// Kernel launches that ran, since the start or `resetCounters`.
    ///
    ///     XCTAssertEqual(try CUDAEmulator.launches(), 1)
    static func launches() throws -> Int { try counter("knet_emulator_launches") }

    /// Zeroes the allocation-call and launch counters.
    ///
    ///     try CUDAEmulator.resetCounters()
    static func resetCounters() throws { try function("knet_emulator_reset_counters", as: (@convention(c) () -> Void).self)() }

    /// Sets the device memory (bytes; 0 restores the default 1 GiB) past which cuMemAlloc
    /// reports out of memory; returns the previous capacity. Devices already described
    /// (`CUDADriver.devices`) keep the memory they were read with.
    ///
    ///     let old = try CUDAEmulator.setCapacity(4096); defer { _ = try? CUDAEmulator.setCapacity(old) }
    @discardableResult
    static func setCapacity(_ bytes: Int) throws -> Int {
        try function("knet_emulator_set_capacity", as: (@convention(c) (Int) -> Int).self)(bytes)
    }

    /// NCCL calls that succeeded since the emulator was loaded.
    ///
    ///     let before = try CUDAEmulator.ncclCalls()
    static func ncclCalls() throws -> Int { try counter("knet_emulator_nccl_calls") }

    private static func counter(_ name: String) throws -> Int { try function(name, as: (@convention(c) () -> Int).self)() }

    private static func function<F>(_ name: String, as type: F.Type) throws -> F {
        guard let f = try library().function(name, as: type) else {
            throw BuildError(part: "library", output: "\(name) is not exported")
        }
        return f
    }

    /// Kernels that test the emulator itself (built into its library, loaded with the
    /// image "emulator_test"): `knet_test_indices(long* out)` writes each thread's block
    /// and thread indices, encoded as six base-8 digits (block z y x, thread z y x), at
    /// its linear index in the grid; `knet_test_atomic(float* f, double* d)` adds 1 to
    /// both with atomicAdd in every thread; `knet_test_math(double* out)` writes prelude
    /// functions at fixed arguments (see `mathExpected`).
    static let testModule = CUDAModule(name: "emulator_test", source: """
        extern "C" __global__ void knet_test_indices(long* out) {
          long block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * (long)blockIdx.z);
          long thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * (long)threadIdx.z);
          out[thread + block * blockDim.x * blockDim.y * blockDim.z] =
            ((((blockIdx.z * 8 + blockIdx.y) * 8 + blockIdx.x) * 8 + threadIdx.z) * 8 + threadIdx.y) * 8 + threadIdx.x;
        }
        extern "C" __global__ void knet_test_atomic(float* f, double* d) { atomicAdd(f, 1.0f); atomicAdd(d, 1.0); }
        extern "C" __global__ void knet_test_math(double* out) {
          out[0] = rsqrt(4.0); out[1] = rsqrt(0.25f); out[2] = normcdf(0.0); out[3] = normcdf(-1.0f);
          out[4] = normcdfinv(0.975); out[5] = erfinv(0.5); out[6] = exp10(-2.0);
          out[7] = cospi(1.0); out[8] = sinpi(0.5f); out[9] = sinpi(1.0); out[10] = cospi(0.5f); out[11] = sinpi(-3.0);
          out[12] = cospi(2.5); out[13] = normcdfinv(0.5f);
        }
        """, kernels: ["knet_test_indices", "knet_test_atomic", "knet_test_math"])

    /// What `knet_test_math` writes, and whether exactly (sinpi and cospi at integers and
    /// half-integers, as CUDA's); the others to float precision for float arguments.
    static let mathExpected: [(value: Double, exact: Bool)] = [0.5, 2, 0.5, 0.15865525393145707, 1.959963984540054,
                                                              0.4769362762044699, 0.01].map { ($0, false) }
        + [-1, 1, 0, 0, 0, 0, 0].map { ($0, true) }

    // MARK: building

    /// One C++ file of `module`: the prelude, its CUDA C, a launcher per kernel and the
    /// registration of the table with the driver when the library is opened.
    static func translationUnit(_ module: CUDAModule) -> String {
        var code = "#include \"prelude.h\"\n#line 1 \"\(module.name).cu\"\n" + module.source + "\n"
        guard !module.kernels.isEmpty else { return code }
        code += "static const KnetKernel knet_module_kernels[] = {\n"
            + module.kernels.map { "  {\"\($0)\", knet_launcher<\($0)>}," }.joined(separator: "\n")
            + "\n};\n[[maybe_unused]] static const bool knet_module_registered = "
            + "(knet_emulator_register(\"\(module.name)\", knet_module_kernels, \(module.kernels.count)), true);\n"
        return code
    }

    /// Compiles the parts in parallel, links and opens the library.
    private static func build() throws -> DynamicLibrary {
        guard let compiler = findCompiler() else {
            throw XCTSkip("no clang++ found (PATH or KNET_CXX): the CUDA code path is not run on the host")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knet-cuda-emulator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func run(_ arguments: [String]) throws -> String? {
            let r = try runProcess([compiler] + arguments, collectOutput: true)
            return r.status == 0 ? nil : r.stdout + r.stderr
        }
        func link(_ inputs: [String], _ output: String) throws -> String? {
            try run(["-shared", "-fPIC", "-Wl,-z,defs", "-o", output] + inputs)
        }
        let probe = dir.appendingPathComponent("probe.cpp").path, probeLibrary = dir.appendingPathComponent("probe.so").path
        try "#include <cmath>\nextern \"C\" double probe(double x) { return std::exp(x); }\n".write(toFile: probe, atomically: true, encoding: .utf8)
        if let message = try run(["-x", "c++", "-std=c++17", "-c", "-fPIC", "-o", probe + ".o", probe]) ?? link([probe + ".o"], probeLibrary)
            ?? (DynamicLibrary.open([probeLibrary]) == nil ? String(cString: dlerror()) : nil) {
            throw XCTSkip("\(compiler) cannot build and load host C++ here, so the CUDA code path is not run: \(message)")
        }
        var parts: [(name: String, source: String)] = []
        for module in CUDAKernelSource.modules + [testModule] {
            let file = dir.appendingPathComponent("module-\(module.name).cpp").path
            try translationUnit(module).write(toFile: file, atomically: true, encoding: .utf8)
            parts.append(("module \(module.name)", file))
        }
        parts += ["driver.cpp", "cublas.cpp", "nccl.cpp"].map { ($0, sources.appendingPathComponent($0).path) }
        let failures = Mutex<[Int: String]>([:])
        DispatchQueue.concurrentPerform(iterations: parts.count) { k in
            let message: String?
            do {
                message = try run(["-x", "c++", "-std=c++17", "-O1", "-fPIC", "-c", "-I", sources.path,
                                   "-o", dir.appendingPathComponent("\(k).o").path, parts[k].source])
            } catch {
                message = "\(compiler): \(error)"
            }
            if let message { failures.withLock { $0[k] = message } }
        }
        if let (k, message) = failures.withLock({ $0.min { $0.key < $1.key } }) {
            throw BuildError(part: parts[k].name, output: message)
        }
        let library = dir.appendingPathComponent("knet-cuda-emulator.so").path
        if let message = try link(parts.indices.map { dir.appendingPathComponent("\($0).o").path }, library) {
            throw BuildError(part: "link", output: message)
        }
        guard let opened = DynamicLibrary.open([library]) else { throw BuildError(part: "library", output: String(cString: dlerror())) }
        // KNET_EMULATOR_LIBRARY_OUT keeps a copy, to run the knet program on the emulated GPU
        // (KNET_LIBCUDA and KNET_LIBCUBLAS set to it).
        if let keep = ProcessInfo.processInfo.environment["KNET_EMULATOR_LIBRARY_OUT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: library, toPath: keep)
        }
        return opened
    }

    /// `KNET_CXX` (a path, or a name looked up on the PATH), else `clang++` on the PATH
    /// (the Swift toolchain ships one).
    private static func findCompiler() -> String? {
        let name = ProcessInfo.processInfo.environment["KNET_CXX"] ?? "clang++"
        if name.contains("/") { return name }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Test conveniences over Knet's driver bindings: device arrays from and to Swift values.
extension CUDADriver {
    /// New device memory (current context) holding `values` in `dtype`; throws when the
    /// device is out of memory.
    ///
    ///     let x = try driver.upload([1, 2, 3], dtype: .float32)
    func upload(_ values: [Double], dtype: DType) throws -> UInt64 {
        guard let address = try allocate(max(1, values.count) * dtype.size) else {
            throw GPUError.driver(call: "cuMemAlloc", message: "out of memory")
        }
        let write = { (bytes: UnsafeRawBufferPointer) in try self.copy(toDevice: address, from: bytes.baseAddress!, bytes: bytes.count) }
        if dtype == .float32 { try values.map(Float.init).withUnsafeBytes(write) } else { try values.withUnsafeBytes(write) }
        return address
    }

    /// `count` values of `dtype` at device address `address`, as Doubles.
    ///
    ///     let y = try driver.download(x, count: 3, dtype: .float32)
    func download(_ address: UInt64, count: Int, dtype: DType) throws -> [Double] {
        func read<T>(_ zero: T) throws -> [T] {
            var out = [T](repeating: zero, count: count)
            try out.withUnsafeMutableBytes { try copy(toHost: $0.baseAddress!, from: address, bytes: $0.count) }
            return out
        }
        return dtype == .float32 ? try read(Float(0)).map(Double.init) : try read(0.0)
    }

    /// Launches `function` with `arguments`, each the 64-bit words of one parameter's
    /// value (a device address, a `long`, a struct passed by value).
    ///
    ///     try driver.launch(f, blocks: 1, threads: 32, words: [[x], [y], [UInt64(n)]])
    func launch(_ function: Function, blocks: Int, threads: Int, words arguments: [[UInt64]], stream: Stream? = nil) throws {
        let storage = arguments.map { w in
            let b = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: max(1, w.count))
            _ = b.initialize(from: w)
            return b
        }
        defer { for b in storage { b.deallocate() } }
        try launch(function, blocks: blocks, threads: threads, arguments: storage.map { UnsafeMutableRawPointer($0.baseAddress) },
                   stream: stream)
    }
}
