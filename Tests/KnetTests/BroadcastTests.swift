import XCTest
import Foundation
@testable import Knet

/// One broadcasting binary function: its name, the Knet operator and a scalar reference.
private struct BinarySpec {
    let name: String
    let op: (Tensor, Tensor) -> Tensor
    let ref: (Double, Double) -> Double
}

private let arithmetic: [BinarySpec] = [
    BinarySpec(name: ".+", op: { $0 .+ $1 }, ref: { $0 + $1 }),
    BinarySpec(name: ".-", op: { $0 .- $1 }, ref: { $0 - $1 }),
    BinarySpec(name: ".*", op: { $0 .* $1 }, ref: { $0 * $1 }),
    BinarySpec(name: "./", op: { $0 ./ $1 }, ref: { $0 / $1 }),
    BinarySpec(name: ".^", op: { tpow($0, $1) }, ref: { Foundation.pow($0, $1) }),
    BinarySpec(name: "max", op: { Knet.max($0, $1) }, ref: { Swift.max($0, $1) }),
    BinarySpec(name: "min", op: { Knet.min($0, $1) }, ref: { Swift.min($0, $1) }),
    BinarySpec(name: "reluback", op: { elementwise(.reluback, $0, $1) }, ref: { $1 > 0 ? $0 : 0 }),
    BinarySpec(name: "sigmback", op: { elementwise(.sigmback, $0, $1) }, ref: { $0 * $1 * (1 - $1) }),
    BinarySpec(name: "tanhback", op: { elementwise(.tanhback, $0, $1) }, ref: { $0 * (1 - $1 * $1) }),
]

private let comparisons: [BinarySpec] = [
    BinarySpec(name: ".<", op: { $0 .< $1 }, ref: { $0 < $1 ? 1 : 0 }),
    BinarySpec(name: ".<=", op: { $0 .<= $1 }, ref: { $0 <= $1 ? 1 : 0 }),
    BinarySpec(name: ".==", op: { $0 .== $1 }, ref: { $0 == $1 ? 1 : 0 }),
    BinarySpec(name: ".!=", op: { $0 .!= $1 }, ref: { $0 != $1 ? 1 : 0 }),
    BinarySpec(name: ".>", op: { $0 .> $1 }, ref: { $0 > $1 ? 1 : 0 }),
    BinarySpec(name: ".>=", op: { $0 .>= $1 }, ref: { $0 >= $1 ? 1 : 0 }),
]

/// Broadcast directions: (a shape, b shape, result shape); each is also tried swapped.
/// Both CPU paths: cuts into blocks (`BlockBroadcast`: [3, 1], [1, 4], [3], scalars and the
/// 3-D [1, 3, 4], [2, 1, 1], [1, 1, 4], [2, 3]) and the strided layout ([3, 1, 5] against
/// [1, 4, 1], [2, 1, 4]).
private let directions: [([Int], [Int], [Int])] = [
    ([2, 3, 4], [1, 3, 4], [2, 3, 4]),
    ([2, 3, 4], [2, 1, 1], [2, 3, 4]),
    ([2, 3, 4], [1, 1, 4], [2, 3, 4]),
    ([2, 3, 4], [2, 1, 4], [2, 3, 4]),
    ([3, 4], [3, 1], [3, 4]),
    ([3, 4], [1, 4], [3, 4]),
    ([3, 4], [3], [3, 4]),
    ([3, 4], [], [3, 4]),
    ([3, 1, 5], [1, 4, 1], [3, 4, 5]),
    ([2, 3], [2, 3, 4], [2, 3, 4]),
    ([3, 4], [3, 4], [3, 4]),
]

/// Julia-style broadcast of column-major values, computed naively.
private func naiveBroadcast(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int], _ out: [Int],
                            _ f: (Double, Double) -> Double) -> [Double] {
    (0..<out.reduce(1, *)).map { i in
        let idx = multiIndex(i, out)
        let ia = sa.indices.map { sa[$0] == 1 ? 0 : idx[$0] }
        let ib = sb.indices.map { sb[$0] == 1 ? 0 : idx[$0] }
        return f(a[linearPosition(ia, sa)], b[linearPosition(ib, sb)])
    }
}

final class BroadcastTests: DeviceTestCase {
    override func setUp() { setseed(7) }

