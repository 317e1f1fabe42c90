import XCTest
@testable import Knet

/// The fused softmax and batch normalization (`NormalizationBackend`) against their
/// compositions of elementwise and reduction ops: adjacent-dim runs, the dims that cannot
/// be fused, all -Inf columns, and gradients of gradients through the fused primitives.
final class NormalizationTests: DeviceTestCase {
    /// softmax by its definition in basic ops.
    private func composedSoftmax(_ x: Tensor, _ dims: [Int]) -> Tensor {
        let e = exp(x .- maximum(x, dims: dims))
        return e ./ sum(e, dims: dims)
    }

    func testLayoutsOfDimRuns() {
        let l = NormalizationLayout(shape: [5, 4, 3, 2], dims: [1, 2])
        XCTAssertEqual([l?.inner, l?.n, l?.outer], [5, 12, 2])
        XCTAssertNil(NormalizationLayout(shape: [5, 4, 3], dims: [0, 2]), "not adjacent")
        XCTAssertNil(NormalizationLayout(shape: [5, 4, 3], dims: [1, 0]), "not increasing")
        XCTAssertNil(NormalizationLayout(shape: [5, 4, 3], dims: [3]))
        XCTAssertNil(NormalizationLayout(shape: [5, 4, 3], dims: []))
    }

    func testSoftmaxAndLogpEqualTheirDefinitions() {
        setseed(4)
        let x = Tensor.randn(shape: [4, 3, 5, 2], dtype: .float64) * 3
        for dims in [[0], [1], [1, 2], [3], [0, 1, 2, 3], [0, 2]] {
            let reference = composedSoftmax(x, dims)
            assertClose(softmax(x, dims: dims), reference, rtol: 1e-12, atol: 1e-14)
            assertClose(logp(x, dims: dims), log(reference), rtol: 1e-12, atol: 1e-12)
        }
        assertClose(softmax(x), composedSoftmax(x, [0, 1, 2, 3]), rtol: 1e-12, atol: 1e-14)
        // A transposed (strided) input and Float32.
        let t = transpose(Tensor.randn(shape: [6, 4], dtype: .float32))
        assertClose(softmax(t, dims: [0]), composedSoftmax(t, [0]), rtol: 1e-6, atol: 1e-7)
    }

    func testAllMinusInfinityColumnsGiveNaN() {
        let x = Tensor([-Double.infinity, -Double.infinity, 1, 2], shape: [2, 2], dtype: .float64)
        let p = [Double](softmax(x, dims: [0])), l = [Double](logp(x, dims: [0]))
        XCTAssertTrue(p[0].isNaN && p[1].isNaN && l[0].isNaN && l[1].isNaN, "\(p) \(l)")
        XCTAssertEqual(p[3], 1 / (1 + Foundation.exp(-1)), accuracy: 1e-15)
    }

    func testSecondOrderThroughFusedSoftmaxAndBatchNorm() {
        setseed(9)
        let x = Tensor.randn(shape: [3, 4], dtype: .float64)
        let c = Tensor.randn(shape: [3, 4], dtype: .float64)
        let p = Tensor.randn(shape: [6], dtype: .float64)
        // d/dx of Σ (∂/∂x Σ f(x) .* c)² must match the composed op's.
        func secondOrder(_ f: @escaping (Tensor) -> Tensor) -> Tensor {
            grad { (x: Tensor) in sum(abs2(grad { (z: Tensor) in sum(f(z) .* c) }(x))) }(x)
        }
        assertClose(secondOrder { softmax($0, dims: [0]) }, secondOrder { self.composedSoftmax($0, [0]) }, rtol: 1e-10, atol: 1e-12)
        assertClose(secondOrder { logp($0, dims: [1]) }, secondOrder { log(self.composedSoftmax($0, [1])) }, rtol: 1e-10, atol: 1e-12)
        func composedBatchNorm(_ z: Tensor) -> Tensor {
            let centered = z .- mean(z, dims: [1])
            let inverse = 1 ./ sqrt(mean(abs2(centered), dims: [1]) .+ 1e-5)
            return centered .* (reshape(p[0..<3], [3, 1]) .* inverse) .+ reshape(p[3..<6], [3, 1])
        }
        assertClose(secondOrder { batchnorm($0, nil, p, training: true) }, secondOrder(composedBatchNorm), rtol: 1e-9, atol: 1e-10)
    }

    func testBatchNormRunningStatisticsAndGradients() {
        setseed(2)
        let x = Tensor.randn(shape: [3, 2, 4, 5], dtype: .float64) * 2 .+ 1
        let p = Tensor.randn(shape: [8], dtype: .float64)
        let moments = bnmoments(momentum: 0.25)
        let y = batchnorm(x, moments, p, training: true)
        let m = Double(3 * 2 * 5)
        let xs = [Double](x)
        for c in 0..<4 {
            let values = (0..<5).flatMap { n in (0..<6).map { xs[$0 + 6 * (c + 4 * n)] } }
            let mu = values.reduce(0, +) / m
            let variance = values.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / m
            XCTAssertEqual([Double](moments.mean!)[c], 0.25 * mu, accuracy: 1e-12)
            XCTAssertEqual([Double](moments.variance!)[c], 0.25 * variance * m / (m - 1) + 0.75, accuracy: 1e-12)
            let scale = [Double](p)[c] / (variance + 1e-5).squareRoot(), bias = [Double](p)[4 + c]
            XCTAssertEqual([Double](y)[6 * c], (xs[6 * c] - mu) * scale + bias, accuracy: 1e-12)
        }
        let g = grad { (q: [Tensor]) in sum(abs2(batchnorm(q[0], nil, q[1], training: true))) }([x, p])
        let composed = grad { (q: [Tensor]) -> Tensor in
            let centered = q[0] .- mean(q[0], dims: [0, 1, 3])
            let inverse = 1 ./ sqrt(mean(abs2(centered), dims: [0, 1, 3]) .+ 1e-5)
            return sum(abs2(centered .* (reshape(q[1][0..<4], [1, 1, 4, 1]) .* inverse) .+ reshape(q[1][4..<8], [1, 1, 4, 1])))
        }([x, p])
        for (a, b) in zip(g, composed) { assertClose(a, b, rtol: 1e-10, atol: 1e-10) }
    }
}
