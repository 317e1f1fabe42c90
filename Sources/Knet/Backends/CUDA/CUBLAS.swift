// cuBLAS (libcublas), bound by dlopen: the GPU backend's matrix products, column-major
// as Knet's tensors, on the backend's stream.

/// The cuBLAS library (v2 API), or nil where none is found (`$KNET_LIBCUBLAS`,
/// libcublas.so.13/12/11). Matrices are column-major device arrays given by the device
/// address of their first element; scalars are host values (the default pointer mode).
///
///     let h = try CUBLAS.shared?.createHandle(stream: nil)
final class CUBLAS: @unchecked Sendable {
    /// The library found on this machine.
    static let shared: CUBLAS? = DynamicLibrary.firstBinding(libraryCandidates("libcublas", versions: ["13", "12", "11"],
                                                                               override: "KNET_LIBCUBLAS"), CUBLAS.init)

    /// A cuBLAS context (`cublasHandle_t`) bound to one stream.
    ///
    ///     let h = try blas.createHandle(stream: stream); defer { try? blas.destroy(h) }
    struct Handle { let handle: OpaquePointer? }

    /// `cublas[SD]gemm_v2(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)`;
    /// alpha and beta point at host values of the element type.
    private typealias Gemm = @convention(c) (OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer,
                                             UnsafeRawPointer?, Int32, UnsafeRawPointer?, Int32, UnsafeRawPointer,
                                             UnsafeMutableRawPointer?, Int32) -> Int32
    /// `cublas[SD]gemmStridedBatched(handle, transa, transb, m, n, k, alpha, A, lda, strideA,
    /// B, ldb, strideB, beta, C, ldc, strideC, batchCount)`; strides are `long long`.
    private typealias StridedGemm = @convention(c) (OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer,
                                                    UnsafeRawPointer?, Int32, Int64, UnsafeRawPointer?, Int32, Int64,
                                                    UnsafeRawPointer, UnsafeMutableRawPointer?, Int32, Int64, Int32) -> Int32
    private let create: @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private let destroyHandle: @convention(c) (OpaquePointer?) -> Int32
    private let setStream: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32
    private let sgemm: Gemm, dgemm: Gemm
    private let sgemmStrided: StridedGemm, dgemmStrided: StridedGemm

    /// Binds `lib`; nil when an entry point is missing.
    ///
    ///     let blas = DynamicLibrary.open(["libcublas.so.12"]).flatMap(CUBLAS.init)
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

    /// The `cublasStatus_t` names (cublas_api.h).
    private static let statusNames: [Int32: String] = [
        1: "CUBLAS_STATUS_NOT_INITIALIZED", 3: "CUBLAS_STATUS_ALLOC_FAILED", 7: "CUBLAS_STATUS_INVALID_VALUE",
        8: "CUBLAS_STATUS_ARCH_MISMATCH", 11: "CUBLAS_STATUS_MAPPING_ERROR", 13: "CUBLAS_STATUS_EXECUTION_FAILED",
        14: "CUBLAS_STATUS_INTERNAL_ERROR", 15: "CUBLAS_STATUS_NOT_SUPPORTED", 16: "CUBLAS_STATUS_LICENSE_ERROR",
    ]

    /// Throws `GPUError.driver` naming `call` and the status unless `status` is
    /// CUBLAS_STATUS_SUCCESS (0).
    private func check(_ status: Int32, _ call: String) throws {
        guard status == 0 else {
            throw GPUError.driver(call: call, message: "\(Self.statusNames[status] ?? "cuBLAS status") (\(status))")
        }
    }

    /// A handle in the current context whose work goes to `stream` (nil: the default stream).
    ///
    ///     let h = try blas.createHandle(stream: try driver.createStream())
    func createHandle(stream: CUDADriver.Stream?) throws -> Handle {
        var h: OpaquePointer?
        try check(create(&h), "cublasCreate")
        do {
            try check(setStream(h, stream?.handle), "cublasSetStream")
        } catch {
            _ = destroyHandle(h)
            throw error
        }
        return Handle(handle: h)
    }

