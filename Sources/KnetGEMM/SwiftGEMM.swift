// A packed-panel GEMM in the style of GotoBLAS/BLIS. This target is compiled for
// AVX2+FMA (see Package.swift), so callers must check `SwiftGEMM.isSupported` first.
//
// All generic code lives in this one file so that the optimizer specializes it for
// Float and Double even in builds without whole-module optimization.

import CKnetCPU
import Dispatch
import Synchronization

/// A column-major single- and double-precision matrix product written in Swift.
///
/// The operands are packed into cache-sized panels and multiplied by a register-blocked
/// micro-kernel of `SIMD8<Float>` (or `SIMD4<Double>`) accumulators. Large products are
/// split across the cores. The module is compiled for AVX2 and FMA: call it only when
/// `isSupported` is true.
public enum SwiftGEMM {
    /// True when the CPU has AVX2 and FMA and the OS saves the YMM registers, i.e. when
    /// `sgemm` and `dgemm` can run here. When false, calling them may crash with SIGILL.
    public static let isSupported: Bool = knet_cpu_has_avx2_fma() != 0

    /// True when the CPU also has AVX-512 (F, DQ, BW, VL) with the OS saving its
    /// registers. No Knet kernel uses it yet; reports say so.
    public static let cpuHasAVX512: Bool = knet_cpu_has_avx512() != 0

    /// The most threads one call may use; defaults to the number of online cores. A call
    /// uses one thread per `parallelThreshold` flops, up to this.
    public static var maxThreads: Int {
        get { threadLimit.load(ordering: .relaxed) }
        set { threadLimit.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Runs `body(0) ..< body(count)` in parallel; Knet installs its spinning thread pool
    /// here. When nil, Dispatch's `concurrentPerform` is used.
    nonisolated(unsafe) public static var parallelRunner: ((Int, (Int) -> Void) -> Void)?

    /// The flops (2·m·n·k) each thread must get for a product to be split across threads:
    /// below about 10 MFLOP, waking a second thread costs more than it saves.
    public static let parallelThreshold = 5_000_000

    /// Whether a product is small or thin enough that `sgemm`/`dgemm` compute it with
    /// direct single-threaded loops instead of packing panels (which costs thousands of
    /// instructions a call): at most 16K multiply-adds, or a matrix-vector product (m or
    /// n is 1) below the size worth splitting over threads.
    static func prefersDirect(m: Int, n: Int, k: Int) -> Bool {
        let products = m * n * k
        return products <= 16_384 || ((m == 1 || n == 1) && 2 * products < parallelThreshold)
    }

    /// Single precision: `C = alpha * op(A) * op(B) + beta * C`, column-major, where
    /// `op(X)` is `X` or `Xᵀ`, `op(A)` is m×k and `op(B)` is k×n. With `beta == 0`, C is
    /// not read (it may hold NaNs); with `k == 0` or `alpha == 0`, A and B are not read.
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        gemm(m: m, n: n, k: k, alpha: alpha,
             a: Operand(base: a, ld: lda, trans: transA),
             b: Operand(base: b, ld: ldb, trans: transB),
             beta: beta, c: c, ldc: ldc)
    }

    /// Double precision: `C = alpha * op(A) * op(B) + beta * C`, with the same
    /// conventions as `sgemm`.
    public static func dgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        gemm(m: m, n: n, k: k, alpha: alpha,
             a: Operand(base: a, ld: lda, trans: transA),
             b: Operand(base: b, ld: ldb, trans: transB),
             beta: beta, c: c, ldc: ldc)
    }
}

private let threadLimit = Atomic<Int>(onlineCores())

/// The scalar types the kernel handles, with their vector type and cache blocking.
protocol GEMMScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable {
    associatedtype Vector: SIMD where Vector.Scalar == Self
    /// Depth of a packed panel (the k blocking): A and B micro-panels stay in L1.
    static var kc: Int { get }
    /// Rows of A packed at once: the A block (mc×kc) stays in L2.
    static var mc: Int { get }
    /// Columns of B packed at once: the B block (kc×nc) stays in L3.
    static var nc: Int { get }
}

