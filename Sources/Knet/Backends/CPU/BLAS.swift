// Matrix products on the CPU: a system BLAS opened with dlopen at run time (so building
// needs no BLAS headers or libraries), else Knet's own GEMM (KnetGEMM), or a plain loop.

import KnetAVX2
import KnetGEMM
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An implementation of the CPU matrix product.
public enum GEMMBackend: String, Sendable {
    /// The system BLAS found by `CPUBLAS` (OpenBLAS, BLIS, MKL, ...).
    case blas
    /// `SwiftGEMM`, the packed AVX2+FMA kernel of the KnetGEMM module.
    case swift
    /// A plain triple loop: slow, but runs everywhere.
    case naive
}

/// Column-major GEMM on the CPU, dispatched to a system BLAS, `SwiftGEMM` or a plain loop.
///
/// The BLAS is opened at first use: the path in the `KNET_BLAS` environment variable if
/// set, then `libopenblas.so.0`, `libopenblas.so`, `libblis.so.4`, `libblis.so`,
/// `libmkl_rt.so.2`, `libmkl_rt.so`, `libcblas.so.3`, `libblas.so.3`, using the
/// `cblas_?gemm` symbols, else the Fortran `?gemm_` ones.
/// `KNET_GEMM=blas|swift|naive` forces a backend.
public enum CPUBLAS {
    /// The name (or `KNET_BLAS` path) of the loaded BLAS; nil if none.
    public static var library: String? { loadedBLAS?.name }

    /// The backend `gemm` uses: `KNET_GEMM` if set and usable, else BLAS if one was
    /// loaded, else Knet's own (`swift`, in the CPU's widest kernel: `SwiftGEMM.kernel`).
    public static var backend: GEMMBackend { forcedBackend ?? selectedBackend }

    /// Runs `body` with every product on `backend` (falling back as `gemm(using:)` does),
    /// for tests that compare the backends in one process. Process-wide: nothing else may
    /// multiply meanwhile.
    ///
    ///     let reference = CPUBLAS.withBackend(.naive) { loss(w) }
    static func withBackend<R>(_ backend: GEMMBackend, _ body: () throws -> R) rethrows -> R {
        let saved = forcedBackend
        forcedBackend = backend
        defer { forcedBackend = saved }
        return try body()
    }

    nonisolated(unsafe) private static var forcedBackend: GEMMBackend?

    /// Which of Knet's CPU kernels run here (chosen by CPUID): the instance (`portable`,
    /// `avx2` or `avx512`) of the GEMM's micro-kernel, of the activation and LSTM cell
    /// entry points, of the elementwise loops and of the convolution lowering and pooling
    /// loops, and whether the CPU has AVX-512.
    ///
    ///     print(CPUBLAS.kernels)    // "GEMM avx2, activations and LSTM cells avx2, elementwise avx2, lowering and pooling avx2; the CPU has no AVX-512"
    public static var kernels: String {
        "GEMM \(SwiftGEMM.kernel.rawValue), activations and LSTM cells \(hasAVX2 ? vectorKernel.rawValue : "portable"), "
            + "elementwise \(elementwiseKernel.rawValue), lowering and pooling \(WindowKernels.kernel.rawValue)"
            + (SwiftGEMM.cpuHasAVX512 ? "; the CPU has AVX-512" : "; the CPU has no AVX-512")
    }

    /// Threads Knet's CPU kernels and large products use: `KNET_THREADS` if set, else
    /// the online cores (the system BLAS itself is kept single-threaded).
    ///
    ///     print("Knet runs on \(CPUBLAS.threads) threads")
    public static var threads: Int { Parallel.threads }

