import XCTest
import Knet
import KnetAVX2
import KnetGEMM
import KnetMath

/// The vector entry points (CKnetCPU's C instances: portable, AVX2+FMA, AVX-512) give the
/// bits of KnetMath's Swift definitions — the activations over their whole range and the
/// specials, the LSTM cell forward and backward — on every instruction set this CPU has;
/// the ones it lacks are named and skipped.
final class LSTMCellKernelTests: XCTestCase {
    /// The kernels to check: every available one (the portable C instance included).
    private var kernels: [SwiftGEMM.Kernel] {
        let missing = SwiftGEMM.Kernel.allCases.filter { !SwiftGEMM.available.contains($0) }
        if !missing.isEmpty { print("LSTMCellKernelTests: \(missing.map(\.rawValue)) not run: this CPU lacks the instructions") }
        return SwiftGEMM.available
    }

    func testVectorLSTMCellsGiveTheSwiftDefinitionsBits() {
        var rng = SplitMix(seed: 3)
        let h = 37                                                   // not a multiple of any vector width
        func random(_ n: Int, _ scale: Float) -> [Float] { (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) } }
        let gates = random(4 * h, 12), cell = random(h, 3), dOutput = random(h, 1), dState = random(2 * h, 1)
        func run(_ kernel: SwiftGEMM.Kernel?) -> [[Float]] {
            var (a, hOut, cOut, tc, ds) = (gates, [Float](repeating: 0, count: h), [Float](repeating: 0, count: h),
                                           [Float](repeating: 0, count: h), dState)
            if let kernel {
                LSTMCellKernels.forwardAVX2(gates: &a, cell: cell, newHidden: &hOut, newCell: &cOut, tanhCell: &tc, h, using: kernel)
                LSTMCellKernels.backwardAVX2(activations: &a, tanhCell: tc, cell: cell, dOutput: dOutput, dState: &ds, h, using: kernel)
            } else {
                LSTMCellKernels.forward(gates: &a, cell: cell, newHidden: &hOut, newCell: &cOut, tanhCell: &tc, h)
                LSTMCellKernels.backward(activations: &a, tanhCell: tc, cell: cell, dOutput: dOutput, dState: &ds, h)
            }
            return [a, hOut, cOut, tc, ds]
        }
        let swift = run(nil)
        for kernel in kernels {
            XCTAssertEqual(run(kernel).map { $0.map(\.bitPattern) }, swift.map { $0.map(\.bitPattern) }, "\(kernel)")
        }
    }

    func testVectorActivationsGiveTheSwiftDefinitionsBits() {
        var xs = stride(from: Float(-110), through: 110, by: 0.0173).map { $0 }
        xs += [0, -0.0, 1e-7, -1e-30, .leastNonzeroMagnitude, 88.72, 88.73, -103.97, -103.98, .infinity, -.infinity, .nan]
        let reference: [(String, (Float) -> Float)] = [("exp", { ActivationMath.exp($0) }), ("sigm", { ActivationMath.sigm($0) }),
                                                       ("tanh", { ActivationMath.tanh($0) })]
        for kernel in kernels {
            for (name, f) in reference {
                var y = [Float](repeating: 0, count: xs.count)
                switch name {
                case "exp": ActivationKernels.exp(xs, &y, xs.count, using: kernel)
                case "sigm": ActivationKernels.sigm(xs, &y, xs.count, using: kernel)
                default: ActivationKernels.tanh(xs, &y, xs.count, using: kernel)
                }
                // In place too (x and y the same array): the vector loop, not a scalar fallback.
                var z = xs
                z.withUnsafeMutableBufferPointer { p in
                    let (x, n) = (UnsafePointer(p.baseAddress!), p.count)
                    switch name {
                    case "exp": ActivationKernels.exp(x, p.baseAddress!, n, using: kernel)
                    case "sigm": ActivationKernels.sigm(x, p.baseAddress!, n, using: kernel)
                    default: ActivationKernels.tanh(x, p.baseAddress!, n, using: kernel)
                    }
                }
                let expected = xs.map(f)
                for (what, result) in [("", y), (" in place", z)] {
                    let mismatch = zip(xs, zip(result, expected)).first { $1.0.bitPattern != $1.1.bitPattern && !($1.0.isNaN && $1.1.isNaN) }
                    XCTAssertNil(mismatch.map { "x \($0.0): \($0.1.0) vs \($0.1.1)" }, "\(kernel) \(name)\(what)")
                }
            }
        }
    }
}
