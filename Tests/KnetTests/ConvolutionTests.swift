import Foundation
import XCTest
@testable import Knet

/// conv4 / deconv4: known answers, PyTorch references (Fixtures/conv), gradchecks to
/// second order, and bad input, on the CPU and on the (emulated) GPU. The CPU lowering's
/// partition and tiling are tested by `CPUConvolutionTests`.
final class ConvolutionTests: DeviceTestCase {

    /// One convolution configuration: shapes in Knet order and the keyword arguments.
    struct Config: CustomStringConvertible {
        var x: [Int], w: [Int]
        var padding: ConvSize = 0, stride: ConvSize = 1, dilation: ConvSize = 1
        var mode = 0, alpha = 1.0, group = 1

        func conv(_ w: Tensor, _ x: Tensor) -> Tensor {
            conv4(w, x, padding: padding, stride: stride, dilation: dilation, mode: mode, alpha: alpha, group: group)
        }
        func deconv(_ w: Tensor, _ x: Tensor) -> Tensor {
            deconv4(w, x, padding: padding, stride: stride, dilation: dilation, mode: mode, alpha: alpha, group: group)
        }
        var description: String {
            "x \(x) w \(w) padding \(padding) stride \(stride) dilation \(dilation) mode \(mode) alpha \(alpha) group \(group)"
        }
    }

    /// conv4 configurations for the gradchecks: paddings, strides, dilations, both modes,
    /// groups, odd sizes, batch and channels > 1, 1-D, 2-D and 3-D.
    static let convConfigs: [Config] = [
        Config(x: [5, 4, 2, 2], w: [3, 2, 2, 3]),
        Config(x: [6, 5, 3, 2], w: [3, 3, 3, 2], padding: 1, mode: 1),
        Config(x: [7, 5, 2, 3], w: [3, 2, 2, 2], padding: [2, 1], stride: [2, 3]),
        Config(x: [7, 6, 1, 2], w: [2, 3, 1, 2], padding: [0, 1], dilation: [3, 2], mode: 1),
        Config(x: [5, 5, 4, 2], w: [3, 1, 2, 4], padding: 1, stride: 2, group: 2),
        Config(x: [4, 3, 6, 1], w: [1, 2, 2, 3], mode: 1, alpha: 0.5, group: 3),
        Config(x: [9, 2, 3], w: [4, 2, 2], padding: 2, stride: 2),
        Config(x: [4, 3, 4, 2, 2], w: [2, 2, 3, 2, 2], padding: [1, 0, 1], stride: [1, 1, 2]),
        Config(x: [5, 3, 4, 2, 1], w: [2, 2, 2, 1, 4], padding: [0, 1, 0], dilation: [2, 1, 1], mode: 1, group: 2),
    ]

    /// deconv4 configurations: w [W..., Cy/group, Cx], x [X..., Cx, N].
    static let deconvConfigs: [Config] = [
        Config(x: [3, 4, 3, 2], w: [3, 3, 2, 3]),
        Config(x: [3, 3, 2, 2], w: [3, 2, 3, 2], padding: 1, stride: 2, mode: 1),
        Config(x: [4, 3, 4, 1], w: [2, 3, 1, 4], padding: [0, 1], stride: [1, 2], dilation: [2, 1], group: 2),
        Config(x: [2, 3, 2, 2, 1], w: [2, 2, 2, 2, 2], padding: [0, 1, 0], stride: 2, mode: 1, alpha: 2),
    ]

    // MARK: - known answers

    func testHandComputed1DConvolutionAndCrossCorrelation() {
        let x = Tensor([1, 2, 3, 4, 5], shape: [5, 1, 1, 1], dtype: .float64)
        let w = Tensor([1, 2, 3], shape: [3, 1, 1, 1], dtype: .float64)
        // Cross-correlation: y[i] = Σk w[k] x[i+k]; convolution flips w.
        assertValues(conv4(w, x, mode: 1), [14, 20, 26], shape: [3, 1, 1, 1])
        assertValues(conv4(w, x), [10, 16, 22], shape: [3, 1, 1, 1])
        assertValues(conv4(w, x, padding: [1, 0], mode: 1), [8, 14, 20, 26, 14], shape: [5, 1, 1, 1])
        assertValues(conv4(w, x, padding: [1, 0], stride: [2, 1], mode: 1), [8, 20, 14], shape: [3, 1, 1, 1])
        assertValues(conv4(w, x, dilation: [2, 1], mode: 1), [22], shape: [1, 1, 1, 1])     // 1 + 2*3 + 3*5
        assertValues(conv4(w, x, alpha: 0.5), [5, 8, 11])
        // The same as a 1-D convolution ([X, C, N]) and along the second spatial dim.
        assertValues(conv4(reshape(w, [3, 1, 1]), reshape(x, [5, 1, 1]), mode: 1), [14, 20, 26], shape: [3, 1, 1])
        assertValues(conv4(reshape(w, [1, 3, 1, 1]), reshape(x, [1, 5, 1, 1])), [10, 16, 22], shape: [1, 3, 1, 1])
        // deconv4 spreads each input over the window: (w ⋆ x) reversed is the adjoint.
        assertValues(deconv4(w, Tensor([1, 10], shape: [2, 1, 1, 1], dtype: .float64), mode: 1),
                     [1, 12, 23, 30], shape: [4, 1, 1, 1])
    }

