import XCTest
import Foundation
@testable import Knet

/// Where each function of the elementwise table is smooth and defined.
private struct Domain {
    var lo: Double
    var hi: Double
    /// Sample ±[lo, hi] (both signs, never near 0).
    var symmetric = false
    /// Fixed sample points (used for the step functions, away from integers and halves).
    var points: [Double]? = nil
}

private let stepPoints: [Double] = [-2.7, -2.3, -1.6, -1.2, -0.8, -0.3, 0.2, 0.35, 0.7, 1.15, 1.85, 2.4]

private func domain(_ op: UnaryOp) -> Domain {
    switch op {
    case .acosh: return Domain(lo: 1.2, hi: 3)
    case .acos, .asin, .atanh, .erfinv: return Domain(lo: -0.9, hi: 0.9)
    case .log, .log10, .log2, .sqrt: return Domain(lo: 0.2, hi: 3)
    case .cbrt: return Domain(lo: 0.2, hi: 3, symmetric: true)
    case .log1p: return Domain(lo: -0.5, hi: 2)
    case .invx: return Domain(lo: 0.3, hi: 2, symmetric: true)
    case .abs, .relu, .elu, .selu, .sign: return Domain(lo: 0.1, hi: 2, symmetric: true)
    case .ceil, .floor, .round, .trunc: return Domain(lo: -3, hi: 3, points: stepPoints)
    case .tan: return Domain(lo: -1.2, hi: 1.2)
    default: return Domain(lo: -2, hi: 2)
    }
}

/// The functions whose derivative is zero almost everywhere.
private let zeroGradientOps: Set<UnaryOp> = [.ceil, .floor, .round, .sign, .trunc]

/// Inverse error function by bisection on Foundation's `erf` (reference only).
private func erfinvReference(_ v: Double) -> Double {
    if v == 1 { return .infinity }
    if v == -1 { return -.infinity }
    var lo = -7.0, hi = 7.0
    for _ in 0..<200 {
        let mid = (lo + hi) / 2
        if Foundation.erf(mid) < v { lo = mid } else { hi = mid }
    }
    return (lo + hi) / 2
}

private let seluLambda = 1.0507009873554804934193349852946
private let seluAlpha = 1.6732632423543772848170429916717

