import XCTest
@testable import Knet
import KnetGEMM


/// A column-major matrix with a padded leading dimension.
private struct Matrix<T: BinaryFloatingPoint> {
    let rows, cols, ld: Int
    var data: [T]

    init(rows: Int, cols: Int, pad: Int, rng: inout SplitMix) {
        self.rows = rows
        self.cols = cols
        ld = max(1, rows + pad)
        data = (0..<max(1, ld * cols)).map { _ in T(Double.random(in: -1...1, using: &rng)) }
    }

    /// The matrix as dense Doubles, row-major or column-major.
    func dense(rowMajor: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols)
        for j in 0..<cols {
            for i in 0..<rows {
                out[rowMajor ? i * cols + j : i + j * rows] = Double(data[i + j * ld])
            }
        }
        return out
    }

    /// Element (i, j) of the matrix, or of its transpose.
    func at(_ i: Int, _ j: Int, transposed: Bool) -> Double {
        Double(transposed ? data[j + i * ld] : data[i + j * ld])
    }
}

final class GEMMTests: XCTestCase {
    /// (m, n, k): edge tiles, k == 0, several k/m/n cache blocks, and (last) products
    /// large enough to be split across threads by rows and by columns; the small and
    /// matrix-vector ones (linear regression's 1×506×13 and its gradient 1×13×506, an
    /// outer product, a 3×1 gemv) take the direct, unpacked path; those of at most eight
    /// panels of rows (m ≤ 64…256 by instance and type: one panel in softmax's 5×3100×4,
    /// 10×100×784, 30×50×300, several in 33×17×65 and the MLP's 64×100×784) read B in
    /// place, larger ones (200×30×300 on some instances, 300×200×257 on all) pack it.
    private let sizes = [
        (1, 1, 1), (7, 5, 3), (16, 6, 1), (17, 7, 2), (4, 3, 0), (33, 17, 65),
        (1, 506, 13), (1, 13, 506), (13, 506, 1), (3, 1, 40), (9, 8, 30),
        (200, 30, 300), (5, 3100, 4), (100, 64, 784), (64, 100, 784), (10, 100, 784), (30, 50, 300),
    ]

    private var backends: [GEMMBackend] {
        var list: [GEMMBackend] = [.naive, .swift]
        if CPUBLAS.library != nil { list.append(.blas) }
        return list
    }

    func testFloat() { check(Float.self) }