    func testOutputShapes() {
        let shape = { (w: [Int], x: [Int], c: Config) in c.conv(Tensor.zeros(shape: w), Tensor.zeros(shape: x)).shape }
        XCTAssertEqual(shape([5, 5, 1, 20], [28, 28, 1, 3], Config(x: [], w: [])), [24, 24, 20, 3])
        XCTAssertEqual(shape([3, 3, 1, 4], [28, 28, 1, 2], Config(x: [], w: [], padding: 1)), [28, 28, 4, 2])
        XCTAssertEqual(shape([3, 3, 2, 4], [10, 9, 2, 1], Config(x: [], w: [], padding: [1, 0], stride: [3, 2])), [4, 4, 4, 1])
        XCTAssertEqual(shape([3, 3, 2, 4], [10, 9, 2, 1], Config(x: [], w: [], dilation: 2)), [6, 5, 4, 1])
        XCTAssertEqual(shape([3, 3, 3, 2, 6], [5, 6, 7, 4, 2], Config(x: [], w: [], group: 2)), [3, 4, 5, 6, 2])
        XCTAssertEqual(shape([3, 2, 4], [8, 2, 5], Config(x: [], w: [], stride: 2)), [3, 4, 5])
        let up = deconv4(Tensor.zeros(2, 2, 16, 32), Tensor.zeros(7, 7, 32, 3), stride: 2)
        XCTAssertEqual(up.shape, [14, 14, 16, 3])
        let d = deconv4(Tensor.zeros(3, 3, 2, 5), Tensor.zeros(4, 5, 5, 1), padding: 1, stride: [2, 1], dilation: [1, 2])
        XCTAssertEqual(d.shape, [7, 7, 2, 1])   // (4-1)*2 + 3 - 2,  (5-1)*1 + 5 - 2
        // deconv4 inverts conv4's shape map.
        XCTAssertEqual(conv4(Tensor.zeros(3, 3, 2, 5), d, padding: 1, stride: [2, 1], dilation: [1, 2]).shape, [4, 5, 5, 1])
    }

    // MARK: - PyTorch references

    struct Fixture: Decodable {
        let name, op: String
        let padding, stride, dilation: [Int]
        let mode, group: Int
        let x_shape, w_shape, y_shape: [Int]
        let x, w, y, dy, dx, dw: [Double]
    }

    static func fixtures() throws -> [Fixture] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/conv/conv_reference.json")
        struct File: Decodable { let cases: [Fixture] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    func testAgainstPyTorch() throws {
        let cases = try Self.fixtures()
        XCTAssertEqual(cases.count, 10)
        for c in cases {
            let config = Config(x: c.x_shape, w: c.w_shape, padding: ConvSize(c.padding), stride: ConvSize(c.stride),
                                dilation: ConvSize(c.dilation), mode: c.mode, group: c.group)
            let op = c.op == "conv4" ? config.conv : config.deconv
            for dtype in [DType.float64, .float32] {
                let x = Tensor(c.x, shape: c.x_shape, dtype: dtype), w = Tensor(c.w, shape: c.w_shape, dtype: dtype)
                let dy = Tensor(c.dy, shape: c.y_shape, dtype: dtype)
                let y = op(w, x)
                XCTAssertEqual(y.dtype, dtype)
                assertValues(y, c.y, shape: c.y_shape)
                let g = grad { (p: [Tensor]) in sum(op(p[0], p[1]) .* dy) }
                let dp = g([w, x])
                assertValues(dp[0], c.dw, shape: c.w_shape)
                assertValues(dp[1], c.dx, shape: c.x_shape)
            }
        }
    }

    // MARK: - gradients

