import Foundation
import XCTest
@testable import Knet

/// pool / poolx / unpool: the lecture notes' examples, gradchecks over modes and
/// geometries, PyTorch reference values, a naive reference on the parallel path,
/// unpool round trips and usage errors, on the CPU and on the (emulated) GPU. The CPU's
/// 2×2 fast path is tested by `CPUPoolingTests`.
final class PoolingTests: DeviceTestCase {

    // MARK: - helpers

    /// A Float64 tensor of distinct values 0.1 apart in a random order (no ties, so max
    /// pooling is differentiable and finite differences never cross a tie).
    func distinct(_ shape: [Int], seed: UInt64 = 1) -> Tensor {
        var rng = SplitMix(seed: seed)
        let n = shape.reduce(1, *)
        let values = Array(0..<n).shuffled(using: &rng).map { (Double($0) - Double(n) / 2) / 10 }
        return Tensor(values, shape: shape, dtype: .float64)
    }

    /// Options of one pooling call, passed the same way to pool, poolx and unpool.
    struct Options: CustomStringConvertible {
        var window: PoolSize = 2, padding: PoolSize = 0, stride: PoolSize? = nil, mode = 0, alpha = 1.0
        var description: String { "window=\(window) padding=\(padding) stride=\(stride?.description ?? "-") mode=\(mode) alpha=\(alpha)" }
        func pool(_ x: Tensor) -> Tensor {
            Knet.pool(x, window: window, padding: padding, stride: stride, mode: mode, alpha: alpha)
        }
        func poolx(_ x: Tensor, _ y: Tensor, _ dy: Tensor) -> Tensor {
            Knet.poolx(x, y, dy, window: window, padding: padding, stride: stride, mode: mode, alpha: alpha)
        }
        func unpool(_ x: Tensor) -> Tensor {
            Knet.unpool(x, window: window, padding: padding, stride: stride, mode: mode, alpha: alpha)
        }
    }

    /// Input shape and options for the gradchecks: 2-D and 3-D, odd sizes, padding,
    /// overlapping and skipping strides, channels and batch > 1, alpha.
    let geometries: [([Int], Options)] = [
        ([4, 4, 1, 1], Options()),
        ([5, 7, 2, 3], Options(window: 3, padding: 1, stride: 2)),
        ([6, 5, 3, 2], Options(window: [2, 3], padding: [1, 0], stride: [1, 2])),
        ([7, 6, 2, 2], Options(window: 2, padding: 1, stride: 3, alpha: 0.5)),
        ([5, 4, 3, 2, 2], Options(window: [2, 2, 3], padding: [0, 1, 1], stride: [2, 1, 2])),
        ([4, 5, 4, 1, 3], Options(window: 3, padding: 1, stride: 1, alpha: 2)),
    ]

    /// Pooling by the definition, one output at a time over column-major multi-indices.
    /// Returns y and the gradient of `sum(y .* g)`.
    func naivePool(_ x: [Double], _ shape: [Int], _ g: [Double], window w: [Int], padding p: [Int],
                   stride s: [Int], mode: Int, alpha: Double) -> (y: [Double], dx: [Double]) {
        let nd = w.count
        let yshape: [Int] = shape.indices.map { d in d < nd ? 1 + (shape[d] + 2 * p[d] - w[d]) / s[d] : shape[d] }
        var y = [Double](repeating: 0, count: yshape.reduce(1, *)), dx = [Double](repeating: 0, count: x.count)
        let windowCount = w.reduce(1, *)
        for o in y.indices {
            let yi = multiIndex(o, yshape)
            var members: [Int] = []
            for k in 0..<windowCount {
                let wk = multiIndex(k, w)
                let xi: [Int] = (0..<shape.count).map { d in d < nd ? yi[d] * s[d] - p[d] + wk[d] : yi[d] }
                if (0..<nd).allSatisfy({ xi[$0] >= 0 && xi[$0] < shape[$0] }) { members.append(linearPosition(xi, shape)) }
            }
            if mode == 0 {
                let best = members.max { x[$0] < x[$1] }!
                y[o] = alpha * x[best]
                dx[best] += alpha * g[o]
            } else {
                let n = Double(mode == 1 ? windowCount : members.count)
                y[o] = alpha * members.reduce(0) { $0 + x[$1] } / n
                for m in members { dx[m] += alpha * g[o] / n }
            }
        }
        return (y, dx)
    }

