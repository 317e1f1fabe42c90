// The CUDA libraries the GPU backend uses besides the driver, found with dlopen:
// NVRTC (kernel compilation), cuBLAS (matrix products) and, optionally, cuDNN.

/// A CUDA library found at run time: what it was opened as and its version.
public struct CUDALibraryInfo: Sendable, Equatable {
    /// The library name or path dlopen accepted.
    public let name: String
    /// Its version, "12.4" or "9.1.0".
    public let version: String
}

/// What the GPU side of this build found on this machine.
///
///     let info = GPUInfo.current
///     print(info.devices.map(\.name), info.cublas?.version ?? "no cuBLAS")
public struct GPUInfo: Sendable {
    /// The driver library and its CUDA version ("12.4"), or nil without a usable driver.
    public let driver: CUDALibraryInfo?
    /// The GPUs the driver reports.
    public let devices: [GPUDevice]
    /// NVRTC, or nil.
    public let nvrtc: CUDALibraryInfo?
    /// cuBLAS, or nil.
    public let cublas: CUDALibraryInfo?
    /// cuDNN, or nil.
    public let cudnn: CUDALibraryInfo?

    /// This machine's (looked up once).
    public static let current = GPUInfo(
        driver: CUDADriver.shared.map { CUDALibraryInfo(name: $0.library, version: "\($0.version / 1000).\($0.version % 1000 / 10)") },
        devices: CUDADriver.shared?.devices ?? [],
        nvrtc: NVRTC.shared.map { CUDALibraryInfo(name: $0.library, version: "\($0.version.major).\($0.version.minor)") },
        cublas: probe("libcublas", ["13", "12", "11"], "KNET_LIBCUBLAS") { lib in
            typealias Property = @convention(c) (Int32, UnsafeMutablePointer<Int32>) -> Int32
            guard let f = lib.function("cublasGetProperty", as: Property.self) else { return nil }
            var part: [Int32] = [0, 0, 0]             // MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
            for k in 0..<3 where f(Int32(k), &part[k]) != 0 { return nil }
            return part.map(String.init).joined(separator: ".")
        },
        cudnn: probe("libcudnn", ["9", "8"], "KNET_LIBCUDNN") { lib in
            guard let f = lib.function("cudnnGetVersion", as: (@convention(c) () -> Int).self) else { return nil }
            let v = f()                                // major·10000 + minor·100 + patch (cuDNN ≥ 9), ·1000 before
            return v >= 90000 ? "\(v / 10000).\(v % 10000 / 100).\(v % 100)" : "\(v / 1000).\(v % 1000 / 100).\(v % 100)"
        })

    /// One line per component for `knet info`.
    public var summary: [String] {
        func line(_ what: String, _ lib: CUDALibraryInfo?) -> String {
            lib.map { "\(what): \($0.version) (\($0.name))" } ?? "\(what): not found"
        }
        var lines = [driver.map { "CUDA driver: \($0.version) (\($0.name)), \(devices.count) device(s)" }
                     ?? "CUDA driver: not found (libcuda.so.1); Knet runs on the CPU"]
        for d in devices {
            lines.append("  gpu\(d.ordinal): \(d.name), sm_\(d.computeCapability.major)\(d.computeCapability.minor), \(d.memory >> 20) MiB")
        }
        let dnn = line("cuDNN", cudnn) + (cudnn == nil ? "" : CUDNNSetting.current == .off ? ", off (KNET_CUDNN=0)"
                                          : driver == nil ? "" : ", used for convolution, pooling, softmax, batchnorm and RNNs")
        return lines + [line("NVRTC", nvrtc), line("cuBLAS", cublas), dnn]
    }
}

/// Opens the first of `base`'s candidate names and reads its version with `version`.
private func probe(_ base: String, _ versions: [String], _ override: String,
                   _ version: (DynamicLibrary) -> String?) -> CUDALibraryInfo? {
    DynamicLibrary.firstBinding(libraryCandidates(base, versions: versions, override: override)) { lib in
        version(lib).map { CUDALibraryInfo(name: lib.name, version: $0) }
    }
}

/// `body` with host pointers to the scaling factors `alpha` and `beta` in `dtype`'s C type
/// (float or double), as cuBLAS and cuDNN take them.
///
///     withHostScalars(.float32, 2, 0) { alpha, beta in f(alpha, beta) }
func withHostScalars<R>(_ dtype: DType, _ alpha: Double, _ beta: Double,
                        _ body: (UnsafeRawPointer, UnsafeRawPointer) -> R) -> R {
    func with<T>(_ al: T, _ be: T) -> R {
        withUnsafeBytes(of: al) { a in withUnsafeBytes(of: be) { b in body(a.baseAddress!, b.baseAddress!) } }
    }
    return dtype == .float32 ? with(Float(alpha), Float(beta)) : with(alpha, beta)
}
