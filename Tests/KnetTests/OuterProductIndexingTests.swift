import XCTest
@testable import Knet

/// Lists of positions in several dims select their outer product, as Julia's
/// `x[[3,2,1],[3,2,1],:,:]`; values against an element-by-element reference.
final class OuterProductIndexingTests: XCTestCase {
    /// x[i, j, k] = i + 10 j + 100 k.
    private func cube(_ shape: [Int]) -> Tensor {
        var v = [Double](repeating: 0, count: shape.reduce(1, *))
        for k in 0..<shape[2] { for j in 0..<shape[1] { for i in 0..<shape[0] {
            v[i + shape[0] * (j + shape[1] * k)] = Double(i + 10 * j + 100 * k)
        } } }
        return Tensor(v, shape: shape, dtype: .float64)
    }

    func testGatherOfTheOuterProduct() {
        let x = cube([4, 3, 5])
        let y = x[[2, 0, 2], [1, 2], .all]
        XCTAssertEqual(y.shape, [3, 2, 5])
        for k in 0..<5 { for (b, j) in [1, 2].enumerated() { for (a, i) in [2, 0, 2].enumerated() {
            XCTAssertEqual(y[a, b, k].scalar, Double(i + 10 * j + 100 * k))
        } } }
        // with an Int (its dim dropped) and a range between the lists
        let z = x[[3, 1], 1..<3, [4, 0, 1]]
        XCTAssertEqual(z.shape, [2, 2, 3])
        XCTAssertEqual([Double](z[1, .all, .all]), [411, 421, 11, 21, 111, 121])
        let w = x[2, [2, 0], [3, 3]]
        XCTAssertEqual(w.shape, [2, 2])
        XCTAssertEqual([Double](w), [322, 302, 322, 302])
        // the example: the same list in two dims of a 4-d filter
        let f = Tensor((0..<36).map(Double.init), shape: [3, 3, 2, 2], dtype: .float64)
        let flipped = f[[2, 1, 0], [2, 1, 0], .all, .all]
        XCTAssertEqual([Double](flipped[.all, .all, 1, 0]), [17, 16, 15, 14, 13, 12, 11, 10, 9])
    }

    func testGradientScattersBackAndAccumulates() {
        let x = Tensor.randn(3, 4, 2, dtype: .float64)
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(x[[2, 0, 2], [3, 1], .all] .* x[[1, 1, 0], [0, 3], .all]) }, x))
        let g = grad { (x: Tensor) in sum(x[[1, 1], [0, 2, 0], 1]) }(x)
        XCTAssertEqual(g[1, 0, 1].scalar, 4, "picked twice by each list")
        XCTAssertEqual(g[1, 2, 1].scalar, 2)
        XCTAssertEqual(sum(g).scalar, 6)
    }

    func testAssignmentIntoTheOuterProduct() {
        let x = Tensor.zeros(3, 4, dtype: .float64)
        x[[2, 0], [1, 3, 0]] = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], dtype: .float64)
        XCTAssertEqual([Double](x), [6, 0, 5, 2, 0, 1, 0, 0, 0, 4, 0, 3])
        x[[1], [0, 2]] = Tensor([9], dtype: .float64)            // broadcast
        XCTAssertEqual(x[1, 0].scalar, 9)
        XCTAssertEqual(x[1, 2].scalar, 9)
        assertKnetError("setindex", "[4]", "[2, 3]") { x[[2, 0], [1, 3, 0]] = Tensor.ones(4, dtype: .float64) }
        assertKnetError("getindex", "out of range") { _ = x[[0, 3], [1, 2]] }
    }
}

/// Every `dims:` takes one or more `Int`s and an `[Int]` alike.
final class DimsConventionTests: XCTestCase {
    func testEveryDimsTakesIntsAndArrays() {
        let x = Tensor.randn(3, 4, 2, dtype: .float64)
        let pairs: [(String, Tensor, Tensor)] = [
            ("sum", sum(x, dims: 0, 2), sum(x, dims: [0, 2])),
            ("prod", prod(x, dims: 1), prod(x, dims: [1])),
            ("maximum", maximum(x, dims: 0, 1), maximum(x, dims: [0, 1])),
            ("minimum", minimum(x, dims: 2), minimum(x, dims: [2])),
            ("mean", mean(x, dims: 1, 2), mean(x, dims: [1, 2])),
            ("sumabs", sumabs(x, dims: 0), sumabs(x, dims: [0])),
            ("sumabs2", sumabs2(x, dims: 0, 1), sumabs2(x, dims: [0, 1])),
            ("countnz", countnz(x .> 0, dims: 1), countnz(x .> 0, dims: [1])),
            ("logsumexp", logsumexp(x, dims: 0), logsumexp(x, dims: [0])),
            ("logp", logp(x, dims: 0, 1), logp(x, dims: [0, 1])),
            ("logsoftmax", logsoftmax(x, dims: 1), logsoftmax(x, dims: [1])),
            ("softmax", softmax(x, dims: 2), softmax(x, dims: [2])),
        ]
        for (name, a, b) in pairs {
            XCTAssertEqual(a.shape, b.shape, name)
            XCTAssertEqual([Double](a), [Double](b), name)
        }
        // the reduced dims keep size 1, and softmax sums to 1 over the listed dims
        XCTAssertEqual(logsumexp(x, dims: 0, 2).shape, [1, 4, 1])
        assertValues(sum(softmax(x, dims: 0, 2), dims: 0, 2), [Double](repeating: 1, count: 4), shape: [1, 4, 1], rtol: 1e-12)
        assertKnetError("logsumexp", "dims") { _ = logsumexp(x, dims: -1) }
    }
}