    // MARK: - the lecture notes' examples (seeds/003)

    func testLectureExamples1D() {
        // Knet's 1-D examples are (6,1,1,1) arrays: the second spatial dim has window 1.
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [6, 1, 1, 1])
        // Knet's examples use the default (square) window on the [6,1,1,1] array: the
        // window overhangs the size-1 dim by less than a stride, which Knet allows.
        assertValues(pool(x), [2, 4, 6], shape: [3, 1, 1, 1])
        assertValues(pool(x, window: 3), [3, 6], shape: [2, 1, 1, 1])
        assertValues(pool(x, padding: [1, 0]), [1, 3, 5, 6], shape: [4, 1, 1, 1])
        assertValues(pool(x, window: [2, 1]), [2, 4, 6], shape: [3, 1, 1, 1])
        assertValues(pool(x, window: [3, 1]), [3, 6], shape: [2, 1, 1, 1])
        assertValues(pool(x, window: [2, 1], padding: [1, 0]), [1, 3, 5, 6], shape: [4, 1, 1, 1])
        assertValues(pool(x, window: [2, 1], padding: [1, 0], mode: 1), [0.5, 2.5, 4.5, 3.0])
        assertValues(pool(x, window: [2, 1], padding: [1, 0], mode: 2), [1.0, 2.5, 4.5, 6.0])
        assertValues(pool(x, window: [2, 1], alpha: 2), [4, 8, 12])
    }

    func testLectureExample4x4() {
        let x = Tensor((1...16).map(Double.init), shape: [4, 4, 1, 1], dtype: .float64)
        assertValues(pool(x), [6, 8, 14, 16], shape: [2, 2, 1, 1])
    }

    func testLectureExampleChannels() {
        let x = Tensor([0.0235776, 0.375611, 0.00740115, 0.979588, 0.470246, 0.884792, 0.76617, 0.949825,
                        0.829754, 0.561758, 0.674633, 0.449385, 0.164617, 0.955467, 0.480402, 0.956657,
                        0.254501, 0.422195, 0.102558, 0.823076, 0.0930295, 0.0399775, 0.589408, 0.797679,
                        0.640946, 0.387326, 0.69867, 0.695289, 0.270479, 0.234855, 0.498438, 0.888321],
                       shape: [4, 4, 2, 1], dtype: .float64)
        assertValues(pool(x), [0.884792, 0.979588, 0.955467, 0.956657, 0.422195, 0.823076, 0.640946, 0.888321],
                     shape: [2, 2, 2, 1])
        // The same numbers as a batch of two single-channel images.
        assertValues(pool(reshape(x, [4, 4, 1, 2])), [0.884792, 0.979588, 0.955467, 0.956657,
                                                      0.422195, 0.823076, 0.640946, 0.888321], shape: [2, 2, 1, 2])
    }

    func testOutputShapes() {
        let x = Tensor.zeros(shape: [7, 6, 3, 2])
        XCTAssertEqual(pool(x).shape, [3, 3, 3, 2])
        XCTAssertEqual(pool(x, window: 3, padding: 1, stride: 2).shape, [4, 3, 3, 2])
        XCTAssertEqual(pool(x, window: [3, 2], stride: 1).shape, [5, 5, 3, 2])
        XCTAssertEqual(pool(Tensor.zeros(shape: [5, 6, 7, 2, 1]), window: [2, 3, 4], padding: [1, 1, 0]).shape, [3, 2, 1, 2, 1])
        XCTAssertEqual(pool(x).dtype, .float32)
        XCTAssertEqual(pool(Tensor.zeros(shape: [4, 4, 2, 0])).shape, [2, 2, 2, 0])
        XCTAssertEqual(poolx(x, pool(x), pool(x)).shape, x.shape)
    }

    // MARK: - NaN handling, poolx values

    func testMaxPoolingNaNOption() {
        let x = Tensor([1, .nan, 3, 2, .nan, .nan], shape: [6, 1, 1, 1], dtype: .float64)
        let skipped = [Double](pool(x, window: [2, 1]))
        XCTAssertEqual(skipped[0...1], [1, 3])
        XCTAssertTrue(skipped[2].isNaN)
        let propagated = [Double](pool(x, window: [2, 1], maxpoolingNanOpt: 1))
        XCTAssertEqual(propagated[1], 3)
        XCTAssertTrue(propagated[0].isNaN && propagated[2].isNaN)
        assertKnetError("pool", "maxpoolingNanOpt", "[6, 1, 1, 1]") { _ = pool(x, window: [2, 1], maxpoolingNanOpt: 2) }
    }

    func testPoolxRoutesToFirstMaximum() {
        let x = Tensor([1, 4, 4, 2, 0, 3], shape: [3, 2, 1, 1], dtype: .float64)   // a tie in window 0
        let y = pool(x, window: [3, 1])
        assertValues(y, [4, 3])
        assertValues(poolx(x, y, Tensor([10, 20], shape: [1, 2, 1, 1], dtype: .float64), window: [3, 1]),
                     [0, 10, 0, 0, 0, 20])
        assertValues(poolx(x, y, Tensor([6, 3], shape: [1, 2, 1, 1], dtype: .float64), window: [3, 1], mode: 1, alpha: 2),
                     [4, 4, 4, 2, 2, 2])
    }

    // MARK: - gradients

    func testGradcheckPool() {
        for (shape, o) in geometries {
            for mode in 0...2 {
                var opt = o; opt.mode = mode
                let x = distinct(shape)
                let r = distinct(opt.pool(x).shape, seed: 7)
                XCTAssertTrue(gradcheck({ (x: Tensor, r: Tensor) in sum(opt.pool(x) .* r) }, x, r, samples: 30),
                              "pool \(shape) \(opt)")
            }
        }
    }

    func testGradcheckPoolxInDy() {
        for (shape, o) in geometries {
            for mode in 0...2 {
                var opt = o; opt.mode = mode
                let x = distinct(shape), y = opt.pool(x)
                let dy = distinct(y.shape, seed: 3)
                XCTAssertTrue(gradcheck({ (dy: Tensor, x: Tensor, y: Tensor) in sum(opt.poolx(x, y, dy) ** 2) },
                                        dy, x, y, samples: 20), "poolx \(shape) \(opt)")
            }
        }
    }

    func testOverhangingWindow() {
        // [5,2] with window 3: dim 1 gives 1 + (2 − 3) ÷ 3 = 1 output whose window
        // overhangs the input; the missing cells behave as padding.
        let x = distinct([5, 2, 2, 3])
        for mode in 0...2 {
            let y = pool(x, window: 3, mode: mode)
            XCTAssertEqual(y.shape, [1, 1, 2, 3])
            let v = [Double](x), out = [Double](y)
            for plane in 0..<6 {
                let cells = (0..<2).flatMap { j in (0..<3).map { i in v[plane * 10 + j * 5 + i] } }
                let expected = mode == 0 ? cells.max()! : cells.reduce(0, +) / Double(mode == 1 ? 9 : 6)
                XCTAssertEqual(out[plane], expected, accuracy: 1e-12, "mode \(mode) plane \(plane)")
            }
            XCTAssertTrue(gradcheck({ (x: Tensor) in sum(pool(x, window: 3, mode: mode) ** 2) }, x, samples: 20), "mode \(mode)")
        }
    }

    func testSecondOrderThroughPoolGradient() {
        // d/dx of a function of grad(pool): exercises poolx's gradient in dy inside grad(grad).
        for (shape, o) in geometries.prefix(4) {
            for mode in 0...2 {
                var opt = o; opt.mode = mode
                // x + c: c's values are 0.1 apart and x spans less than 0.02, so no two
                // pooled inputs tie (x .* c could: 0.1m·(1 + 0.001k) has exact ties).
                let c = distinct(shape, seed: 5)
                let inner = grad { (x: Tensor) in sum(opt.pool(x .+ c) ** 2) }
                let x = distinct(shape, seed: 11) .* 0.001
                XCTAssertTrue(gradcheck({ (x: Tensor) in sum(inner(x) ** 2) }, x, samples: 20), "grad(grad) \(shape) \(opt)")
            }
        }
    }

    func testGradientAgainstNaiveReference() {
        // Large enough to split over threads (by plane); Float32 and Float64. The naive
        // reference runs on planes at the ends and around the middle of the split.
        let shape = [16, 15, 8, 72], planes = 8 * 72, plane = 16 * 15
        let picked = [0, 1, planes / 2 - 1, planes / 2, planes - 1]
        func planesOf(_ t: [Double], size: Int) -> [Double] { picked.flatMap { t[($0 * size)..<(($0 + 1) * size)] } }
        let opts = [Options(), Options(window: 3, padding: 1, stride: 2, mode: 1, alpha: 0.5),
                    Options(window: [3, 2], padding: [1, 1], stride: [2, 3], mode: 2)]
        for dtype in [DType.float32, .float64] {
            for o in opts {
                let x = Tensor([Double](distinct(shape)) .map { $0 / 1000 }, shape: shape, dtype: dtype)
                let y = o.pool(x)
                let g = Tensor([Double](distinct(y.shape, seed: 2)).map { $0 / 1000 }, shape: y.shape, dtype: dtype)
                let resolve = { (p: PoolSize) in p.perDim(2, "", "", "") }
                let yPlane = y.shape[0] * y.shape[1]
                let ref = naivePool(planesOf([Double](x), size: plane), [16, 15, 1, picked.count],
                                    planesOf([Double](g), size: yPlane), window: resolve(o.window), padding: resolve(o.padding),
                                    stride: resolve(o.stride ?? o.window), mode: o.mode, alpha: o.alpha)
                assertValues(Tensor(planesOf([Double](y), size: yPlane)), ref.y, rtol: 1e-5, atol: 1e-5)
                assertValues(Tensor(planesOf([Double](o.poolx(x, y, g)), size: plane)), ref.dx, rtol: 1e-5, atol: 1e-5)
            }
        }
    }

    // MARK: - PyTorch reference values

    func testAgainstPyTorchFixtures() throws {
        struct Case: Decodable {
            let shape, window, padding, stride, yshape: [Int]
            let mode: Int
            let x, g, y, dx: [Double]
        }
        struct File: Decodable { let cases: [Case] }
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/pool")
        var count = 0
        for name in ["pool2d.json", "pool3d.json"] {
            let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: dir.appendingPathComponent(name)))
            for c in file.cases {
                let o = Options(window: PoolSize(c.window), padding: PoolSize(c.padding), stride: PoolSize(c.stride), mode: c.mode)
                for dtype in [DType.float64, .float32] {
                    let x = Tensor(c.x, shape: c.shape, dtype: dtype), g = Tensor(c.g, shape: c.yshape, dtype: dtype)
                    let y = o.pool(x)
                    assertValues(y, c.y, shape: c.yshape)
                    let dx = grad { (x: Tensor) in sum(o.pool(x) .* g) }
                    assertValues(dx(x), c.dx, shape: c.shape)
                }
                count += 1
            }
        }
        XCTAssertEqual(count, 8)
    }

    // MARK: - unpool

    func testUnpoolValues() {
        let x = Tensor([1, 2, 3, 4], shape: [2, 2, 1, 1], dtype: .float64)
        assertValues(unpool(x), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], shape: [4, 4, 1, 1])
        assertValues(unpool(x, window: [3, 1]), [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4], shape: [6, 2, 1, 1])
        assertValues(unpool(x, alpha: 2), [0.5, 0.5, 1, 1, 0.5, 0.5, 1, 1, 1.5, 1.5, 2, 2, 1.5, 1.5, 2, 2])
        // Overlapping windows add up.
        let v = Tensor([1, 10], shape: [2, 1, 1, 1], dtype: .float64)
        assertValues(unpool(v, window: [3, 1], stride: [2, 1]), [1, 1, 11, 10, 10], shape: [5, 1, 1, 1])
    }

    func testPoolOfUnpoolIsIdentity() {
        let cases: [([Int], Options)] = [
            ([3, 4, 2, 2], Options()),
            ([3, 2, 1, 3], Options(window: [3, 2])),
            ([4, 3, 2, 1], Options(window: 2, padding: 1)),
            ([3, 3, 2, 2], Options(window: 3, padding: [1, 2], stride: 3)),
            ([2, 3, 2, 2, 2], Options(window: [2, 3, 2], padding: [1, 0, 1])),
            ([3, 2, 2, 2], Options(window: 2, stride: 3)),
        ]
        for (shape, o) in cases {
            for mode in 0...2 {
                for alpha in [1.0, 0.5] {
                    var opt = o; opt.mode = mode; opt.alpha = alpha
                    let x = distinct(shape)
                    assertClose(opt.pool(opt.unpool(x)), x, rtol: 1e-12, atol: 1e-12)
                }
            }
        }
    }

    func testGradcheckUnpool() {
        for (shape, o) in [([3, 4, 2, 2], Options()), ([4, 3, 2, 1], Options(window: 3, padding: 1, stride: 2, mode: 1)),
                           ([2, 3, 2, 2, 2], Options(window: [2, 3, 2], padding: [1, 0, 1], mode: 2, alpha: 3))] {
            let x = distinct(shape)
            let r = distinct(o.unpool(x).shape, seed: 9)
            XCTAssertTrue(gradcheck({ (x: Tensor, r: Tensor) in sum(o.unpool(x) .* r) }, x, r, samples: 20), "unpool \(o)")
            let inner = grad { (x: Tensor) in sum(o.unpool(x) ** 2) }
            XCTAssertTrue(gradcheck({ (x: Tensor) in sum(inner(x) ** 2) }, x, samples: 20), "unpool grad(grad) \(o)")
        }
    }

    // MARK: - usage errors

    func testBadInput() {
        let x = Tensor.zeros(shape: [4, 5, 2, 3])
        assertKnetError("pool", "window larger than the padded input", "[4, 5, 2, 3]") { _ = pool(x, window: 6, stride: 1) }
        assertKnetError("pool", "padding must not be negative", "[4, 5, 2, 3]") { _ = pool(x, padding: -1) }
        assertKnetError("pool", "padding must be smaller than the window", "[4, 5, 2, 3]") { _ = pool(x, padding: 2) }
        assertKnetError("pool", "positive", "[4, 5, 2, 3]") { _ = pool(x, window: 2, stride: 0) }
        assertKnetError("pool", "positive", "[4, 5, 2, 3]") { _ = pool(x, window: [2, 0]) }
        assertKnetError("pool", "4-D", "[4, 5, 2]") { _ = pool(Tensor.zeros(shape: [4, 5, 2])) }
        assertKnetError("pool", "4-D", "[2, 2, 2, 2, 2, 2]") { _ = pool(Tensor.zeros(shape: [2, 2, 2, 2, 2, 2])) }
        assertKnetError("pool", "window=[2, 2, 2]", "[4, 5, 2, 3]") { _ = pool(x, window: [2, 2, 2]) }
        assertKnetError("pool", "mode", "[4, 5, 2, 3]") { _ = pool(x, mode: 3) }
        assertKnetError("pool", "window larger", "[0, 5, 2, 3]") { _ = pool(Tensor.zeros(shape: [0, 5, 2, 3]), window: 1) }
        let y = pool(x)
        assertKnetError("poolx", "[2, 2, 2, 3]", "[4, 5, 2, 3]") { _ = poolx(x, y, Tensor.zeros(shape: [2, 2, 2, 2])) }
        assertKnetError("poolx", "dtype") { _ = poolx(x, y, Tensor.zeros(shape: [2, 2, 2, 3], dtype: .float64)) }
        assertKnetError("unpool", "no output", "[1, 3, 1, 1]") { _ = unpool(Tensor.zeros(shape: [1, 3, 1, 1]), padding: 1) }
        assertKnetError("unpool", "4-D", "[3, 3]") { _ = unpool(Tensor.zeros(shape: [3, 3])) }
        assertKnetError("unpool", "alpha") { _ = unpool(x, alpha: 0) }
    }
}

