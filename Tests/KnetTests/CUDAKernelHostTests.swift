import Foundation
import XCTest
@testable import Knet

/// The generated CUDA C elementwise kernels, run on the host: the source is compiled as
/// C++ by the toolchain's clang++ with a small prelude that stands in for the CUDA
/// runtime (one block of one thread, so each grid-stride loop walks the whole array;
/// C++ overloads of the math functions, as CUDA's headers give), and every kernel is
/// compared with the CPU kernels of the same op table on ordinary and special values
/// (the broadcast variant for ops of each kind). This checks each kernel's expression,
/// argument order, scalar variants and broadcast indexing without a GPU; `erfinv`,
/// `cospi`, `sinpi` and `exp10` come from the prelude here, so only their wiring is
/// checked. NVRTC compilation for a real device is `GPUHostTests`'.
final class CUDAKernelHostTests: XCTestCase {
    /// What the CUDA runtime and math headers provide that host C++ lacks.
    private static let hostPrelude = """
        #include <cmath>
        using namespace std;
        struct dim3 { unsigned x, y, z; };
        static const dim3 blockIdx = {0, 0, 0}, threadIdx = {0, 0, 0}, blockDim = {1, 1, 1}, gridDim = {1, 1, 1};
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

    private typealias Unary = @convention(c) (UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void
    private typealias Binary = @convention(c) (UnsafeRawPointer, UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void
    private typealias Broadcast = @convention(c) (UnsafeRawPointer, UnsafeRawPointer, UnsafeMutableRawPointer, Int,
                                                  UnsafeRawPointer) -> Void

    /// The kernels compiled into a shared library and opened (once per test run); a
    /// machine that cannot build and load host C++ at all skips, while kernels that fail
    /// to compile, link or load on a machine that can fail every test of this class.
    private enum Setup { case ready(UnsafeMutableRawPointer), skipped(String), broken(String) }
    private static let setup: Setup = compileKernels()

    private static func compileKernels() -> Setup {
        guard let compiler = findCompiler() else {
            return .skipped("no clang++ found (PATH or KNET_CXX): the CUDA kernels are not run on the host")
        }
        // `_bc` kernels take their layout by value; the host wrappers take a pointer.
        var wrappers = ""
        for (type, suffix) in [("float", "32"), ("double", "64")] {
            for op in BinaryOp.allCases {
                let name = "\(op.name)_\(suffix)_bc"
                wrappers += "extern \"C\" void \(name)_host(const \(type)* x, const \(type)* y, \(type)* z, long n, "
                    + "const BroadcastLayout* l) { \(name)(x, y, z, n, *l); }\n"
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knet-cuda-host-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        /// Builds `code` into a shared library (every symbol defined) and opens it.
        func build(_ code: String, _ name: String) -> (handle: UnsafeMutableRawPointer?, message: String) {
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
            guard let handle = dlopen(library.path, RTLD_NOW | RTLD_LOCAL) else { return (nil, String(cString: dlerror())) }
            return (handle, "")
        }
        let probe = "#include <cmath>\nextern \"C\" double probe(double x) { return std::exp(x); }\n"
        let probed = build(probe, "probe")
        guard probed.handle != nil else {
            return .skipped("\(compiler) cannot build and load host C++ here, so the CUDA kernels are not run: \(probed.message)")
        }
        let kernels = build(hostPrelude + CUDAKernelSource.elementwise + "\n" + wrappers, "kernels")
        guard let handle = kernels.handle else {
            return .broken("the generated kernels do not build as host C++:\n\(kernels.message)")
        }
        return .ready(handle)
    }

    /// `KNET_CXX` (a path, or a name looked up on the PATH), else `clang++` on the PATH
    /// (the Swift toolchain ships one).
    private static func findCompiler() -> String? {
        let name = ProcessInfo.processInfo.environment["KNET_CXX"] ?? "clang++"
        if name.contains("/") { return name }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private func kernel<F>(_ name: String, as _: F.Type) throws -> F {
        switch Self.setup {
        case .skipped(let reason): throw XCTSkip(reason)
        case .broken(let message):
            XCTFail(message)
            throw XCTSkip("see the failure above")
        case .ready(let handle):
            guard let symbol = dlsym(handle, name) else {
                XCTFail("kernel \(name) is missing")
                throw XCTSkip("missing kernel")
            }
            return unsafeBitCast(symbol, to: F.self)
        }
    }

    /// Ordinary values in [-4, 4] and the special ones every op must agree on: signed
    /// zeros, half-integers (rounding, cospi), domain edges, overflow, ±Inf and NaN.
    private static let inputs: [Double] = {
        var g = SplitMix(seed: 11)
        let special: [Double] = [0, -0.0, 0.5, -0.5, 1, -1, 1.5, -1.5, 2.5, -2.5, 3, 0.25, 0.999, -0.999, 1e-3,
                                 -1e-3, 20, -20, 88.5, -100, 710, .infinity, -.infinity, .nan]
        return special + (0..<200).map { _ in 8 * Double(g.next() >> 11) * 0x1p-53 - 4 }
    }()

    /// Whether `kernel` (from the CUDA source) and `cpu` (the op table's CPU formula)
    /// agree: equal, both NaN, or within a few ulps' worth of relative error (the host
    /// libm and Knet's own math differ in the last bits).
    private func agree(_ kernel: Double, _ cpu: Double, _ dtype: DType) -> Bool {
        if kernel.isNaN || cpu.isNaN { return kernel.isNaN && cpu.isNaN }
        if kernel.isInfinite || cpu.isInfinite { return kernel == cpu }
        let rtol = dtype == .float32 ? 2e-5 : 1e-12, atol = dtype == .float32 ? 1e-6 : 1e-14
        return abs(kernel - cpu) <= atol + rtol * abs(cpu)
    }

    /// One failure per kernel, with its first few mismatches.
    private func report(_ kernel: String, _ mismatches: [String], line: UInt = #line) {
        guard !mismatches.isEmpty else { return }
        XCTFail("\(kernel): \(mismatches.count) mismatches, e.g. " + mismatches.prefix(3).joined(separator: "; "), line: line)
    }

    /// Values as `dtype`'s bytes, and back.
    private func bytes(_ values: [Double], _ dtype: DType) -> [UInt8] {
        dtype == .float32 ? values.map { Float($0) }.withUnsafeBytes { Array($0) } : values.withUnsafeBytes { Array($0) }
    }

    private func values(_ bytes: [UInt8], _ dtype: DType) -> [Double] {
        bytes.withUnsafeBytes { raw in
            dtype == .float32 ? raw.bindMemory(to: Float.self).map(Double.init) : Array(raw.bindMemory(to: Double.self))
        }
    }

    private func suffix(_ dtype: DType) -> String { dtype == .float32 ? "32" : "64" }

    /// The CPU formula at dtype precision.
    private func cpu(_ op: UnaryOp, _ x: Double, _ dtype: DType) -> Double {
        dtype == .float32 ? Double(op.scalar(Float(x))) : op.scalar(x)
    }

    private func cpu(_ op: BinaryOp, _ x: Double, _ y: Double, _ dtype: DType) -> Double {
        dtype == .float32 ? Double(op.scalar(Float(x), Float(y))) : op.scalar(x, y)
    }

    func testUnaryKernelsMatchTheCPUFormulas() throws {
        for dtype in [DType.float32, .float64] {
            let x = Self.inputs.map { dtype == .float32 ? Double(Float($0)) : $0 }
            for op in UnaryOp.allCases {
                let f = try kernel("\(op.name)_\(suffix(dtype))", as: Unary.self)
                let input = bytes(x, dtype)
                var output = [UInt8](repeating: 0, count: input.count)
                input.withUnsafeBytes { i in output.withUnsafeMutableBytes { o in f(i.baseAddress!, o.baseAddress!, x.count) } }
                let y = values(output, dtype)
                report("\(op.name) \(dtype)", x.indices.filter { !agree(y[$0], cpu(op, x[$0], dtype), dtype) }.map {
                    "at \(x[$0]): kernel \(y[$0]), CPU \(cpu(op, x[$0], dtype))"
                })
            }
        }
    }

    func testBinaryKernelsMatchTheCPUFormulas() throws {
        // every pair of a small set with the special values, in both orders
        let small: [Double] = [0, -0.0, 0.5, -1, 2, -2.5, 3, 1e-3, .infinity, -.infinity, .nan]
        let pairs = small.flatMap { a in small.map { (a, $0) } } + (0..<100).map { (Self.inputs[100 + $0], Self.inputs[$0 + 24]) }
        for dtype in [DType.float32, .float64] {
            let round = { (v: Double) in dtype == .float32 ? Double(Float(v)) : v }
            let a = pairs.map { round($0.0) }, b = pairs.map { round($0.1) }
            for op in BinaryOp.allCases {
                let name = "\(op.name)_\(suffix(dtype))"
                let ss = try kernel(name + "_ss", as: Binary.self)
                let sv = try kernel(name + "_sv", as: Binary.self), vs = try kernel(name + "_vs", as: Binary.self)
                let xa = bytes(a, dtype), xb = bytes(b, dtype)
                func run(_ f: Binary, _ x: [UInt8], _ y: [UInt8], _ n: Int) -> [Double] {
                    var z = [UInt8](repeating: 0, count: n * dtype.size)
                    x.withUnsafeBytes { x in y.withUnsafeBytes { y in z.withUnsafeMutableBytes { z in
                        f(x.baseAddress!, y.baseAddress!, z.baseAddress!, n) } } }
                    return values(z, dtype)
                }
                let z = run(ss, xa, xb, a.count)
                report(name + "_ss", a.indices.filter { !agree(z[$0], cpu(op, a[$0], b[$0], dtype), dtype) }.map {
                    "at (\(a[$0]), \(b[$0])): kernel \(z[$0]), CPU \(cpu(op, a[$0], b[$0], dtype))"
                })
                for s in [2.0, -0.5, .nan] {                                   // a scalar first, then second
                    let scalar = bytes([s], dtype)
                    let zsv = run(sv, scalar, xb, b.count), zvs = run(vs, xa, scalar, a.count)
                    report(name + "_sv", b.indices.filter { !agree(zsv[$0], cpu(op, s, b[$0], dtype), dtype) }.map {
                        "at (\(s), \(b[$0])): kernel \(zsv[$0]), CPU \(cpu(op, s, b[$0], dtype))"
                    })
                    report(name + "_vs", a.indices.filter { !agree(zvs[$0], cpu(op, a[$0], s, dtype), dtype) }.map {
                        "at (\(a[$0]), \(s)): kernel \(zvs[$0]), CPU \(cpu(op, a[$0], s, dtype))"
                    })
                }
            }
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
                    // The kernel's layout: ndims, then 8 output dims, 8 x strides, 8 y strides
                    // (0 along broadcast dims), as one block of 64-bit words.
                    var layout = [Int](repeating: 0, count: 1 + 3 * CUDAKernelSource.maxBroadcastDims)
                    layout[0] = 3
                    for d in 0..<3 {
                        layout[1 + d] = expected.shape[d]
                        layout[9 + d] = x.shape[d] == 1 ? 0 : x.stride(d)
                        layout[17 + d] = y.shape[d] == 1 ? 0 : y.stride(d)
                    }
                    let f = try kernel("\(op.name)_\(suffix(dtype))_bc_host", as: Broadcast.self)
                    let xb = bytes([Double](x), dtype), yb = bytes([Double](memory), dtype), yOffset = y.offset * dtype.size
                    var z = [UInt8](repeating: 0, count: expected.count * dtype.size)
                    xb.withUnsafeBytes { xp in yb.withUnsafeBytes { yp in z.withUnsafeMutableBytes { zp in
                        layout.withUnsafeBytes { lp in
                            f(xp.baseAddress!, yp.baseAddress! + yOffset, zp.baseAddress!, expected.count, lp.baseAddress!) } } } }
                    let got = values(z, dtype)
                    report("\(op.name) \(dtype) broadcast", (0..<expected.count).filter {
                        !agree(got[$0], expected[flat: $0], dtype)
                    }.map { "element \($0): kernel \(got[$0]), CPU \(expected[flat: $0])" })
                }
            }
        }
    }
}
