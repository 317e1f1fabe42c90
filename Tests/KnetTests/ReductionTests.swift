import XCTest
import Foundation
@testable import Knet

// The variadic-dims reductions called with an array of dims (Swift cannot splat).
private func prodD(_ x: Tensor, _ d: [Int]) -> Tensor {
    switch d.count {
    case 1: return prod(x, dims: d[0])
    case 2: return prod(x, dims: d[0], d[1])
    default: return prod(x, dims: d[0], d[1], d[2])
    }
}
private func minimumD(_ x: Tensor, _ d: [Int]) -> Tensor {
    switch d.count {
    case 1: return minimum(x, dims: d[0])
    case 2: return minimum(x, dims: d[0], d[1])
    default: return minimum(x, dims: d[0], d[1], d[2])
    }
}
private func sumabsD(_ x: Tensor, _ d: [Int]) -> Tensor {
    switch d.count {
    case 1: return sumabs(x, dims: d[0])
    case 2: return sumabs(x, dims: d[0], d[1])
    default: return sumabs(x, dims: d[0], d[1], d[2])
    }
}
private func sumabs2D(_ x: Tensor, _ d: [Int]) -> Tensor {
    switch d.count {
    case 1: return sumabs2(x, dims: d[0])
    case 2: return sumabs2(x, dims: d[0], d[1])
    default: return sumabs2(x, dims: d[0], d[1], d[2])
    }
}
private func countnzD(_ x: Tensor, _ d: [Int]) -> Tensor {
    switch d.count {
    case 1: return countnz(x, dims: d[0])
    case 2: return countnz(x, dims: d[0], d[1])
    default: return countnz(x, dims: d[0], d[1], d[2])
    }
}

/// A reduction under test: over all elements, over dims, and a naive reference.
private struct ReductionSpec {
    let name: String
    let all: (Tensor) -> Tensor
    let dims: (Tensor, [Int]) -> Tensor
    let initial: Double
    let combine: (Double, Double) -> Double
    /// Applied to the combined value and the number of elements combined.
    var finish: (Double, Int) -> Double = { v, _ in v }
    var differentiable = true
}

private let specs: [ReductionSpec] = [
    ReductionSpec(name: "sum", all: { sum($0) }, dims: { sum($0, dims: $1) }, initial: 0, combine: +),
    ReductionSpec(name: "prod", all: { prod($0) }, dims: prodD, initial: 1, combine: *),
    ReductionSpec(name: "maximum", all: { maximum($0) }, dims: { maximum($0, dims: $1) }, initial: -.infinity,
                  combine: { Swift.max($0, $1) }),
    ReductionSpec(name: "minimum", all: { minimum($0) }, dims: minimumD, initial: .infinity, combine: { Swift.min($0, $1) }),
    ReductionSpec(name: "mean", all: { mean($0) }, dims: { mean($0, dims: $1) }, initial: 0, combine: +,
                  finish: { v, n in v / Double(n) }),
    ReductionSpec(name: "sumabs", all: { sumabs($0) }, dims: sumabsD, initial: 0, combine: { $0 + Swift.abs($1) }),
    ReductionSpec(name: "sumabs2", all: { sumabs2($0) }, dims: sumabs2D, initial: 0, combine: { $0 + $1 * $1 }),
    ReductionSpec(name: "countnz", all: { countnz($0) }, dims: countnzD, initial: 0, combine: { $0 + ($1 != 0 ? 1 : 0) },
                  differentiable: false),
]

private let dimSets: [[Int]] = [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]

/// A [3, 4, 5] tensor of small integers with zeros, negatives and distinct extremes per slice.
private func sample345(dtype: DType = .float64) -> Tensor {
    tensorFrom([3, 4, 5], dtype: dtype) { i in Double((i * 7 + 3) % 11) - 4 }
}

final class ReductionTests: DeviceTestCase {
    override func setUp() { setseed(11) }

