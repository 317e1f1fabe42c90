import XCTest
@testable import Knet

/// x[i, j] = i + 3j for a [3, 4] matrix: values 0..<12 in column-major order.
private func m34() -> Tensor { tensorFrom([3, 4]) { Double($0) } }

final class IndexingTests: DeviceTestCase {
    override func setUp() { setseed(5) }

    func testScalarAndSliceIndexing() {
        let x = m34()
        let e = x[1, 2]
        XCTAssertEqual(e.shape, [])
        XCTAssertEqual(e.scalar, 7)
        assertValues(x[.all, 2], [6, 7, 8], shape: [3])
        assertValues(x[1, .all], [1, 4, 7, 10], shape: [4])
        assertValues(x[0..<2, .all], [0, 1, 3, 4, 6, 7, 9, 10], shape: [2, 4])
        assertValues(x[.all, 1..<3], [3, 4, 5, 6, 7, 8], shape: [3, 2])
        assertValues(x[1..<3, 2], [7, 8], shape: [2])
        assertValues(x[.all, .all], [Double](x), shape: [3, 4])
        XCTAssertEqual(x[0..<0, .all].shape, [0, 4])
    }

    func testClosedAndPartialRanges() {
        let x = m34()
        assertValues(x[0...1, 1...2], [3, 4, 6, 7], shape: [2, 2])
        assertValues(x[1..., ..<2], [1, 2, 4, 5], shape: [2, 2])
        assertValues(x[2..., 3], [11], shape: [1])
        assertValues(x[..<1, 1...], [3, 6, 9], shape: [1, 3])
    }

    func testListIndexingGathers() {
        let x = m34()
        let g = x[[2, 0, 2], .all]
        XCTAssertEqual(g.shape, [3, 4])
        assertValues(g, [2, 0, 2, 5, 3, 5, 8, 6, 8, 11, 9, 11])
        assertValues(x[.all, [3, 3, 1]], [9, 10, 11, 9, 10, 11, 3, 4, 5], shape: [3, 3])
        assertValues(x[1, [0, 3]], [1, 10], shape: [2])
        assertValues(x[[1], .all], [1, 4, 7, 10], shape: [1, 4])
        // a gather is a copy
        g.assign(-1)
        XCTAssertEqual([Double](x), (0..<12).map(Double.init))
    }

    func testLinearIndexingOnMatrix() {
        let x = m34()
        XCTAssertEqual(x[5].shape, [])
        XCTAssertEqual(x[5].scalar, 5)
        XCTAssertEqual(x[11].scalar, 11)
        assertValues(x[2..<5], [2, 3, 4], shape: [3])
        assertValues(x[[0, 11, 0]], [0, 11, 0], shape: [3])
        assertValues(x[9...], [9, 10, 11], shape: [3])
        // linear indexing of a strided view follows its own column-major order
        let t = transpose(x)                            // [4, 3]
        XCTAssertEqual(t[1].scalar, 3)
        XCTAssertEqual(t[4].scalar, 1)
        // on a vector, one index is the ordinary index
        let v = Tensor([5, 6, 7], dtype: .float64)
        XCTAssertEqual(v[2].scalar, 7)
    }

    func testThreeDimensionalIndexing() {
        let x = tensorFrom([3, 4, 5]) { Double($0) }
        let y = x[.all, 1, 2..<4]
        XCTAssertEqual(y.shape, [3, 2])
        var expected: [Double] = []
        for k in 2..<4 { for i in 0..<3 { expected.append(Double(i + 3 * 1 + 12 * k)) } }
        assertValues(y, expected)
        let z = x[2, .all, [4, 0]]
        XCTAssertEqual(z.shape, [4, 2])
        expected = []
        for k in [4, 0] { for j in 0..<4 { expected.append(Double(2 + 3 * j + 12 * k)) } }
        assertValues(z, expected)
        XCTAssertEqual(x[1, 2, 3].scalar, Double(1 + 6 + 36))
    }

