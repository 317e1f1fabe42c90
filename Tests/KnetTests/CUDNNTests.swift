import Foundation
import XCTest
@testable import Knet

/// The cuDNN path's pieces that can be checked without a GPU: the `KNET_CUDNN` switch,
/// the NCHW layouts read off Knet's geometries, the binding's refusal of a library
/// without cuDNN's entry points, and — where `KNET_LIBCUDNN` names a real libcudnn
/// (descriptor calls need no GPU) — cuDNN accepting every layout and computing the same
/// output dims as Knet. The compute calls run only on a GPU machine (`KNET_TEST_GPU=cuda`,
/// the device check), where every convolution and pooling test then goes through cuDNN
/// and must equal the CPU; the emulated GPU has no cuDNN and runs Knet's own kernels.
final class CUDNNTests: XCTestCase {
    func testSettingFromTheEnvironment() throws {
        XCTAssertEqual(try CUDNNSetting(environment: nil), .automatic)
        XCTAssertEqual(try CUDNNSetting(environment: ""), .automatic)
        XCTAssertEqual(try CUDNNSetting(environment: "1"), .required)
        XCTAssertEqual(try CUDNNSetting(environment: "ON"), .required)
        XCTAssertEqual(try CUDNNSetting(environment: "0"), .off)
        XCTAssertEqual(try CUDNNSetting(environment: "off"), .off)
        XCTAssertThrowsError(try CUDNNSetting(environment: "2")) { error in
            XCTAssertEqual(error as? CUDNNSettingError, CUDNNSettingError(value: "2"))
            XCTAssertEqual("\(error)", "KNET_CUDNN=2 is not 0 or 1 (cuDNN stays off)")
        }
    }

    func testConvolutionLayoutReadsTheDimsBackwards() throws {
        // x [12,10,4,3], w [5,3,2,6], 2 groups: cuDNN x [N=3, C=4, 10, 12], w [O=6, C/g=2, 3, 5].
        let g = ConvOptions(padding: [2, 1], stride: [1, 2], dilation: [1, 2], mode: 1, alpha: 1, group: 2)
            .geometry("conv4", w: [5, 3, 2, 6], x: [12, 10, 4, 3])
        let l = try XCTUnwrap(CUDNNConvolutionLayout(g))
        XCTAssertEqual(l.x, [3, 4, 10, 12])
        XCTAssertEqual(l.w, [6, 2, 3, 5])
        XCTAssertEqual(l.y, [3, 6] + g.ySize.prefix(2).reversed().map { Int32($0) })
        XCTAssertEqual(l.padding, [1, 2])
        XCTAssertEqual(l.stride, [2, 1])
        XCTAssertEqual(l.dilation, [2, 1])
        XCTAssertEqual(l.mode, 1, "cross-correlation")
        XCTAssertEqual(l.groups, 2)
        // 1-D gets a leading spatial dim of 1; 3-D keeps three; mode 0 is CUDNN_CONVOLUTION.
        let one = try XCTUnwrap(CUDNNConvolutionLayout(ConvOptions(padding: 2, stride: 2, dilation: 1, mode: 0, alpha: 1, group: 1)
            .geometry("conv4", w: [4, 2, 2], x: [9, 2, 3])))
        XCTAssertEqual([one.x, one.w, one.y, one.padding, one.stride, one.dilation], [[3, 2, 1, 9], [2, 2, 1, 4], [3, 2, 1, 5], [0, 2], [1, 2], [1, 1]])
        XCTAssertEqual(one.mode, 0)
        let three = try XCTUnwrap(CUDNNConvolutionLayout(ConvOptions(padding: [1, 0, 1], stride: [1, 1, 2], dilation: 1, mode: 0, alpha: 1, group: 1)
            .geometry("conv4", w: [2, 2, 3, 2, 2], x: [4, 3, 4, 2, 2])))
        XCTAssertEqual(three.x, [2, 2, 4, 3, 4])
        XCTAssertEqual(three.padding, [1, 0, 1])
        XCTAssertEqual(three.stride, [2, 1, 1])
        // Sizes past C ints decline (the own kernels run).
        var huge = g
        huge.batch = 1 << 31
        XCTAssertNil(CUDNNConvolutionLayout(huge))
        huge.batch = 1 << 24                                   // each dim fits, the tensor's extent does not
        XCTAssertNil(CUDNNConvolutionLayout(huge))
    }

    func testPoolingLayoutReadsTheDimsBackwards() throws {
        let d = PoolDescriptor("pool", input: [6, 5, 3, 2], window: [2, 3], padding: [1, 0], stride: [1, 2],
                               mode: 0, maxpoolingNanOpt: 1, alpha: 1)
        let l = try XCTUnwrap(CUDNNPoolingLayout(d, input: [6, 5, 3, 2]))
        XCTAssertEqual(l.x, [2, 3, 5, 6])
        XCTAssertEqual(l.y, d.outputShape([6, 5, 3, 2]).reversed().map { Int32($0) })
        XCTAssertEqual([l.window, l.padding, l.stride], [[3, 2], [0, 1], [2, 1]])
        XCTAssertEqual(l.mode, 3, "deterministic max")
        XCTAssertEqual(l.nanPropagation, 1)
        let average = try XCTUnwrap(CUDNNPoolingLayout(d.with(mode: .averageExcludingPadding, alpha: 1), input: [6, 5, 3, 2]))
        XCTAssertEqual(average.mode, 2)
        XCTAssertEqual(try XCTUnwrap(CUDNNPoolingLayout(d.with(mode: .averageIncludingPadding, alpha: 1), input: [6, 5, 3, 2])).mode, 1)
        XCTAssertEqual(packedStrides([2, 3, 4, 5]), [60, 20, 5, 1])
        XCTAssertEqual(packedStrides([3, 0, 2]), [2, 2, 1])
    }

