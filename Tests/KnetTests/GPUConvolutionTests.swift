import Foundation
import XCTest
@testable import Knet

/// GPU-specific checks of `CUDAConvolution.swift` and its kernels on the test GPU
/// (`EmulatedGPU`): outputs and gradients equal the CPU's (1e-5 relative in Float32,
/// 1e-12 in Float64) over `ConvolutionTests`' geometries, batches lowered in several
/// chunks, pooling of ties, NaNs and -Inf in every mode, and the module compiling with
/// NVRTC where it is installed.
final class GPUConvolutionTests: XCTestCase {
    typealias Config = ConvolutionTests.Config

    /// The test GPU; skips the test where there is none.
    private func gpu() throws -> Device { try EmulatedGPU.device.get() }

    /// Asserts that `f` gives the same tensors (same shapes; values within the tolerance
    /// of `dtype`) on the CPU and on `gpu` for `inputs` (Float64 CPU tensors, converted
    /// to `dtype` and copied to each device).
    private func assertSameOnBothDevices(_ gpu: Device, _ dtype: DType, _ inputs: [Tensor], _ what: String,
                                         line: UInt = #line, _ f: ([Tensor]) -> [Tensor]) {
        let tolerance = dtype == .float32 ? 1e-5 : 1e-12
        let cpu = f(inputs.map { convert($0, to: dtype) })
        let onGPU = f(inputs.map { convert($0, to: dtype).to(gpu) })
        XCTAssertEqual(cpu.count, onGPU.count, what, line: line)
        for (k, (a, b)) in zip(cpu, onGPU).enumerated() {
            XCTAssertEqual(b.device, gpu, "\(what) result \(k)", line: line)
            XCTAssertEqual(b.dtype, dtype, "\(what) result \(k)", line: line)
            assertClose(b, a, rtol: tolerance, atol: tolerance, line: line)
        }
    }

    /// conv4's output and both gradients, and the same for deconv4.
    private func convolutionResults(_ c: Config, deconv: Bool) -> ([Tensor]) -> [Tensor] {
        let op = deconv ? c.deconv : c.conv
        return { p in
            let g = grad { (q: [Tensor]) in sum(op(q[0], q[1]) .* p[2]) }([p[0], p[1]])
            return [op(p[0], p[1])] + g
        }
    }

    /// Random w, x and an output gradient for `c`.
    private func inputs(_ c: Config, deconv: Bool) -> [Tensor] {
        let w = rand64(shape: c.w), x = rand64(shape: c.x)
        return [w, x, rand64(shape: (deconv ? c.deconv(w, x) : c.conv(w, x)).shape)]
    }

    func testConvolutionMatchesTheCPU() throws {
        let gpu = try gpu()
        let configs = ConvolutionTests.convConfigs.map { ($0, false) } + ConvolutionTests.deconvConfigs.map { ($0, true) }
            + [(Config(x: [12, 10, 4, 3], w: [5, 3, 2, 6], padding: [2, 1], stride: [1, 2], dilation: [1, 2], group: 2), false)]
        for (c, deconv) in configs {
            let p = inputs(c, deconv: deconv)
            for dtype in [DType.float32, .float64] {
                assertSameOnBothDevices(gpu, dtype, p, "\(deconv ? "deconv4" : "conv4") \(c) \(dtype)",
                                        convolutionResults(c, deconv: deconv))
            }
        }
    }

    /// Budgets that lower one, two or three images at a time (the last chunk shorter) and
    /// a budget below one image give the CPU's answers; the forward pass launches one
    /// im2col per chunk and group.
    func testBatchesLoweredInChunks() throws {
        let gpu = try gpu()
        let c = Config(x: [7, 6, 4, 7], w: [3, 2, 2, 4], padding: 1, stride: [2, 1], mode: 1, alpha: 0.5, group: 2)
        let p = inputs(c, deconv: false)
        let imageBytes = 8 * (4 * 7) * (3 * 2 * 2)              // ySpatial · groupK Float64s
        let saved = CUDAConvolution.columnBudgetBytes
        defer { CUDAConvolution.columnBudgetBytes = saved }
        for (budget, chunks) in [(1, 7), (imageBytes, 7), (2 * imageBytes, 4), (3 * imageBytes + 1, 3)] {
            CUDAConvolution.columnBudgetBytes = budget
            assertSameOnBothDevices(gpu, .float64, p, "budget \(budget)", convolutionResults(c, deconv: false))
            if CUDARuntime.current?.driver.isEmulated == true {
                let (w, x) = (p[0].to(gpu), p[1].to(gpu))
                try CUDAEmulator.resetCounters()
                _ = c.conv(w, x)
                XCTAssertEqual(try CUDAEmulator.launches(), chunks * c.group, "budget \(budget)")
            }
        }
    }

    /// Max pooling of values with ties, NaNs, infinities and windows of nothing but NaN or
    /// -Inf, with both NaN options, in overlapping and padded windows; the averages; the
    /// values taken at another tensor's maxima (poolx's gradient in dy); and the gradients.
    func testPoolingMatchesTheCPU() throws {
        let gpu = try gpu()
        let shape = [7, 6, 3, 2]
        var values = (0..<shape.reduce(1, *)).map { Double(($0 * 7919) % 11 - 5) }
        for (k, v) in [Double.nan, -.infinity, .infinity, .nan, -.infinity, .nan].enumerated() { values[13 * k + 2] = v }
        for k in [0, 1, 7, 8] { values[42 + k] = .nan; values[84 + k] = -.infinity }   // whole 2×2 windows
        let x = Tensor(values, shape: shape, dtype: .float64), other = rand64(shape: shape)
        let options: [(window: [Int], padding: [Int], stride: [Int])] = [([2, 2], [0, 0], [2, 2]), ([3, 2], [1, 1], [1, 2]),
                                                                           ([3, 3], [2, 1], [2, 1])]
        for o in options {
            for mode in 0...2 {
                for nan in [0, 1] {
                    let d = PoolDescriptor("pool", input: shape, window: PoolSize(o.window), padding: PoolSize(o.padding),
                                           stride: PoolSize(o.stride), mode: mode, maxpoolingNanOpt: nan, alpha: -1.5)
                    let dy = rand64(shape: d.outputShape(shape))
                    for dtype in [DType.float32, .float64] {
                        assertSameOnBothDevices(gpu, dtype, [x, other, dy], "\(o) mode \(mode) nan \(nan) \(dtype)") { p in
                            [pooled(p[0], selector: nil, d), pooled(p[1], selector: p[0], d),
                             unpooled(p[2], selector: mode == 0 ? p[0] : nil, input: shape, d)]
                        }
                    }
                }
            }
        }
    }

    /// Where NVRTC is installed (KNET_LIBNVRTC), the module compiles to a CUBIN for sm_90
    /// that names every kernel of `CUDAKernelSource.convolution.kernels`.
    func testNVRTCCompilesTheModule() throws {
        guard let nvrtc = NVRTC.shared else { throw XCTSkip("no libnvrtc here; set KNET_LIBNVRTC") }
        let module = CUDAKernelSource.convolution
        let cubin = try nvrtc.compileBinary(module.source, name: "knet_\(module.name).cu", architecture: (9, 0))
        let symbols = Set(String(decoding: cubin.map { $0 == 0 ? 10 : $0 }, as: UTF8.self).split(separator: "\n").map(String.init))
        for name in module.kernels { XCTAssert(symbols.contains(name), name) }
        XCTAssertEqual(module.source.components(separatedBy: "extern \"C\" __global__ void ").count - 1, module.kernels.count)
    }
}