    func testViewsShareMemory() {
        let x = m34()
        let rows = x[0..<2, .all]
        rows.assign(9)
        XCTAssertEqual([Double](x), [9, 9, 2, 9, 9, 5, 9, 9, 8, 9, 9, 11])
        let col = x[.all, 3]
        col.assign(Tensor([1, 2, 3], dtype: .float64))
        XCTAssertEqual(Array([Double](x)[9..<12]), [1, 2, 3])
        let row = x[2, .all]                            // strided view
        row.assign(-5)
        XCTAssertEqual([Double](x), [9, 9, -5, 9, 9, -5, 9, 9, -5, 1, 2, -5])
        // a write to the parent is visible through the view
        x[0, 0] = Tensor(scalar: 42, dtype: .float64)
        XCTAssertEqual(rows[0, 0].scalar, 42)
    }

    func testSubscriptAssignment() {
        let x = m34()
        x[.all, 1] = Tensor([-1, -2, -3], dtype: .float64)
        assertValues(x, [0, 1, 2, -1, -2, -3, 6, 7, 8, 9, 10, 11])
        x[1, .all] = Tensor([0.5, 1.5, 2.5, 3.5], dtype: .float64)
        assertValues(x, [0, 0.5, 2, -1, 1.5, -3, 6, 2.5, 8, 9, 3.5, 11])
        x[2, 3] = Tensor(scalar: 100, dtype: .float64)
        XCTAssertEqual(x[2, 3].scalar, 100)
        // broadcasting assignment
        let y = m34()
        y[.all, 0..<2] = Tensor(scalar: 0, dtype: .float64)
        assertValues(y, [0, 0, 0, 0, 0, 0, 6, 7, 8, 9, 10, 11])
        y[.all, 2...] = Tensor([1, 2, 3], shape: [3, 1], dtype: .float64)
        assertValues(y, [0, 0, 0, 0, 0, 0, 1, 2, 3, 1, 2, 3])
        y[0..<2, .all] = Tensor([7, 8, 9, 10], shape: [1, 4], dtype: .float64)
        assertValues(y, [7, 7, 0, 8, 8, 0, 9, 9, 3, 10, 10, 3])
        // list assignment
        let z = m34()
        z[[2, 0], .all] = Tensor([-1, -2, -3, -4, -5, -6, -7, -8], shape: [2, 4], dtype: .float64)
        assertValues(z, [-2, 1, -1, -4, 4, -3, -6, 7, -5, -8, 10, -7])
        // linear assignment on a matrix
        let w = m34()
        w[4] = Tensor(scalar: -4, dtype: .float64)
        w[[0, 11]] = Tensor(scalar: 50, dtype: .float64)
        assertValues(w, [50, 1, 2, 3, -4, 5, 6, 7, 8, 9, 10, 50])
    }

    func testLinearAssignmentIntoNonContiguousTensor() {
        // x[k] = v on a strided view must write into that view, not into a temporary copy
        let x = m34()
        let t = transpose(x)                            // [4, 3]; t[1] is x[0, 1]
        t[1] = Tensor(scalar: -7, dtype: .float64)
        XCTAssertEqual(x[0, 1].scalar, -7, "linear assignment into a transposed view was lost")
        let r = x[1, .all]                              // [4] strided, 1-d: ordinary index
        r[2] = Tensor(scalar: -9, dtype: .float64)
        XCTAssertEqual(x[1, 2].scalar, -9)
        // every kind of linear index on a strided 2-d view, against the same writes on a
        // contiguous copy (t's column-major order): one position, all, a range, a list
        let y = m34(), ty = transpose(y), dense = copy(ty)
        XCTAssertFalse(ty.isContiguous)
        for (index, value) in [(6 as any TensorIndexConvertible, -1.0), (11, -2), (2..<5, -3), ([0, 9], -4)] {
            ty[index] = Tensor(scalar: value, dtype: .float64)
            dense[index] = Tensor(scalar: value, dtype: .float64)
            assertValues(ty, [Double](dense))
        }
        XCTAssertEqual(y[1, 2].scalar, -1)                  // ty[6] is ty[2, 1], y[1, 2]
        ty[.all] = Tensor((0..<12).map(Double.init), shape: [12], dtype: .float64)
        assertValues(ty, (0..<12).map(Double.init))
        ty[.all] = Tensor(scalar: 5, dtype: .float64)
        assertValues(y, [Double](repeating: 5, count: 12))
        assertKnetError("out of range") { ty[12] = Tensor(scalar: 0, dtype: .float64) }
        // a value that does not fit [12] is refused as on a contiguous tensor
        for bad in [Tensor.zeros(shape: [4], dtype: .float64), Tensor.zeros(shape: [3, 4], dtype: .float64)] {
            assertKnetError("setindex") { dense[.all] = bad }
            assertKnetError("setindex", "cannot be broadcast") { ty[.all] = bad }
        }
    }

