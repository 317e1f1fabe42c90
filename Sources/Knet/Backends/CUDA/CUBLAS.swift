// cuBLAS (libcublas), bound by dlopen: the GPU backend's matrix products, column-major
// as Knet's tensors, on the backend's stream.

/// The cuBLAS library, or nil where none is found (`$KNET_LIBCUBLAS`, libcublas.so.13/12/11).
///
///     let h = try CUBLAS.shared?.createHandle(stream: nil)
final class CUBLAS: @unchecked Sendable {
    /// The library found on this machine.
    static let shared: CUBLAS? = DynamicLibrary.firstBinding(libraryCandidates("libcublas", versions: ["13", "12", "11"],
                                                                               override: "KNET_LIBCUBLAS"), CUBLAS.init)

    /// A cuBLAS context (`cublasHandle_t`) bound to one stream.
    struct Handle { let handle: OpaquePointer? }

    /// `cublas[SD]gemm_v2`; alpha and beta point at host values of the element type.
    private typealias Gemm = @convention(c) (OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer,
                                             UnsafeRawPointer?, Int32, UnsafeRawPointer?, Int32, UnsafeRawPointer,
                                             UnsafeMutableRawPointer?, Int32) -> Int32
    /// `cublas[SD]gemmStridedBatched`.
    private typealias StridedGemm = @convention(c) (OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer,
                                                    UnsafeRawPointer?, Int32, Int64, UnsafeRawPointer?, Int32, Int64,
                                                    UnsafeRawPointer, UnsafeMutableRawPointer?, Int32, Int64, Int32) -> Int32
    private let create: @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private let destroyHandle: @convention(c) (OpaquePointer?) -> Int32
    private let setStream: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32
    private let sgemm: Gemm, dgemm: Gemm
    private let sgemmStrided: StridedGemm, dgemmStrided: StridedGemm

    /// Binds `lib`; nil when an entry point is missing.
    init?(_ lib: DynamicLibrary) {
        guard let create = lib.function("cublasCreate_v2", as: type(of: self.create).self),
              let destroy = lib.function("cublasDestroy_v2", as: type(of: self.destroyHandle).self),
              let setStream = lib.function("cublasSetStream_v2", as: type(of: self.setStream).self),
              let sgemm = lib.function("cublasSgemm_v2", as: Gemm.self),
              let dgemm = lib.function("cublasDgemm_v2", as: Gemm.self),
              let sgemmStrided = lib.function("cublasSgemmStridedBatched", as: StridedGemm.self),
              let dgemmStrided = lib.function("cublasDgemmStridedBatched", as: StridedGemm.self) else { return nil }
        self.create = create; destroyHandle = destroy; self.setStream = setStream
        self.sgemm = sgemm; self.dgemm = dgemm; self.sgemmStrided = sgemmStrided; self.dgemmStrided = dgemmStrided
    }

    /// Throws naming `call` unless `status` is CUBLAS_STATUS_SUCCESS.
    private func check(_ status: Int32, _ call: String) throws {
        guard status == 0 else { throw GPUError.driver(call: call, message: "cuBLAS status \(status)") }
    }

    /// A handle in the current context whose work goes to `stream` (nil: the default stream).
    func createHandle(stream: CUDADriver.Stream?) throws -> Handle {
        var h: OpaquePointer?
        try check(create(&h), "cublasCreate")
        try check(setStream(h, stream?.handle), "cublasSetStream")
        return Handle(handle: h)
    }

    /// Releases `h`.
    func destroy(_ h: Handle) throws { try check(destroyHandle(h.handle), "cublasDestroy") }

    /// C = alpha·op(A)·op(B) + beta·C on device matrices (column-major; addresses of the
    /// first elements), in `dtype`.
    func gemm(_ h: Handle, dtype: DType, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
              a: UInt64, lda: Int, b: UInt64, ldb: Int, beta: Double, c: UInt64, ldc: Int) throws {
        let (ta, tb) = (Int32(transA ? 1 : 0), Int32(transB ? 1 : 0))
        let (pa, pb, pc) = (UnsafeRawPointer(bitPattern: UInt(a)), UnsafeRawPointer(bitPattern: UInt(b)),
                            UnsafeMutableRawPointer(bitPattern: UInt(c)))
        let status: Int32
        switch dtype {
        case .float32:
            var (al, be) = (Float(alpha), Float(beta))
            status = sgemm(h.handle, ta, tb, Int32(m), Int32(n), Int32(k), &al, pa, Int32(lda), pb, Int32(ldb), &be, pc, Int32(ldc))
        case .float64:
            var (al, be) = (alpha, beta)
            status = dgemm(h.handle, ta, tb, Int32(m), Int32(n), Int32(k), &al, pa, Int32(lda), pb, Int32(ldb), &be, pc, Int32(ldc))
        }
        try check(status, "cublas\(dtype == .float32 ? "S" : "D")gemm (\(m)×\(n)×\(k))")
    }

    /// `C_s = alpha·op(A_s)·op(B_s) + beta·C_s` for s in 0..<batch, slice s at `s·stride`
    /// elements after each first element.
    func gemmStridedBatched(_ h: Handle, dtype: DType, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UInt64, lda: Int, strideA: Int, b: UInt64, ldb: Int, strideB: Int,
                            beta: Double, c: UInt64, ldc: Int, strideC: Int, batch: Int) throws {
        let (ta, tb) = (Int32(transA ? 1 : 0), Int32(transB ? 1 : 0))
        let (pa, pb, pc) = (UnsafeRawPointer(bitPattern: UInt(a)), UnsafeRawPointer(bitPattern: UInt(b)),
                            UnsafeMutableRawPointer(bitPattern: UInt(c)))
        let status: Int32
        switch dtype {
        case .float32:
            var (al, be) = (Float(alpha), Float(beta))
            status = sgemmStrided(h.handle, ta, tb, Int32(m), Int32(n), Int32(k), &al, pa, Int32(lda), Int64(strideA),
                                  pb, Int32(ldb), Int64(strideB), &be, pc, Int32(ldc), Int64(strideC), Int32(batch))
        case .float64:
            var (al, be) = (alpha, beta)
            status = dgemmStrided(h.handle, ta, tb, Int32(m), Int32(n), Int32(k), &al, pa, Int32(lda), Int64(strideA),
                                  pb, Int32(ldb), Int64(strideB), &be, pc, Int32(ldc), Int64(strideC), Int32(batch))
        }
        try check(status, "cublas\(dtype == .float32 ? "S" : "D")gemmStridedBatched (\(m)×\(n)×\(k), batch \(batch))")
    }
}