    /// The fused activation gradients by hand, on outputs of both signs: relu's passes
    /// the gradient only where its output is positive (and NaN outputs give 0).
    func testActivationGradientRowsByHand() {
        let dy = Tensor([1, 2, 3, 4, 5], dtype: .float64), y = Tensor([-1, 0, 2, .nan, 0.5], dtype: .float64)
        assertValues(elementwise(.reluback, dy, y), [0, 0, 3, 0, 5])
        let s = Tensor([0.25, 0.5, 0.75, 0.5, 0.1], dtype: .float64)
        assertValues(elementwise(.sigmback, dy, s), [0.1875, 0.5, 0.5625, 1, 0.45], rtol: 1e-12)
        let t = Tensor([-0.5, 0, 0.5, 0.9, 1], dtype: .float64)
        assertValues(elementwise(.tanhback, dy, t), [0.75, 2, 2.25, 0.76, 0], rtol: 1e-12)
    }

    /// Powers follow C's `pow` (as CUDA and PyTorch do) at the IEEE 754 special cases,
    /// in both dtypes; integer exponents of negative bases stay exact.
    func testPowerSpecialCases() {
        let cases: [(Double, Double, Double)] = [
            (-2, .infinity, .infinity), (-2, -.infinity, 0), (-0.5, .infinity, 0), (-1, .infinity, 1),
            (-1, -.infinity, 1), (1, .nan, 1), (.nan, 0, 1), (-.infinity, 0.5, .infinity),
            (-.infinity, -0.5, 0), (-.infinity, 3, -.infinity), (-8, 1.0 / 3, .nan), (-2, 3, -8), (-2, -2, 0.25),
            (0, -1, .infinity), (4, 0.5, 2), (-0.0, 0.5, 0), (.infinity, 0.5, .infinity),
        ]
        for dtype in [DType.float32, .float64] {
            let x = Tensor(cases.map { $0.0 }, shape: [cases.count], dtype: dtype)
            let y = Tensor(cases.map { $0.1 }, shape: [cases.count], dtype: dtype)
            let z = [Double](x ** y)
            for (k, c) in cases.enumerated() {
                XCTAssertTrue(z[k].bitPattern == c.2.bitPattern || (z[k].isNaN && c.2.isNaN),   // the sign of zero too
                              "\(dtype) \(c.0) ^ \(c.1) = \(z[k]), expected \(c.2)")
            }
        }
    }

    func testArithmeticByHand() {
        for dtype in [DType.float32, .float64] {
            let a = Tensor([1, 2, 3, 4], shape: [2, 2], dtype: dtype)
            let b = Tensor([4, 3, 2, 1], shape: [2, 2], dtype: dtype)
            assertValues(a .+ b, [5, 5, 5, 5], shape: [2, 2])
            assertValues(a .- b, [-3, -1, 1, 3], shape: [2, 2])
            assertValues(a .* b, [4, 6, 6, 4], shape: [2, 2])
            assertValues(a ./ b, [0.25, 2.0 / 3, 1.5, 4], shape: [2, 2])
            assertValues(tpow(a, b), [1, 8, 9, 4], shape: [2, 2])
            assertValues(Knet.max(a, b), [4, 3, 3, 4], shape: [2, 2])
            assertValues(Knet.min(a, b), [1, 2, 2, 1], shape: [2, 2])
            assertValues(a + b, [5, 5, 5, 5], shape: [2, 2])
            assertValues(a - b, [-3, -1, 1, 3], shape: [2, 2])
            XCTAssertEqual((a .+ b).dtype, dtype)
            // scalars on either side
            assertValues(a .+ 1, [2, 3, 4, 5]); assertValues(1 .+ a, [2, 3, 4, 5])
            assertValues(a .- 1, [0, 1, 2, 3]); assertValues(10 .- a, [9, 8, 7, 6])
            assertValues(a .* 2, [2, 4, 6, 8]); assertValues(2 .* a, [2, 4, 6, 8])
            assertValues(a ./ 2, [0.5, 1, 1.5, 2]); assertValues(12 ./ a, [12, 6, 4, 3])
            assertValues(tpow(a, 2), [1, 4, 9, 16]); assertValues(tpow(2, a), [2, 4, 8, 16])
            assertValues(tpow(a, 0.5), [1, 2.0.squareRoot(), 3.0.squareRoot(), 2])
            assertValues(Knet.max(a, 2.5), [2.5, 2.5, 3, 4]); assertValues(Knet.max(2.5, a), [2.5, 2.5, 3, 4])
            assertValues(Knet.min(a, 2.5), [1, 2, 2.5, 2.5]); assertValues(Knet.min(2.5, a), [1, 2, 2.5, 2.5])
            assertValues(a * 3, [3, 6, 9, 12]); assertValues(3 * a, [3, 6, 9, 12])
            assertValues(a / 4, [0.25, 0.5, 0.75, 1]); assertValues(a + 1, [2, 3, 4, 5]); assertValues(a - 1, [0, 1, 2, 3])
            assertValues(-a, [-1, -2, -3, -4])
            // negative bases with integer powers are defined
            assertValues(tpow(Tensor([-2, -3], dtype: dtype), 3), [-8, -27])
            assertValues(tpow(Tensor([-2, 4], dtype: dtype), -1), [-0.5, 0.25])
        }
    }