    func testBindingNeedsEveryEntryPoint() throws {
        XCTAssertNil(CUDNN(try CUDAEmulator.library()), "the emulator's library has no cuDNN")
        XCTAssertNil(DynamicLibrary.open(["libm.so.6"]).flatMap(CUDNN.init))
        if CUDARuntime.current?.driver.isEmulated == true { XCTAssertNil(CUDARuntime.current?.dnn) }
    }

    /// cuDNN's descriptors accept the layouts of every convolution and pooling geometry of
    /// the op tests (both dtypes) and compute the same output dims.
    func testRealLibraryAcceptsTheLayouts() throws {
        guard let path = ProcessInfo.processInfo.environment["KNET_LIBCUDNN"] else {
            throw XCTSkip("no KNET_LIBCUDNN: cuDNN's descriptors are not checked here (pip install nvidia-cudnn-cu12 and point it at libcudnn.so.9)")
        }
        let dnn = try XCTUnwrap(DynamicLibrary.open([path]).flatMap(CUDNN.init), "\(path) does not bind as cuDNN")
        XCTAssertGreaterThanOrEqual(dnn.version, 8000)
        let configs = ConvolutionTests.convConfigs + [ConvolutionTests.Config(x: [12, 10, 4, 3], w: [5, 3, 2, 6], padding: [2, 1],
                                                                              stride: [1, 2], dilation: [1, 2], group: 2)]
        for c in configs {
            let g = ConvOptions(padding: c.padding, stride: c.stride, dilation: c.dilation, mode: c.mode, alpha: c.alpha, group: c.group)
                .geometry("conv4", w: c.w, x: c.x)
            let layout = try XCTUnwrap(CUDNNConvolutionLayout(g), "\(c)")
            for dtype in [DType.float32, .float64] {
                let d = try dnn.convolutionDescriptors(layout, dtype: dtype)
                XCTAssertEqual(try dnn.outputDims(d), layout.y, "\(c) \(dtype)")
            }
        }
        let pools: [([Int], PoolDescriptor)] = [
            ([5, 7, 2, 3], PoolDescriptor("pool", input: [5, 7, 2, 3], window: 3, padding: 1, stride: 2, mode: 0, maxpoolingNanOpt: 0, alpha: 1)),
            ([6, 5, 3, 2], PoolDescriptor("pool", input: [6, 5, 3, 2], window: [2, 3], padding: [1, 0], stride: [1, 2],
                                          mode: 1, maxpoolingNanOpt: 0, alpha: 1)),
            ([5, 4, 3, 2, 2], PoolDescriptor("pool", input: [5, 4, 3, 2, 2], window: [2, 2, 3], padding: [0, 1, 1], stride: [2, 1, 2],
                                             mode: 2, maxpoolingNanOpt: 1, alpha: 1)),
        ]
        for (shape, p) in pools {
            let layout = try XCTUnwrap(CUDNNPoolingLayout(p, input: shape), "\(shape)")
            for dtype in [DType.float32, .float64] {
                let d = try dnn.poolingDescriptors(layout, dtype: dtype)
                XCTAssertEqual(try dnn.outputDims(d, count: layout.x.count), layout.y, "\(shape) \(dtype)")
            }
        }
    }

    /// On a real GPU with cuDNN in use, convolutions and poolings go through it (the op
    /// tests then check its values against the CPU). `KNET_CUDNN=1` makes cuDNN required.
    func testConvolutionAndPoolingRunThroughCUDNNOnARealGPU() throws {
        guard ProcessInfo.processInfo.environment["KNET_TEST_GPU"] == "cuda" else {
            throw XCTSkip("not on a real GPU (KNET_TEST_GPU=cuda): cuDNN's compute calls are covered by the device check")
        }
        let gpu = try EmulatedGPU.device.get()
        guard let dnn = CUDARuntime.current?.dnn else {
            if CUDNNSetting.current == .required { XCTFail("KNET_CUDNN=1 but the runtime has no cuDNN") }
            throw XCTSkip("no cuDNN in use on this GPU (KNET_CUDNN=0 or no libcudnn)")
        }
        let before = dnn.calls.load(ordering: .relaxed)
        let x = Tensor.randn(8, 8, 3, 2, dtype: .float64), w = Tensor.randn(3, 3, 3, 4, dtype: .float64)
        let onGPU = grad { (p: [Tensor]) in sum(pool(conv4(p[0], p[1], padding: 1))) }([w.to(gpu), x.to(gpu)])
        let onCPU = grad { (p: [Tensor]) in sum(pool(conv4(p[0], p[1], padding: 1))) }([w, x])
        for (a, b) in zip(onCPU, onGPU) { assertClose(b, a, rtol: 1e-12, atol: 1e-12) }
        XCTAssertGreaterThanOrEqual(dnn.calls.load(ordering: .relaxed) - before, 5, "forward, pool, pool backward, data and filter gradients")
    }
}