    /// `C = alpha * op(A) * op(B) + beta * C`, column-major, with `op(A)` m×k and `op(B)`
    /// k×n, on `backend`. T is Float or Double (other types use the naive loop). With
    /// `beta == 0`, C is not read.
    public static func gemm<T: BinaryFloatingPoint>(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        beta: T, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        gemm(using: backend, transA: transA, transB: transB, m: m, n: n, k: k,
             alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// `gemm` on the given backend. A BLAS unavailable here (none loaded, or sizes beyond
    /// 32-bit BLAS integers) falls back to Knet's own GEMM.
    public static func gemm<T: BinaryFloatingPoint>(
        using backend: GEMMBackend, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: T, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        beta: T, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        if m <= 0 || n <= 0 { return }
        let isFloat = T.self == Float.self, isDouble = T.self == Double.self
        if backend == .blas, isFloat || isDouble, let blas = loadedBLAS,
           BLASDims(m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc) != nil {
            // The library runs single-threaded (see `BLASLibrary`); large products are
            // split into column or row slices over our thread pool, so BLAS calls made
            // inside a parallel region never start threads of their own. The slices follow
            // the thread count, and OpenBLAS may round a narrow slice differently from a
            // wide one: with a system BLAS, results can differ between thread counts in
            // the last bits (measured: cutting by size alone instead halved the MLP
            // layer's GFLOP/s on 2 cores). Knet's own GEMM does not have this.
            let flops = 2 * Double(m) * Double(n) * Double(k)
            let parts = Swift.min(Parallel.threads, Int(flops / Double(SwiftGEMM.parallelThreshold)))
            let splitN = n >= m, total = splitN ? n : m
            let slices = Swift.max(1, Swift.min(parts, total))
            Parallel.forEach(slices) { p in
                let lo = total * p / slices, count = total * (p + 1) / slices - lo
                let pa = splitN ? a : a + (transA ? lo * lda : lo)
                let pb = splitN ? b + (transB ? lo : lo * ldb) : b
                let pc = splitN ? c + lo * ldc : c + lo
                let d = BLASDims(m: splitN ? m : count, n: splitN ? count : n, k: k, lda: lda, ldb: ldb, ldc: ldc)!
                if isFloat {
                    blas.sgemm(transA, transB, d, Float(alpha), cast(pa), cast(pb), Float(beta), cast(pc))
                } else {
                    blas.dgemm(transA, transB, d, Double(alpha), cast(pa), cast(pb), Double(beta), cast(pc))
                }
            }
            return
        }
        if backend != .naive {
            if isFloat {
                SwiftGEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k,
                                alpha: Float(alpha), a: cast(a), lda: lda, b: cast(b), ldb: ldb,
                                beta: Float(beta), c: cast(c), ldc: ldc)
                return
            }
            if isDouble {
                SwiftGEMM.dgemm(transA: transA, transB: transB, m: m, n: n, k: k,
                                alpha: Double(alpha), a: cast(a), lda: lda, b: cast(b), ldb: ldb,
                                beta: Double(beta), c: cast(c), ldc: ldc)
                return
            }
        }
        naiveGEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

/// `p` as a pointer to `U` (the same scalar type, known only after a type check).
@inline(__always)
func cast<T, U>(_ p: UnsafePointer<T>) -> UnsafePointer<U> {
    UnsafeRawPointer(p).assumingMemoryBound(to: U.self)
}

/// `p` as a mutable pointer to `U` (the same scalar type, known only after a type check).
@inline(__always)
func cast<T, U>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<U> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: U.self)
}

private let selectedBackend: GEMMBackend = {
    SwiftGEMM.maxThreads = Parallel.threads          // honour KNET_THREADS
    SwiftGEMM.parallelRunner = { Parallel.forEach($0, $1) }
    if let name = getenv("KNET_GEMM"), let forced = GEMMBackend(rawValue: String(cString: name)) {
        switch forced {
        case .blas where loadedBLAS != nil: return .blas
        case .swift: return .swift
        case .naive: return .naive
        default: break
        }
    }
    return loadedBLAS != nil ? .blas : .swift
}()

/// The m, n, k and leading dimensions as BLAS `int`s (leading dimensions at least 1, as
/// BLAS requires even for empty operands); nil if any does not fit.
private struct BLASDims {
    var m, n, k, lda, ldb, ldc: Int32