extension Float: GEMMScalar {
    typealias Vector = SIMD8<Float>
    static var kc: Int { 256 }
    static var mc: Int { 192 }
    static var nc: Int { 3072 }
}

extension Double: GEMMScalar {
    typealias Vector = SIMD4<Double>
    static var kc: Int { 256 }
    static var mc: Int { 96 }
    static var nc: Int { 1536 }
}

/// Columns per micro-tile; rows per micro-tile are two vectors (16 Float, 8 Double).
private let nr = 6

/// op(X) for a column-major X: element (i, j) of op(X) is at `at(i, j)`.
struct Operand<T> {
    var base: UnsafePointer<T>
    var ld: Int
    var trans: Bool

    @inline(__always)
    func at(_ i: Int, _ j: Int) -> UnsafePointer<T> {
        trans ? base + (j + i * ld) : base + (i + j * ld)
    }
}

/// The block size that cuts `total` into as few blocks of at most `limit` as possible,
/// of near-equal sizes rounded up to a multiple of `unit`.
@inline(__always)
private func divideEvenly(_ total: Int, max limit: Int, multipleOf unit: Int) -> Int {
    let blocks = (total + limit - 1) / limit
    let size = (total + blocks - 1) / blocks
    return (size + unit - 1) / unit * unit
}

/// One product `C = alpha * op(A) * op(B) + beta * C`; the pointers are only read or
/// written in disjoint slices by the threads that share it.
struct Product<T: GEMMScalar>: @unchecked Sendable {
    var m, n, k: Int
    var alpha: T
    var a, b: Operand<T>
    var beta: T
    var c: UnsafeMutablePointer<T>
    var ldc: Int

    /// Columns `start..<start+count` of the product.
    func columns(_ start: Int, _ count: Int) -> Product {
        var p = self
        p.n = count
        p.b.base = b.at(0, start)
        p.c = c + start * ldc
        return p
    }

    /// Rows `start..<start+count` of the product.
    func rows(_ start: Int, _ count: Int) -> Product {
        var p = self
        p.m = count
        p.a.base = a.at(start, 0)
        p.c = c + start
        return p
    }
}

private func gemm<T: GEMMScalar>(
    m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>,
    beta: T, c: UnsafeMutablePointer<T>, ldc: Int
) {
    if m <= 0 || n <= 0 { return }
    if k <= 0 || alpha == 0 {
        scale(m: m, n: n, beta: beta, c: c, ldc: ldc)
        return
    }
    let product = Product(m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c, ldc: ldc)
    if SwiftGEMM.prefersDirect(m: m, n: n, k: k) {
        direct(product)
        return
    }
    let mr = 2 * T.Vector.scalarCount
    let flops = 2.0 * Double(m) * Double(n) * Double(k)
    let threads = Int(min(flops / Double(SwiftGEMM.parallelThreshold), Double(SwiftGEMM.maxThreads)))
    if threads <= 1 {
        blocked(product)
        return
    }
    // Split the larger of m and n into slices of whole tiles, handed out to the threads
    // dynamically. A worker can take tens of µs to wake up, so products too small to
    // hide that get two slices per thread: the calling thread then takes over the slices
    // a late worker has not begun.
    let splitN = n >= m
    let total = splitN ? n : m
    let slices = flops < 1e8 ? 2 * threads : threads
    let chunk = divideEvenly(total, max: (total + slices - 1) / slices, multipleOf: splitN ? nr : mr)
    let part: (Int) -> Void = { part in
        let start = part * chunk, count = min(chunk, total - start)
        blocked(splitN ? product.columns(start, count) : product.rows(start, count))
    }
    let parts = (total + chunk - 1) / chunk
    if let run = SwiftGEMM.parallelRunner { run(parts, part) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: part) }
}

