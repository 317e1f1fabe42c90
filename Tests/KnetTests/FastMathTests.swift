import XCTest
import Foundation
@testable import Knet

/// The Float32 exp/tanh/sigm of the elementwise table (our own vectorisable polynomials
/// on the CPU, the device's math library on the GPU) against Double libm over their
/// whole range.
final class FastMathTests: DeviceTestCase {
    /// Relative error in units of Float's epsilon, with an absolute floor for tiny results.
    private func maxError(_ f: (Tensor) -> Tensor, _ reference: (Double) -> Double, _ xs: [Float]) -> (Double, Float) {
        let y = [Float](f(Tensor(xs)))
        var worst = 0.0, at: Float = 0
        for (x, v) in zip(xs, y) {
            let r = reference(Double(x))
            let err = Swift.abs(Double(v) - r) / Swift.max(Swift.abs(r), Double(Float.leastNormalMagnitude)) / Double(Float.ulpOfOne)
            if err > worst { worst = err; at = x }
        }
        return (worst, at)
    }

    func testFloatExpAccuracy() {
        let xs = stride(from: Float(-87), through: 88.7, by: 0.0137).map { $0 }
        let (err, at) = maxError(exp, Foundation.exp, xs)
        XCTAssertLessThan(err, 3, "exp worst at \(at)")
        let special = [Float](exp(Tensor([Float.infinity, -Float.infinity, 89, -105, 0, -100])))
        XCTAssertEqual(special[0], .infinity)
        XCTAssertEqual(special[1], 0)
        XCTAssertEqual(special[2], .infinity)
        XCTAssertEqual(special[3], 0)
        XCTAssertEqual(special[4], 1)
        XCTAssertEqual(Double(special[5]), Foundation.exp(-100), accuracy: 1e-45)   // denormal result
        XCTAssertTrue([Float](exp(Tensor([Float.nan])))[0].isNaN)
    }

    func testFloatTanhAndSigmAccuracy() {
        let xs = stride(from: Float(-20), through: 20, by: 0.00731).map { $0 }
        let (te, tat) = maxError(tanh, Foundation.tanh, xs)
        XCTAssertLessThan(te, 4, "tanh worst at \(tat)")
        let (se, sat) = maxError(sigm, { 1 / (1 + Foundation.exp(-$0)) }, xs)
        XCTAssertLessThan(se, 4, "sigm worst at \(sat)")
        let tiny = [Float](tanh(Tensor([Float(1e-7), -1e-30, 0])))
        if currentDevice == .cpu {
            XCTAssertEqual(tiny, [1e-7, -1e-30, 0])
        } else {
            // The GPU's tanhf promises 2 ulp (CUDA's math appendix); glibc's, behind the
            // emulation, returns 1e-7 one ulp high.
            for (v, x) in zip(tiny, [Float(1e-7), -1e-30, 0]) { XCTAssertLessThanOrEqual(Swift.abs(v - x), 2 * x.ulp) }
        }
        XCTAssertEqual([Float](sigm(Tensor([Float(-200), 200]))), [0, 1])
        XCTAssertEqual([Float](tanh(Tensor([Float(-200), 200]))), [-1, 1])
    }
}

final class ConversionTests: DeviceTestCase {
    func testConvertValuesAndGradient() {
        let x = Tensor([1.5, -2.25, 3], shape: [3])
        let y = convert(x, to: .float64)
        XCTAssertEqual(y.dtype, .float64)
        XCTAssertEqual([Double](y), [1.5, -2.25, 3])
        XCTAssertTrue(convert(y, to: .float64) === y)
        XCTAssertEqual(convert(y, to: .float32).dtype, .float32)
        // d/dx sum(convert(x)²) = 2x, returned in x's dtype
        let g = grad { (x: Tensor) in sum(abs2(convert(x, to: .float32))) }
        let dx = g(Tensor([1, 2], dtype: .float64))
        XCTAssertEqual(dx.dtype, .float64)
        XCTAssertEqual([Double](dx), [2, 4])
    }

    func testCompoundAssignmentRebinds() {
        let original = Tensor([1, 2])
        var w = original
        w -= Tensor([0.5, 0.5])
        w += Tensor([1, 1])
        w *= 2
        XCTAssertEqual([Float](w), [3, 5])
        XCTAssertEqual([Float](original), [1, 2], "compound assignment must not write into the old tensor")
        assertKnetError("-", "[2]", "[3]") { var v = Tensor([1, 2]); v -= Tensor([1, 2, 3]) }
    }
}
