import XCTest
import KnetAVX2
import KnetMath

/// The LSTM cell's AVX2 entry points run the same generic code as the portable
/// instantiation; check that they agree, forward and backward.
final class LSTMCellKernelTests: XCTestCase {
    func testAVX2EntryPointsMatchThePortableKernels() throws {
        try XCTSkipUnless(KnetAVX2.hasAVX2, "no AVX2 on this CPU")
        var rng = SystemRandomNumberGenerator()
        let h = 37                                                   // not a multiple of the vector width
        func random(_ n: Int, _ scale: Float) -> [Float] { (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) } }
        let gates = random(4 * h, 12), cell = random(h, 3), dOutput = random(h, 1), dState = random(2 * h, 1)
        func run(_ avx2: Bool) -> [[Float]] {
            var (a, hOut, cOut, tc, ds) = (gates, [Float](repeating: 0, count: h), [Float](repeating: 0, count: h),
                                           [Float](repeating: 0, count: h), dState)
            if avx2 {
                LSTMCellKernels.forwardAVX2(gates: &a, cell: cell, newHidden: &hOut, newCell: &cOut, tanhCell: &tc, h)
                LSTMCellKernels.backwardAVX2(activations: &a, tanhCell: tc, cell: cell, dOutput: dOutput, dState: &ds, h)
            } else {
                LSTMCellKernels.forward(gates: &a, cell: cell, newHidden: &hOut, newCell: &cOut, tanhCell: &tc, h)
                LSTMCellKernels.backward(activations: &a, tanhCell: tc, cell: cell, dOutput: dOutput, dState: &ds, h)
            }
            return [a, hOut, cOut, tc, ds]
        }
        let (fast, portable) = (run(true), run(false))
        for (x, y) in zip(fast, portable) {
            for (u, v) in zip(x, y) { XCTAssertEqual(u, v, accuracy: 1e-6 * Swift.max(1, Swift.abs(v))) }
        }
    }
}