    func testConv4Gradcheck() {
        for c in Self.convConfigs {
            let w = rand64(shape: c.w), x = rand64(shape: c.x)
            XCTAssertTrue(gradcheck({ (p: [Tensor]) in sum(tanh(c.conv(p[0], p[1]))) }, [w, x], samples: 12), "\(c)")
        }
    }

    func testConv4SecondOrderGradcheck() {
        for c in Self.convConfigs.prefix(6) + Self.convConfigs.suffix(1) {
            let inner = grad { (p: [Tensor]) in sum(tanh(c.conv(p[0], p[1]))) }
            let outer = { (p: [Tensor]) -> Tensor in
                let g = inner(p)
                return sum(g[0] .* g[0]) + sum(sin(g[1]))
            }
            XCTAssertTrue(gradcheck(outer, [rand64(shape: c.w), rand64(shape: c.x)], samples: 8), "\(c)")
        }
    }

    func testDeconv4Gradcheck() {
        for c in Self.deconvConfigs {
            let w = rand64(shape: c.w), x = rand64(shape: c.x)
            XCTAssertTrue(gradcheck({ (p: [Tensor]) in sum(tanh(c.deconv(p[0], p[1]))) }, [w, x], samples: 12), "\(c)")
            let inner = grad { (p: [Tensor]) in sum(tanh(c.deconv(p[0], p[1]))) }
            let outer = { (p: [Tensor]) -> Tensor in
                let g = inner(p)
                return sum(sin(g[0])) + sum(g[1] .* g[1])
            }
            XCTAssertTrue(gradcheck(outer, [w, x], samples: 8), "second order \(c)")
        }
    }

    /// conv4 and deconv4 are adjoint: <conv4(w, y), x> = <y, deconv4(w, x)>.
    func testDeconvIsAdjointOfConv() {
        for c in Self.deconvConfigs {
            let w = rand64(shape: c.w), x = rand64(shape: c.x)
            let up = c.deconv(w, x)
            let y = rand64(shape: up.shape)
            XCTAssertEqual(sum(c.conv(w, y) .* x).scalar, sum(y .* up).scalar, accuracy: 1e-9, "\(c)")
        }
    }

    /// Rows long enough for the lowering's eight-at-a-time copies and adds (and their
    /// tails), with padding clipping some: the data gradient (the adjoint, through
    /// col2im) and the filter gradient (through im2col) satisfy their defining identities.
    func testLongRowsLowerAndScatterExactly() {
        for c in [Config(x: [21, 5, 2, 2], w: [3, 2, 2, 3]), Config(x: [19, 4, 3, 1], w: [4, 3, 3, 2], padding: [2, 1], mode: 1)] {
            let w = rand64(shape: c.w), x = rand64(shape: c.x)
            let y = c.conv(w, x), dy = rand64(shape: y.shape)
            let g = grad { (p: [Tensor]) in sum(c.conv(p[0], p[1]) .* dy) }([w, x])
            // conv is linear in each argument: <dy, conv(w, x)> = <dw, w> = <dx, x>
            XCTAssertEqual(sum(g[0] .* w).scalar, sum(dy .* y).scalar, accuracy: 1e-9, "dw \(c)")
            XCTAssertEqual(sum(g[1] .* x).scalar, sum(dy .* y).scalar, accuracy: 1e-9, "dx \(c)")
            XCTAssertTrue(gradcheck({ (p: [Tensor]) in sum(c.conv(p[0], p[1]) .* dy) }, [w, x], samples: 10), "\(c)")
        }
    }

    /// The valid convolution's own lowering equals the general one: with padding 1 the
    /// general path computes a border around the same values. Output and both gradients,
    /// 2-D and 3-D, both modes, with and without channel groups.
    func testValidConvolutionIsTheCroppedPaddedOne() {
        let cases: [(x: [Int], w: [Int], group: Int, crop: (Tensor) -> Tensor)] = [
            ([11, 6, 3, 2], [3, 2, 3, 4], 1, { $0[1..<10, 1..<6, .all, .all] }),
            ([11, 6, 4, 2], [3, 2, 2, 6], 2, { $0[1..<10, 1..<6, .all, .all] }),
            ([6, 5, 4, 2, 2], [3, 2, 2, 2, 3], 1, { $0[1..<5, 1..<5, 1..<4, .all, .all] }),
            ([6, 5, 4, 4, 2], [3, 2, 2, 2, 4], 2, { $0[1..<5, 1..<5, 1..<4, .all, .all] }),
        ]
        for mode in [0, 1] {
            for c in cases {
                let valid = Config(x: c.x, w: c.w, mode: mode, group: c.group)
                let padded = Config(x: c.x, w: c.w, padding: 1, mode: mode, group: c.group)
                let w = rand64(shape: c.w), x = rand64(shape: c.x)
                let y = valid.conv(w, x)
                assertClose(y, copy(c.crop(padded.conv(w, x))), rtol: 1e-12)
                let r = rand64(shape: y.shape)
                let fast = grad { (p: [Tensor]) in sum(valid.conv(p[0], p[1]) .* r) }([w, x])
                let general = grad { (p: [Tensor]) in sum(c.crop(padded.conv(p[0], p[1])) .* r) }([w, x])
                assertClose(fast[0], general[0], rtol: 1e-12)
                assertClose(fast[1], general[1], rtol: 1e-12)
            }
        }
    }

