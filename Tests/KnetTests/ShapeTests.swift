import XCTest
@testable import Knet

/// permutedims computed naively: result dim i is x's dim perm[i].
private func naivePermute(_ v: [Double], _ shape: [Int], _ perm: [Int]) -> [Double] {
    let out = perm.map { shape[$0] }
    return (0..<v.count).map { i in
        let idx = multiIndex(i, out)
        var src = [Int](repeating: 0, count: shape.count)
        for (k, p) in perm.enumerated() { src[p] = idx[k] }
        return v[linearPosition(src, shape)]
    }
}

private func permutations(_ n: Int) -> [[Int]] {
    if n == 0 { return [[]] }
    return permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
}

/// A naive column-major matrix product.
private func naiveMatmul(_ a: [Double], _ m: Int, _ k: Int, _ b: [Double], _ n: Int) -> [Double] {
    (0..<(m * n)).map { idx in
        let i = idx % m, j = idx / m
        return (0..<k).reduce(0.0) { $0 + a[i + m * $1] * b[$1 + k * j] }
    }
}

final class ShapeTests: DeviceTestCase {
    override func setUp() { setseed(3) }

    func testReshape() {
        let x = tensorFrom([2, 3, 4]) { Double($0) }
        let r = reshape(x, [6, -1])
        XCTAssertEqual(r.shape, [6, 4])
        XCTAssertEqual([Double](r), [Double](x), "reshape keeps column-major order")
        XCTAssertEqual(reshape(x, 4, -1).shape, [4, 6])
        XCTAssertEqual(reshape(x, -1).shape, [24])
        XCTAssertEqual(reshape(x, [2, -1, 2]).shape, [2, 6, 2])
        XCTAssertEqual(reshape(x, 24, 1, 1).shape, [24, 1, 1])
        XCTAssertEqual(reshape(Tensor([5]), []).shape, [])
        XCTAssertEqual(reshape(x, [2, 3, 4]).shape, [2, 3, 4])
        XCTAssertEqual(r.dtype, .float64)
    }

    func testReshapeViewSharesMemory() {
        let x = tensorFrom([2, 3, 4]) { Double($0) }
        let r = reshape(x, [6, 4])
        r[.all, 1].assign(-1)                       // linear positions 6..<12 of x
        let v = [Double](x)
        XCTAssertEqual(Array(v[6..<12]), [Double](repeating: -1, count: 6))
        XCTAssertEqual(v[5], 5); XCTAssertEqual(v[12], 12)
        reshape(x, [24]).assign(Tensor(scalar: 7, dtype: .float64))
        XCTAssertEqual([Double](x), [Double](repeating: 7, count: 24))
        let m = vec(x)
        m.assign(Tensor((0..<24).map { Double($0) * 2 }, dtype: .float64))
        XCTAssertEqual([Double](x)[23], 46, "vec is a view")
        mat(x).assign(0)
        XCTAssertEqual([Double](x), [Double](repeating: 0, count: 24), "mat is a view")
    }

    func testReshapeOfNonContiguous() {
        let m = tensorFrom([2, 3]) { Double($0) }     // [0 2 4; 1 3 5]
        let t = transpose(m)                           // [0 1; 2 3; 4 5]
        assertValues(reshape(t, [6]), [0, 2, 4, 1, 3, 5], shape: [6])
        assertValues(vec(t), [0, 2, 4, 1, 3, 5], shape: [6])
    }

    func testMatAndVec() {
        XCTAssertEqual(mat(Tensor.zeros(28, 28, 1, 5)).shape, [784, 5])
        XCTAssertEqual(mat(Tensor.zeros(3, 4)).shape, [3, 4])
        XCTAssertEqual(mat(Tensor.zeros(5)).shape, [1, 5])
        XCTAssertEqual(vec(Tensor.zeros(3, 4, 2)).shape, [24])
        let x = tensorFrom([2, 3, 2]) { Double($0) }
        XCTAssertEqual([Double](mat(x)), [Double](x))
        XCTAssertEqual([Double](vec(x)), (0..<12).map(Double.init))
    }

    func testPermutedimsAllRanks() {
        for shape in [[3, 4], [2, 3, 4], [2, 3, 1, 4]] {
            let x = tensorFrom(shape) { Double($0) }
            let v = [Double](x)
            for perm in permutations(shape.count) {
                let y = permutedims(x, perm)
                XCTAssertEqual(y.shape, perm.map { shape[$0] }, "\(shape) \(perm)")
                XCTAssertEqual([Double](y), naivePermute(v, shape, perm), "\(shape) \(perm)")
                XCTAssertTrue(y.isContiguous, "permutedims returns a fresh copy")
            }
        }
        // a permutation of a strided view
        let x = tensorFrom([4, 5, 3]) { Double($0) }
        let s = x[1..<3, .all, 0..<2]
        XCTAssertEqual([Double](permutedims(s, [2, 0, 1])), naivePermute([Double](s), [2, 5, 2], [2, 0, 1]))
    }