    /// Every kernel this CPU can run gives the portable kernel's bits (they sum every element
    /// over k in the same order, with one FMA per step): over the sizes, transposes, both
    /// dtypes, alpha and beta, and on 1 and 2 threads. Kernels the CPU lacks are named.
    func testEveryKernelGivesThePortableBits() {
        let missing = SwiftGEMM.Kernel.allCases.filter { !SwiftGEMM.available.contains($0) }
        if !missing.isEmpty { print("GEMMTests: \(missing.map(\.rawValue)) kernel(s) not run: this CPU lacks the instructions") }
        let threads = SwiftGEMM.maxThreads
        defer { SwiftGEMM.maxThreads = threads }
        var rng = SplitMix(seed: 7)
        func run<T: BinaryFloatingPoint>(_: T.Type, _ gemm: (SwiftGEMM.Kernel, Bool, Bool, Int, Int, Int, T, UnsafePointer<T>, Int,
                                                            UnsafePointer<T>, Int, T, UnsafeMutablePointer<T>, Int) -> Void) {
            // (and matrix-vector products above the thread split's size: computed directly,
            // they must not be cut into packed slices, whose sums differ)
            for (m, n, k) in sizes + [(300, 200, 257), (1, 1200, 600), (900, 1, 800)] {
                for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
                    let a = Matrix<T>(rows: transA ? k : m, cols: transA ? m : k, pad: 1, rng: &rng)
                    let b = Matrix<T>(rows: transB ? n : k, cols: transB ? k : n, pad: 2, rng: &rng)
                    let c0 = Matrix<T>(rows: m, cols: n, pad: 0, rng: &rng)
                    var results: [(String, [T])] = []
                    for kernel in SwiftGEMM.available {
                        for t in [1, 2] {
                            SwiftGEMM.maxThreads = t
                            var c = c0
                            a.data.withUnsafeBufferPointer { pa in
                                b.data.withUnsafeBufferPointer { pb in
                                    c.data.withUnsafeMutableBufferPointer { pc in
                                        gemm(kernel, transA, transB, m, n, k, T(-0.75), pa.baseAddress!, a.ld, pb.baseAddress!, b.ld,
                                             T(0.5), pc.baseAddress!, c.ld)
                                    }
                                }
                            }
                            results.append(("\(kernel) \(t) thread(s)", c.data))
                        }
                    }
                    for (name, data) in results.dropFirst() {
                        XCTAssert(data.map { Double($0).bitPattern } == results[0].1.map { Double($0).bitPattern },
                                  "\(T.self) \(name) vs \(results[0].0): m=\(m) n=\(n) k=\(k) tA=\(transA) tB=\(transB)")
                    }
                }
            }
        }
        run(Float.self) { SwiftGEMM.sgemm(transA: $1, transB: $2, m: $3, n: $4, k: $5, alpha: $6, a: $7, lda: $8, b: $9, ldb: $10,
                                          beta: $11, c: $12, ldc: $13, using: $0) }
        run(Double.self) { SwiftGEMM.dgemm(transA: $1, transB: $2, m: $3, n: $4, k: $5, alpha: $6, a: $7, lda: $8, b: $9, ldb: $10,
                                           beta: $11, c: $12, ldc: $13, using: $0) }
    }

    func testDouble() { check(Double.self) }

    func testDefaultBackend() {
        var expected: GEMMBackend = CPUBLAS.library != nil ? .blas : .swift
        if let value = getenv("KNET_GEMM"), let forced = GEMMBackend(rawValue: String(cString: value)) {
            let usable = forced != .blas || CPUBLAS.library != nil
            if usable { expected = forced }
        }
        XCTAssertEqual(CPUBLAS.backend, expected)
    }

    /// Every backend against a Double-precision triple loop: all transposes, padded and
    /// tight leading dimensions, beta 0 over a NaN-filled C, beta ≠ 0, alpha ≠ 1.
    private func check<T: BinaryFloatingPoint>(_: T.Type) {
        var rng = SplitMix(seed: 42)
        let eps = Double(T.ulpOfOne)
        for (m, n, k) in sizes {
            for (padA, padB, padC) in [(3, 1, 2), (0, 0, 0)] where padA > 0 || m * n * k < 100_000 {
                // Large products (slow to check in a debug build) only as NN and TT: the small
                // ones already cover each packing path.
                for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)]
                where m * n * k < 1_000_000 || transA == transB {
                    let a = Matrix<T>(rows: transA ? k : m, cols: transA ? m : k, pad: padA, rng: &rng)
                    let b = Matrix<T>(rows: transB ? n : k, cols: transB ? k : n, pad: padB, rng: &rng)
                    let c0 = Matrix<T>(rows: m, cols: n, pad: padC, rng: &rng)
                    // The exact product and the magnitude that bounds its rounding error.
                    var product = [Double](repeating: 0, count: m * n)
                    var magnitude = [Double](repeating: 0, count: m * n)
                    // Rows of op(A) and columns of op(B), each contiguous.
                    let opA = a.dense(rowMajor: !transA), opB = b.dense(rowMajor: transB)
                    opA.withUnsafeBufferPointer { pa in
                        opB.withUnsafeBufferPointer { pb in
                            for j in 0..<n {
                                for i in 0..<m {
                                    var x = pa.baseAddress! + i * k, y = pb.baseAddress! + j * k
                                    var sum = 0.0, sumAbs = 0.0
                                    for _ in 0..<k {
                                        let xy = x.pointee * y.pointee
                                        sum += xy
                                        sumAbs += abs(xy)
                                        x += 1
                                        y += 1
                                    }
                                    product[i + j * m] = sum
                                    magnitude[i + j * m] = sumAbs
                                }
                            }
                        }
                    }
                    for (alpha, beta) in [(1.0, 0.0), (-0.5, 1.0), (2.0, 0.25)] {
                        for backend in backends where backend != .naive || m * n * k < 100_000 {
                            var c = c0
                            if beta == 0 {
                                for j in 0..<n { for i in 0..<m { c.data[i + j * c.ld] = .nan } }
                            }
                            a.data.withUnsafeBufferPointer { pa in
                                b.data.withUnsafeBufferPointer { pb in
                                    c.data.withUnsafeMutableBufferPointer { pc in
                                        CPUBLAS.gemm(
                                            using: backend, transA: transA, transB: transB,
                                            m: m, n: n, k: k, alpha: T(alpha),
                                            a: pa.baseAddress!, lda: a.ld, b: pb.baseAddress!, ldb: b.ld,
                                            beta: T(beta), c: pc.baseAddress!, ldc: c.ld)
                                    }
                                }
                            }
                            let what = "\(T.self) \(backend) m=\(m) n=\(n) k=\(k) tA=\(transA) tB=\(transB) alpha=\(alpha) beta=\(beta)"
                            var worst = 0.0
                            for j in 0..<n {
                                for i in 0..<m {
                                    let old = c0.at(i, j, transposed: false)
                                    let expected = alpha * product[i + j * m] + beta * old
                                    let bound = Double(k + 2) * eps
                                        * (abs(alpha) * magnitude[i + j * m] + abs(beta * old)) + Double.leastNormalMagnitude
                                    let error = abs(c.at(i, j, transposed: false) - expected) / bound
                                    worst = error.isNaN ? .infinity : max(worst, error)
                                }
                                for i in m..<c.ld {
                                    XCTAssertEqual(c.data[i + j * c.ld], c0.data[i + j * c.ld], "padding of C written: \(what)")
                                }
                            }
                            XCTAssertLessThanOrEqual(worst, 1, what)
                        }
                    }
                }
            }
        }
    }
}