    func testSmallByHand() {
        let x = Tensor([1, -2, 3, 4, 0, -6], shape: [2, 3], dtype: .float64)   // [1 3 0; -2 4 -6]
        XCTAssertEqual(sum(x).shape, [])
        XCTAssertEqual(sum(x).scalar, 0)
        assertValues(sum(x, dims: 0), [-1, 7, -6], shape: [1, 3])
        assertValues(sum(x, dims: 1), [4, -4], shape: [2, 1])
        assertValues(sum(x, dims: [0, 1]), [0], shape: [1, 1])
        XCTAssertEqual(prod(x).scalar, 0)
        assertValues(prod(x, dims: 1), [0, 48], shape: [2, 1])
        XCTAssertEqual(maximum(x).scalar, 4)
        assertValues(maximum(x, dims: 0), [1, 4, 0], shape: [1, 3])
        XCTAssertEqual(minimum(x).scalar, -6)
        assertValues(minimum(x, dims: 1), [0, -6], shape: [2, 1])
        XCTAssertEqual(mean(x).scalar, 0)
        assertValues(mean(x, dims: 1), [4.0 / 3, -4.0 / 3], shape: [2, 1])
        XCTAssertEqual(sumabs(x).scalar, 16)
        assertValues(sumabs(x, dims: 0), [3, 7, 6], shape: [1, 3])
        XCTAssertEqual(sumabs2(x).scalar, 66)
        assertValues(sumabs2(x, dims: 1), [10, 56], shape: [2, 1])
        XCTAssertEqual(countnz(x).scalar, 5)
        assertValues(countnz(x, dims: 0), [2, 2, 1], shape: [1, 3])
        XCTAssertEqual(sum(x, dims: 0).dtype, .float64)
        XCTAssertEqual(sum(Tensor([1, 2])).dtype, .float32)
        // a dim past the rank reduces nothing
        assertValues(sum(x, dims: 2), [1, -2, 3, 4, 0, -6], shape: [2, 3])
    }

    func testNormByHand() {
        let x = Tensor([3, -4], dtype: .float64)
        XCTAssertEqual(norm(x).scalar, 5, accuracy: 1e-12)
        XCTAssertEqual(norm(x, 2).scalar, 5, accuracy: 1e-12)
        XCTAssertEqual(norm(x, 1).scalar, 7, accuracy: 1e-12)
        XCTAssertEqual(norm(x, .infinity).scalar, 4, accuracy: 1e-12)
        XCTAssertEqual(norm(x, 3).scalar, Foundation.pow(91.0, 1.0 / 3), accuracy: 1e-12)
        let y = sample345()
        let v = [Double](y)
        XCTAssertEqual(norm(y).scalar, v.map { $0 * $0 }.reduce(0, +).squareRoot(), accuracy: 1e-10)
        XCTAssertEqual(norm(y, 1).scalar, v.map { Swift.abs($0) }.reduce(0, +), accuracy: 1e-10)
        XCTAssertEqual(norm(y, .infinity).scalar, v.map { Swift.abs($0) }.max()!, accuracy: 1e-12)
        XCTAssertEqual(norm(y, 3).scalar, Foundation.pow(v.map { Swift.abs($0 * $0 * $0) }.reduce(0, +), 1.0 / 3), accuracy: 1e-10)
        assertKnetError("norm", "p") { _ = norm(Tensor([1, 2]), -1) }
    }

    func testAllReductionsOverAllAndEveryDimSet() {
        for dtype in [DType.float64, .float32] {
            let x = sample345(dtype: dtype)
            let v = [Double](x)
            for spec in specs {
                let all = spec.all(x)
                XCTAssertEqual(all.shape, [], "\(spec.name) over all keeps no dims")
                XCTAssertEqual(all.dtype, dtype)
                let e = spec.finish(v.reduce(spec.initial, spec.combine), v.count)
                let tol = dtype == .float32 ? 1e-6 : 1e-12
                XCTAssertEqual(all.scalar, e, accuracy: tol * Swift.max(1, Swift.abs(e)), "\(spec.name) \(dtype)")
                for d in dimSets {
                    let r = spec.dims(x, d)
                    let shape = [3, 4, 5].indices.map { d.contains($0) ? 1 : [3, 4, 5][$0] }
                    let n = d.map { [3, 4, 5][$0] }.reduce(1, *)
                    let expected = naiveReduce(v, [3, 4, 5], dims: d, initial: spec.initial, spec.combine).map { spec.finish($0, n) }
                    assertValues(r, expected, shape: shape, rtol: 1e-6)
                    XCTAssertEqual(r.shape, shape, "\(spec.name) dims \(d)")
                }
            }
        }
    }