/// C = beta * C (C is not read when beta is 0).
private func scale<T: GEMMScalar>(m: Int, n: Int, beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
    if beta == 1 { return }
    if ldc == m {       // contiguous: one loop (a row vector would otherwise cost a loop per element)
        for i in 0..<(m * n) { c[i] = beta == 0 ? 0 : beta * c[i] }
        return
    }
    for j in 0..<n {
        let col = c + j * ldc
        for i in 0..<m { col[i] = beta == 0 ? 0 : beta * col[i] }
    }
}

/// A small or thin product without packing, in the loop order whose inner loop runs
/// over contiguous memory: columns of op(A) (`C[:,j] += B[p,j]·A[:,p]`), else rows of
/// op(A) against columns of op(B) (dot products), else rows of op(B) into a row of C.
private func direct<T: GEMMScalar>(_ product: Product<T>) {
    let (m, n, k, alpha, a, b, beta, c, ldc) = (product.m, product.n, product.k, product.alpha,
        product.a, product.b, product.beta, product.c, product.ldc)
    scale(m: m, n: n, beta: beta, c: c, ldc: ldc)
    // Which operand slices are contiguous in memory (a single row or column always is).
    let columnsOfA = !a.trans || m == 1
    let rowsOfA = a.trans || a.ld == 1 || k == 1
    let columnsOfB = !b.trans || b.ld == 1 || k == 1
    let rowsOfB = b.trans || b.ld == 1 || n == 1
    if columnsOfA && (m >= 8 || !(rowsOfA && columnsOfB) && !rowsOfB) {
        for j in 0..<n {
            let cj = c + j * ldc
            for p in 0..<k {
                let s = alpha * b.at(p, j).pointee
                axpy(s, a.at(0, p), cj, m)
            }
        }
    } else if rowsOfA && columnsOfB {
        for j in 0..<n {
            let bj = b.at(0, j)
            for i in 0..<m { c[i + j * ldc] += alpha * dot(a.at(i, 0), bj, k) }
        }
    } else {
        // Here the rows of op(B) are contiguous: accumulate each row of C, directly when
        // it is contiguous (m == 1), else in a contiguous scratch row.
        withUnsafeTemporaryAllocation(of: T.self, capacity: ldc == 1 ? 0 : n) { scratch in
            for i in 0..<m {
                let row = ldc == 1 ? c + i : scratch.baseAddress!
                if ldc != 1 { for j in 0..<n { row[j] = c[i + j * ldc] } }
                for p in 0..<k { axpy(alpha * a.at(i, p).pointee, b.at(p, 0), row, n) }
                if ldc != 1 { for j in 0..<n { c[i + j * ldc] = row[j] } }
            }
        }
    }
}

/// `y[i] += s·x[i]` over `count` contiguous elements, in SIMD registers (the tail in
/// halving vector widths, without a loop, so that short rows cost a few instructions).
@inline(__always)
private func axpy<T: GEMMScalar>(_ s: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
    var i = 0
    while i + T.Vector.scalarCount <= count {
        axpyStep(T.Vector.self, s, x + i, y + i)
        i += T.Vector.scalarCount
    }
    if count - i >= 4 { axpyStep(SIMD4<T>.self, s, x + i, y + i); i += 4 }
    if count - i >= 2 { axpyStep(SIMD2<T>.self, s, x + i, y + i); i += 2 }
    if count - i >= 1 { y[i] += s * x[i] }
}

@inline(__always)
private func axpyStep<V: SIMD>(_: V.Type, _ s: V.Scalar, _ x: UnsafePointer<V.Scalar>, _ y: UnsafeMutablePointer<V.Scalar>)
where V.Scalar: BinaryFloatingPoint {
    let yv = UnsafeRawPointer(y).loadUnaligned(as: V.self), xv = UnsafeRawPointer(x).loadUnaligned(as: V.self)
    UnsafeMutableRawPointer(y).storeBytes(of: yv + V(repeating: s) * xv, as: V.self)
}