    func testStridedInputsAndFloat32() {
        let c = Config(x: [6, 5, 2, 3], w: [3, 3, 2, 4], padding: 1, stride: 2)
        let w = rand64(shape: c.w), x = rand64(shape: c.x)
        let big = rand64(shape: [8, 5, 2, 3])
        big[1..<7, .all, .all, .all] = x
        let xt = big[1..<7, .all, .all, .all]
        XCTAssertFalse(xt.isContiguous)
        assertClose(c.conv(w, xt), c.conv(w, x), rtol: 1e-12)
        let y32 = c.conv(convert(w, to: .float32), convert(x, to: .float32))
        XCTAssertEqual(y32.dtype, .float32)
        assertClose(y32, c.conv(w, x), rtol: 1e-4, atol: 1e-4)
    }

    func testEmptyBatch() {
        let w = rand64(3, 3, 2, 4)
        let x = Tensor.zeros(shape: [5, 5, 2, 0], dtype: .float64)
        XCTAssertEqual(conv4(w, x).shape, [3, 3, 4, 0])
        let dw = grad { (w: Tensor) in sum(conv4(w, x)) }(w)
        assertValues(dw, Array(repeating: 0, count: w.count), shape: w.shape)
    }

    // MARK: - bad input

    func testBadInput() {
        let w = Tensor.zeros(3, 3, 2, 4), x = Tensor.zeros(8, 8, 3, 2)
        assertKnetError("conv4", "3 channels", "[3, 3, 2, 4]", "[8, 8, 3, 2]") { _ = conv4(w, x) }
        assertKnetError("conv4", "window 5", "[5, 5, 1, 1]", "[4, 4, 1, 1]") {
            _ = conv4(Tensor.zeros(5, 5, 1, 1), Tensor.zeros(4, 4, 1, 1))
        }
        assertKnetError("conv4", "window 5", "dilation 2") {
            _ = conv4(Tensor.zeros(3, 3, 1, 1), Tensor.zeros(4, 6, 1, 1), padding: [0, 0], dilation: 2)
        }
        assertKnetError("conv4", "negative padding", "[3, 3, 2, 4]", "[8, 8, 2, 2]") {
            _ = conv4(w, Tensor.zeros(8, 8, 2, 2), padding: [1, -1])
        }
        assertKnetError("conv4", "stride", "at least 1") { _ = conv4(w, Tensor.zeros(8, 8, 2, 2), stride: 0) }
        assertKnetError("conv4", "padding=[1, 1, 1]", "2 spatial dims") {
            _ = conv4(w, Tensor.zeros(8, 8, 2, 2), padding: [1, 1, 1])
        }
        assertKnetError("conv4", "mode", "2") { _ = conv4(w, Tensor.zeros(8, 8, 2, 2), mode: 2) }
        assertKnetError("conv4", "not divisible by group 3") {
            _ = conv4(Tensor.zeros(3, 3, 1, 4), Tensor.zeros(8, 8, 3, 2), group: 3)
        }
        assertKnetError("conv4", "3 to 5 dims", "[3, 3, 2, 4]", "[8, 8, 2]") { _ = conv4(w, Tensor.zeros(8, 8, 2)) }
        assertKnetError("conv4", "dtype") { _ = conv4(w, Tensor.zeros(8, 8, 2, 2, dtype: .float64)) }
        assertKnetError("deconv4", "x has 2 channels", "[3, 3, 2, 4]") { _ = deconv4(w, Tensor.zeros(4, 4, 2, 1)) }
        assertKnetError("deconv4", "empty output") { _ = deconv4(w, Tensor.zeros(1, 1, 4, 1), padding: 2) }
    }
}

/// The CPU lowering's internals (`partition`, `forEachTile`, the tile budget), on the CPU only.
final class CPUConvolutionTests: XCTestCase {
    typealias Config = ConvolutionTests.Config