/// The CPU's 2×2 max-pooling fast path against its general path, on the CPU only.
final class CPUPoolingTests: XCTestCase {
    /// 2×2 max pooling of even planes takes a direct path (blocks of eight windows for rows
    /// of at least eight, else of four, the last block overlapping the one before); pooling
    /// the same planes as 3-D volumes of depth 1 takes the general one. Values with ties, NaNs
    /// and -Inf (whole windows of them too), both NaN options and a scale give the same pooled
    /// values, gradients and poolx routing, in both dtypes, for rows of 3 windows, of 4, of 7
    /// (4 + an overlapping 4), of 8, and of 10 (8 + an overlapping 8).
    func testTwoByTwoPathMatchesTheGeneralOne() {
        for (width, dtype) in [(6, DType.float64), (6, .float32), (8, .float32), (14, .float64), (16, .float32),
                               (20, .float64), (20, .float32)] {
            let count = width * 4 * 3 * 2
            var values: [Double] = (0..<count).map { (i: Int) -> Double in Double((i * 7919) % 13 - 6) }
            let special: [Double] = [.nan, -.infinity, 2, 2, .infinity, .nan, 7, 7]
            for (k, v) in special.enumerated() { values[7 * k + 1] = v }
            let window = [0, 1, width, width + 1]                           // a window's offsets
            for k in window {
                values[4 * width + 2 + k] = Double.nan                      // a window of NaNs only (plane 1)
                values[9 * width - 2 + k] = -Double.infinity                // of -Inf only (plane 2, last)
            }
            for (k, v) in zip(window, [-Double.infinity, .nan, .nan, -.infinity]) {
                values[12 * width + 4 + k] = v                              // -Inf first, then NaNs (plane 3)
            }
            let x = Tensor(values, shape: [width, 4, 3, 2], dtype: dtype)
            let volume = reshape(x, [width, 4, 1, 3, 2])
            for nan in [0, 1] {
                for alpha in [1.0, -0.5] {
                    let what = "width \(width) \(dtype) nan \(nan) alpha \(alpha)"
                    let flat = pool(x, maxpoolingNanOpt: nan, alpha: alpha)
                    let general = pool(volume, window: [2, 2, 1], maxpoolingNanOpt: nan, alpha: alpha)
                    assertSame(flat, general, "pool " + what)
                    let dy = Tensor((0..<flat.count).map { Double($0 + 1) }, shape: flat.shape, dtype: dtype)
                    assertSame(poolx(x, flat, dy, maxpoolingNanOpt: nan, alpha: alpha),
                               poolx(volume, general, reshape(dy, general.shape), window: [2, 2, 1],
                                     maxpoolingNanOpt: nan, alpha: alpha), "poolx " + what)
                    // values taken at the maximum of another tensor (poolx's gradient in dy)
                    let v = Tensor((0..<x.count).map { Double($0) }, shape: x.shape, dtype: dtype)
                    let d2 = PoolDescriptor("pool", input: x.shape, window: 2, padding: 0, stride: nil, mode: 0,
                                            maxpoolingNanOpt: nan, alpha: alpha)
                    let d3 = PoolDescriptor("pool", input: volume.shape, window: [2, 2, 1], padding: 0, stride: nil,
                                            mode: 0, maxpoolingNanOpt: nan, alpha: alpha)
                    assertSame(pooled(v, selector: x, d2), pooled(reshape(v, volume.shape), selector: volume, d3),
                               "selected values " + what)
                }
            }
        }
    }

    /// Equal element for element, bit for bit (so -0 is not +0), NaN matching NaN.
    private func assertSame(_ a: Tensor, _ b: Tensor, _ what: String, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, line: line)
        for i in 0..<min(a.count, b.count) {
            let (u, v) = (a[flat: i], b[flat: i])
            XCTAssertTrue(u.bitPattern == v.bitPattern || (u.isNaN && v.isNaN),      // the sign of zero too
                          "\(what) element \(i): \(u) vs \(v)", line: line)
        }
    }
}