/// `Σ x[i]·y[i]` over `count` contiguous elements, in SIMD accumulators (the tail as in `axpy`).
@inline(__always)
private func dot<T: GEMMScalar>(_ x: UnsafePointer<T>, _ y: UnsafePointer<T>, _ count: Int) -> T {
    var acc = T.Vector()
    var i = 0
    while i + T.Vector.scalarCount <= count {
        acc += load(T.Vector.self, x + i) * load(T.Vector.self, y + i)
        i += T.Vector.scalarCount
    }
    var total = count >= T.Vector.scalarCount ? acc.sum() : 0
    if count - i >= 4 {
        let q = load(SIMD4<T>.self, x + i) * load(SIMD4<T>.self, y + i), h = q.lowHalf + q.highHalf
        total += h[0] + h[1]
        i += 4
    }
    if count - i >= 2 {
        let h = load(SIMD2<T>.self, x + i) * load(SIMD2<T>.self, y + i)
        total += h[0] + h[1]
        i += 2
    }
    if count - i >= 1 { total += x[i] * y[i] }
    return total
}

@inline(__always)
private func load<V: SIMD>(_: V.Type, _ p: UnsafePointer<V.Scalar>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

/// The single-threaded blocked product, using this thread's packing buffers.
private func blocked<T: GEMMScalar>(_ product: Product<T>) {
    let (m, n, k, alpha, a, b, beta, c, ldc) = (product.m, product.n, product.k, product.alpha,
        product.a, product.b, product.beta, product.c, product.ldc)
    let mr = 2 * T.Vector.scalarCount
    let kc = divideEvenly(k, max: T.kc, multipleOf: 1)
    let mc = divideEvenly(m, max: T.mc, multipleOf: mr)
    let nc = divideEvenly(n, max: T.nc, multipleOf: nr)
    let buffer = PackingBuffer.forCurrentThread(bytes: (mc + nc) * kc * MemoryLayout<T>.stride)
    let packedA = buffer.bindMemory(to: T.self, capacity: (mc + nc) * kc)
    let packedB = packedA + mc * kc

    for jc in stride(from: 0, to: n, by: nc) {
        let nb = min(nc, n - jc)
        for pc in stride(from: 0, to: k, by: kc) {
            let kb = min(kc, k - pc)
            packB(b, p0: pc, j0: jc, kb: kb, nb: nb, into: packedB)
            let betaBlock = pc == 0 ? beta : 1
            for ic in stride(from: 0, to: m, by: mc) {
                let mb = min(mc, m - ic)
                packA(a, i0: ic, p0: pc, mb: mb, kb: kb, into: packedA)
                for jr in stride(from: 0, to: nb, by: nr) {
                    for ir in stride(from: 0, to: mb, by: mr) {
                        let rows = min(mr, mb - ir)
                        (rows > mr / 2 ? microKernel : narrowMicroKernel)(
                            kb, packedA + ir * kb, packedB + jr * kb,
                            c + (ic + ir) + (jc + jr) * ldc, ldc,
                            rows, min(nr, nb - jr), alpha, betaBlock)
                    }
                }
            }
        }
    }
}

/// Packs the mb×kb block of op(A) at (i0, p0) into panels of mr rows, each stored
/// k-major (mr consecutive values per k), zero-padding the last panel.
private func packA<T: GEMMScalar>(
    _ a: Operand<T>, i0: Int, p0: Int, mb: Int, kb: Int, into dst: UnsafeMutablePointer<T>
) {
    typealias V = T.Vector
    let w = V.scalarCount
    let mr = 2 * w
    var d = dst
    for ir in stride(from: 0, to: mb, by: mr) {
        let rows = min(mr, mb - ir)
        if !a.trans {
            var src = a.at(i0 + ir, p0)
            if rows == mr {
                for _ in 0..<kb {
                    let s = UnsafeRawPointer(src), t = UnsafeMutableRawPointer(d)
                    t.storeBytes(of: s.loadUnaligned(as: V.self), as: V.self)
                    t.storeBytes(of: s.loadUnaligned(fromByteOffset: w * MemoryLayout<T>.stride, as: V.self),
                                 toByteOffset: w * MemoryLayout<T>.stride, as: V.self)
                    src += a.ld
                    d += mr
                }
            } else {
                for _ in 0..<kb {
                    for r in 0..<rows { d[r] = src[r] }
                    for r in rows..<mr { d[r] = 0 }
                    src += a.ld
                    d += mr
                }
            }
        } else {
            // Rows of op(A) are contiguous: read them in step, write each k-slice in turn.
            let src = a.at(i0 + ir, p0)
            for p in 0..<kb {
                if rows == mr {
                    for r in 0..<mr { d[r] = src[r * a.ld + p] }
                } else {
                    for r in 0..<rows { d[r] = src[r * a.ld + p] }
                    for r in rows..<mr { d[r] = 0 }
                }
                d += mr
            }
        }
    }
}

/// Packs the kb×nb block of op(B) at (p0, j0) into panels of nr columns, each stored
/// k-major (nr consecutive values per k), zero-padding the last panel.
private func packB<T: GEMMScalar>(
    _ b: Operand<T>, p0: Int, j0: Int, kb: Int, nb: Int, into dst: UnsafeMutablePointer<T>
) {
    if b.trans {
        // Rows of op(B) are contiguous: stream each row once, scattering it over the panels.
        let full = nb / nr
        for p in 0..<kb {
            let src = b.at(p0 + p, j0)
            var d = dst + p * nr
            for q in 0..<full {
                let s = UnsafeRawPointer(src + q * nr), t = UnsafeMutableRawPointer(d)
                t.storeBytes(of: s.loadUnaligned(as: SIMD4<T>.self), as: SIMD4<T>.self)
                t.storeBytes(of: s.loadUnaligned(fromByteOffset: 4 * MemoryLayout<T>.stride, as: SIMD2<T>.self),
                             toByteOffset: 4 * MemoryLayout<T>.stride, as: SIMD2<T>.self)
                d += nr * kb
            }
            if nb % nr != 0 {
                for j in 0..<nr { d[j] = full * nr + j < nb ? src[full * nr + j] : 0 }
            }
        }
        return
    }
    var d = dst
    for jr in stride(from: 0, to: nb, by: nr) {
        let cols = min(nr, nb - jr)
        if cols == nr {
            let s0 = b.at(p0, j0 + jr)
            let s1 = s0 + b.ld, s2 = s1 + b.ld, s3 = s2 + b.ld, s4 = s3 + b.ld, s5 = s4 + b.ld
            for p in 0..<kb {
                d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]
                d[3] = s3[p]; d[4] = s4[p]; d[5] = s5[p]
                d += nr
            }
        } else {
            for j in 0..<nr {
                if j < cols {
                    let src = b.at(p0, j0 + jr + j)
                    for p in 0..<kb { d[p * nr + j] = src[p] }
                } else {
                    for p in 0..<kb { d[p * nr + j] = 0 }
                }
            }
            d += nr * kb
        }
    }
}