    func testTranspose() {
        let a = tensorFrom([3, 2]) { Double($0) + 1 }
        let t = transpose(a)
        XCTAssertEqual(t.shape, [2, 3])
        assertValues(t, [1, 4, 2, 5, 3, 6])
        XCTAssertFalse(t.isContiguous, "transpose is a view")
        t[0, 1].assign(100)                              // element (1, 0) of a
        XCTAssertEqual([Double](a)[1], 100, "transpose shares memory")
        XCTAssertEqual(transpose(Tensor([1, 2, 3])).shape, [1, 3])
        XCTAssertEqual([Double](transpose(transpose(a))), [Double](a))
        assertKnetError("transpose", "[2, 2, 2]") { _ = transpose(Tensor.zeros(2, 2, 2)) }
    }

    func testTransposeTimesMatrix() {
        for dtype in [DType.float64, .float32] {
            let a = Tensor.randn(shape: [4, 3], dtype: dtype), b = Tensor.randn(shape: [4, 5], dtype: dtype)
            let viaView = transpose(a) * b
            let viaCopy = copy(transpose(a)) * b
            let tol = dtype == .float32 ? 1e-5 : 1e-12
            assertClose(viaView, viaCopy, rtol: tol, atol: tol)
            let expected = naiveMatmul([Double](copy(transpose(a))), 3, 4, [Double](b), 5)
            assertValues(viaView, expected, shape: [3, 5], rtol: tol, atol: tol)
            let c = Tensor.randn(shape: [3, 5], dtype: dtype), d = Tensor.randn(shape: [6, 4], dtype: dtype)
            assertClose(b * transpose(c), b * copy(transpose(c)), rtol: tol, atol: tol)
            assertClose(transpose(b) * transpose(d), copy(transpose(b)) * copy(transpose(d)), rtol: tol, atol: tol)
            let g = grad { (w: [Tensor]) in sum(sin(transpose(w[0]) * w[1])) }
            let dw = g([a, b])
            XCTAssertEqual(dw[0].shape, [4, 3]); XCTAssertEqual(dw[1].shape, [4, 5])
        }
    }