    func testAssignWholeTensor() {
        let x = m34()
        x.assign(Tensor([1, 2, 3], shape: [3, 1], dtype: .float64))
        assertValues(x, [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3])
        x.assign(Tensor(scalar: 2, dtype: .float64))
        assertValues(x, [Double](repeating: 2, count: 12))
        x.assign(3.5)
        assertValues(x, [Double](repeating: 3.5, count: 12))
        x.assign(m34() .* 2)
        assertValues(x, (0..<12).map { Double($0) * 2 })
        // assigning from an overlapping strided source
        let y = m34()
        y[.all, 0].assign(y[.all, 3])
        assertValues(y[.all, 0], [9, 10, 11])
        assertKnetError("setindex", "[2]", "[3]") { let x = m34(); x[.all, 0] = Tensor([1, 2], dtype: .float64) }
        assertKnetError("setindex", "dtype") { let x = m34(); x[.all, 0] = Tensor([1, 2, 3]) }
    }

    func testOverlappingAssignment() {
        // source and destination overlap: the value is read completely before writing
        let x = tensorFrom([3, 4]) { Double($0) }
        x[.all, 1..<4] = x[.all, 0..<3]
        assertValues(x, [0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8])
        let v = Tensor([1, 2, 3, 4, 5], dtype: .float64)
        v[0..<4].assign(v[1..<5])
        assertValues(v, [2, 3, 4, 5, 5])
        let t = tensorFrom([3, 3]) { Double($0) }
        t.assign(transpose(t))                        // in-place transpose through a view of itself
        assertValues(t, [0, 3, 6, 1, 4, 7, 2, 5, 8])
    }

    func testGradchecks() {
        let x = rand64(3, 4)
        let cases: [(String, (Tensor) -> Tensor)] = [
            ("x[i, j]", { $0[1, 2] }),
            ("x[.all, j]", { $0[.all, 2] }),
            ("x[i, .all]", { $0[1, .all] }),
            ("x[a..<b, .all]", { $0[0..<2, .all] }),
            ("x[.all, a..<b]", { $0[.all, 1..<3] }),
            ("x[a..<b, j]", { $0[1..<3, 0] }),
            ("x[list, .all]", { $0[[2, 0, 2], .all] }),
            ("x[.all, list]", { $0[.all, [3, 1, 3, 3]] }),
            ("x[i, list]", { $0[2, [0, 0, 3]] }),
            ("closed", { $0[0...1, 1...2] }),
            ("partial", { $0[1..., ..<3] }),
            ("linear", { $0[7] }),
            ("linear range", { $0[3..<9] }),
            ("linear list", { $0[[0, 5, 5, 11]] }),
            ("of a transpose", { transpose($0)[1..<3, .all] }),
        ]
        for (name, f) in cases {
            let c = Tensor.randn(shape: f(x).shape, dtype: .float64)
            XCTAssertTrue(gradcheck({ (x: Tensor, c: Tensor) in sum(f(x) .* c) }, x, c, samples: 12), name)
        }
        // a list in the middle dim of a 3-d tensor, with a strided region around it
        let x3 = rand64(3, 4, 5)
        let f3 = { (x: Tensor) in x[1..<3, [3, 0, 3], 2..<5] }
        let c3 = Tensor.randn(shape: f3(x3).shape, dtype: .float64)
        XCTAssertEqual(c3.shape, [2, 3, 3])
        XCTAssertTrue(gradcheck({ (x: Tensor, c: Tensor) in sum(f3(x) .* c) }, x3, c3, samples: 20))
        let y3 = f3(x3)
        for (j, k) in [3, 0, 3].enumerated() {
            assertClose(y3[.all, j, .all], x3[1..<3, k, 2..<5])
        }
    }

