#if canImport(Glibc)
import Glibc
#endif

// NVRTC, NVIDIA's run-time CUDA C compiler (libnvrtc), bound by dlopen: the generated
// kernel source is compiled to machine code for the device's architecture. NVRTC runs
// on the host, so it works (and is tested) on machines without a GPU when installed,
// e.g. from PyPI's nvidia-cuda-nvrtc-cu12 with KNET_LIBNVRTC pointing at its libnvrtc.so.12.

/// An NVRTC status code; 0 is success.
typealias NVRTCResult = Int32

/// The CUDA C compiler, or nil where no libnvrtc is found.
///
///     let cubin = try NVRTC.shared?.compileBinary(CUDAKernelSource.elementwise, name: "knet.cu", architecture: (9, 0))
final class NVRTC: @unchecked Sendable {
    /// The library found on this machine (`$KNET_LIBNVRTC`, then libnvrtc.so.13/12/11.2).
    static let shared: NVRTC? = DynamicLibrary.firstBinding(nvrtcCandidates, NVRTC.init)

    /// The names tried for libnvrtc.
    static var nvrtcCandidates: [String] { libraryCandidates("libnvrtc", versions: ["13", "12", "11.2"], override: "KNET_LIBNVRTC") }

    typealias Program = OpaquePointer
    /// The library it was opened as.
    let library: String
    /// NVRTC's version (major, minor).
    let version: (major: Int, minor: Int)

    private let create: @convention(c) (UnsafeMutablePointer<Program?>, UnsafePointer<CChar>, UnsafePointer<CChar>, Int32,
                                        UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> NVRTCResult
    private let compileProgram: @convention(c) (Program?, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> NVRTCResult
    private let cubinSize: @convention(c) (Program?, UnsafeMutablePointer<Int>) -> NVRTCResult
    private let cubin: @convention(c) (Program?, UnsafeMutablePointer<CChar>) -> NVRTCResult
    private let logSize: @convention(c) (Program?, UnsafeMutablePointer<Int>) -> NVRTCResult
    private let log: @convention(c) (Program?, UnsafeMutablePointer<CChar>) -> NVRTCResult
    private let destroy: @convention(c) (UnsafeMutablePointer<Program?>) -> NVRTCResult
    private let errorString: @convention(c) (NVRTCResult) -> UnsafePointer<CChar>?

    private init?(_ lib: DynamicLibrary) {
        typealias Sized = @convention(c) (Program?, UnsafeMutablePointer<Int>) -> NVRTCResult
        typealias Filled = @convention(c) (Program?, UnsafeMutablePointer<CChar>) -> NVRTCResult
        guard let version = lib.function("nvrtcVersion", as: (@convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> NVRTCResult).self),
              let create = lib.function("nvrtcCreateProgram", as: type(of: self.create).self),
              let compile = lib.function("nvrtcCompileProgram", as: type(of: self.compileProgram).self),
              let cubinSize = lib.function("nvrtcGetCUBINSize", as: Sized.self),
              let cubin = lib.function("nvrtcGetCUBIN", as: Filled.self),
              let logSize = lib.function("nvrtcGetProgramLogSize", as: Sized.self),
              let log = lib.function("nvrtcGetProgramLog", as: Filled.self),
              let destroy = lib.function("nvrtcDestroyProgram", as: (@convention(c) (UnsafeMutablePointer<Program?>) -> NVRTCResult).self),
              let errorString = lib.function("nvrtcGetErrorString", as: (@convention(c) (NVRTCResult) -> UnsafePointer<CChar>?).self)
        else { return nil }
        var major: Int32 = 0, minor: Int32 = 0
        guard version(&major, &minor) == 0 else { return nil }
        library = lib.name
        self.version = (Int(major), Int(minor))
        self.create = create
        compileProgram = compile
        self.cubinSize = cubinSize
        self.cubin = cubin
        self.logSize = logSize
        self.log = log
        self.destroy = destroy
        self.errorString = errorString
    }

    /// Machine code (a CUBIN) for `source` on devices of compute capability `architecture`
    /// (e.g. (9, 0)). Knet loads machine code rather than PTX: it runs on any driver of
    /// NVRTC's CUDA major version, while PTX from a newer NVRTC than the driver would be
    /// refused. Throws `GPUError.compilation` with NVRTC's log when the source does not
    /// compile.
    func compileBinary(_ source: String, name: String, architecture: (major: Int, minor: Int)) throws -> [UInt8] {
        try withProgram(source, name: name, target: "sm_\(architecture.major)\(architecture.minor)") { program in
            var n = 0
            guard cubinSize(program, &n) == 0, n > 0 else { throw GPUError.driver(call: "nvrtcGetCUBINSize", message: "no CUBIN") }
            var bytes = [UInt8](repeating: 0, count: n)
            try bytes.withUnsafeMutableBytes { try check(cubin(program, $0.baseAddress!.assumingMemoryBound(to: CChar.self)), "nvrtcGetCUBIN") }
            return bytes
        }
    }

    /// Compiles `source` for `--gpu-architecture=target` and hands the program to `body`.
    private func withProgram<R>(_ source: String, name: String, target: String, _ body: (Program?) throws -> R) throws -> R {
        var program: Program?
        try check(create(&program, source, name, 0, nil, nil), "nvrtcCreateProgram")
        defer { _ = destroy(&program) }
        let options = ["--gpu-architecture=\(target)", "--std=c++14"]
        let cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = cOptions.map { $0.map { UnsafePointer($0) } }
        let status = pointers.withUnsafeBufferPointer { compileProgram(program, Int32(options.count), $0.baseAddress) }
        guard status == 0 else {
            throw GPUError.compilation(name: name, log: text(program, size: logSize, fill: log) ?? message(status))
        }
        return try body(program)
    }

    /// A NUL-terminated string NVRTC fills after telling its size.
    private func text(_ program: Program?, size: (Program?, UnsafeMutablePointer<Int>) -> NVRTCResult,
                      fill: (Program?, UnsafeMutablePointer<CChar>) -> NVRTCResult) -> String? {
        var n = 0
        guard size(program, &n) == 0, n > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: n)
        guard fill(program, &buffer) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func message(_ status: NVRTCResult) -> String { errorString(status).map { String(cString: $0) } ?? "NVRTC error \(status)" }

    private func check(_ status: NVRTCResult, _ call: String) throws {
        guard status == 0 else { throw GPUError.driver(call: call, message: message(status)) }
    }
}