    func testArgmax() {
        let x = sample345()
        let v = [Double](x)
        XCTAssertEqual(argmax(x), v.firstIndex(of: v.max()!)!)
        for d in 0..<3 {
            let a = argmax(x, dims: d)
            let shape = [3, 4, 5]
            XCTAssertEqual(a.count, 60 / shape[d], "argmax dims \(d)")
            let outShape = shape.indices.map { $0 == d ? 1 : shape[$0] }
            for o in a.indices {
                var idx = multiIndex(o, outShape)
                var best = 0, bestValue = -Double.infinity
                for k in 0..<shape[d] {
                    idx[d] = k
                    let value = v[linearPosition(idx, shape)]
                    if value > bestValue { best = k; bestValue = value }
                }
                XCTAssertEqual(a[o], best, "argmax dims \(d) slice \(o)")
            }
        }
        // ties pick the first; columns of class scores
        XCTAssertEqual(argmax(Tensor([1, 3, 3, 0])), 1)
        let scores = Tensor([0.1, 0.7, 0.2, 0.5, 0.4, 0.1], shape: [3, 2])
        XCTAssertEqual(argmax(scores, dims: 0), [1, 0])
        XCTAssertEqual(argmax(scores, dims: 1), [1, 0, 0])
        assertKnetError("argmax", "3") { _ = argmax(Tensor.zeros(2, 2), dims: 3) }
    }

    func testGradcheckOverAllAndEachDim() {
        // values away from 0 (prod divides by x, sumabs has a kink at 0), all distinct (max/min ties)
        let base = [Double](uniform64([60], 0.5, 1.5))
        let signs = (0..<60).map { Double($0 % 3 == 0 ? -1 : 1) }
        let x = Tensor(zip(base, signs).map { $0 * $1 }, shape: [3, 4, 5], dtype: .float64)
        for spec in specs where spec.differentiable {
            XCTAssertTrue(gradcheck({ (x: Tensor) in spec.all(x) }, x, samples: 20), "\(spec.name) over all")
            for d in dimSets {
                let c = Tensor.randn(shape: spec.dims(x, d).shape, dtype: .float64)
                XCTAssertTrue(gradcheck({ (x: Tensor, c: Tensor) in sum(spec.dims(x, d) .* c) }, x, c, samples: 20),
                              "\(spec.name) dims \(d)")
            }
        }
        for p in [1.0, 2, .infinity, 3] {
            XCTAssertTrue(gradcheck({ (x: Tensor) in norm(x, p) }, x, samples: 30), "norm p=\(p)")
        }
    }

    func testProdGradientWithZeros() {
        // d/dx_i prod(x) = prod of the other entries: well defined when some x_j is 0
        let x = Tensor([0, 2, 3], dtype: .float64)
        let g = grad { (x: Tensor) in prod(x) }
        let d = [Double](g(x))
        XCTAssertTrue(d.allSatisfy { $0.isFinite }, "prod gradient at a zero entry is \(d)")
        XCTAssertEqual(d, [6, 0, 0])
        let gd = grad { (x: Tensor) in sum(prod(x, dims: 0)) }
        let m = Tensor([0, 5, 2, 3], shape: [2, 2], dtype: .float64)
        assertValues(gd(m), [5, 0, 3, 2], atol: 0)
    }

    func testMaximumGradientGoesToTheMaximum() {
        let x = Tensor([1, 5, 2, 7, 3, 0], shape: [2, 3], dtype: .float64)
        let g = grad { (x: Tensor) in sum(maximum(x, dims: 0)) }
        assertValues(g(x), [0, 1, 0, 1, 1, 0], shape: [2, 3], atol: 0)
        let gm = grad { (x: Tensor) in minimum(x) }
        assertValues(gm(x), [0, 0, 0, 0, 0, 1], atol: 0)
        let gs = grad { (x: Tensor) in mean(x) }
        assertValues(gs(x), [Double](repeating: 1.0 / 6, count: 6))
    }