/// The scalar reference of each op, from Glibc/Foundation (nil: no reference yet, a test failure).
private func reference(_ op: UnaryOp) -> ((Double) -> Double)? {
    switch op {
    case .abs: return { Swift.abs($0) }
    case .abs2: return { $0 * $0 }
    case .acos: return { Foundation.acos($0) }
    case .acosh: return { Foundation.acosh($0) }
    case .asin: return { Foundation.asin($0) }
    case .asinh: return { Foundation.asinh($0) }
    case .atan: return { Foundation.atan($0) }
    case .atanh: return { Foundation.atanh($0) }
    case .cbrt: return { Foundation.cbrt($0) }
    case .ceil: return { Foundation.ceil($0) }
    case .cos: return { Foundation.cos($0) }
    case .cosh: return { Foundation.cosh($0) }
    case .cospi: return { Foundation.cos(Double.pi * $0) }
    case .erf: return { Foundation.erf($0) }
    case .erfc: return { Foundation.erfc($0) }
    case .erfinv: return { erfinvReference($0) }
    case .exp: return { Foundation.exp($0) }
    case .exp10: return { Foundation.pow(10, $0) }
    case .exp2: return { Foundation.exp2($0) }
    case .expm1: return { Foundation.expm1($0) }
    case .floor: return { Foundation.floor($0) }
    case .log: return { Foundation.log($0) }
    case .log10: return { Foundation.log10($0) }
    case .log1p: return { Foundation.log1p($0) }
    case .log2: return { Foundation.log2($0) }
    case .round: return { Foundation.rint($0) }
    case .sign: return { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
    case .sin: return { Foundation.sin($0) }
    case .sinh: return { Foundation.sinh($0) }
    case .sinpi: return { Foundation.sin(Double.pi * $0) }
    case .sqrt: return { Foundation.sqrt($0) }
    case .tan: return { Foundation.tan($0) }
    case .tanh: return { Foundation.tanh($0) }
    case .trunc: return { Foundation.trunc($0) }
    case .relu: return { Swift.max($0, 0) }
    case .sigm: return { 1 / (1 + Foundation.exp(-$0)) }
    case .invx: return { 1 / $0 }
    case .elu: return { $0 > 0 ? $0 : Foundation.expm1($0) }
    case .selu: return { $0 > 0 ? seluLambda * $0 : seluLambda * seluAlpha * Foundation.expm1($0) }
    case .gelu: return { x in
        let u = (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + Foundation.tanh(u))
    }
    case .softplus: return { Foundation.log1p(Foundation.exp($0)) }
    case .neg: return { -$0 }
    }
}

/// The public named function of each op.
private func namedFunction(_ op: UnaryOp) -> ((Tensor) -> Tensor)? {
    switch op {
    case .abs: return Knet.abs
    case .abs2: return Knet.abs2
    case .acos: return Knet.acos
    case .acosh: return Knet.acosh
    case .asin: return Knet.asin
    case .asinh: return Knet.asinh
    case .atan: return Knet.atan
    case .atanh: return Knet.atanh
    case .cbrt: return Knet.cbrt
    case .ceil: return Knet.ceil
    case .cos: return Knet.cos
    case .cosh: return Knet.cosh
    case .cospi: return Knet.cospi
    case .erf: return Knet.erf
    case .erfc: return Knet.erfc
    case .erfinv: return Knet.erfinv
    case .exp: return Knet.exp
    case .exp10: return Knet.exp10
    case .exp2: return Knet.exp2
    case .expm1: return Knet.expm1
    case .floor: return Knet.floor
    case .log: return Knet.log
    case .log10: return Knet.log10
    case .log1p: return Knet.log1p
    case .log2: return Knet.log2
    case .round: return Knet.round
    case .sign: return Knet.sign
    case .sin: return Knet.sin
    case .sinh: return Knet.sinh
    case .sinpi: return Knet.sinpi
    case .sqrt: return Knet.sqrt
    case .tan: return Knet.tan
    case .tanh: return Knet.tanh
    case .trunc: return Knet.trunc
    case .relu: return Knet.relu
    case .sigm: return Knet.sigm
    case .invx: return Knet.invx
    case .elu: return Knet.elu
    case .selu: return Knet.selu
    case .gelu: return Knet.gelu
    case .softplus: return Knet.softplus
    case .neg: return { -$0 }
    }
}

/// Inputs of `shape` inside `op`'s domain.
private func sample(_ op: UnaryOp, _ shape: [Int], dtype: DType = .float64) -> Tensor {
    let d = domain(op)
    let n = shape.reduce(1, *)
    let u = [Double](Tensor.rand(shape: [n], dtype: .float64))
    let values: [Double] = (0..<n).map { i in
        if let p = d.points { return p[i % p.count] }
        if d.symmetric { return (i % 2 == 0 ? 1 : -1) * (d.lo + (d.hi - d.lo) * u[i]) }
        return d.lo + (d.hi - d.lo) * u[i]
    }
    return Tensor(values, shape: shape, dtype: dtype)
}

final class ElementwiseTests: DeviceTestCase {
    override func setUp() { setseed(20240601) }

    func testEveryOpHasReferenceAndNamedFunction() {
        XCTAssertGreaterThanOrEqual(UnaryOp.allCases.count, 42)
        for op in UnaryOp.allCases {
            XCTAssertNotNil(reference(op), "no scalar reference for \(op.name)")
            XCTAssertNotNil(namedFunction(op), "no named function for \(op.name)")
            XCTAssertFalse(op.cuda.isEmpty, "no CUDA expression for \(op.name)")
            XCTAssertEqual(op.name, "\(op)")
        }
    }

    func testValuesFloat64AgainstGlibc() {
        for op in UnaryOp.allCases {
            guard let ref = reference(op) else { XCTFail("no reference for \(op)"); continue }
            let x = sample(op, [3, 4])
            let y = elementwise(op, x)
            XCTAssertEqual(y.shape, [3, 4], "\(op)")
            XCTAssertEqual(y.dtype, .float64, "\(op)")
            let xv = [Double](x), yv = [Double](y)
            for i in xv.indices {
                let e = ref(xv[i])
                XCTAssertEqual(yv[i], e, accuracy: 1e-12 + 1e-10 * Swift.abs(e), "\(op.name)(\(xv[i]))")
            }
        }
    }

    func testValuesFloat32AgainstGlibc() {
        for op in UnaryOp.allCases {
            guard let ref = reference(op) else { XCTFail("no reference for \(op)"); continue }
            let x = sample(op, [2, 5], dtype: .float32)
            let y = elementwise(op, x)
            XCTAssertEqual(y.shape, [2, 5], "\(op)")
            XCTAssertEqual(y.dtype, .float32, "\(op)")
            let xv = [Float](x), yv = [Float](y)
            for i in xv.indices {
                let e = ref(Double(xv[i]))   // reference on the Float input, in Double
                XCTAssertEqual(Double(yv[i]), e, accuracy: 1e-5 + 1e-5 * Swift.abs(e), "\(op.name)(\(xv[i])) Float32")
            }
        }
    }

    func testNamedFunctionsMatchTable() {
        for op in UnaryOp.allCases {
            guard let f = namedFunction(op) else { XCTFail("no named function for \(op)"); continue }
            for dtype in [DType.float32, .float64] {
                let x = sample(op, [7], dtype: dtype)
                let a = f(x), b = elementwise(op, x)
                XCTAssertEqual(a.dtype, dtype)
                XCTAssertEqual([Double](a), [Double](b), "\(op.name) \(dtype)")
            }
        }
    }

    func testGradcheckEveryOp() {
        for op in UnaryOp.allCases where !zeroGradientOps.contains(op) {
            let x = sample(op, [3, 4]), c = rand64(3, 4)
            let ok = gradcheck({ (x: Tensor, c: Tensor) in sum(elementwise(op, x) .* c) }, x, c, samples: 12)
            XCTAssertTrue(ok, "gradcheck failed for \(op.name)")
        }
    }

    func testZeroGradientOpsGiveExactZeros() {
        for op in UnaryOp.allCases where zeroGradientOps.contains(op) {
            let x = sample(op, [3, 4])
            let g = grad { (x: Tensor) in sum(elementwise(op, x) .* x) }
            // d/dx sum(f(x) .* x) = f(x) when f' = 0: the chain through f contributes exactly 0.
            let dx = g(x)
            XCTAssertEqual(dx.shape, [3, 4])
            XCTAssertEqual([Double](dx), [Double](elementwise(op, x)), "\(op.name)")
            let g0 = grad { (x: Tensor) in sum(elementwise(op, x)) }
            let d0 = g0(x)
            XCTAssertEqual(d0.shape, [3, 4], "\(op.name)")
            XCTAssertTrue([Double](d0).allSatisfy { $0 == 0 }, "\(op.name) gradient not exactly zero")
            XCTAssertTrue(gradcheck({ (x: Tensor) in sum(elementwise(op, x)) }, x, samples: 12), "\(op.name)")
        }
    }

    func testSecondDerivativesEveryOp() {
        for op in UnaryOp.allCases where !zeroGradientOps.contains(op) {
            let x = sample(op, [2, 3]), c = rand64(2, 3), e = rand64(2, 3)
            let g = grad { (x: Tensor, c: Tensor) in sum(elementwise(op, x) .* c) }
            let ok = gradcheck({ (x: Tensor, c: Tensor, e: Tensor) in sum(g(x, c) .* e) }, x, c, e, samples: 6)
            XCTAssertTrue(ok, "second-order gradcheck failed for \(op.name)")
        }
    }

    func testSpecialValues() {
        for dtype in [DType.float32, .float64] {
            assertValues(relu(Tensor([-1, 0, 2], dtype: dtype)), [0, 0, 2])
            assertValues(exp(Tensor([0, 1], dtype: dtype)), [1, M_E])
            assertValues(log(Tensor([1, M_E], dtype: dtype)), [0, 1])
            assertValues(sign(Tensor([-3, 0, 2], dtype: dtype)), [-1, 0, 1])
            assertValues(cbrt(Tensor([-8, 27], dtype: dtype)), [-2, 3])
            assertValues(abs2(Tensor([-3, 2], dtype: dtype)), [9, 4])
            assertValues(-Tensor([1, -2], dtype: dtype), [-1, 2])
            assertValues(invx(Tensor([4, -0.5], dtype: dtype)), [0.25, -2])
            assertValues(sigm(Tensor([0], dtype: dtype)), [0.5])
            // gelu is the tanh approximation: 0.8411920 at 1 (the exact erf form gives 0.8413447)
            assertValues(gelu(Tensor([1, -1, 0], dtype: dtype)), [0.8411919906082768, -0.15880800939172324, 0], rtol: 1e-6)
            assertValues(selu(Tensor([1, -1], dtype: dtype)), [1.0507009873554805, -1.1113307378125628], rtol: 1e-6)
            assertValues(elu(Tensor([2, -1], dtype: dtype)), [2, -0.6321205588285577], rtol: 1e-6)
            // round ties to even
            assertValues(round(Tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.4999], dtype: dtype)), [0, 2, 2, 0, -2, -2, 0], atol: 0)
            assertValues(trunc(Tensor([-1.7, 1.7], dtype: dtype)), [-1, 1], atol: 0)
            assertValues(floor(Tensor([-1.5, 1.5], dtype: dtype)), [-2, 1], atol: 0)
            assertValues(ceil(Tensor([-1.5, 1.5], dtype: dtype)), [-1, 2], atol: 0)
        }
    }

    func testSinpiCospiExact() {
        for dtype in [DType.float32, .float64] {
            let s = [Double](sinpi(Tensor([1, 2, -1, 0, 0.5, -0.5, 1.5, 3], dtype: dtype)))
            XCTAssertEqual(s[0], 0, "sinpi(1) must be exactly 0 (\(dtype))")
            XCTAssertEqual(s[1], 0); XCTAssertEqual(s[2], 0); XCTAssertEqual(s[3], 0)
            XCTAssertEqual(s[4], 1); XCTAssertEqual(s[5], -1); XCTAssertEqual(s[6], -1); XCTAssertEqual(s[7], 0)
            let c = [Double](cospi(Tensor([0.5, 1, 0, 1.5, -1, 2], dtype: dtype)))
            XCTAssertEqual(c, [0, -1, 1, 0, -1, 1], "cospi exact at integers and halves (\(dtype))")
        }
    }

    func testSigmAndSoftplusStable() {
        for dtype in [DType.float32, .float64] {
            let s = [Double](sigm(Tensor([100, -100, 1000, -1000], dtype: dtype)))
            XCTAssertTrue(s.allSatisfy { $0.isFinite }, "sigm not finite: \(s) \(dtype)")
            XCTAssertEqual(s[0], 1, accuracy: 1e-7)
            XCTAssertEqual(s[1], 0, accuracy: 1e-40)
            XCTAssertGreaterThanOrEqual(s[1], 0)
            XCTAssertEqual(s[2], 1)
            XCTAssertEqual(s[3], 0)
            let p = [Double](softplus(Tensor([50, -50, 1000, -1000, 0], dtype: dtype)))
            XCTAssertTrue(p.allSatisfy { $0.isFinite }, "softplus not finite: \(p) \(dtype)")
            XCTAssertEqual(p[0], 50, accuracy: 1e-5)
            XCTAssertEqual(p[1], Foundation.exp(-50.0), accuracy: 1e-6 * Foundation.exp(-50.0))
            XCTAssertEqual(p[2], 1000, accuracy: 1e-3)
            XCTAssertEqual(p[3], 0, accuracy: 1e-300)
            XCTAssertEqual(p[4], Foundation.log(2.0), accuracy: 1e-6)
            // gradients stay finite at the extremes too
            let g = grad { (x: Tensor) in sum(sigm(x) .+ softplus(x)) }
            let d = [Double](g(Tensor([100, -100, 50, -50], dtype: .float64)))
            XCTAssertTrue(d.allSatisfy { $0.isFinite }, "\(d)")
            XCTAssertEqual(d[0], 1, accuracy: 1e-12)
            XCTAssertEqual(d[1], 0, accuracy: 1e-12)
        }
    }

    func testErfinvInvertsErf() {
        let x = Tensor(stride(from: -2.5, through: 2.5, by: 0.25).map { $0 }, dtype: .float64)
        assertClose(erfinv(erf(x)), x, rtol: 1e-9, atol: 1e-10)
        let p = Tensor([-0.999, -0.5, 0, 0.3, 0.9999], dtype: .float64)
        assertClose(erf(erfinv(p)), p, rtol: 1e-12, atol: 1e-14)
        let e = [Double](erfinv(Tensor([1, -1, 0], dtype: .float64)))
        XCTAssertEqual(e[0], .infinity)
        XCTAssertEqual(e[1], -.infinity)
        XCTAssertEqual(e[2], 0)
        let x32 = Tensor([-1.5, -0.2, 0.7, 1.9])
        assertClose(erfinv(erf(x32)), x32, rtol: 1e-4, atol: 1e-5)
    }

    func testLargeInputsUseEveryElement() {
        // above the parallel thresholds (16 Ki elements for costly ops, 256 Ki for cheap ones)
        let n = 300_000
        let x = tensorFrom([n], dtype: .float32) { Double($0 % 1000) / 250 - 2 }
        let t = [Float](tanh(x)), r = [Float](relu(x)), xv = [Float](x)
        for i in Array(Swift.stride(from: 0, to: n, by: 997)) + [n - 1] {
            XCTAssertEqual(t[i], Foundation.tanh(xv[i]), accuracy: 1e-6, "tanh at \(i)")
            XCTAssertEqual(r[i], Swift.max(xv[i], 0), "relu at \(i)")
        }
        XCTAssertEqual(t.count, n)
    }

    func testNonContiguousInput() {
        let m = tensorFrom([3, 4]) { Double($0) / 10 }
        let t = transpose(m)                          // a strided view
        let y = exp(t)
        XCTAssertEqual(y.shape, [4, 3])
        let mv = [Double](m)
        for i in 0..<4 { for j in 0..<3 {
            XCTAssertEqual([Double](y)[i + 4 * j], Foundation.exp(mv[j + 3 * i]), accuracy: 1e-12)
        } }
    }

    func testZeroDimensionalAndEmpty() {
        let s = exp(Tensor(scalar: 0, dtype: .float64))
        XCTAssertEqual(s.shape, [])
        XCTAssertEqual(s.scalar, 1)
        // Empty tensors: run in a child process, since a runtime trap would kill the suite.
        assertNoCrash("Tensor.zeros(0, 3)") { _ = Tensor.zeros(0, 3) }
        assertNoCrash("tanh of an empty tensor") {
            let e = tanh(Tensor([Double](), shape: [0, 3]))
            if e.shape != [0, 3] || e.count != 0 { exit(3) }
        }
    }

    func testHigherOrderThroughNamedFunctions() {
        // d²/dx² of sum(gelu(x)) against finite differences of the first derivative
        let g = grad { (x: Tensor) in sum(gelu(x)) }
        let x = Tensor([-1.3, 0.4, 2.2], dtype: .float64)
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(g(x)) }, x))
    }
}
