import XCTest
@testable import Knet

final class DropoutTests: DeviceTestCase {
    override func setUp() { setseed(3) }

    func testInactiveUnlessRecordingOrForced() {
        let x = Tensor.randn(100)
        XCTAssertTrue(dropout(x, 0.5) === x, "not recording: identity")
        XCTAssertTrue(dropout(x, 0.5, drop: false) === x)
        XCTAssertTrue(dropout(x, 0, drop: true) === x)
        XCTAssertEqual([Float](dropout(x, 1, drop: true)), [Float](repeating: 0, count: 100))
        // inside grad it drops: the gradient of sum is the mask, 0 or 1/(1-p)
        let g = grad { (x: Tensor) in sum(dropout(x, 0.25)) }(Tensor.randn(1000))
        let values = Set([Float](g))
        XCTAssertEqual(values, [0, Float(1 / 0.75)])
        // ... unless switched off
        let off = grad { (x: Tensor) in sum(dropout(x, 0.25, drop: false)) }(Tensor.randn(10))
        XCTAssertEqual([Float](off), [Float](repeating: 1, count: 10))
    }

    func testKeptFractionAndScaling() {
        let n = 20000
        let x = Tensor.rand(shape: [100, n / 100], dtype: .float64) .+ 1    // nonzero
        for p in [0.1, 0.5, 0.8] {
            let y = dropout(x, p, drop: true)
            XCTAssertEqual(y.shape, x.shape)
            let (xs, ys) = ([Double](x), [Double](y))
            let kept = ys.indices.filter { ys[$0] != 0 }
            // binomial standard deviation sqrt(p(1-p)/n) ≤ 0.0036: allow 5 sigma
            XCTAssertEqual(Double(kept.count) / Double(n), 1 - p, accuracy: 0.018, "p = \(p)")
            for i in kept.prefix(200) { XCTAssertEqual(ys[i], xs[i] / (1 - p), accuracy: 1e-12) }
        }
    }

    func testReproducibleWithSetseed() {
        let x = Tensor.randn(50)
        setseed(42)
        let a = [Float](dropout(x, 0.5, drop: true))
        let b = [Float](dropout(x, 0.5, drop: true))
        setseed(42)
        XCTAssertEqual([Float](dropout(x, 0.5, drop: true)), a)
        XCTAssertNotEqual(a, b, "successive masks differ")
        XCTAssertEqual([Float](dropout(x, 0.5, drop: true, seed: 42)), a, "seed: reseeds as setseed")
    }

    func testGradcheckWithFixedMask() {
        let r = rand64(4, 5)
        for p in [0.3, 0.7] {
            // reseeding on every call keeps the mask fixed for the finite differences
            XCTAssertTrue(gradcheck({ (x: Tensor) in sum(tanh(dropout(x, p, drop: true, seed: 7)) .* r) }, rand64(4, 5)))
        }
        XCTAssertTrue(gradcheck({ (w: Tensor, x: Tensor) in sum(abs2(dropout(w * x, 0.5, drop: true, seed: 9))) }, rand64(3, 4), rand64(4, 2)))
    }

    func testBadProbability() {
        assertKnetError("dropout", "1.5", "[2, 3]") { _ = dropout(Tensor.zeros(2, 3), 1.5) }
        assertKnetError("dropout", "-0.1") { _ = dropout(Tensor.zeros(2, 3), -0.1, drop: true) }
    }
}

final class BatchNormTests: DeviceTestCase {
    override func setUp() { setseed(4) }

    /// Checks one PyTorch case: training output, gradients, running-stat update, eval output.
    private func checkAgainstPyTorch(_ c: [String: Any], file: StaticString = #filePath, line: UInt = #line) {
        let x = nnTensor(c["x"])
        let params = vcat(nnTensor(c["scale"]), nnTensor(c["bias"]))
        let moments = bnmoments(mean: copy(nnTensor(c["runmean0"])), variance: copy(nnTensor(c["runvar0"])))
        let r = nnTensor(c["upstream"])
        let y = batchnorm(x, moments, params, training: true)
        assertClose(y, nnTensor(c["y"]), rtol: 1e-9, atol: 1e-12, file: file, line: line)
        assertClose(moments.mean!, nnTensor(c["runmean1"]), rtol: 1e-9, atol: 1e-12, file: file, line: line)
        assertClose(moments.variance!, nnTensor(c["runvar1"]), rtol: 1e-9, atol: 1e-12, file: file, line: line)
        // gradients (training mode is the default while recording; moments not touched twice)
        let g = grad { (w: [Tensor]) in sum(batchnorm(w[0], nil, w[1]) .* r) }([x, params])
        assertClose(g[0], nnTensor(c["dx"]), rtol: 1e-8, atol: 1e-11, file: file, line: line)
        assertClose(g[1], vcat(nnTensor(c["dscale"]), nnTensor(c["dbias"])), rtol: 1e-8, atol: 1e-11, file: file, line: line)
        // inference with the updated running statistics (the default outside grad)
        assertClose(batchnorm(nnTensor(c["xeval"]), moments, params), nnTensor(c["yeval"]),
                    rtol: 1e-9, atol: 1e-12, file: file, line: line)
    }

