#if canImport(Glibc)
import Glibc
#endif
import Synchronization

// cuDNN (libcudnn 9 or 8), bound by dlopen: the GPU backend's second path for
// convolution and pooling, used when the library is present unless `KNET_CUDNN=0`. Only
// the legacy descriptor API is used (kept by cuDNN 9): tensor, filter, convolution and
// pooling descriptors, the v7 algorithm heuristics, and the six compute calls.

/// Whether the GPU backend uses cuDNN: `KNET_CUDNN` unset means when it is found, `1`
/// requires it (a missing library is reported), `0` never.
///
///     let setting = try CUDNNSetting(environment: "0")    // .off
enum CUDNNSetting: Equatable {
    case automatic, required, off

    /// Parses `KNET_CUDNN` (nil: unset); throws `CUDNNSettingError` for another value.
    init(environment value: String?) throws(CUDNNSettingError) {
        switch value?.lowercased() {
        case nil, "": self = .automatic
        case "1", "on", "yes", "true": self = .required
        case "0", "off", "no", "false": self = .off
        case let other?: throw CUDNNSettingError(value: other)
        }
    }

    /// This process's (`KNET_CUDNN`); an invalid value is reported on stderr and leaves
    /// cuDNN off.
    static let current: CUDNNSetting = {
        do { return try CUDNNSetting(environment: getenv("KNET_CUDNN").map { String(cString: $0) }) }
        catch {
            fputs("Knet: \(error)\n", stderr)
            return .off
        }
    }()
}

/// `KNET_CUDNN` holds neither 0 nor 1.
struct CUDNNSettingError: Error, Equatable, CustomStringConvertible {
    /// The value found.
    let value: String
    var description: String { "KNET_CUDNN=\(value) is not 0 or 1 (cuDNN stays off)" }
}

/// The cuDNN library, or nil where none is found (`$KNET_LIBCUDNN`, libcudnn.so.9/8).
/// Device data is passed by address; scaling factors are host floats for Float32 data
/// and doubles for Float64.
///
///     let dnn = CUDNN.shared; let h = try dnn?.createHandle(stream: stream)
final class CUDNN: @unchecked Sendable {
    /// The library found on this machine, or nil (also when `KNET_CUDNN=0`).
    static let shared: CUDNN? = {
        let setting = CUDNNSetting.current
        guard setting != .off else { return nil }
        let found = DynamicLibrary.firstBinding(libraryCandidates("libcudnn", versions: ["9", "8"], override: "KNET_LIBCUDNN"),
                                                CUDNN.init)
        if found == nil && setting == .required {
            fputs("Knet: KNET_CUDNN=1 but no usable libcudnn was found (set KNET_LIBCUDNN); the GPU uses its own kernels\n", stderr)
        }
        return found
    }()

    /// A cuDNN context (`cudnnHandle_t`) bound to one stream.
    struct Handle { let handle: OpaquePointer? }

    /// Which of the three convolution calls.
    enum ConvolutionCall {
        case forward, backwardData, backwardFilter
        /// The part of cuDNN's function names: "Forward", "BackwardData", "BackwardFilter".
        var cName: String {
            switch self {
            case .forward: return "Forward"
            case .backwardData: return "BackwardData"
            case .backwardFilter: return "BackwardFilter"
            }
        }
    }

    /// An algorithm the heuristics chose, with the math it runs and its workspace.
    struct Choice: Equatable { let algorithm: Int32, mathType: Int32, workspace: Int }

    /// The library name it was opened as, and `cudnnGetVersion()`.
    let library: String, version: Int
    /// Calls made through cuDNN (convolutions, poolings, normalizations, RNNs), for tests
    /// and reports.
    let calls = Atomic<Int>(0)
    /// The RNN calls (libcudnn_adv), or nil where that part of cuDNN is missing.
    let recurrent: CUDNNRecurrentCalls?

