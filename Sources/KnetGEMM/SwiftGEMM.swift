// Knet's own GEMM: the packed-panel product of CKnetCPU's gemm.c (one instance per
// instruction set, chosen here from CPUID) split over the cores. No compiler flag
// selects an instruction set, so the package builds everywhere as a dependency.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CKnetCPU
import Dispatch
import Synchronization

/// Knet's own column-major single- and double-precision matrix product (the `swift`
/// GEMM backend): operands packed into cache-sized panels, a register-blocked FMA
/// micro-kernel in the widest vector instructions the CPU has (`kernel`), large products
/// split across the cores. Every kernel and thread count gives the same bits.
///
///     SwiftGEMM.sgemm(transA: false, transB: false, m: 2, n: 3, k: 4, alpha: 1,
///                     a: a, lda: 2, b: b, ldb: 4, beta: 0, c: c, ldc: 2)
public enum SwiftGEMM {
    /// The micro-kernel instruction sets.
    public enum Kernel: String, CaseIterable, Sendable {
        /// Plain C vectors (SSE2 on x86-64): runs anywhere.
        case portable
        /// AVX2 and FMA (256-bit vectors).
        case avx2
        /// AVX-512 F, DQ, BW and VL (512-bit vectors).
        case avx512

        /// Whether this CPU can run the kernel.
        ///
        ///     if SwiftGEMM.Kernel.avx512.isAvailable { … }
        public var isAvailable: Bool {
            switch self {
            case .portable: return true
            case .avx2: return SwiftGEMM.isSupported
            case .avx512: return SwiftGEMM.cpuHasAVX512
            }
        }
    }

    /// True when the CPU has AVX2 and FMA and the OS saves the YMM registers: the AVX2
    /// kernels (the GEMM's, the activations', the LSTM cells') may run.
    public static let isSupported: Bool = knet_cpu_has_avx2_fma() != 0

    /// True when the CPU also has AVX-512 (F, DQ, BW, VL) with the OS saving its registers.
    public static let cpuHasAVX512: Bool = knet_cpu_has_avx512() != 0

    /// The kernels this CPU can run, narrowest first.
    public static let available: [Kernel] = Kernel.allCases.filter(\.isAvailable)

    /// The kernel `sgemm`/`dgemm` use: `KNET_GEMM_KERNEL` when it names an available one,
    /// else the widest available.
    public static let kernel: Kernel = {
        if let v = getenv("KNET_GEMM_KERNEL"), let k = Kernel(rawValue: String(cString: v)), available.contains(k) { return k }
        return available.last!
    }()

    /// The most threads one call may use; defaults to the number of online cores. A call
    /// uses one thread per `parallelThreshold` flops, up to this.
    public static var maxThreads: Int {
        get { threadLimit.load(ordering: .relaxed) }
        set { threadLimit.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Runs `body(0) ..< body(count)` in parallel; Knet installs its spinning thread pool
    /// here. When nil, Dispatch's `concurrentPerform` is used.
    nonisolated(unsafe) public static var parallelRunner: ((Int, (Int) -> Void) -> Void)?

    /// The flops (2·m·n·k) each thread must get for a product to be split across threads.
    /// The pool's workers spin between jobs, so a hand-off costs about a µs: splitting from
    /// 1 MFLOP on took softmax's 10×100×784 products onto both cores (row 0.565 → 0.445 s on
    /// a 2-core Zen 4; 5 MFLOP was the limit before, 0.25 MFLOP gained nothing more).
    public static let parallelThreshold = 500_000

    /// Single precision: `C = alpha * op(A) * op(B) + beta * C`, column-major, where
    /// `op(X)` is `X` or `Xᵀ`, `op(A)` is m×k and `op(B)` is k×n, on `kernel` (default: the
    /// chosen one; it must be `available`). With `beta == 0`, C is not read (it may hold
    /// NaNs); with `k == 0` or `alpha == 0`, A and B are not read.
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, using kernel: Kernel = kernel
    ) {
        let (whole, slice) = floatEntryPoints(kernel)
        let (ta, tb): (Int32, Int32) = (transA ? 1 : 0, transB ? 1 : 0)
        split(m: m, n: n, k: k, rowsPerPanel: 2 * vectorWidth(kernel, bytes: 4)) { isSlice, i, j, rows, cols in
            let f = isSlice ? slice : whole
            f(ta, tb, rows, cols, k, alpha, at(a, lda, transA, i, 0), lda, at(b, ldb, transB, 0, j), ldb, beta, c + i + j * ldc, ldc)
        }
    }

    /// Double precision: `C = alpha * op(A) * op(B) + beta * C`, with the same
    /// conventions as `sgemm`.
    public static func dgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int, using kernel: Kernel = kernel
    ) {
        let (whole, slice) = doubleEntryPoints(kernel)
        let (ta, tb): (Int32, Int32) = (transA ? 1 : 0, transB ? 1 : 0)
        split(m: m, n: n, k: k, rowsPerPanel: 2 * vectorWidth(kernel, bytes: 8)) { isSlice, i, j, rows, cols in
            let f = isSlice ? slice : whole
            f(ta, tb, rows, cols, k, alpha, at(a, lda, transA, i, 0), lda, at(b, ldb, transB, 0, j), ldb, beta, c + i + j * ldc, ldc)
        }
    }
}