    /// A naive reduction of a rank ≤ 3 array by nested loops (fast enough for millions).
    private func naiveReduce3(_ v: [Double], _ shape: [Int], _ dims: [Int], _ initial: Double,
                              _ combine: (Double, Double) -> Double) -> [Double] {
        let n = (0..<3).map { $0 < shape.count ? shape[$0] : 1 }
        let o = (0..<3).map { dims.contains($0) ? 1 : n[$0] }
        var out = [Double](repeating: initial, count: o[0] * o[1] * o[2])
        v.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { q in
                for k in 0..<n[2] {
                    let kk = o[2] == 1 ? 0 : k
                    for j in 0..<n[1] {
                        let jj = o[1] == 1 ? 0 : j
                        let base = n[0] * (j + n[1] * k), obase = o[0] * (jj + o[1] * kk)
                        if o[0] == 1 {
                            var acc = q[obase]
                            for i in 0..<n[0] { acc = combine(acc, p[base + i]) }
                            q[obase] = acc
                        } else {
                            for i in 0..<n[0] { q[obase + i] = combine(q[obase + i], p[base + i]) }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Sums and maxima of a big tensor vs a naive Double loop: the multi-threaded paths.
    private func checkLarge(_ shape: [Int], _ dims: [Int], dtype: DType) {
        let x = Tensor.rand(shape: shape, dtype: dtype)
        let v = [Double](x)
        let outShape = shape.indices.map { dims.contains($0) ? 1 : shape[$0] }
        let s = sum(x, dims: dims)
        XCTAssertEqual(s.shape, outShape)
        let expected = naiveReduce3(v, shape, dims, 0, +)
        let tol = dtype == .float32 ? 1e-4 : 1e-10
        let sv = [Double](s)
        XCTAssertEqual(sv.count, expected.count)
        var worst = 0.0
        for i in sv.indices {
            let err = Swift.abs(sv[i] - expected[i]) / Swift.max(1, Swift.abs(expected[i]))
            worst = err.isNaN ? .infinity : Swift.max(worst, err)
        }
        XCTAssertLessThan(worst, tol, "sum over \(dims) of \(shape)")
        let m = [Double](maximum(x, dims: dims))
        XCTAssertEqual(m, naiveReduce3(v, shape, dims, -.infinity) { Swift.max($0, $1) }, "maximum over \(dims) of \(shape)")
    }

    func testLargeReduceFirstDim() {
        checkLarge([1000, 3000], [0], dtype: .float32)   // kept outermost dim: split over threads
    }

    func testLargeReduceLastDim() {
        checkLarge([1000, 3000], [1], dtype: .float32)   // reduced outermost dim: per-thread partials
    }

    func testLargeReduceMiddleAndOuterDims() {
        checkLarge([100, 300, 100], [1], dtype: .float64)      // kept outermost, reduced middle
        checkLarge([100, 300, 100], [0, 2], dtype: .float64)   // reduced outermost and innermost
    }

    func testLargeReduceAll() {
        let n = 3_000_000
        let x = Tensor.rand(shape: [n], dtype: .float32)
        let v = [Double](x)
        var s = 0.0, m = -Double.infinity, mn = Double.infinity
        for e in v { s += e; m = Swift.max(m, e); mn = Swift.min(mn, e) }
        XCTAssertEqual(sum(x).scalar, s, accuracy: 1e-4 * s)
        XCTAssertEqual(maximum(x).scalar, m)
        XCTAssertEqual(minimum(x).scalar, mn)
        XCTAssertEqual(mean(reshape(x, 3000, 1000)).scalar, s / Double(n), accuracy: 1e-4)
        let y = Tensor.ones(n, dtype: .float64)
        XCTAssertEqual(sum(y).scalar, Double(n))
        XCTAssertEqual(prod(y).scalar, 1)
    }

    func testNaNPropagatesInMaximum() {
        let x = Tensor([1, .nan, 3], dtype: .float64)
        XCTAssertTrue(maximum(x).scalar.isNaN)
        XCTAssertTrue(minimum(x).scalar.isNaN)
        let big = Tensor((0..<40).map { $0 == 17 ? Double.nan : Double($0) }, dtype: .float64)
        XCTAssertTrue(maximum(big).scalar.isNaN, "NaN lost in the vectorised path")
        XCTAssertTrue(minimum(big).scalar.isNaN, "NaN lost in the vectorised path")
    }

    func testNonContiguousInputs() {
        let m = tensorFrom([3, 4]) { Double($0) }
        let t = transpose(m)                      // [4, 3] view
        assertValues(sum(t, dims: 0), [18, 22, 26], shape: [1, 3])
        assertValues(sum(t, dims: 1), [3, 12, 21, 30], shape: [4, 1])
        assertValues(maximum(m[0..<2, 1..<4], dims: 1), [9, 10], shape: [2, 1])
    }

    // MARK: - logsumexp / logp / softmax

    private func naiveLSE(_ v: [Double], _ shape: [Int], _ dims: [Int]) -> [Double] {
        let m = naiveReduce(v, shape, dims: dims, initial: -.infinity) { Swift.max($0, $1) }
        let outShape = shape.indices.map { dims.contains($0) ? 1 : shape[$0] }
        var s = [Double](repeating: 0, count: m.count)
        for i in v.indices {
            let idx = multiIndex(i, shape).enumerated().map { dims.contains($0.offset) ? 0 : $0.element }
            let o = linearPosition(idx, outShape)
            s[o] += Foundation.exp(v[i] - m[o])
        }
        return zip(s, m).map { Foundation.log($0) + $1 }
    }

    func testLogsumexpLogpSoftmaxStable() {
        for offset in [0.0, 1000, -1000] {
            let x = tensorFrom([3, 4]) { Double(($0 * 5) % 7) - 3 + offset }
            let v = [Double](x)
            for dims in [[0], [1], [0, 1]] {
                let lse = naiveLSE(v, [3, 4], dims)
                let shape = [3, 4].indices.map { dims.contains($0) ? 1 : [3, 4][$0] }
                assertValues(logsumexp(x, dims: dims), lse, shape: shape, rtol: 1e-12)
                let lp = logp(x, dims: dims)
                XCTAssertEqual(lp.shape, [3, 4])
                let expected = (0..<12).map { i -> Double in
                    let idx = multiIndex(i, [3, 4]).enumerated().map { dims.contains($0.offset) ? 0 : $0.element }
                    return v[i] - lse[linearPosition(idx, shape)]
                }
                assertValues(lp, expected, rtol: 1e-9, atol: 1e-9)
                assertValues(logsoftmax(x, dims: dims), expected, rtol: 1e-9, atol: 1e-9)
                let p = softmax(x, dims: dims)
                XCTAssertTrue([Double](p).allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 }, "offset \(offset)")
                assertValues(sum(p, dims: dims), [Double](repeating: 1, count: lse.count), rtol: 1e-12)
                assertValues(p, expected.map { Foundation.exp($0) }, rtol: 1e-9, atol: 1e-12)
            }
            // default: over all elements
            let all = naiveLSE(v, [3, 4], [0, 1])[0]
            XCTAssertEqual(logsumexp(x).count, 1)
            XCTAssertEqual([Double](logsumexp(x))[0], all, accuracy: 1e-9 * Swift.max(1, Swift.abs(all)))
            XCTAssertEqual(sum(softmax(x)).scalar, 1, accuracy: 1e-12)
            XCTAssertEqual(sum(exp(logp(x))).scalar, 1, accuracy: 1e-12)
        }
        // Float32 at ±1000 stays finite
        let x32 = Tensor([1000, 999, -1000, 0], shape: [2, 2])
        let p = [Double](softmax(x32, dims: [0]))
        XCTAssertTrue(p.allSatisfy { $0.isFinite }, "\(p)")
        // (Float32 resolves 1000 + log(1 + e⁻¹) only to ~3e-5, so exp(logp) is that accurate)
        XCTAssertEqual(p[0], 1 / (1 + Foundation.exp(-1.0)), accuracy: 1e-4)
        XCTAssertEqual(p[2], 0, accuracy: 1e-6)
        XCTAssertEqual(p[3], 1, accuracy: 1e-6)
        XCTAssertEqual([Double](logsumexp(x32, dims: [0]))[0], 1000 + Foundation.log(1 + Foundation.exp(-1.0)), accuracy: 1e-3)
    }

    func testSoftmaxFamilyGradchecks() {
        let x = rand64(3, 4)
        for dims in [[0], [1], [0, 1]] as [[Int]] {
            let c = rand64(3, 4)
            XCTAssertTrue(gradcheck({ (x: Tensor, c: Tensor) in sum(logsumexp(x, dims: dims) .* sum(c, dims: dims)) }, x, c),
                          "logsumexp \(dims)")
            XCTAssertTrue(gradcheck({ (x: Tensor, c: Tensor) in sum(logp(x, dims: dims) .* c) }, x, c), "logp \(dims)")
            XCTAssertTrue(gradcheck({ (x: Tensor, c: Tensor) in sum(softmax(x, dims: dims) .* c) }, x, c), "softmax \(dims)")
        }
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(logsumexp(x)) }, x))
        // at ±1000 the gradient of logsumexp is the (finite) softmax
        let big = Tensor([1000, 999, -1000, 0], shape: [2, 2], dtype: .float64)
        let g = grad { (x: Tensor) in sum(logsumexp(x, dims: [0])) }
        assertClose(g(big), softmax(big, dims: [0]), rtol: 1e-10, atol: 1e-12)
        // second order through logp
        let gl = grad { (x: Tensor, c: Tensor) in sum(logp(x, dims: [0]) .* c) }
        let c = rand64(3, 4), e = rand64(3, 4)
        XCTAssertTrue(gradcheck({ (x: Tensor, c: Tensor, e: Tensor) in sum(gl(x, c) .* e) }, x, c, e))
    }

    func testNegativeDimsError() {
        assertKnetError("sum", "negative") { _ = sum(Tensor.zeros(2, 2), dims: -1) }
    }
}