/// C[0..<rows, 0..<cols] = alpha * Ã * B̃ + beta * C for one mr×kb panel Ã and one
/// kb×nr panel B̃, with 12 vector accumulators (two vectors × six columns).
@inline(never)
private func microKernel<T: GEMMScalar>(
    k: Int, a: UnsafePointer<T>, b: UnsafePointer<T>,
    c: UnsafeMutablePointer<T>, ldc: Int, rows: Int, cols: Int, alpha: T, beta: T
) {
    tile(k: k, a: a, b: b, c: c, ldc: ldc, rows: rows, cols: cols, alpha: alpha, beta: beta, narrow: false)
}

/// `microKernel` for a last panel with at most one vector of rows (the rest is padding):
/// half the arithmetic.
@inline(never)
private func narrowMicroKernel<T: GEMMScalar>(
    k: Int, a: UnsafePointer<T>, b: UnsafePointer<T>,
    c: UnsafeMutablePointer<T>, ldc: Int, rows: Int, cols: Int, alpha: T, beta: T
) {
    tile(k: k, a: a, b: b, c: c, ldc: ldc, rows: rows, cols: cols, alpha: alpha, beta: beta, narrow: true)
}

/// The body of both micro-kernels; `narrow` is a constant in each, so its tests vanish.
@inline(__always)
private func tile<T: GEMMScalar>(
    k: Int, a: UnsafePointer<T>, b: UnsafePointer<T>, c: UnsafeMutablePointer<T>, ldc: Int,
    rows: Int, cols: Int, alpha: T, beta: T, narrow: Bool
) {
    typealias V = T.Vector
    let w = V.scalarCount
    let half = w * MemoryLayout<T>.stride
    var c00 = V(), c10 = V(), c01 = V(), c11 = V(), c02 = V(), c12 = V()
    var c03 = V(), c13 = V(), c04 = V(), c14 = V(), c05 = V(), c15 = V()
    var pa = UnsafeRawPointer(a)
    var pb = b
    for _ in 0..<k {
        let a0 = pa.loadUnaligned(as: V.self)
        let a1 = narrow ? V() : pa.loadUnaligned(fromByteOffset: half, as: V.self)
        var bj = V(repeating: pb[0])
        c00 = c00.addingProduct(a0, bj); if !narrow { c10 = c10.addingProduct(a1, bj) }
        bj = V(repeating: pb[1])
        c01 = c01.addingProduct(a0, bj); if !narrow { c11 = c11.addingProduct(a1, bj) }
        bj = V(repeating: pb[2])
        c02 = c02.addingProduct(a0, bj); if !narrow { c12 = c12.addingProduct(a1, bj) }
        bj = V(repeating: pb[3])
        c03 = c03.addingProduct(a0, bj); if !narrow { c13 = c13.addingProduct(a1, bj) }
        bj = V(repeating: pb[4])
        c04 = c04.addingProduct(a0, bj); if !narrow { c14 = c14.addingProduct(a1, bj) }
        bj = V(repeating: pb[5])
        c05 = c05.addingProduct(a0, bj); if !narrow { c15 = c15.addingProduct(a1, bj) }
        pa += 2 * half
        pb += nr
    }

    @inline(__always)
    func update(_ p: UnsafeMutablePointer<T>, _ x: V) -> V {
        beta == 0 ? x * alpha : x * alpha + beta * UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    if !narrow && rows == 2 * w && cols == nr {
        @inline(__always)
        func store(_ j: Int, _ x0: V, _ x1: V) {
            let col = c + j * ldc
            let y0 = update(col, x0), y1 = update(col + w, x1)
            UnsafeMutableRawPointer(col).storeBytes(of: y0, as: V.self)
            UnsafeMutableRawPointer(col + w).storeBytes(of: y1, as: V.self)
        }
        store(0, c00, c10); store(1, c01, c11); store(2, c02, c12)
        store(3, c03, c13); store(4, c04, c14); store(5, c05, c15)
    } else {
        // Edge tile: go through a buffer so as to touch only the valid part of C.
        withUnsafeTemporaryAllocation(of: V.self, capacity: 2 * nr) { acc in
            acc[0] = c00; acc[1] = c10; acc[2] = c01; acc[3] = c11
            acc[4] = c02; acc[5] = c12; acc[6] = c03; acc[7] = c13
            acc[8] = c04; acc[9] = c14; acc[10] = c05; acc[11] = c15
            let t = UnsafeRawPointer(acc.baseAddress!).assumingMemoryBound(to: T.self)
            for j in 0..<cols {
                let col = c + j * ldc, src = t + j * 2 * w
                for i in 0..<rows {
                    col[i] = beta == 0 ? alpha * src[i] : alpha * src[i] + beta * col[i]
                }
            }
        }
    }
}