    typealias Create = @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    typealias Destroy = @convention(c) (OpaquePointer?) -> Int32
    private typealias Dims = UnsafePointer<Int32>
    /// The v7 heuristics: handle, three operand descriptors and the convolution in each
    /// call's order, requested count, returned count, perf results.
    private typealias Heuristic = @convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?, OpaquePointer?, OpaquePointer?,
                                                  Int32, UnsafeMutablePointer<Int32>, UnsafeMutableRawPointer) -> Int32
    /// A compute call: handle, alpha, two input descriptors and data, the convolution,
    /// algorithm, workspace and its bytes, beta, output descriptor and data.
    private typealias Compute = @convention(c) (OpaquePointer?, UnsafeRawPointer, OpaquePointer?, UnsafeRawPointer?, OpaquePointer?,
                                                UnsafeRawPointer?, OpaquePointer?, Int32, UnsafeMutableRawPointer?, Int,
                                                UnsafeRawPointer, OpaquePointer?, UnsafeMutableRawPointer?) -> Int32

    private let create: Create, destroyHandle: Destroy
    private let setStream: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32
    private let errorString: @convention(c) (Int32) -> UnsafePointer<CChar>?
    private let createTensor: Create, destroyTensor: Destroy, createFilter: Create, destroyFilter: Destroy
    private let createConvolution: Create, destroyConvolution: Destroy, createPooling: Create, destroyPooling: Destroy
    private let setTensor: @convention(c) (OpaquePointer?, Int32, Int32, Dims, Dims) -> Int32
    private let setFilter: @convention(c) (OpaquePointer?, Int32, Int32, Int32, Dims) -> Int32
    private let setConvolution: @convention(c) (OpaquePointer?, Int32, Dims, Dims, Dims, Int32, Int32) -> Int32
    private let setGroups: @convention(c) (OpaquePointer?, Int32) -> Int32
    private let setMath: @convention(c) (OpaquePointer?, Int32) -> Int32
    private let convolutionOutput: @convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?, Int32, UnsafeMutablePointer<Int32>) -> Int32
    private let setPooling: @convention(c) (OpaquePointer?, Int32, Int32, Int32, Dims, Dims, Dims) -> Int32
    private let poolingOutput: @convention(c) (OpaquePointer?, OpaquePointer?, Int32, UnsafeMutablePointer<Int32>) -> Int32
    private let heuristics: [ConvolutionCall: Heuristic]
    private let computes: [ConvolutionCall: Compute]
    private let poolingForward: @convention(c) (OpaquePointer?, OpaquePointer?, UnsafeRawPointer, OpaquePointer?, UnsafeRawPointer?,
                                                UnsafeRawPointer, OpaquePointer?, UnsafeMutableRawPointer?) -> Int32
    private let poolingBackward: @convention(c) (OpaquePointer?, OpaquePointer?, UnsafeRawPointer, OpaquePointer?, UnsafeRawPointer?,
                                                 OpaquePointer?, UnsafeRawPointer?, OpaquePointer?, UnsafeRawPointer?,
                                                 UnsafeRawPointer, OpaquePointer?, UnsafeMutableRawPointer?) -> Int32
    private let softmaxForwardCall: @convention(c) (OpaquePointer?, Int32, Int32, UnsafeRawPointer, OpaquePointer?, UnsafeRawPointer?,
                                                    UnsafeRawPointer, OpaquePointer?, UnsafeMutableRawPointer?) -> Int32
    private let softmaxBackwardCall: @convention(c) (OpaquePointer?, Int32, Int32, UnsafeRawPointer, OpaquePointer?, UnsafeRawPointer?,
                                                     OpaquePointer?, UnsafeRawPointer?, UnsafeRawPointer, OpaquePointer?,
                                                     UnsafeMutableRawPointer?) -> Int32
    private let batchNormForwardCall: BatchNormForward
    private let batchNormBackwardCall: BatchNormBackward
    private let choices = Mutex<[String: Choice?]>([:])
    /// RNN plans by configuration and device (nil: cuDNN refused it).
    let recurrentPlans = Mutex<[String: CUDNNRecurrentPlan?]>([:])

    /// `cudnnBatchNormalizationForwardTraining(handle, mode, alpha, beta, xDesc, x, yDesc, y,
    /// bnDesc, scale, bias, factor, runningMean, runningVariance, epsilon, saveMean, saveInvVariance)`.
    private typealias BatchNormForward = @convention(c) (OpaquePointer?, Int32, UnsafeRawPointer, UnsafeRawPointer, OpaquePointer?,
                                                         UnsafeRawPointer?, OpaquePointer?, UnsafeMutableRawPointer?, OpaquePointer?,
                                                         UnsafeRawPointer?, UnsafeRawPointer?, Double, UnsafeMutableRawPointer?,
                                                         UnsafeMutableRawPointer?, Double, UnsafeMutableRawPointer?,
                                                         UnsafeMutableRawPointer?) -> Int32
    /// `cudnnBatchNormalizationBackward(handle, mode, alphaData, betaData, alphaParam, betaParam,
    /// xDesc, x, dyDesc, dy, dxDesc, dx, bnDesc, scale, dScale, dBias, epsilon, savedMean, savedInvVariance)`.
    private typealias BatchNormBackward = @convention(c) (OpaquePointer?, Int32, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer,
                                                          UnsafeRawPointer, OpaquePointer?, UnsafeRawPointer?, OpaquePointer?,
                                                          UnsafeRawPointer?, OpaquePointer?, UnsafeMutableRawPointer?, OpaquePointer?,
                                                          UnsafeRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Double,
                                                          UnsafeRawPointer?, UnsafeRawPointer?) -> Int32

    /// Binds `lib`; nil when an entry point is missing.
    ///
    ///     let dnn = DynamicLibrary.open(["libcudnn.so.9"]).flatMap(CUDNN.init)
    init?(_ lib: DynamicLibrary) {
        func f<F>(_ name: String, _: F.Type = F.self) -> F? { lib.function(name, as: F.self) }
        guard let version = f("cudnnGetVersion", (@convention(c) () -> Int).self),
              let create: Create = f("cudnnCreate"), let destroy: Destroy = f("cudnnDestroy"),
              let setStream: (@convention(c) (OpaquePointer?, OpaquePointer?) -> Int32) = f("cudnnSetStream"),
              let errorString: (@convention(c) (Int32) -> UnsafePointer<CChar>?) = f("cudnnGetErrorString"),
              let createTensor: Create = f("cudnnCreateTensorDescriptor"), let destroyTensor: Destroy = f("cudnnDestroyTensorDescriptor"),
              let createFilter: Create = f("cudnnCreateFilterDescriptor"), let destroyFilter: Destroy = f("cudnnDestroyFilterDescriptor"),
              let createConvolution: Create = f("cudnnCreateConvolutionDescriptor"),
              let destroyConvolution: Destroy = f("cudnnDestroyConvolutionDescriptor"),
              let createPooling: Create = f("cudnnCreatePoolingDescriptor"), let destroyPooling: Destroy = f("cudnnDestroyPoolingDescriptor"),
              let setTensor: (@convention(c) (OpaquePointer?, Int32, Int32, Dims, Dims) -> Int32) = f("cudnnSetTensorNdDescriptor"),
              let setFilter: (@convention(c) (OpaquePointer?, Int32, Int32, Int32, Dims) -> Int32) = f("cudnnSetFilterNdDescriptor"),
              let setConvolution: (@convention(c) (OpaquePointer?, Int32, Dims, Dims, Dims, Int32, Int32) -> Int32) = f("cudnnSetConvolutionNdDescriptor"),
              let setGroups: (@convention(c) (OpaquePointer?, Int32) -> Int32) = f("cudnnSetConvolutionGroupCount"),
              let setMath: (@convention(c) (OpaquePointer?, Int32) -> Int32) = f("cudnnSetConvolutionMathType"),
              let convolutionOutput: (@convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?, Int32, UnsafeMutablePointer<Int32>) -> Int32)
                = f("cudnnGetConvolutionNdForwardOutputDim"),
              let setPooling: (@convention(c) (OpaquePointer?, Int32, Int32, Int32, Dims, Dims, Dims) -> Int32) = f("cudnnSetPoolingNdDescriptor"),
              let poolingOutput: (@convention(c) (OpaquePointer?, OpaquePointer?, Int32, UnsafeMutablePointer<Int32>) -> Int32)
                = f("cudnnGetPoolingNdForwardOutputDim"),
              let forwardHeuristic: Heuristic = f("cudnnGetConvolutionForwardAlgorithm_v7"),
              let dataHeuristic: Heuristic = f("cudnnGetConvolutionBackwardDataAlgorithm_v7"),
              let filterHeuristic: Heuristic = f("cudnnGetConvolutionBackwardFilterAlgorithm_v7"),
              let forward: Compute = f("cudnnConvolutionForward"), let data: Compute = f("cudnnConvolutionBackwardData"),
              let filter: Compute = f("cudnnConvolutionBackwardFilter"),
              let poolingForward: (@convention(c) (OpaquePointer?, OpaquePointer?, UnsafeRawPointer, OpaquePointer?, UnsafeRawPointer?,
                                                   UnsafeRawPointer, OpaquePointer?, UnsafeMutableRawPointer?) -> Int32) = f("cudnnPoolingForward"),
              let poolingBackward: (@convention(c) (OpaquePointer?, OpaquePointer?, UnsafeRawPointer, OpaquePointer?, UnsafeRawPointer?,
                                                    OpaquePointer?, UnsafeRawPointer?, OpaquePointer?, UnsafeRawPointer?,
                                                    UnsafeRawPointer, OpaquePointer?, UnsafeMutableRawPointer?) -> Int32) = f("cudnnPoolingBackward"),
              let softmaxForward: (@convention(c) (OpaquePointer?, Int32, Int32, UnsafeRawPointer, OpaquePointer?, UnsafeRawPointer?,
                                                   UnsafeRawPointer, OpaquePointer?, UnsafeMutableRawPointer?) -> Int32) = f("cudnnSoftmaxForward"),
              let softmaxBackward: (@convention(c) (OpaquePointer?, Int32, Int32, UnsafeRawPointer, OpaquePointer?, UnsafeRawPointer?,
                                                    OpaquePointer?, UnsafeRawPointer?, UnsafeRawPointer, OpaquePointer?,
                                                    UnsafeMutableRawPointer?) -> Int32) = f("cudnnSoftmaxBackward"),
              let batchNormForward: BatchNormForward = f("cudnnBatchNormalizationForwardTraining"),
              let batchNormBackward: BatchNormBackward = f("cudnnBatchNormalizationBackward")
        else { return nil }
        library = lib.name
        self.version = version()
        self.create = create; destroyHandle = destroy; self.setStream = setStream; self.errorString = errorString
        self.createTensor = createTensor; self.destroyTensor = destroyTensor
        self.createFilter = createFilter; self.destroyFilter = destroyFilter
        self.createConvolution = createConvolution; self.destroyConvolution = destroyConvolution
        self.createPooling = createPooling; self.destroyPooling = destroyPooling
        self.setTensor = setTensor; self.setFilter = setFilter; self.setConvolution = setConvolution
        self.setGroups = setGroups; self.setMath = setMath; self.convolutionOutput = convolutionOutput
        self.setPooling = setPooling; self.poolingOutput = poolingOutput
        heuristics = [.forward: forwardHeuristic, .backwardData: dataHeuristic, .backwardFilter: filterHeuristic]
        computes = [.forward: forward, .backwardData: data, .backwardFilter: filter]
        self.poolingForward = poolingForward; self.poolingBackward = poolingBackward
        recurrent = CUDNNRecurrentCalls(lib)
        softmaxForwardCall = softmaxForward; softmaxBackwardCall = softmaxBackward
        batchNormForwardCall = batchNormForward; batchNormBackwardCall = batchNormBackward
    }

    /// Throws `GPUError.driver` naming `call` and cuDNN's message unless `status` is
    /// CUDNN_STATUS_SUCCESS (0).
    func check(_ status: Int32, _ call: String) throws {
        guard status == 0 else {
            let message = errorString(status).map { String(cString: $0) } ?? "cuDNN status"
            throw GPUError.driver(call: call, message: "\(message) (\(status))")
        }
    }

    /// A handle in the current context whose work goes to `stream`.
    ///
    ///     let h = try dnn.createHandle(stream: try driver.createStream())
    func createHandle(stream: CUDADriver.Stream?) throws -> Handle {
        var h: OpaquePointer?
        try check(create(&h), "cudnnCreate")
        do {
            try check(setStream(h, stream?.handle), "cudnnSetStream")
        } catch {
            _ = destroyHandle(h)
            throw error
        }
        return Handle(handle: h)
    }

    // MARK: descriptors

    /// A descriptor, destroyed with its owner.
    final class Descriptor {
        let pointer: OpaquePointer?
        private let destroy: Destroy
        init(_ create: Create, _ destroy: Destroy, _ call: String, _ check: (Int32, String) throws -> Void) throws {
            var p: OpaquePointer?
            try check(create(&p), call)
            pointer = p
            self.destroy = destroy
        }
        deinit { _ = destroy(pointer) }
    }

    /// The descriptors of one convolution (cuDNN's dims in `CUDNNConvolutionLayout`).
    struct ConvolutionDescriptors {
        let x: Descriptor, w: Descriptor, y: Descriptor, convolution: Descriptor
        let layout: CUDNNConvolutionLayout, dtype: DType
    }

    /// The descriptors of one pooling.
    struct PoolingDescriptors {
        let x: Descriptor, y: Descriptor, pooling: Descriptor
    }

    /// cudnnDataType_t of `dtype`: CUDNN_DATA_FLOAT (0) or CUDNN_DATA_DOUBLE (1).
    func dataType(_ dtype: DType) -> Int32 { dtype == .float32 ? 0 : 1 }

    /// A packed NCHW tensor descriptor of `dims`.
    ///
    ///     let d = try dnn.tensor([3, 4, 5, 1], .float32)
    func tensor(_ dims: [Int32], _ dtype: DType) throws -> Descriptor {
        let d = try emptyTensor()
        try check(setTensor(d.pointer, dataType(dtype), Int32(dims.count), dims, packedStrides(dims)),
                  "cudnnSetTensorNdDescriptor \(dims)")
        return d
    }

    /// A tensor descriptor for cuDNN to fill in (`cudnnGetRNNWeightParams`).
    func emptyTensor() throws -> Descriptor { try Descriptor(createTensor, destroyTensor, "cudnnCreateTensorDescriptor", check) }

    /// Descriptors for `layout` in `dtype`, with FMA math (no TF32 tensor cores: results
    /// then agree with the CPU's to Float32 rounding).
    ///
    ///     let d = try dnn.convolutionDescriptors(CUDNNConvolutionLayout(g)!, dtype: .float32)
    func convolutionDescriptors(_ layout: CUDNNConvolutionLayout, dtype: DType) throws -> ConvolutionDescriptors {
        let w = try Descriptor(createFilter, destroyFilter, "cudnnCreateFilterDescriptor", check)
        try check(setFilter(w.pointer, dataType(dtype), 0, Int32(layout.w.count), layout.w), "cudnnSetFilterNdDescriptor \(layout.w)")
        let c = try Descriptor(createConvolution, destroyConvolution, "cudnnCreateConvolutionDescriptor", check)
        try check(setConvolution(c.pointer, Int32(layout.padding.count), layout.padding, layout.stride, layout.dilation,
                                 layout.mode, dataType(dtype)), "cudnnSetConvolutionNdDescriptor")
        try check(setGroups(c.pointer, layout.groups), "cudnnSetConvolutionGroupCount")
        try check(setMath(c.pointer, 3), "cudnnSetConvolutionMathType")        // CUDNN_FMA_MATH
        return ConvolutionDescriptors(x: try tensor(layout.x, dtype), w: w, y: try tensor(layout.y, dtype),
                                      convolution: c, layout: layout, dtype: dtype)
    }

    /// cuDNN's own output dims for `d`'s x, w and convolution (to compare with `layout.y`).
    func outputDims(_ d: ConvolutionDescriptors) throws -> [Int32] {
        var out = [Int32](repeating: 0, count: d.layout.x.count)
        try check(convolutionOutput(d.convolution.pointer, d.x.pointer, d.w.pointer, Int32(out.count), &out),
                  "cudnnGetConvolutionNdForwardOutputDim")
        return out
    }

    /// Descriptors for `layout` in `dtype`.
    ///
    ///     let d = try dnn.poolingDescriptors(CUDNNPoolingLayout(p, input: x.shape)!, dtype: .float64)
    func poolingDescriptors(_ layout: CUDNNPoolingLayout, dtype: DType) throws -> PoolingDescriptors {
        let p = try Descriptor(createPooling, destroyPooling, "cudnnCreatePoolingDescriptor", check)
        try check(setPooling(p.pointer, layout.mode, layout.nanPropagation, Int32(layout.window.count),
                             layout.window, layout.padding, layout.stride), "cudnnSetPoolingNdDescriptor")
        return PoolingDescriptors(x: try tensor(layout.x, dtype), y: try tensor(layout.y, dtype), pooling: p)
    }

    /// cuDNN's own output dims for `d`'s pooling of x.
    func outputDims(_ d: PoolingDescriptors, count: Int) throws -> [Int32] {
        var out = [Int32](repeating: 0, count: count)
        try check(poolingOutput(d.pooling.pointer, d.x.pointer, Int32(count), &out), "cudnnGetPoolingNdForwardOutputDim")
        return out
    }

    // MARK: convolution

    /// The operand descriptors of `call` in cuDNN's argument order: forward (x, w → y),
    /// backward data (w, dy → dx), backward filter (x, dy → dw).
    private func operands(_ call: ConvolutionCall, _ d: ConvolutionDescriptors) -> (Descriptor, Descriptor, Descriptor) {
        switch call {
        case .forward: return (d.x, d.w, d.y)
        case .backwardData: return (d.w, d.y, d.x)
        case .backwardFilter: return (d.x, d.y, d.w)
        }
    }

    /// The first algorithm cuDNN's heuristics rank for `call` on `device` that succeeds,
    /// runs without tensor-core math in Float32, and needs at most `workspaceLimit` bytes;
    /// nil when there is none. Remembered per call, layout, dtype and device.
    func choose(_ h: Handle, _ call: ConvolutionCall, _ d: ConvolutionDescriptors, device: Int, workspaceLimit: Int) throws -> Choice? {
        let key = "\(call) \(d.layout) \(d.dtype) gpu\(device)"
        if let known = choices.withLock({ $0[key] }) { return known }
        let (a, b, c) = operands(call, d), requested = 8, stride = 48    // sizeof(cudnnConvolution*AlgoPerf_t)
        let perf = UnsafeMutableRawPointer.allocate(byteCount: requested * stride, alignment: 8)
        defer { perf.deallocate() }
        var returned: Int32 = 0
        try check(heuristics[call]!(h.handle, a.pointer, b.pointer, d.convolution.pointer, c.pointer, Int32(requested), &returned, perf),
                  "cudnnGetConvolution\(call.cName)Algorithm_v7")
        var chosen: Choice?
        for k in 0..<Int(returned) {
            let at = perf + k * stride
            let (algorithm, status, memory, math) = (at.load(as: Int32.self), at.load(fromByteOffset: 4, as: Int32.self),
                                                     at.load(fromByteOffset: 16, as: Int.self), at.load(fromByteOffset: 28, as: Int32.self))
            let tensorCores = math == 1 || math == 2                    // CUDNN_TENSOR_OP_MATH(_ALLOW_CONVERSION)
            if status == 0 && memory <= workspaceLimit && !(d.dtype == .float32 && tensorCores) {
                chosen = Choice(algorithm: algorithm, mathType: math, workspace: memory)
                break
            }
        }
        choices.withLock { $0[key] = .some(chosen) }
        return chosen
    }

    /// Runs `call` with `choice`: forward `y = alpha·conv(w, x)`, backward data
    /// `dx = alpha·∂/∂x`, backward filter `dw = alpha·∂/∂w` (outputs overwritten, beta 0).
    /// `inputs` and `output` are device addresses in the call's operand order.
    func convolution(_ h: Handle, _ call: ConvolutionCall, _ d: ConvolutionDescriptors, _ choice: Choice,
                     inputs: (UInt64, UInt64), output: UInt64, workspace: UInt64, alpha: Double) throws {
        try check(setMath(d.convolution.pointer, choice.mathType), "cudnnSetConvolutionMathType")
        let (a, b, c) = operands(call, d)
        let status = withHostScalars(d.dtype, alpha, 0) { al, be in
            computes[call]!(h.handle, al, a.pointer, raw(inputs.0), b.pointer, raw(inputs.1), d.convolution.pointer,
                            choice.algorithm, out(workspace), choice.workspace,
                            be, c.pointer, out(output))
        }
        try check(status, "cudnnConvolution\(call.cName)")
        calls.add(1, ordering: .relaxed)
    }

    // MARK: pooling

    /// `y = alpha·pool(x)` (beta 0).
    func poolForward(_ h: Handle, _ d: PoolingDescriptors, x: UInt64, y: UInt64, dtype: DType, alpha: Double) throws {
        let status = withHostScalars(dtype, alpha, 0) { al, be in
            poolingForward(h.handle, d.pooling.pointer, al, d.x.pointer, raw(x), be, d.y.pointer, out(y))
        }
        try check(status, "cudnnPoolingForward")
        calls.add(1, ordering: .relaxed)
    }

    /// `dx = alpha·∂/∂x` of the pooling that gave `y` from `x`, for the output gradient
    /// `dy` (beta 0).
    func poolBackward(_ h: Handle, _ d: PoolingDescriptors, y: UInt64, dy: UInt64, x: UInt64, dx: UInt64,
                      dtype: DType, alpha: Double) throws {
        let status = withHostScalars(dtype, alpha, 0) { al, be in
            poolingBackward(h.handle, d.pooling.pointer, al, d.y.pointer, raw(y), d.y.pointer, raw(dy), d.x.pointer, raw(x),
                            be, d.x.pointer, out(dx))
        }
        try check(status, "cudnnPoolingBackward")
        calls.add(1, ordering: .relaxed)
    }

    // MARK: softmax and batch normalization

    /// Softmax over the C dim of `d` (CUDNN_SOFTMAX_MODE_CHANNEL), accurate (the maximum
    /// subtracted) or log (CUDNN_SOFTMAX_LOG): `y = alpha · softmax(x)`, beta 0.
    func softmaxForward(_ h: Handle, _ d: Descriptor, x: UInt64, y: UInt64, log: Bool, dtype: DType) throws {
        let status = withHostScalars(dtype, 1, 0) { al, be in
            softmaxForwardCall(h.handle, log ? 2 : 1, 1, al, d.pointer, raw(x), be, d.pointer, out(y))
        }
        try check(status, "cudnnSoftmaxForward")
        calls.add(1, ordering: .relaxed)
    }

    /// The gradient of `softmaxForward` from its output `y` and `dy`, into `dx`.
    func softmaxBackward(_ h: Handle, _ d: Descriptor, y: UInt64, dy: UInt64, dx: UInt64, log: Bool, dtype: DType) throws {
        let status = withHostScalars(dtype, 1, 0) { al, be in
            softmaxBackwardCall(h.handle, log ? 2 : 1, 1, al, d.pointer, raw(y), d.pointer, raw(dy), be, d.pointer,
                                out(dx))
        }
        try check(status, "cudnnSoftmaxBackward")
        calls.add(1, ordering: .relaxed)
    }

    /// SPATIAL batch normalization in training mode of `x` (descriptor `d`) with per-channel
    /// `scale`, `bias` (descriptor `channels`, `[1, C, 1, 1]`): `y`, the running statistics
    /// blended with `factor` (both 0 for none), and the saved mean and inverse deviation.
    func batchNormForward(_ h: Handle, _ d: Descriptor, _ channels: Descriptor, x: UInt64, y: UInt64, scale: UInt64, bias: UInt64,
                          factor: Double, running: (mean: UInt64, variance: UInt64), eps: Double,
                          saved: (mean: UInt64, inverseStd: UInt64), dtype: DType) throws {
        let status = withHostScalars(dtype, 1, 0) { al, be in
            batchNormForwardCall(h.handle, 1, al, be, d.pointer, raw(x), d.pointer, out(y), channels.pointer, raw(scale), raw(bias),
                                 factor, out(running.mean), out(running.variance), eps, out(saved.mean), out(saved.inverseStd))
        }
        try check(status, "cudnnBatchNormalizationForwardTraining")
        calls.add(1, ordering: .relaxed)
    }

    /// The gradients of `batchNormForward` in x, scale and bias (all overwritten).
    func batchNormBackward(_ h: Handle, _ d: Descriptor, _ channels: Descriptor, x: UInt64, dy: UInt64, dx: UInt64,
                           scale: UInt64, dscale: UInt64, dbias: UInt64, eps: Double,
                           saved: (mean: UInt64, inverseStd: UInt64), dtype: DType) throws {
        let status = withHostScalars(dtype, 1, 0) { one, zero in
            batchNormBackwardCall(h.handle, 1, one, zero, one, zero, d.pointer, raw(x), d.pointer, raw(dy), d.pointer, out(dx),
                                  channels.pointer, raw(scale), out(dscale), out(dbias), eps, raw(saved.mean), raw(saved.inverseStd))
        }
        try check(status, "cudnnBatchNormalizationBackward")
        calls.add(1, ordering: .relaxed)
    }

    /// A device address as the pointer cuDNN takes.
    private func raw(_ address: UInt64) -> UnsafeRawPointer? { UnsafeRawPointer(bitPattern: UInt(address)) }

    /// A device address as the pointer cuDNN writes through (nil for 0).
    private func out(_ address: UInt64) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: UInt(address)) }
}