    init?(m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int) {
        guard let m = Int32(exactly: m), let n = Int32(exactly: n), let k = Int32(exactly: k),
              let lda = Int32(exactly: max(1, lda)), let ldb = Int32(exactly: max(1, ldb)),
              let ldc = Int32(exactly: max(1, ldc)) else { return nil }
        (self.m, self.n, self.k, self.lda, self.ldb, self.ldc) = (m, n, k, lda, ldb, ldc)
    }
}

private typealias CBLASSGEMM = @convention(c) (
    Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
    UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
private typealias CBLASDGEMM = @convention(c) (
    Int32, Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32,
    UnsafePointer<Double>?, Int32, Double, UnsafeMutablePointer<Double>?, Int32) -> Void

/// Fortran `?gemm_`, with the two hidden string-length arguments gfortran appends.
private typealias FortranSGEMM = @convention(c) (
    UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?,
    UnsafePointer<Int32>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Int32>?,
    UnsafePointer<Float>?, UnsafePointer<Int32>?, UnsafePointer<Float>?,
    UnsafeMutablePointer<Float>?, UnsafePointer<Int32>?, Int, Int) -> Void
private typealias FortranDGEMM = @convention(c) (
    UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?,
    UnsafePointer<Int32>?, UnsafePointer<Double>?, UnsafePointer<Double>?, UnsafePointer<Int32>?,
    UnsafePointer<Double>?, UnsafePointer<Int32>?, UnsafePointer<Double>?,
    UnsafeMutablePointer<Double>?, UnsafePointer<Int32>?, Int, Int) -> Void

/// A BLAS ?gemm bound to Swift arguments: (transA, transB, dims, alpha, A, B, beta, C).
private typealias BoundGEMM<T> =
    (Bool, Bool, BLASDims, T, UnsafePointer<T>, UnsafePointer<T>, T, UnsafeMutablePointer<T>) -> Void

/// Binds a `cblas_?gemm`.
private func bindCBLAS<T>(
    _ f: @escaping (Int32, Int32, Int32, Int32, Int32, Int32, T, UnsafePointer<T>?, Int32,
                    UnsafePointer<T>?, Int32, T, UnsafeMutablePointer<T>?, Int32) -> Void
) -> BoundGEMM<T> {
    // CblasColMajor = 102, CblasNoTrans = 111, CblasTrans = 112.
    return { ta, tb, d, alpha, a, b, beta, c in
        f(102, ta ? 112 : 111, tb ? 112 : 111, d.m, d.n, d.k, alpha, a, d.lda, b, d.ldb, beta, c, d.ldc)
    }
}

/// Binds a Fortran `?gemm_`.
private func bindFortran<T>(
    _ f: @escaping (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<Int32>?,
                    UnsafePointer<Int32>?, UnsafePointer<Int32>?, UnsafePointer<T>?,
                    UnsafePointer<T>?, UnsafePointer<Int32>?, UnsafePointer<T>?,
                    UnsafePointer<Int32>?, UnsafePointer<T>?, UnsafeMutablePointer<T>?,
                    UnsafePointer<Int32>?, Int, Int) -> Void
) -> BoundGEMM<T> {
    return { ta, tb, dims, alpha, a, b, beta, c in
        var d = dims, alpha = alpha, beta = beta
        var opA: CChar = ta ? 0x54 : 0x4E, opB: CChar = tb ? 0x54 : 0x4E  // "T" / "N"
        f(&opA, &opB, &d.m, &d.n, &d.k, &alpha, a, &d.lda, b, &d.ldb, &beta, c, &d.ldc, 1, 1)
    }
}

/// A BLAS opened with dlopen: its name and its sgemm/dgemm entry points.
private struct BLASLibrary: @unchecked Sendable {
    let name: String
    let sgemm: BoundGEMM<Float>
    let dgemm: BoundGEMM<Double>

    static let candidates = [
        "libopenblas.so.0", "libopenblas.so", "libblis.so.4", "libblis.so",
        "libmkl_rt.so.2", "libmkl_rt.so", "libcblas.so.3", "libblas.so.3",
    ]

    /// Opens the first usable library among `KNET_BLAS` and `candidates`.
    static func load() -> BLASLibrary? {
        if let custom = getenv("KNET_BLAS"), custom.pointee != 0 {
            let path = String(cString: custom)
            if let library = DynamicLibrary.firstBinding([path], BLASLibrary.init) { return library }
            fputs("Knet: KNET_BLAS=\(path) could not be loaded or has no sgemm/dgemm; searching the usual names\n", stderr)
        }
        return DynamicLibrary.firstBinding(candidates, BLASLibrary.init)
    }

    private init?(_ lib: DynamicLibrary) {
        if let s = lib.function("cblas_sgemm", as: CBLASSGEMM.self), let d = lib.function("cblas_dgemm", as: CBLASDGEMM.self) {
            sgemm = bindCBLAS(s)
            dgemm = bindCBLAS(d)
        } else if let s = lib.function("sgemm_", as: FortranSGEMM.self), let d = lib.function("dgemm_", as: FortranDGEMM.self) {
            sgemm = bindFortran(s)
            dgemm = bindFortran(d)
        } else {
            return nil
        }
        name = lib.name
        // Knet splits large products over its own pool; a BLAS running threads of its own
        // on top of that fights for the cores (measured: LeNet 24 ms instead of 18 ms per
        // minibatch with OpenBLAS's spinning threads), so the library is made single-threaded.
        typealias SetThreads = @convention(c) (Int32) -> Void
        typealias SetThreads64 = @convention(c) (Int64) -> Void
        if let f = lib.function("openblas_set_num_threads", as: SetThreads.self) ?? lib.function("MKL_Set_Num_Threads", as: SetThreads.self) {
            f(1)
        } else if let f = lib.function("bli_thread_set_num_threads", as: SetThreads64.self) {
            f(1)
        }
    }
}

private let loadedBLAS = BLASLibrary.load()

/// The reference triple loop (column axpys for op(A) = A, dot products for op(A) = Aᵀ).
private func naiveGEMM<T: BinaryFloatingPoint>(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
    a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
    beta: T, c: UnsafeMutablePointer<T>, ldc: Int
) {
    if k <= 0 || alpha == 0 {
        for j in 0..<n {
            for i in 0..<m { c[i + j * ldc] = beta == 0 ? 0 : beta * c[i + j * ldc] }
        }
        return
    }
    for j in 0..<n {
        let col = c + j * ldc
        @inline(__always) func bAt(_ p: Int) -> T { transB ? b[j + p * ldb] : b[p + j * ldb] }
        if transA {
            for i in 0..<m {
                let row = a + i * lda
                var sum: T = 0
                for p in 0..<k { sum += row[p] * bAt(p) }
                col[i] = beta == 0 ? alpha * sum : alpha * sum + beta * col[i]
            }
        } else {
            for i in 0..<m { col[i] = beta == 0 ? 0 : beta * col[i] }
            for p in 0..<k {
                let t = alpha * bAt(p)
                let aCol = a + p * lda
                for i in 0..<m { col[i] += t * aCol[i] }
            }
        }
    }
}
