import XCTest
@testable import Knet
import KnetGEMM

/// Every instance of the CPU's C lowering and pooling loops (`WindowKernels`: portable,
/// AVX2+FMA, AVX-512) gives the portable instance's bits: im2col and col2im (valid and
/// general, tiled) through conv4 and its gradients, max and average pooling forward and
/// backward (general windows and the 2×2 path) through pool, poolx and unpool, over 1-, 2-
/// and 3-D geometries with padding, strides, dilations and odd sizes, in Float and Double.
/// The instances this CPU lacks are named and skipped.
final class LoweringPoolingKernelTests: XCTestCase {
    func testLoweringInstancesGiveThePortableBits() {
        assertEveryInstanceGivesThePortableBits(LoweringPoolingWorkloads.convolutionResults)
    }

    func testPoolingInstancesGiveThePortableBits() {
        assertEveryInstanceGivesThePortableBits(LoweringPoolingWorkloads.poolingResults)
    }

    /// Runs `results` on each available instance and compares each with the portable one's.
    private func assertEveryInstanceGivesThePortableBits(_ results: (DType) -> [(String, [UInt64])],
                                                         line: UInt = #line) {
        let missing = SwiftGEMM.Kernel.allCases.filter { !$0.isAvailable }
        if !missing.isEmpty { print("LoweringPoolingKernelTests: \(missing.map(\.rawValue)) not run: this CPU lacks the instructions") }
        let saved = WindowKernels.kernel
        defer { WindowKernels.kernel = saved }
        for dtype in [DType.float32, .float64] {
            WindowKernels.kernel = .portable
            let reference = results(dtype)
            for kernel in SwiftGEMM.available where kernel != .portable {
                WindowKernels.kernel = kernel
                let got = results(dtype)
                XCTAssertEqual(got.count, reference.count, line: line)
                for ((name, bits), (_, expected)) in zip(got, reference) {
                    XCTAssert(bits == expected, "\(kernel) vs portable: \(name)", line: line)
                }
            }
        }
    }
}

/// Small convolutions and poolings whose results go through every loop of the CPU's
/// lowering (im2col and col2im, valid and general, tiled) and pooling (general windows in
/// every mode, the 2×2 path), in Float and Double: each named result as bit patterns (of
/// its elements widened to Double; every NaN as one pattern).
enum LoweringPoolingWorkloads {
    /// A tensor of `shape` with values from `seed`: small integers and halves (so ties
    /// occur) or, with `specials`, NaNs, ±Inf and repeated values among them.
    static func values(_ shape: [Int], _ dtype: DType, seed: UInt64, specials: Bool = false) -> Tensor {
        var rng = SplitMix(seed: seed)
        let count = shape.reduce(1, *)
        var v = (0..<count).map { _ in Double(Int(rng.next() % 33) - 16) / 4 + (specials ? 0 : Double(rng.next() % 1000) / 4096) }
        if specials {
            let special: [Double] = [.nan, -.infinity, .infinity, 2, 2, -0.0, .nan, -.infinity]
            for (k, s) in special.enumerated() where 5 * k + 3 < count { v[5 * k + 3] = s }
        }
        return Tensor(v, shape: shape, dtype: dtype)
    }

    /// `t`'s elements as bit patterns of Double, NaNs as one.
    static func bits(_ t: Tensor) -> [UInt64] {
        [Double](t).map { $0.isNaN ? Double.nan.bitPattern : $0.bitPattern }
    }

    /// One convolution: shapes in Knet order and conv4's keyword arguments.
    typealias Convolution = (x: [Int], w: [Int], padding: [Int], stride: [Int], dilation: [Int], mode: Int, group: Int)

    /// Valid (the runs path) and general lowerings: 1-, 2- and 3-D, odd sizes, padding,
    /// strides, dilations, both modes (flipped taps), groups, rows long enough for vectors.
    static let convolutions: [Convolution] = [
        ([28, 28, 1, 3], [5, 5, 1, 6], [0, 0], [1, 1], [1, 1], 0, 1),                   // LeNet's
        ([12, 12, 6, 2], [5, 5, 6, 4], [0, 0], [1, 1], [1, 1], 1, 1),
        ([21, 5, 2, 2], [3, 2, 2, 3], [0, 0], [1, 1], [1, 1], 0, 1),
        ([19, 4, 3, 1], [4, 3, 3, 2], [2, 1], [1, 1], [1, 1], 1, 1),
        ([7, 5, 2, 3], [3, 2, 2, 2], [2, 1], [2, 3], [1, 1], 0, 1),
        ([23, 6, 1, 2], [2, 3, 1, 2], [0, 1], [1, 1], [3, 2], 1, 1),
        ([17, 9, 4, 2], [3, 3, 2, 4], [1, 1], [2, 2], [1, 1], 0, 2),
        ([9, 2, 3], [4, 2, 2], [2], [2], [1], 0, 1),
        ([30, 3, 2], [5, 3, 2], [0], [1], [1], 1, 1),
        ([6, 5, 4, 2, 2], [3, 2, 2, 2, 3], [0, 0, 0], [1, 1, 1], [1, 1, 1], 0, 1),
        ([9, 5, 4, 2, 2], [2, 2, 3, 2, 2], [1, 0, 1], [1, 1, 2], [1, 1, 1], 1, 1),
        ([11, 3, 4, 2, 1], [2, 2, 2, 1, 4], [0, 1, 0], [3, 1, 1], [2, 1, 2], 0, 2),
    ]