    func testCatHcatVcat() {
        let a = tensorFrom([2, 3]) { Double($0) }, b = tensorFrom([2, 3]) { Double($0) + 10 }
        let v = vcat(a, b)
        XCTAssertEqual(v.shape, [4, 3])
        assertValues(v, [0, 1, 10, 11, 2, 3, 12, 13, 4, 5, 14, 15])
        let h = hcat(a, b)
        XCTAssertEqual(h.shape, [2, 6])
        assertValues(h, [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15])
        let s = cat([a, b], dims: 2)          // past the rank: stacks
        XCTAssertEqual(s.shape, [2, 3, 2])
        assertValues(s, [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15])
        // vectors are columns
        let p = Tensor([1, 2, 3], dtype: .float64), q = Tensor([4, 5, 6], dtype: .float64)
        let pq = hcat(p, q)
        XCTAssertEqual(pq.shape, [3, 2])
        assertValues(pq, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(vcat(p, q).shape, [6])
        XCTAssertEqual(hcat([p, q, p]).shape, [3, 3])
        XCTAssertEqual(vcat([p, q, p]).shape, [9])
        // unequal sizes along the cat dim
        let c = tensorFrom([2, 1]) { Double($0) + 100 }
        assertValues(hcat(a, c), [0, 1, 2, 3, 4, 5, 100, 101], shape: [2, 4])
        let d = tensorFrom([1, 3]) { Double($0) + 100 }
        assertValues(vcat(a, d), [0, 1, 100, 2, 3, 101, 4, 5, 102], shape: [3, 3])
        // a vector next to a matrix column
        assertValues(hcat(a, Tensor([7, 8], dtype: .float64)), [0, 1, 2, 3, 4, 5, 7, 8], shape: [2, 4])
        // cat of strided views
        let t = hcat(transpose(a), transpose(b))
        assertValues(t, [0, 2, 4, 1, 3, 5, 10, 12, 14, 11, 13, 15], shape: [3, 4])
    }

    func testCopy() {
        let x = tensorFrom([2, 3]) { Double($0) }
        let y = copy(x)
        XCTAssertEqual([Double](y), [Double](x))
        y.assign(0)
        XCTAssertEqual([Double](x), [0, 1, 2, 3, 4, 5], "copy does not share memory")
        let t = copy(transpose(x))
        XCTAssertTrue(t.isContiguous)
        assertValues(t, [0, 2, 4, 1, 3, 5], shape: [3, 2])
    }

    func testBroadcastTo() {
        let c = Tensor([1, 2, 3], shape: [3, 1], dtype: .float64)
        assertValues(broadcast(c, to: [3, 4]), [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3], shape: [3, 4])
        let r = Tensor([1, 2], shape: [1, 2], dtype: .float64)
        assertValues(broadcast(r, to: [3, 2]), [1, 1, 1, 2, 2, 2], shape: [3, 2])
        assertValues(broadcast(Tensor([1, 2, 3], dtype: .float64), to: [3, 2]), [1, 2, 3, 1, 2, 3], shape: [3, 2])
        assertValues(broadcast(Tensor(scalar: 4, dtype: .float64), to: [2, 2]), [4, 4, 4, 4], shape: [2, 2])
        assertValues(broadcast(Tensor([5, 6], dtype: .float64), to: [2, 1, 2]), [5, 6, 5, 6], shape: [2, 1, 2])
        assertKnetError("broadcast", "[3, 4]", "[2, 4]") { _ = broadcast(Tensor.zeros(3, 4), to: [2, 4]) }
    }

    func testGradchecks() {
        let x = rand64(2, 3, 4)
        let checks: [(String, (Tensor) -> Tensor)] = [
            ("reshape", { reshape($0, [6, -1]) }),
            ("reshape3", { reshape($0, 4, 3, 2) }),
            ("mat", { mat($0) }),
            ("vec", { vec($0) }),
            ("permutedims 201", { permutedims($0, [2, 0, 1]) }),
            ("permutedims 102", { permutedims($0, [1, 0, 2]) }),
            ("transpose", { transpose(mat($0)) }),
            ("transpose of view", { transpose($0[.all, .all, 1]) }),
            ("copy", { copy($0) }),
            ("copy of transpose", { copy(transpose(mat($0))) }),
            ("broadcast", { broadcast(sum($0, dims: 1), to: [2, 5, 4]) }),
            ("vcat", { vcat($0, $0 .* 2) }),
            ("hcat", { hcat(mat($0), mat($0)[.all, 0..<2]) }),
            ("cat 3", { cat([$0, exp($0)], dims: 3) }),
            ("cat 1", { cat([$0, $0[.all, 0..<1, .all]], dims: 1) }),
        ]
        for (name, f) in checks {
            let c = Tensor.randn(shape: f(x).shape, dtype: .float64)
            XCTAssertTrue(gradcheck({ (x: Tensor, c: Tensor) in sum(f(x) .* c) }, x, c, samples: 24), name)
        }
        // each input of cat gets its own slice of the gradient
        let a = rand64(2, 3), b = rand64(2, 1), v = rand64(2)
        let g = grad { (w: [Tensor]) in sum(hcat(w[0], w[1], w[2]) .* Tensor((1...10).map(Double.init), shape: [2, 5], dtype: .float64)) }
        let d = g([a, b, v])
        assertValues(d[0], [1, 2, 3, 4, 5, 6], shape: [2, 3])
        assertValues(d[1], [7, 8], shape: [2, 1])
        assertValues(d[2], [9, 10], shape: [2])
        let gb = grad { (x: Tensor) in sum(broadcast(x, to: [3, 4])) }
        assertValues(gb(Tensor([1, 2, 3], shape: [3, 1], dtype: .float64)), [4, 4, 4], shape: [3, 1])
        // second order through permutedims and reshape
        let g1 = grad { (x: Tensor) in sum(sin(permutedims(reshape(x, 3, 8), [1, 0]))) }
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(g1(x) .* x) }, x))
    }

    func testErrorsNameTheOp() {
        assertKnetError("reshape", "[2, 3]", "[4, 2]") { _ = reshape(Tensor.zeros(2, 3), [4, 2]) }
        assertKnetError("reshape") { _ = reshape(Tensor.zeros(2, 3), [-1, -1]) }
        assertKnetError("reshape") { _ = reshape(Tensor.zeros(2, 3), [4, -1]) }
        assertKnetError("reshape") { _ = reshape(Tensor.zeros(2, 3), [-2, -3]) }
        assertKnetError("permutedims", "[0, 0]") { _ = permutedims(Tensor.zeros(2, 3), [0, 0]) }
        assertKnetError("permutedims", "[0, 1, 2]") { _ = permutedims(Tensor.zeros(2, 3), [0, 1, 2]) }
        assertKnetError("cat", "[2, 3]", "[2, 4]") { _ = vcat(Tensor.zeros(2, 3), Tensor.zeros(2, 4)) }
        assertKnetError("cat", "[2, 3]", "[3, 3]") { _ = hcat(Tensor.zeros(2, 3), Tensor.zeros(3, 3)) }
        assertKnetError("cat", "dtype") { _ = vcat(Tensor.zeros(2), Tensor.zeros(2, dtype: .float64)) }
        assertKnetError("cat") { _ = cat([], dims: 0) }
        assertKnetError("cat") { _ = cat([Tensor.zeros(2)], dims: -1) }
        assertKnetError("*", "[2, 3]", "[2, 3]") { _ = Tensor.zeros(2, 3) * Tensor.zeros(2, 3) }
    }
}
