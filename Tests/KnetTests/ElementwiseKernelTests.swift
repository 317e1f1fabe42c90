import XCTest
@testable import Knet
import KnetAVX2
import KnetGEMM

/// Every instance of the C elementwise loops (portable, AVX2, AVX-512 where the CPU has
/// them) gives the bits of the op table's Swift formulas: every op, Float and Double,
/// unit and scalar strides, out of place and in place, over values with NaN, ±∞, ±0 and
/// denormals. Instances the CPU lacks are named and skipped.
final class ElementwiseKernelTests: XCTestCase {
    private let binaries: [(ElementwiseKernels.Binary, BinaryOp)] = [
        (.add, .add), (.sub, .sub), (.mul, .mul), (.div, .div), (.max, .max), (.min, .min),
        (.reluback, .reluback), (.sigmback, .sigmback), (.tanhback, .tanhback),
    ]
    private let unaries: [(ElementwiseKernels.Unary, UnaryOp)] = [(.relu, .relu), (.abs, .abs), (.abs2, .abs2), (.neg, .neg)]

    private func values<T: KnetFloat>(_: T.Type) -> [T] {
        var rng = SplitMix(seed: 3)
        let special: [T] = [0, -0.0, 1, -1, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 0.5, 2]
        return special + (0..<250).map { _ in T(Double.random(in: -3...3, using: &rng)) }
    }

    private func same<T: KnetFloat>(_ x: [T], _ y: [T]) -> Bool {
        zip(x, y).allSatisfy { ($0.isNaN && $1.isNaN) || Double($0).bitPattern == Double($1).bitPattern }
    }

    private func check<T: KnetFloat>(_: T.Type) {
        let a = values(T.self), b = Array(values(T.self).reversed()), n = a.count
        for kernel in SwiftGEMM.available {
            for (c, op) in binaries {
                for (sa, sb) in [(1, 1), (1, 0), (0, 1)] {
                    let expected = (0..<n).map { op.scalar(a[$0 * sa], b[$0 * sb]) }
                    var y = [T](repeating: 7, count: n)
                    ElementwiseKernels.binary(c, a, sa, b, sb, &y, n, using: kernel)
                    XCTAssertTrue(same(y, expected), "\(kernel) \(T.self) \(op) strides \(sa), \(sb)")
                }
                var inPlace = a                      // y is a
                inPlace.withUnsafeMutableBufferPointer { p in
                    ElementwiseKernels.binary(c, UnsafePointer(p.baseAddress!), 1, b, 1, p.baseAddress!, n, using: kernel)
                }
                XCTAssertTrue(same(inPlace, (0..<n).map { op.scalar(a[$0], b[$0]) }), "\(kernel) \(T.self) \(op) in place")
            }
            for (c, op) in unaries {
                var y = [T](repeating: 7, count: n), z = a
                ElementwiseKernels.unary(c, a, &y, n, using: kernel)
                z.withUnsafeMutableBufferPointer { p in ElementwiseKernels.unary(c, UnsafePointer(p.baseAddress!), p.baseAddress!, n, using: kernel) }
                XCTAssertTrue(same(y, a.map(op.scalar)), "\(kernel) \(T.self) \(op)")
                XCTAssertTrue(same(z, a.map(op.scalar)), "\(kernel) \(T.self) \(op) in place")
            }
        }
    }

    func testEveryInstanceGivesTheTableBits() {
        let missing = SwiftGEMM.Kernel.allCases.filter { !SwiftGEMM.available.contains($0) }
        if !missing.isEmpty { print("ElementwiseKernelTests: \(missing.map(\.rawValue)) instance(s) not run: this CPU lacks the instructions") }
        check(Float.self)
        check(Double.self)
    }
}