    func testComparisonsByHand() {
        for dtype in [DType.float32, .float64] {
            let a = Tensor([1, 2, 3], dtype: dtype), b = Tensor([2, 2, 2], dtype: dtype)
            let lt = a .< b
            XCTAssertEqual(lt.dtype, dtype, "comparison results are in the input dtype")
            assertValues(lt, [1, 0, 0], shape: [3], atol: 0)
            assertValues(a .<= b, [1, 1, 0], atol: 0)
            assertValues(a .== b, [0, 1, 0], atol: 0)
            assertValues(a .!= b, [1, 0, 1], atol: 0)
            assertValues(a .> b, [0, 0, 1], atol: 0)
            assertValues(a .>= b, [0, 1, 1], atol: 0)
            assertValues(a .< 2, [1, 0, 0], atol: 0)
            assertValues(a .<= 2, [1, 1, 0], atol: 0)
            assertValues(a .== 2, [0, 1, 0], atol: 0)
            assertValues(a .!= 2, [1, 0, 1], atol: 0)
            assertValues(a .> 2, [0, 0, 1], atol: 0)
            assertValues(a .>= 2, [0, 1, 1], atol: 0)
        }
    }

    func testNaNPropagatesThroughMaxMin() {
        let a = Tensor([Double.nan, 1], dtype: .float64), b = Tensor([1, Double.nan], dtype: .float64)
        XCTAssertTrue([Double](Knet.max(a, b)).allSatisfy { $0.isNaN })
        XCTAssertTrue([Double](Knet.min(a, b)).allSatisfy { $0.isNaN })
        assertValues(a .== a, [0, 1], atol: 0)
    }

    func testEveryDirectionAllOpsAgainstNaive() {
        for (sa, sb, out) in directions {
            for (x, y, swapped) in [(sa, sb, false), (sb, sa, true)] {
                // small integers: exact for every op (including .^) and with ties for comparisons
                let a = tensorFrom(x) { Double($0 % 3 + 1) }
                let b = tensorFrom(y) { Double(($0 * 2) % 3 + 1) }
                for spec in arithmetic + comparisons {
                    let z = spec.op(a, b)
                    let expected = naiveBroadcast([Double](a), x, [Double](b), y, out, spec.ref)
                    assertValues(z, expected, shape: out, rtol: 1e-12)
                    XCTAssertEqual(z.shape, out, "\(spec.name) \(x) with \(y) swapped=\(swapped)")
                }
            }
        }
    }

    func testEveryDirectionFloat32() {
        for (sa, sb, out) in directions {
            let a = Tensor.rand(shape: sa) .+ 0.5, b = Tensor.rand(shape: sb) .+ 0.5
            for spec in arithmetic {
                let z = spec.op(a, b)
                XCTAssertEqual(z.dtype, .float32)
                let expected = naiveBroadcast([Double](a), sa, [Double](b), sb, out, spec.ref)
                assertValues(z, expected, shape: out, rtol: 1e-5)
            }
        }
    }