    func testMatchesPyTorch2D() { checkAgainstPyTorch(nnFixture("batchnorm.json")["bn2"] as! [String: Any]) }

    func testMatchesPyTorch4D() { checkAgainstPyTorch(nnFixture("batchnorm.json")["bn4"] as! [String: Any]) }

    func testParamsAndLazyMoments() {
        assertValues(bnparams(3), [1, 1, 1, 0, 0, 0], shape: [6])
        XCTAssertEqual(bnparams(2, dtype: .float64).dtype, .float64)
        let m2 = bnmoments(), m4 = bnmoments(momentum: 0.5)
        XCTAssertNil(m2.mean)
        let x2 = Tensor.randn(3, 8) .* 2 .+ 1
        let y2 = batchnorm(x2, m2, training: true)
        XCTAssertEqual(m2.mean!.shape, [3, 1])
        XCTAssertEqual(m2.variance!.shape, [3, 1])
        // normalized rows: mean 0, biased variance 1 (up to eps)
        assertValues(mean(y2, dims: 1), [0, 0, 0], atol: 1e-5)
        assertValues(mean(abs2(y2), dims: 1), [1, 1, 1], rtol: 1e-3)
        // running mean = 0.1 · batch mean
        assertClose(m2.mean!, mean(x2, dims: 1) .* 0.1, rtol: 1e-5)
        _ = batchnorm(Tensor.randn(4, 3, 5, 2), m4, bnparams(5), training: true)
        XCTAssertEqual(m4.mean!.shape, [1, 1, 5, 1])
        // moments given as plain [C] vectors are used as such and updated in place
        let runMean = Tensor([1, 2], dtype: .float64), runVar = Tensor([4, 9], dtype: .float64)
        let m = bnmoments(mean: runMean, variance: runVar)
        let x = Tensor([3, 5, 7, 11], shape: [2, 2], dtype: .float64)
        assertValues(batchnorm(x, m, eps: 0), [1, 1, 3, 3], shape: [2, 2])
        _ = batchnorm(x, m, training: true)
        assertValues(runMean, [0.9 + 0.5, 1.8 + 0.8], rtol: 1e-12)
        assertValues(runVar, [0.9 * 4 + 0.1 * 8, 0.9 * 9 + 0.1 * 18], rtol: 1e-12)
    }

    func testGradcheckTraining() {
        let x2 = rand64(3, 6), p2 = rand64(6)
        XCTAssertTrue(gradcheck({ (w: [Tensor]) in sum(abs2(batchnorm(w[0], nil, w[1], training: true)) .* w[0]) }, [x2, p2]))
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(tanh(batchnorm(x, bnmoments(), training: true))) }, x2))
        let x4 = rand64(3, 2, 2, 3), p4 = rand64(4), r = rand64(3, 2, 2, 3)
        XCTAssertTrue(gradcheck({ (w: [Tensor]) in sum(batchnorm(w[0], bnmoments(), w[1], training: true) .* r) }, [x4, p4]))
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(sin(batchnorm(x, training: true))) }, x4))
    }

    func testGradcheckInference() {
        let m = bnmoments(mean: rand64(4, 1), variance: Tensor.rand(shape: [4, 1], dtype: .float64) .+ 0.5)
        let before = [Double](m.mean!) + [Double](m.variance!)
        let r = rand64(4, 5)
        XCTAssertTrue(gradcheck({ (w: [Tensor]) in sum(batchnorm(w[0], m, w[1], training: false) .* r) }, [rand64(4, 5), rand64(8)]))
        XCTAssertEqual([Double](m.mean!) + [Double](m.variance!), before, "inference leaves the moments alone")
    }

    func testErrors() {
        assertKnetError("batchnorm", "[2, 3, 4]") { _ = batchnorm(Tensor.zeros(2, 3, 4), training: true) }
        assertKnetError("batchnorm", "params", "[5]", "[3, 4]") { _ = batchnorm(Tensor.zeros(3, 4), nil, Tensor.zeros(5), training: true) }
        assertKnetError("batchnorm", "moments", "[3, 4]") { _ = batchnorm(Tensor.zeros(3, 4)) }
        assertKnetError("batchnorm", "running mean", "[2]", "[3, 4]") {
            _ = batchnorm(Tensor.zeros(3, 4), bnmoments(mean: Tensor.zeros(2), variance: Tensor.ones(2)))
        }
    }
}