private let threadLimit = Atomic<Int>(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))

/// The C signatures of every instance's `…_gemm` and `…_blocked`.
private typealias FloatEntry = @convention(c) (Int32, Int32, Int, Int, Int, Float, UnsafePointer<Float>?, Int,
                                               UnsafePointer<Float>?, Int, Float, UnsafeMutablePointer<Float>?, Int) -> Void
private typealias DoubleEntry = @convention(c) (Int32, Int32, Int, Int, Int, Double, UnsafePointer<Double>?, Int,
                                                UnsafePointer<Double>?, Int, Double, UnsafeMutablePointer<Double>?, Int) -> Void

/// Elements per vector register of `kernel` for elements of `bytes` bytes.
private func vectorWidth(_ kernel: SwiftGEMM.Kernel, bytes: Int) -> Int {
    switch kernel {
    case .portable: return 16 / bytes
    case .avx2: return 32 / bytes
    case .avx512: return 64 / bytes
    }
}

/// `kernel`'s Float entry points (the whole product; one slice of a split one).
private func floatEntryPoints(_ kernel: SwiftGEMM.Kernel) -> (FloatEntry, FloatEntry) {
    precondition(kernel.isAvailable, "SwiftGEMM: the \(kernel) kernel cannot run on this CPU")
    #if arch(x86_64)
    switch kernel {
    case .portable: return (knet_sgemm_portable_gemm, knet_sgemm_portable_blocked)
    case .avx2: return (knet_sgemm_avx2_gemm, knet_sgemm_avx2_blocked)
    case .avx512: return (knet_sgemm_avx512_gemm, knet_sgemm_avx512_blocked)
    }
    #else
    return (knet_sgemm_portable_gemm, knet_sgemm_portable_blocked)
    #endif
}

/// `kernel`'s Double entry points.
private func doubleEntryPoints(_ kernel: SwiftGEMM.Kernel) -> (DoubleEntry, DoubleEntry) {
    precondition(kernel.isAvailable, "SwiftGEMM: the \(kernel) kernel cannot run on this CPU")
    #if arch(x86_64)
    switch kernel {
    case .portable: return (knet_dgemm_portable_gemm, knet_dgemm_portable_blocked)
    case .avx2: return (knet_dgemm_avx2_gemm, knet_dgemm_avx2_blocked)
    case .avx512: return (knet_dgemm_avx512_gemm, knet_dgemm_avx512_blocked)
    }
    #else
    return (knet_dgemm_portable_gemm, knet_dgemm_portable_blocked)
    #endif
}

/// Element (i, j) of op(X) for a column-major X.
@inline(__always)
private func at<T>(_ x: UnsafePointer<T>, _ ld: Int, _ trans: Bool, _ i: Int, _ j: Int) -> UnsafePointer<T> {
    trans ? x + (j + i * ld) : x + (i + j * ld)
}

/// Runs a product on one thread (`call(false, 0, 0, m, n)`: the instance's `…_gemm`) or,
/// above `parallelThreshold` flops per thread, splits m (where `rowsFit`) or else the larger
/// of m and n into slices of whole panels (`rowsPerPanel` rows or 6 columns) handed out to the threads, each run as
/// `call(true, i, j, rows, cols)` (the packed path alone, which sums every element as the
/// whole product would).
private func split(m: Int, n: Int, k: Int, rowsPerPanel mr: Int, _ call: (Bool, Int, Int, Int, Int) -> Void) {
    if m <= 0 || n <= 0 { return }
    let flops = 2.0 * Double(m) * Double(n) * Double(k)
    let threads = Int(min(flops / Double(SwiftGEMM.parallelThreshold), Double(SwiftGEMM.maxThreads)))
    if threads <= 1 || knet_gemm_is_direct(m, n, k) != 0 {
        call(false, 0, 0, m, n)
        return
    }
    // Products too small to hide a late worker's wake-up get two slices per thread: the
    // calling thread then takes over the slices a late worker has not begun.
    // By rows where every thread gets a near-equal number of whole panels of at most eight
    // (its slice then reads B in place, so nothing is copied twice) and B stays in cache (at
    // most 256K elements: every thread reads all of it); else along the longer side.
    let rowsEach = (m + threads - 1) / threads, panelRowsEach = (rowsEach + mr - 1) / mr * mr
    let rowsFit = m >= threads * mr && 5 * rowsEach >= 4 * panelRowsEach && panelRowsEach <= 8 * mr && k * n <= 1 << 18
    let splitN = !rowsFit && n >= m
    let total = splitN ? n : m
    let slices = flops < 1e8 ? 2 * threads : threads
    let unit = splitN ? 6 : mr
    let limit = (total + slices - 1) / slices
    let blocks = (total + limit - 1) / limit
    let chunk = ((total + blocks - 1) / blocks + unit - 1) / unit * unit
    let parts = (total + chunk - 1) / chunk
    withoutActuallyEscaping(call) { call in
        let part: (Int) -> Void = { p in
            let start = p * chunk, count = min(chunk, total - start)
            if splitN { call(true, 0, start, m, count) } else { call(true, start, 0, count, n) }
        }
        if let run = SwiftGEMM.parallelRunner { run(parts, part) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: part) }
    }
}