    func testScalarsBroadcastOnEitherSide() {
        let x = tensorFrom([2, 3]) { Double($0) + 1 }
        let s = Tensor(scalar: 2, dtype: .float64)
        for spec in arithmetic {
            let xs = [Double](x)
            assertValues(spec.op(x, s), xs.map { spec.ref($0, 2) }, shape: [2, 3], rtol: 1e-12)
            assertValues(spec.op(s, x), xs.map { spec.ref(2, $0) }, shape: [2, 3], rtol: 1e-12)
        }
        let z = s .* s
        XCTAssertEqual(z.shape, [])
        XCTAssertEqual(z.scalar, 4)
    }

    func testGradcheckEveryDirection() {
        for (sa, sb, _) in directions {
            for (x, y) in [(sa, sb), (sb, sa)] {
                for spec in arithmetic {
                    // positive bases for .^ (its gradient uses log(a)), exponents of both signs
                    let a = uniform64(x, 0.5, 2)
                    let b = spec.name == ".^" ? uniform64(y, -1.5, 1.5) : uniform64(y, 0.5, 2)
                    let out = spec.op(a, b)
                    let c = Tensor.randn(shape: out.shape, dtype: .float64)
                    let f = { (w: [Tensor], c: Tensor) -> Tensor in sum(spec.op(w[0], w[1]) .* c) }
                    let g = grad(f)
                    let d = g([a, b], c)
                    XCTAssertEqual(d[0].shape, x, "\(spec.name) gradient of a \(x) with \(y)")
                    XCTAssertEqual(d[1].shape, y, "\(spec.name) gradient of b \(y) with \(x)")
                    XCTAssertTrue(gradcheck(f, [a, b], c), "\(spec.name) gradcheck \(x) with \(y)")
                }
            }
        }
    }

    func testGradientOfBroadcastIsSumOverStretchedDims() {
        let a = rand64(3, 4), b = rand64(3, 1)
        let g = grad { (w: [Tensor]) in sum(w[0] .+ w[1]) }
        let d = g([a, b])
        assertValues(d[0], [Double](repeating: 1, count: 12), shape: [3, 4])
        assertValues(d[1], [4, 4, 4], shape: [3, 1])
        let gm = grad { (w: [Tensor]) in sum(w[0] .* w[1]) }
        let dm = gm([a, b])
        assertClose(dm[1], sum(a, dims: 1))
        assertClose(dm[0], broadcast(b, to: [3, 4]))
    }

    func testScalarOperandGradients() {
        let x = Tensor([1, -2, 3], dtype: .float64)
        let fs: [(Tensor) -> Tensor] = [
            { $0 .+ 2 }, { 2 .+ $0 }, { $0 .- 2 }, { 2 .- $0 }, { $0 .* 3 }, { 3 .* $0 }, { $0 ./ 4 },
            { 4 ./ ($0 .+ 5) }, { tpow($0, 3) }, { tpow(2, $0) }, { $0 * 3 }, { 3 * $0 }, { $0 / 2 }, { $0 + 1 }, { $0 - 1 },
            { -$0 }, { Knet.max($0, 0.5) }, { Knet.min(0.5, $0) },
        ]
        for (k, f) in fs.enumerated() {
            XCTAssertTrue(gradcheck({ (x: Tensor) in sum(f(x) .* x) }, x), "scalar op #\(k)")
        }
    }

    func testComparisonsHaveZeroGradient() {
        let x = Tensor([-1, 2, 0.5], dtype: .float64), y = Tensor([0.3, 1, 1], dtype: .float64)
        let g = grad { (w: [Tensor]) in sum((w[0] .> w[1]) .+ (w[0] .<= 0) .+ (w[0] .== w[1])) }
        let d = g([x, y])
        assertValues(d[0], [0, 0, 0], shape: [3], atol: 0)
        assertValues(d[1], [0, 0, 0], shape: [3], atol: 0)
        // relu written with a mask: the mask is a constant
        let gr = grad { (x: Tensor) in sum(x .* (x .> 0)) }
        assertValues(gr(x), [0, 1, 1], atol: 0)
    }

    func testEqualShapeOperatorsRequireEqualShapes() {
        assertKnetError("+", "[3, 4]", "[3, 1]") { _ = Tensor.zeros(3, 4) + Tensor.zeros(3, 1) }
        assertKnetError("-", "[2]", "[2, 1]") { _ = Tensor.zeros(2) - Tensor.zeros(2, 1) }
        assertKnetError("+", "[]", "[1]") { _ = Tensor(scalar: 1) + Tensor.zeros(1) }
    }

