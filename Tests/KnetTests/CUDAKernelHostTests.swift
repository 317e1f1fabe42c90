import Foundation
import XCTest
@testable import Knet

/// The generated CUDA C elementwise kernels, run on the host: the source is compiled as
/// C++ by the toolchain's clang++ with a small prelude that stands in for the CUDA
/// runtime (C++ overloads of the math functions, as CUDA's headers give), together with
/// a stand-in for the CUDA driver API: "device" addresses are tagged host addresses that
/// only the stand-in's copies and launches untag (so a host pointer passed as a device
/// one fails), launches check the grid and block sizes and run every block and thread
/// in turn with the launch's parameter array, and live allocations are counted.
/// `checkKernels` — what `knet-bench --gpu-check` runs on a real GPU — then drives every
/// kernel through Knet's driver
/// bindings and compares it with the CPU formula of its op on ordinary and special
/// values. This checks each kernel's expression, argument order, scalar variants,
/// broadcast indexing and the launch path's parameter passing without a GPU; `erfinv`,
/// `cospi`, `sinpi` and `exp10` come from the prelude here, so only their wiring is
/// checked. NVRTC compilation for a real device is `GPUHostTests`'.
final class CUDAKernelHostTests: XCTestCase {
    /// What the CUDA runtime and math headers provide that host C++ lacks.
    private static let hostPrelude = """
        #include <cmath>
        using namespace std;
        struct dim3 { unsigned x, y, z; };
        // One block of one thread for direct calls; the stand-in driver's launch walks the grid.
        static thread_local dim3 blockIdx = {0, 0, 0}, threadIdx = {0, 0, 0}, blockDim = {1, 1, 1}, gridDim = {1, 1, 1};
        #define __global__
        static double knet_erfinv(double v) {      // Newton on erf from a rough start
          if (v <= -1 || v >= 1) return v == 1 ? INFINITY : v == -1 ? -INFINITY : NAN;
          double r = 0;
          for (int k = 0; k < 60; k++) r -= (erf(r) - v) / (2 / sqrt(M_PI) * exp(-r * r));
          return r;
        }
        static float knet_erfinv(float v) { return (float)knet_erfinv((double)v); }
        static double knet_cospi(double x) { return cos(M_PI * fmod(x, 2.0)); }   // fmod is exact
        static float knet_cospi(float x) { return (float)knet_cospi((double)x); }
        static double knet_sinpi(double x) { return sin(M_PI * fmod(x, 2.0)); }
        static float knet_sinpi(float x) { return (float)knet_sinpi((double)x); }
        static double knet_exp10(double x) { return pow(10.0, x); }
        static float knet_exp10(float x) { return powf(10.0f, x); }
        #define erfinv knet_erfinv
        #define cospi knet_cospi
        #define sinpi knet_sinpi
        #define exp10 knet_exp10

        """

    private typealias K = KernelComparison
    private typealias Broadcast = @convention(c) (UnsafeRawPointer, UnsafeRawPointer, UnsafeMutableRawPointer, Int,
                                                  UnsafeRawPointer) -> Void

    /// The kernels compiled into a shared library and opened (once per test run); a
    /// machine that cannot build and load host C++ at all skips, while kernels that fail
    /// to compile, link or load on a machine that can fail every test of this class.
    private enum Setup { case ready(DynamicLibrary), skipped(String), broken(String) }
    private static let setup: Setup = compileKernels()