    func testGradientsByHand() {
        let x = m34()
        let gc = grad { (x: Tensor) in sum(x[.all, 1]) }
        assertValues(gc(x), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0], shape: [3, 4], atol: 0)
        let gr = grad { (x: Tensor) in sum(x[1, .all]) }
        assertValues(gr(x), [0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0], shape: [3, 4], atol: 0)
        let ge = grad { (x: Tensor) in x[2, 3] .* 3 }
        assertValues(ge(x), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3], atol: 0)
    }

    func testRepeatedIndexGradientAccumulates() {
        let x = m34()
        let g = grad { (x: Tensor) in sum(x[[2, 0, 2], .all]) }
        assertValues(g(x), [1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2], shape: [3, 4], atol: 0)
        let gc = grad { (x: Tensor) in sum(x[.all, [3, 3, 3, 0]]) }
        assertValues(gc(x), [1, 1, 1, 0, 0, 0, 0, 0, 0, 3, 3, 3], shape: [3, 4], atol: 0)
        // embedding lookup: columns of a [dim, vocab] matrix
        let emb = rand64(2, 5)
        let ge = grad { (w: Tensor) in sum(w[.all, [4, 1, 4]] .* Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], dtype: .float64)) }
        assertValues(ge(emb), [0, 0, 3, 4, 0, 0, 0, 0, 6, 8], shape: [2, 5], atol: 0)
    }

    func testSecondOrderThroughIndexing() {
        let x = rand64(3, 4)
        let g = grad { (x: Tensor) in sum(sin(x[[2, 0, 2], 1..<3])) }
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(g(x) .* x) }, x, samples: 12))
    }

    func testOutOfRangeErrors() {
        assertKnetError("index 3", "[3, 4]") { _ = m34()[3, 0] }
        assertKnetError("index 4", "[3, 4]") { _ = m34()[.all, 4] }
        assertKnetError("index -1", "[3, 4]") { _ = m34()[-1, 0] }
        assertKnetError("0..<5", "[3, 4]") { _ = m34()[0..<5, .all] }
        assertKnetError("[0, 7]", "[3, 4]") { _ = m34()[.all, [0, 7]] }
        assertKnetError("12", "[12]") { _ = m34()[12] }
        assertKnetError("3 indices", "[3, 4]") { _ = m34()[0, 0, 0] }
        assertKnetError("index 3", "[3, 4]") { m34()[3, 0] = Tensor(scalar: 1, dtype: .float64) }
    }

    func testAssigningIntoRecordedTensorErrors() {
        assertKnetError("setindex", "recorded") {
            let g = grad { (x: Tensor) -> Tensor in
                x[0, 0] = Tensor(scalar: 1, dtype: .float64)
                return sum(x)
            }
            _ = g(m34())
        }
        assertKnetError("assign", "recorded") {
            let g = grad { (x: Tensor) -> Tensor in
                x.assign(0)
                return sum(x)
            }
            _ = g(m34())
        }
        assertKnetError("recorded") {
            let g = grad { (x: Tensor) -> Tensor in
                let y = x .* 2
                y[.all, 1] = Tensor([1, 2, 3], dtype: .float64)
                return sum(y)
            }
            _ = g(m34())
        }
        // after grad returns, the same tensor can be written again
        let x = m34()
        let g = grad { (x: Tensor) in sum(x .* x) }
        _ = g(x)
        x[0, 0] = Tensor(scalar: -1, dtype: .float64)
        XCTAssertEqual(x[0, 0].scalar, -1)
    }
}