    /// For any thread count (not only this machine's), the parts of a convolution cover
    /// every output row exactly once, each part's tiles stay within one image and the
    /// tile size, exactly its first tile is marked first, and `.images` never shares an
    /// image between parts (col2im adds into it).
    func testPartitionCoversEveryRowOnceForAnyThreadCount() {
        for threads in 1...16 {
            for batch in 0...7 {
                for y in [1, 5, 16, 17, 40] {
                    let g = ConvGeometry(spatialDims: 2, xSize: [y, 1, 1], kernel: [1, 1, 1], ySize: [y, 1, 1],
                                         padding: [0, 0, 0], stride: [1, 1, 1], dilation: [1, 1, 1],
                                         channels: 1, outChannels: 1, batch: batch, groups: 1, flipped: false)
                    for split in [ConvolutionSplit.images, .rows] {
                        for maxParts in [1, 3, Int.max] {
                            for tileRows in Set([1, 7, y]) {
                                let (parts, unit) = partition(g, split, maxParts: maxParts, threads: threads)
                                let what = "threads \(threads) batch \(batch) rows \(y) \(split) maxParts \(maxParts) tile \(tileRows)"
                                XCTAssertLessThanOrEqual(parts, min(threads, maxParts), what)
                                var covered = [Int](repeating: 0, count: batch * y), owner: [Int: Int] = [:]
                                for p in 0..<parts {
                                    var tiles: [Tile] = []
                                    forEachTile(of: p, parts: parts, unit: unit, g, tileRows: tileRows) { tiles.append($0) }
                                    XCTAssertFalse(batch > 0 && tiles.isEmpty, "an empty part: " + what)
                                    XCTAssertEqual(tiles.map(\.first), tiles.indices.map { $0 == 0 }, what)
                                    for t in tiles {
                                        XCTAssertTrue(t.rows.count <= tileRows && t.rows.upperBound <= y, what)
                                        for r in t.rows { covered[t.image * y + r] += 1 }
                                        if split == .images { XCTAssertEqual(owner.updateValue(p, forKey: t.image) ?? p, p, what) }
                                    }
                                }
                                XCTAssertEqual(covered, [Int](repeating: 1, count: batch * y), what)
                            }
                        }
                    }
                }
            }
        }
    }

    /// A batch split over threads, images split over threads, and images cut into row
    /// tiles all give the same answer.
    func testBatchingAndTiling() {
        // the general lowering, and the valid convolution's (no padding, stride or dilation)
        for c in [Config(x: [9, 7, 3, 5], w: [3, 2, 3, 4], padding: [1, 2], stride: [2, 1], mode: 1),
                  Config(x: [9, 7, 3, 5], w: [3, 2, 3, 4])] {
            checkBatchingAndTiling(c)
        }
    }

    private func checkBatchingAndTiling(_ c: Config) {
        let w = rand64(shape: c.w), x = rand64(shape: c.x), dy = rand64(shape: c.conv(w, x).shape)
        let loss = { (p: [Tensor]) in sum(c.conv(p[0], p[1]) .* dy) }
        let reference = grad(loss)([w, x])
        let y = c.conv(w, x)
        // One image at a time (a batch smaller than the thread count: its rows are split
        // between threads): the same outputs, per-image dx, and dw summing to the batch's.
        var dwSum = Tensor.zeros(shape: c.w, dtype: .float64)
        for n in 0..<5 {
            let image = x[.all, .all, .all, n..<(n + 1)], dyImage = dy[.all, .all, .all, n..<(n + 1)]
            assertClose(c.conv(w, image), y[.all, .all, .all, n..<(n + 1)], rtol: 1e-12)
            let g = grad { (p: [Tensor]) in sum(c.conv(p[0], p[1]) .* dyImage) }([w, image])
            assertClose(g[1], reference[1][.all, .all, .all, n..<(n + 1)], rtol: 1e-12)
            dwSum = dwSum + g[0]
        }
        assertClose(dwSum, reference[0], rtol: 1e-12)
        let saved = CPUConvolution.loweringBudgetBytes
        defer { CPUConvolution.loweringBudgetBytes = saved }
        for budget in [1, 8 * 18 * 5, 8 * 18 * 7, 8 * 18 * 30] {   // 1, 5, 7 or 30 rows (of 50 or 42) per tile
            CPUConvolution.loweringBudgetBytes = budget * Parallel.threads
            assertClose(c.conv(w, x), y, rtol: 1e-12)
            let g = grad(loss)([w, x])
            assertClose(g[0], reference[0], rtol: 1e-12)
            assertClose(g[1], reference[1], rtol: 1e-12)
        }
    }
}