    /// Releases `h`.
    ///
    ///     try blas.destroy(h)
    func destroy(_ h: Handle) throws { try check(destroyHandle(h.handle), "cublasDestroy") }

    /// C = alpha·op(A)·op(B) + beta·C in `dtype` on column-major device matrices: op(A) is
    /// m×k, op(B) k×n, C m×n; `lda`, `ldb`, `ldc` are the leading dimensions (elements
    /// between columns) of A, B and C as stored; op is the transpose when `transA`/`transB`.
    /// With beta = 0, C is not read.
    ///
    ///     try blas.gemm(h, dtype: .float32, transA: false, transB: false, m: 2, n: 3, k: 4, alpha: 1,
    ///                   a: a, lda: 2, b: b, ldb: 4, beta: 0, c: c, ldc: 2)
    func gemm(_ h: Handle, dtype: DType, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
              a: UInt64, lda: Int, b: UInt64, ldb: Int, beta: Double, c: UInt64, ldc: Int) throws {
        let call = "cublas\(dtype == .float32 ? "S" : "D")gemm (\(m)×\(n)×\(k))"
        let d = try int32([m, n, k, lda, ldb, ldc], call)
        let status = withHostScalars(dtype, alpha, beta) { al, be in
            (dtype == .float32 ? sgemm : dgemm)(h.handle, operation(transA), operation(transB), d[0], d[1], d[2], al,
                                                pointer(a), d[3], pointer(b), d[4], be, UnsafeMutableRawPointer(bitPattern: UInt(c)), d[5])
        }
        try check(status, call)
    }

    /// `C_s = alpha·op(A_s)·op(B_s) + beta·C_s` for s in 0..<batch, as `gemm`; slice s of
    /// each matrix starts `s·stride` elements after its first element (a stride of 0
    /// reuses one matrix for every slice).
    ///
    ///     try blas.gemmStridedBatched(h, dtype: .float64, transA: false, transB: true, m: 2, n: 2, k: 3, alpha: 1,
    ///                                 a: a, lda: 2, strideA: 6, b: b, ldb: 2, strideB: 6, beta: 0, c: c, ldc: 2,
    ///                                 strideC: 4, batch: 5)
    func gemmStridedBatched(_ h: Handle, dtype: DType, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UInt64, lda: Int, strideA: Int, b: UInt64, ldb: Int, strideB: Int,
                            beta: Double, c: UInt64, ldc: Int, strideC: Int, batch: Int) throws {
        let call = "cublas\(dtype == .float32 ? "S" : "D")gemmStridedBatched (\(m)×\(n)×\(k), batch \(batch))"
        let d = try int32([m, n, k, lda, ldb, ldc, batch], call)
        let status = withHostScalars(dtype, alpha, beta) { al, be in
            (dtype == .float32 ? sgemmStrided : dgemmStrided)(
                h.handle, operation(transA), operation(transB), d[0], d[1], d[2], al, pointer(a), d[3], Int64(strideA),
                pointer(b), d[4], Int64(strideB), be, UnsafeMutableRawPointer(bitPattern: UInt(c)), d[5], Int64(strideC), d[6])
        }
        try check(status, call)
    }

    /// CUBLAS_OP_T (1) or CUBLAS_OP_N (0).
    private func operation(_ transpose: Bool) -> Int32 { transpose ? 1 : 0 }

    /// A device address as the pointer cuBLAS takes (nil for 0).
    private func pointer(_ address: UInt64) -> UnsafeRawPointer? { UnsafeRawPointer(bitPattern: UInt(address)) }

    /// `values` as C ints; throws naming `call` when one does not fit.
    private func int32(_ values: [Int], _ call: String) throws -> [Int32] {
        try values.map {
            guard let v = Int32(exactly: $0) else { throw GPUError.driver(call: call, message: "\($0) does not fit a C int") }
            return v
        }
    }
}