    func testIncompatibleShapesNameOpAndShapes() {
        assertKnetError("add", "[3, 4]", "[2]") { _ = Tensor.zeros(3, 4) .+ Tensor.zeros(2) }
        assertKnetError("sub", "[3, 4]", "[4, 3]") { _ = Tensor.zeros(3, 4) .- Tensor.zeros(4, 3) }
        assertKnetError("mul", "[2, 3]", "[2, 4]") { _ = Tensor.zeros(2, 3) .* Tensor.zeros(2, 4) }
        assertKnetError("div", "[3]", "[4]") { _ = Tensor.zeros(3) ./ Tensor.zeros(4) }
        assertKnetError("pow", "[3]", "[2, 2]") { _ = tpow(Tensor.zeros(3), Tensor.zeros(2, 2)) }
        assertKnetError("max", "[3]", "[2]") { _ = Knet.max(Tensor.zeros(3), Tensor.zeros(2)) }
        assertKnetError("lt", "[3]", "[2]") { _ = Tensor.zeros(3) .< Tensor.zeros(2) }
        assertKnetError("add", "[2, 3, 4, 5]", "[2, 3, 5]") { _ = Tensor.zeros(2, 3, 4, 5) .+ Tensor.zeros(2, 3, 5) }
    }

    func testDtypeMismatch() {
        assertKnetError("dtype", "Float32", "Float64") { _ = Tensor.zeros(2) .+ Tensor.zeros(2, dtype: .float64) }
        assertKnetError("dtype", "Float32", "Float64") { _ = Tensor.zeros(2) + Tensor.zeros(2, dtype: .float64) }
        assertKnetError("mul", "dtype") { _ = Tensor.zeros(2, dtype: .float64) .* Tensor.zeros(2, 2) }
        // a Double scalar takes the tensor's dtype
        XCTAssertEqual((Tensor.zeros(2) .+ 1.5).dtype, .float32)
        XCTAssertEqual((1.5 .* Tensor.zeros(2, dtype: .float64)).dtype, .float64)
    }

    func testStridedOperands() {
        // transposes, slices and gathers as operands, against the same values copied
        let m = tensorFrom([4, 3]) { Double($0) + 1 }, n = tensorFrom([3, 4]) { Double($0 * 2) - 5 }
        let operands: [(Tensor, Tensor)] = [
            (transpose(m), n),
            (n, transpose(m)),
            (transpose(m), transpose(m)),
            (m[1..<4, .all], n[.all, 0..<3]),
            (m[.all, 1], n[0, .all]),
            (m[2, .all], n[.all, 3]),
            (transpose(m)[.all, 1..<3], n[0..<1, 2..<4]),
            (m[[3, 0, 0], .all], transpose(n)[1..<4, .all]),
        ]
        for (k, (a, b)) in operands.enumerated() {
            for spec in arithmetic + comparisons where spec.name != ".^" {
                let z = spec.op(a, b)
                let out = z.shape
                let expected = naiveBroadcast([Double](copy(a)), a.shape, [Double](copy(b)), b.shape, out, spec.ref)
                assertValues(z, expected, rtol: 1e-12)
                assertValues(spec.op(copy(a), copy(b)), expected, rtol: 1e-12)
                XCTAssertEqual(z.shape, spec.op(copy(a), copy(b)).shape, "\(spec.name) case \(k)")
            }
        }
        // gradients flow back through the views
        let x = rand64(4, 3)
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(transpose(x) .* x[0, .all] .+ reshape(x[.all, 1], 1, 4)) }, x))
    }

    func testLargeBroadcastUsesEveryElement() {
        // above the parallel threshold
        let a = tensorFrom([600, 500], dtype: .float32) { Double($0 % 7) }
        let b = tensorFrom([600], dtype: .float32) { Double($0 % 5) }
        let z = [Float](a .+ b), av = [Float](a), bv = [Float](b)
        XCTAssertEqual(z.count, 300_000)
        for i in Array(stride(from: 0, to: 300_000, by: 1013)) + [299_999] {
            XCTAssertEqual(z[i], av[i] + bv[i % 600], "at \(i)")
        }
        let r = [Float](Tensor.ones(1, 500) .* a)
        XCTAssertEqual(r, av)
    }
}
