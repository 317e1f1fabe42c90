#if canImport(Glibc)
import Glibc
#endif
import Synchronization

// The CUDA side of this process: the driver, cuBLAS, NVRTC, cuDNN and one `CUDABackend` per
// GPU. Found by dlopen at first use (nothing is needed at build time); the tests install
// a host emulation of the driver and cuBLAS instead.

/// The GPUs this process computes on, with the libraries that drive them.
final class CUDARuntime: @unchecked Sendable {
    /// The driver API.
    let driver: CUDADriver
    /// cuBLAS, or nil (then matrix products cannot run on the GPU).
    let blas: CUBLAS?
    /// cuDNN, or nil (then convolution and pooling run on the own kernels only).
    let dnn: CUDNN?
    /// One backend per device, by ordinal.
    let backends: [CUDABackend]

    /// A runtime over `driver` with `blas` and optionally `dnn`; kernels are compiled by
    /// `nvrtc` (not needed by an emulated driver, which has its kernels built in).
    init(driver: CUDADriver, blas: CUBLAS?, nvrtc: NVRTC?, dnn: CUDNN? = nil) {
        self.driver = driver
        self.blas = blas
        self.dnn = dnn
        let kernels = KernelCache(driver: driver, nvrtc: nvrtc)
        backends = driver.devices.map { CUDABackend(driver: driver, blas: blas, dnn: dnn, device: $0, kernels: kernels) }
    }

    /// The runtime in use: `install`'s, else this machine's CUDA (nil without a usable
    /// driver), looked up once.
    static var current: CUDARuntime? {
        installed.withLock { state in
            if case .some(let runtime) = state { return runtime }
            let found = CUDADriver.shared.map { CUDARuntime(driver: $0, blas: CUBLAS.shared, nvrtc: NVRTC.shared, dnn: CUDNN.shared) }
            state = .some(found)
            return found
        }
    }

    /// Replaces the runtime (the tests' host emulation); nil means no GPU. Tensors made on
    /// the previous runtime's devices must not be used afterwards.
    static func install(_ runtime: CUDARuntime?) {
        installed.withLock { $0 = .some(runtime) }
    }

    private static let installed = Mutex<CUDARuntime??>(nil)

    /// The backend of GPU `n`; stops with a message naming the device when there is none.
    static func backend(_ n: Int) -> CUDABackend {
        guard let runtime = current else {
            knetFail("gpu\(n): no CUDA GPU is usable here (libcuda.so.1 not found or no device; set KNET_LIBCUDA to point at it)")
        }
        guard n >= 0 && n < runtime.backends.count else {
            knetFail("gpu\(n): there is no such GPU (this machine has \(runtime.backends.count))")
        }
        return runtime.backends[n]
    }
}

/// Compiled kernel modules, shared by every device of one architecture: each module of
/// `CUDAKernelSource.modules` is compiled by NVRTC once per architecture (and kept on disk
/// under `$KNET_CACHE` or `~/.cache/knet/kernels`, keyed by the source's SHA-256, the
/// architecture and the NVRTC version), and loaded once per device.
final class KernelCache: @unchecked Sendable {
    private let driver: CUDADriver
    private let nvrtc: NVRTC?
    private let images = Mutex<[String: [UInt8]]>([:])

    init(driver: CUDADriver, nvrtc: NVRTC?) {
        self.driver = driver
        self.nvrtc = nvrtc
    }

    /// Every kernel of every module, loaded into `device`'s context (current on this thread).
    func load(for device: GPUDevice) throws -> [String: CUDADriver.Function] {
        var functions: [String: CUDADriver.Function] = [:]
        for module in CUDAKernelSource.modules {
            let loaded = try driver.loadModule(try image(of: module, for: device.computeCapability), functions: module.kernels)
            functions.merge(loaded.functions) { a, _ in a }
        }
        return functions
    }

    /// The machine code of `module` for `architecture` (NVRTC's CUBIN); an emulated driver
    /// has the kernels built in and takes any image.
    private func image(of module: CUDAModule, for architecture: (major: Int, minor: Int)) throws -> [UInt8] {
        if driver.isEmulated { return Array(module.name.utf8) + [0] }
        guard let nvrtc else {
            throw GPUError.driver(call: "NVRTC", message: "no libnvrtc found to compile the GPU kernels (set KNET_LIBNVRTC)")
        }
        let arch = "sm_\(architecture.major)\(architecture.minor)"
        let key = "\(module.name)-\(arch)-nvrtc\(nvrtc.version.major).\(nvrtc.version.minor)-\(SHA256.hash(Array(module.source.utf8)).hex.prefix(16))"
        if let cached = images.withLock({ $0[key] }) { return cached }
        let file = kernelCacheDirectory().map { "\($0)/\(key).cubin" }
        if let file, let bytes = try? ReadOnlyFile(file, endOfFile: { _, _ in GPUError.noDevice(-1) }).readAll(), !bytes.isEmpty {
            images.withLock { $0[key] = bytes }
            return bytes
        }
        let cubin = try nvrtc.compileBinary(module.source, name: "knet_\(module.name).cu", architecture: architecture)
        if let file { try? writeFileAtomically(cubin, to: file) }
        images.withLock { $0[key] = cubin }
        return cubin
    }
}

/// Where compiled kernels are kept: `$KNET_CACHE/kernels`, else `~/.cache/knet/kernels`
/// (created on demand); nil when neither can be made.
private func kernelCacheDirectory() -> String? {
    let base: String
    if let v = getenv("KNET_CACHE"), v.pointee != 0 { base = String(cString: v) }
    else if let home = getenv("HOME"), home.pointee != 0 { base = String(cString: home) + "/.cache/knet" }
    else { return nil }
    let dir = base + "/kernels"
    var path = ""
    for part in dir.split(separator: "/") {
        path += "/" + part
        mkdir(path, 0o755)
    }
    var info = stat()
    return stat(dir, &info) == 0 ? dir : nil
}