    private static func compileKernels() -> Setup {
        guard let compiler = findCompiler() else {
            return .skipped("no clang++ found (PATH or KNET_CXX): the CUDA kernels are not run on the host")
        }
        let source = hostPrelude + CUDAKernelSource.elementwise + "\n" + hostEntryPoints() + standInDriver
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knet-cuda-host-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        /// Builds `code` into a shared library (every symbol defined) and opens it.
        func build(_ code: String, _ name: String) -> (library: DynamicLibrary?, message: String) {
            let source = dir.appendingPathComponent(name + ".cpp"), library = dir.appendingPathComponent(name + ".so")
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                try code.write(to: source, atomically: true, encoding: .utf8)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: compiler)
                process.arguments = ["-x", "c++", "-std=c++17", "-O1", "-shared", "-fPIC", "-Wl,-z,defs",
                                     "-o", library.path, source.path]
                let errors = Pipe()
                process.standardError = errors
                try process.run()
                let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { return (nil, message) }
            } catch {
                return (nil, "\(compiler): \(error)")
            }
            guard let opened = DynamicLibrary.open([library.path]) else { return (nil, String(cString: dlerror())) }
            return (opened, "")
        }
        let probe = "#include <cmath>\nextern \"C\" double probe(double x) { return std::exp(x); }\n"
        let probed = build(probe, "probe")
        guard probed.library != nil else {
            return .skipped("\(compiler) cannot build and load host C++ here, so the CUDA kernels are not run: \(probed.message)")
        }
        let kernels = build(source, "kernels")
        guard let library = kernels.library else {
            return .broken("the generated kernels do not build as host C++:\n\(kernels.message)")
        }
        return .ready(library)
    }

    /// For each kernel, a launcher taking the driver's parameter array (pointers to the
    /// argument values) and a table of launchers by name; for each broadcast kernel, a
    /// wrapper taking its layout by pointer (for direct calls from Swift).
    private static func hostEntryPoints() -> String {
        // A pointer parameter holds a tagged "device" address: its host address is that minus the tag.
        var code = "static const unsigned long long KNET_TAG = 1ull << 44;\n"
            + "#define KNET_HOST(p) (*(const unsigned long long*)(p) - KNET_TAG)\n"
        for name in CUDAKernelSource.kernelNames {
            let type = name.split(separator: "_").contains("32") ? "float" : "double"
            func input(_ k: Int) -> String { "(const \(type)*)KNET_HOST(p[\(k)])" }
            func output(_ k: Int) -> String { "(\(type)*)KNET_HOST(p[\(k)])" }
            let arguments: String
            switch name.suffix(3) {
            case "_ss", "_sv", "_vs": arguments = "\(input(0)), \(input(1)), \(output(2)), *(const long*)p[3]"
            case "_bc":
                arguments = "\(input(0)), \(input(1)), \(output(2)), *(const long*)p[3], *(const BroadcastLayout*)p[4]"
                code += "extern \"C\" void \(name)_host(const \(type)* x, const \(type)* y, \(type)* z, long n, "
                    + "const BroadcastLayout* l) { \(name)(x, y, z, n, *l); }\n"
            default: arguments = "\(input(0)), \(output(1)), *(const long*)p[2]"            // unary
            }
            code += "static void \(name)__launch(void** p) { \(name)(\(arguments)); }\n"
        }
        code += "struct KnetKernel { const char* name; void (*launch)(void**); };\n"
        code += "static const KnetKernel knet_kernels[] = {\n" + CUDAKernelSource.kernelNames.map { "  {\"\($0)\", \($0)__launch}," }.joined(separator: "\n")
        code += "\n};\n"
        return code
    }

    /// The CUDA driver API calls Knet binds, on the host: one device, host memory as
    /// device memory, and launches that call a kernel's launcher with the parameter array.
    private static let standInDriver = """
        #include <cstdlib>
        #include <cstring>
        typedef int CUresult;
        typedef unsigned long long CUdeviceptr;
        extern "C" {
        CUresult cuInit(unsigned) { return 0; }
        CUresult cuDriverGetVersion(int* v) { *v = 12040; return 0; }
        CUresult cuDeviceGetCount(int* n) { *n = 1; return 0; }
        CUresult cuDeviceGet(int* d, int ordinal) { *d = ordinal; return ordinal == 0 ? 0 : 101; }
        CUresult cuDeviceGetName(char* name, int length, int) { strncpy(name, "Host stand-in", length); return 0; }
        CUresult cuDeviceGetAttribute(int* v, int attribute, int) { *v = attribute == 75 ? 9 : 0; return 0; }
        CUresult cuDeviceTotalMem_v2(size_t* bytes, int) { *bytes = (size_t)1 << 30; return 0; }
        static long live = 0;                       // allocations not yet freed
        long cuStandInLiveAllocations() { return live; }
        CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t n) {
          void* m = malloc(n); if (!m) return 2;
          live++; *p = (CUdeviceptr)m + KNET_TAG; return 0;
        }
        CUresult cuMemFree_v2(CUdeviceptr p) { live--; free((void*)(p - KNET_TAG)); return 0; }
        CUresult cuDevicePrimaryCtxRetain(void** context, int) { static int c; *context = &c; return 0; }
        CUresult cuCtxSetCurrent(void*) { return 0; }
        CUresult cuGetErrorString(CUresult status, const char** text) {
          *text = status == 500 ? "named symbol not found" : "stand-in driver error"; return 0;
        }
        CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void* h, size_t n) { memcpy((void*)(d - KNET_TAG), h, n); return 0; }
        CUresult cuMemcpyDtoH_v2(void* h, CUdeviceptr d, size_t n) { memcpy(h, (const void*)(d - KNET_TAG), n); return 0; }
        CUresult cuModuleLoadData(void** module, const void*) { static int m; *module = &m; return 0; }
        CUresult cuModuleUnload(void*) { return 0; }
        CUresult cuModuleGetFunction(void** f, void*, const char* name) {
          for (const KnetKernel& k : knet_kernels) if (!strcmp(k.name, name)) { *f = (void*)k.launch; return 0; }
          return 500;
        }
        CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                unsigned, void*, void** parameters, void**) {
          if (gx < 1 || gx > 2147483647u || gy < 1 || gy > 65535 || gz < 1 || gz > 65535 || bx < 1 || by < 1 || bz < 1
              || (unsigned long)bx * by * bz > 1024 || gy * gz != 1 || by * bz != 1) return 1;   // one-dimensional here
          gridDim = {gx, 1, 1}; blockDim = {bx, 1, 1};
          for (unsigned b = 0; b < gx; b++)
            for (unsigned t = 0; t < bx; t++) { blockIdx = {b, 0, 0}; threadIdx = {t, 0, 0}; ((void (*)(void**))f)(parameters); }
          gridDim = blockDim = {1, 1, 1}; blockIdx = threadIdx = {0, 0, 0};
          return 0;
        }
        CUresult cuCtxSynchronize() { return 0; }
        }

        """

    /// `KNET_CXX` (a path, or a name looked up on the PATH), else `clang++` on the PATH
    /// (the Swift toolchain ships one).
    private static func findCompiler() -> String? {
        let name = ProcessInfo.processInfo.environment["KNET_CXX"] ?? "clang++"
        if name.contains("/") { return name }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The compiled kernels and stand-in driver, or a skip or failure.
    private func hostLibrary() throws -> DynamicLibrary {
        switch Self.setup {
        case .skipped(let reason): throw XCTSkip(reason)
        case .broken(let message):
            XCTFail(message)
            throw XCTSkip("see the failure above")
        case .ready(let library): return library
        }
    }

    private func kernel<F>(_ name: String, as type: F.Type) throws -> F {
        guard let f = try hostLibrary().function(name, as: type) else {
            XCTFail("kernel \(name) is missing")
            throw XCTSkip("missing kernel")
        }
        return f
    }

    /// Every kernel, launched through Knet's driver bindings (module, function lookup,
    /// parameter array, copies) on the stand-in driver, agrees with the CPU formulas.
    func testEveryKernelThroughTheDriverBindings() throws {
        let library = try hostLibrary()
        guard let driver = CUDADriver(library) else { return XCTFail("the stand-in driver does not bind") }
        XCTAssertEqual(driver.devices.map(\.name), ["Host stand-in"])
        XCTAssertEqual(driver.devices.first?.computeCapability.major, 9)
        let report = try checkKernels(driver: driver, device: driver.devices[0], image: Array("(ignored by the stand-in)".utf8),
                                      bandwidthElements: 1000)
        let live = library.function("cuStandInLiveAllocations", as: (@convention(c) () -> Int).self)
        XCTAssertEqual(live?(), 0, "every device buffer is freed")
        XCTAssertEqual(report.kernels, CUDAKernelSource.kernelNames.count)
        XCTAssertEqual(report.mismatches, [])
        XCTAssertNotNil(report.bandwidth)
        XCTAssertThrowsError(try driver.loadModule([0], functions: ["no_such_kernel"])) {
            XCTAssertTrue("\($0)".contains("cuModuleGetFunction(no_such_kernel)"), "\($0)")
        }
    }

    /// The broadcast kernels index like the CPU's broadcasting: x [3,1,4] with y [1,5,4]
    /// (contiguous, and a strided view with an offset into a [2,5,4] tensor) into z
    /// [3,5,4], for ops of each kind (the indexing is the same code in every op's kernel).
    func testBroadcastKernelsIndexLikeTheCPU() throws {
        for dtype in [DType.float32, .float64] {
            var g = SplitMix(seed: 5)
            func data(_ shape: [Int]) -> Tensor {
                Tensor((0..<shape.reduce(1, *)).map { _ in 6 * Double(g.next() >> 11) * 0x1p-53 - 3 }, shape: shape, dtype: dtype)
            }
            let x = data([3, 1, 4])
            // y contiguous, and a strided view into a larger tensor (with an offset)
            let plain = data([1, 5, 4]), big = data([2, 5, 4])
            for (y, memory) in [(plain, plain), (big[1..<2, .all, .all], big)] {
                for op in [BinaryOp.sub, .div, .pow, .max, .lt] {
                    let expected = elementwise(op, x, y)
                    let layout = CUDAKernelSource.broadcastLayout(shape: expected.shape,
                                                                  xStrides: (0..<3).map { x.shape[$0] == 1 ? 0 : x.stride($0) },
                                                                  yStrides: (0..<3).map { y.shape[$0] == 1 ? 0 : y.stride($0) })
                    let f = try kernel("\(op.name)_\(CUDAKernelSource.suffix(dtype))_bc_host", as: Broadcast.self)
                    let z = Tensor(uninitialized: expected.shape, dtype: dtype)
                    layout.withUnsafeBytes { lp in
                        f(x.storage.pointer, memory.storage.pointer + y.offset * dtype.size, z.storage.pointer, z.count, lp.baseAddress!)
                    }
                    let got = [Double](z)
                    if let line = K.mismatches("\(op.name) \(dtype) broadcast", got, dtype: dtype, cpu: { expected[flat: $0] },
                                               describe: { "element \($0)" }) {
                        XCTFail(line)
                    }
                }
            }
        }
    }
}