final class BatchedMatmulTests: DeviceTestCase {
    override func setUp() { setseed(6) }

    func testMatchesPyTorch() {
        for case let c as [String: Any] in nnFixture("bmm.json")["cases"] as! [Any] {
            let (ta, tb) = (c["transA"] as! Bool, c["transB"] as! Bool)
            assertClose(bmm(nnTensor(c["a"]), nnTensor(c["b"]), transA: ta, transB: tb), nnTensor(c["c"]),
                        rtol: 1e-10, atol: 1e-12)
        }
    }

    func testSlicesAreMatrixProducts() {
        let a = Tensor.randn(4, 3, 5), b = Tensor.randn(3, 2, 5)
        let c = bmm(a, b)
        XCTAssertEqual(c.shape, [4, 2, 5])
        for s in 0..<5 { assertClose(c[.all, .all, s], a[.all, .all, s] * b[.all, .all, s], rtol: 1e-5) }
        assertClose(bmm(a[.all, .all, 1], b[.all, .all, 1]), a[.all, .all, 1] * b[.all, .all, 1], rtol: 1e-5)
        // a strided view as input, and an empty inner dim
        let view = Tensor.randn(6, 3, 5)[1..<5, .all, .all]
        XCTAssertFalse(view.isContiguous)
        assertClose(bmm(view, b), bmm(copy(view), b), rtol: 1e-6)
        assertValues(bmm(Tensor.zeros(2, 0, 3), Tensor.zeros(0, 2, 3)), [Double](repeating: 0, count: 12), shape: [2, 2, 3])
        // many small slices spread over the cores
        let big = bmm(Tensor.randn(3, 3, 64, dtype: .float64), Tensor.randn(3, 3, 64, dtype: .float64))
        XCTAssertEqual(big.shape, [3, 3, 64])
    }

    func testGradcheckAllTransposes() {
        let (m, k, n) = (2, 3, 4)
        for ta in [false, true] {
            for tb in [false, true] {
                for batch in [[3], [2, 2], []] {
                    let a = rand64(shape: (ta ? [k, m] : [m, k]) + batch), b = rand64(shape: (tb ? [n, k] : [k, n]) + batch)
                    let r = rand64(shape: [m, n] + batch)
                    XCTAssertTrue(gradcheck({ (w: [Tensor]) in sum(bmm(w[0], w[1], transA: ta, transB: tb) .* r) }, [a, b]),
                                  "transA \(ta) transB \(tb) batch \(batch)")
                }
            }
        }
        // second order: the gradient is bmm again
        let a = rand64(2, 3, 2), b = rand64(3, 2, 2), r = rand64(2, 3, 2)
        let g = grad { (a: Tensor, b: Tensor) in sum(abs2(bmm(a, b))) }
        XCTAssertTrue(gradcheck({ (b: Tensor) in sum(g(a, b) .* r) }, b))
    }

    func testErrors() {
        assertKnetError("bmm", "inner", "[2, 3, 4]", "[2, 2, 4]") { _ = bmm(Tensor.zeros(2, 3, 4), Tensor.zeros(2, 2, 4)) }
        assertKnetError("bmm", "batch", "[2, 3, 4]", "[3, 2, 5]") { _ = bmm(Tensor.zeros(2, 3, 4), Tensor.zeros(3, 2, 5)) }
        assertKnetError("bmm", "[3]") { _ = bmm(Tensor.zeros(3), Tensor.zeros(3, 1)) }
    }
}