    /// conv4's output and both gradients (through im2col, col2im and im2col again) for
    /// every convolution in `dtype`, whole and in row tiles of a tiny lowering budget.
    static func convolutionResults(_ dtype: DType) -> [(String, [UInt64])] {
        var results: [(String, [UInt64])] = []
        let budget = CPUConvolution.loweringBudgetBytes
        defer { CPUConvolution.loweringBudgetBytes = budget }
        for (n, c) in convolutions.enumerated() {
            func conv(_ w: Tensor, _ x: Tensor) -> Tensor {
                conv4(w, x, padding: ConvSize(c.padding), stride: ConvSize(c.stride), dilation: ConvSize(c.dilation),
                      mode: c.mode, group: c.group)
            }
            let w = values(c.w, dtype, seed: UInt64(3 * n)), x = values(c.x, dtype, seed: UInt64(3 * n + 1))
            for tiled in [false, true] {
                CPUConvolution.loweringBudgetBytes = tiled ? 64 * c.w.reduce(1, *) : budget
                let y = conv(w, x), dy = values(y.shape, dtype, seed: UInt64(3 * n + 2))
                let g = grad { (p: [Tensor]) in sum(conv(p[0], p[1]) .* dy) }([w, x])
                let name = "conv \(c) \(dtype)\(tiled ? " tiled" : "")"
                results += [(name + " y", bits(y)), (name + " dw", bits(g[0])), (name + " dx", bits(g[1]))]
            }
        }
        return results
    }

    /// One pooling: the input shape and pool's keyword arguments.
    typealias Pooling = (x: [Int], window: [Int], padding: [Int], stride: [Int])

    /// General windows (2-D and 3-D, odd sizes, padding, overlapping and skipping strides)
    /// and 2×2 tilings of rows of 3, 4, 7, 8, 10 and 12 windows.
    static let poolings: [Pooling] = [
        ([5, 7, 2, 3], [3, 3], [1, 1], [2, 2]),
        ([6, 5, 3, 2], [2, 3], [1, 0], [1, 2]),
        ([7, 6, 2, 2], [2, 2], [1, 1], [3, 3]),
        ([19, 9, 2, 2], [3, 2], [1, 0], [1, 1]),
        ([5, 4, 3, 2, 2], [2, 2, 3], [0, 1, 1], [2, 1, 2]),
        ([4, 5, 4, 1, 3], [3, 3, 3], [1, 1, 1], [1, 1, 1]),
        ([6, 4, 3, 2], [2, 2], [0, 0], [2, 2]),
        ([8, 8, 3, 2], [2, 2], [0, 0], [2, 2]),                                          // LeNet's second
        ([14, 4, 2, 2], [2, 2], [0, 0], [2, 2]),
        ([16, 4, 3, 2], [2, 2], [0, 0], [2, 2]),
        ([20, 6, 2, 2], [2, 2], [0, 0], [2, 2]),
        ([24, 24, 3, 2], [2, 2], [0, 0], [2, 2]),                                        // LeNet's
    ]

    /// pool, poolx, unpool and the values taken at another tensor's maxima, for every
    /// pooling in `dtype`, in the three modes, both NaN options (max mode) and two scales.
    static func poolingResults(_ dtype: DType) -> [(String, [UInt64])] {
        var results: [(String, [UInt64])] = []
        for (n, p) in poolings.enumerated() {
            let (w, pad, s) = (PoolSize(p.window), PoolSize(p.padding), PoolSize(p.stride))
            let x = values(p.x, dtype, seed: UInt64(100 + n), specials: true)
            let v = values(p.x, dtype, seed: UInt64(200 + n))
            for mode in [0, 1, 2] {
                for nan in mode == 0 ? [0, 1] : [0] {
                    for alpha in [1.0, -0.5] {
                        let name = "pool \(p) \(dtype) mode \(mode) nan \(nan) alpha \(alpha)"
                        let y = pool(x, window: w, padding: pad, stride: s, mode: mode, maxpoolingNanOpt: nan, alpha: alpha)
                        let dy = values(y.shape, dtype, seed: UInt64(300 + n))
                        let dx = poolx(x, y, dy, window: w, padding: pad, stride: s, mode: mode, maxpoolingNanOpt: nan, alpha: alpha)
                        let up = unpool(v, window: w, padding: pad, stride: s, mode: mode, maxpoolingNanOpt: nan, alpha: alpha)
                        let d = PoolDescriptor("pool", input: p.x, window: w, padding: pad, stride: s, mode: mode,
                                               maxpoolingNanOpt: nan, alpha: alpha)
                        results += [(name + " y", bits(y)), (name + " dx", bits(dx)), (name + " unpool", bits(up)),
                                    (name + " selected", bits(pooled(v, selector: x, d)))]
                    }
                }
            }
        }
        return results
    }
}
