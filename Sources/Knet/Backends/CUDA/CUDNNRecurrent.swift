// cuDNN's RNN API (v8, libcudnn_adv): the whole multi-layer, optionally bidirectional
// RNN of `rnnforw` in one forward call and two backward calls, on packed sequence-major
// data — the layout Knet's packed `[X, N]` input already has. Knet's weight vector `w` is
// mapped onto cuDNN's weight space once per configuration and device with
// `cudnnGetRNNWeightParams`: when every matrix and bias sits where `rnnparam` puts it,
// `w` is passed as is, otherwise its pieces are copied in (and the gradient's out).

/// The RNN entry points of cuDNN, or nil where one is missing.
final class CUDNNRecurrentCalls: @unchecked Sendable {
    typealias Create = CUDNN.Create
    typealias Destroy = CUDNN.Destroy
    typealias Raw = UnsafeRawPointer?
    typealias Out = UnsafeMutableRawPointer?
    typealias Desc = OpaquePointer?
    let createRNN: Create, destroyRNN: Destroy, createData: Create, destroyData: Destroy
    /// `cudnnSetRNNDescriptor_v8(desc, algo, cellMode, biasMode, dirMode, inputMode, dataType,
    /// mathPrec, mathType, inputSize, hiddenSize, projSize, numLayers, dropoutDesc, auxFlags)`.
    let setRNN: @convention(c) (Desc, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32,
                                Desc, UInt32) -> Int32
    /// `cudnnSetRNNDataDescriptor(desc, dataType, layout, maxSeqLength, batchSize, vectorSize, seqLengths, paddingFill)`.
    let setData: @convention(c) (Desc, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Int32>, UnsafeMutableRawPointer?) -> Int32
    let weightSpaceSize: @convention(c) (Desc, Desc, UnsafeMutablePointer<Int>) -> Int32
    /// `cudnnGetRNNWeightParams(handle, desc, pseudoLayer, wsSize, ws, linLayerID, mDesc, mAddr, bDesc, bAddr)`.
    let weightParams: @convention(c) (Desc, Desc, Int32, Int, Raw, Int32, Desc, UnsafeMutablePointer<UnsafeMutableRawPointer?>,
                                      Desc, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Int32
    /// `cudnnGetRNNTempSpaceSizes(handle, desc, fwdMode, xDesc, workSpaceSize, reserveSpaceSize)`.
    let tempSpaceSizes: @convention(c) (Desc, Desc, Int32, Desc, UnsafeMutablePointer<Int>, UnsafeMutablePointer<Int>) -> Int32
    /// `cudnnGetTensorNdDescriptor(desc, nbDimsRequested, dataType, nbDims, dims, strides)`.
    let tensorDims: @convention(c) (Desc, Int32, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>,
                                    UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Int32
    /// `cudnnRNNForward(handle, desc, fwdMode, devSeqLengths, xDesc, x, yDesc, y, hDesc, hx, hy,
    /// cDesc, cx, cy, wsSize, ws, workSize, work, reserveSize, reserve)`.
    let forward: @convention(c) (Desc, Desc, Int32, Raw, Desc, Raw, Desc, Out, Desc, Raw, Out, Desc, Raw, Out,
                                 Int, Raw, Int, Out, Int, Out) -> Int32
    /// `cudnnRNNBackwardData_v8(handle, desc, devSeqLengths, yDesc, y, dy, xDesc, dx, hDesc, hx, dhy,
    /// dhx, cDesc, cx, dcy, dcx, wsSize, ws, workSize, work, reserveSize, reserve)`.
    let backwardData: @convention(c) (Desc, Desc, Raw, Desc, Raw, Raw, Desc, Out, Desc, Raw, Raw, Out, Desc, Raw, Raw, Out,
                                      Int, Raw, Int, Out, Int, Out) -> Int32
    /// `cudnnRNNBackwardWeights_v8(handle, desc, addGrad, devSeqLengths, xDesc, x, hDesc, hx, yDesc,
    /// y, wsSize, dws, workSize, work, reserveSize, reserve)`.
    let backwardWeights: @convention(c) (Desc, Desc, Int32, Raw, Desc, Raw, Desc, Raw, Desc, Raw, Int, Out, Int, Out,
                                         Int, Out) -> Int32

    /// Binds `lib`'s RNN calls; nil when one is missing.
    init?(_ lib: DynamicLibrary) {
        func f<F>(_ name: String) -> F? { lib.function(name, as: F.self) }
        guard let createRNN: Create = f("cudnnCreateRNNDescriptor"), let destroyRNN: Destroy = f("cudnnDestroyRNNDescriptor"),
              let createData: Create = f("cudnnCreateRNNDataDescriptor"), let destroyData: Destroy = f("cudnnDestroyRNNDataDescriptor"),
              let setRNN: @convention(c) (Desc, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32,
                                          Desc, UInt32) -> Int32 = f("cudnnSetRNNDescriptor_v8"),
              let setData: @convention(c) (Desc, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Int32>,
                                           UnsafeMutableRawPointer?) -> Int32 = f("cudnnSetRNNDataDescriptor"),
              let weightSpaceSize: @convention(c) (Desc, Desc, UnsafeMutablePointer<Int>) -> Int32 = f("cudnnGetRNNWeightSpaceSize"),
              let weightParams: @convention(c) (Desc, Desc, Int32, Int, Raw, Int32, Desc, UnsafeMutablePointer<UnsafeMutableRawPointer?>,
                                                Desc, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Int32 = f("cudnnGetRNNWeightParams"),
              let tempSpaceSizes: @convention(c) (Desc, Desc, Int32, Desc, UnsafeMutablePointer<Int>,
                                                  UnsafeMutablePointer<Int>) -> Int32 = f("cudnnGetRNNTempSpaceSizes"),
              let tensorDims: @convention(c) (Desc, Int32, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>,
                                              UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Int32 = f("cudnnGetTensorNdDescriptor"),
              let forward: @convention(c) (Desc, Desc, Int32, Raw, Desc, Raw, Desc, Out, Desc, Raw, Out, Desc, Raw, Out,
                                           Int, Raw, Int, Out, Int, Out) -> Int32 = f("cudnnRNNForward"),
              let backwardData: @convention(c) (Desc, Desc, Raw, Desc, Raw, Raw, Desc, Out, Desc, Raw, Raw, Out, Desc, Raw, Raw, Out,
                                                Int, Raw, Int, Out, Int, Out) -> Int32 = f("cudnnRNNBackwardData_v8"),
              let backwardWeights: @convention(c) (Desc, Desc, Int32, Raw, Desc, Raw, Desc, Raw, Desc, Raw, Int, Out, Int, Out,
                                                   Int, Out) -> Int32 = f("cudnnRNNBackwardWeights_v8")
        else { return nil }
        (self.createRNN, self.destroyRNN, self.createData, self.destroyData) = (createRNN, destroyRNN, createData, destroyData)
        (self.setRNN, self.setData, self.weightSpaceSize, self.weightParams) = (setRNN, setData, weightSpaceSize, weightParams)
        (self.tempSpaceSizes, self.tensorDims, self.forward) = (tempSpaceSizes, tensorDims, forward)
        (self.backwardData, self.backwardWeights) = (backwardData, backwardWeights)
    }
}

/// The sizes of one RNN as cuDNN's descriptor takes them.
///
///     let shape = CUDNNRecurrentShape(r, dtype: .float32)!     // r an RNN
struct CUDNNRecurrentShape: Hashable {
    /// cudnnRNNMode_t: RNN_RELU 0, RNN_TANH 1, LSTM 2, GRU 3.
    let cellMode: Int32
    /// UNIDIRECTIONAL 0 or BIDIRECTIONAL 1; LINEAR_INPUT 0 or SKIP_INPUT 1.
    let directionMode: Int32, inputMode: Int32
    let inputSize: Int32, hiddenSize: Int32, layers: Int32
    let dtype: DType

    /// The shape of `r` in `dtype`; nil past C ints.
    init?(_ r: RNN, dtype: DType) {
        switch r.rnnType {
        case .relu: cellMode = 0
        case .tanh: cellMode = 1
        case .lstm: cellMode = 2
        case .gru: cellMode = 3
        }
        guard let x = Int32(exactly: r.inputSize), let h = Int32(exactly: r.hiddenSize), let l = Int32(exactly: r.numLayers)
        else { return nil }
        (inputSize, hiddenSize, layers, self.dtype) = (x, h, l, dtype)
        directionMode = r.bidirectional ? 1 : 0
        inputMode = r.skipInput ? 1 : 0
    }

    /// The per-sequence lengths cuDNN's packed layout wants from Knet's steps (the batch
    /// size of each time step, non-increasing): sequence b runs `#{t : steps[t] > b}` steps.
    ///
    ///     CUDNNRecurrentShape.sequenceLengths([4, 3, 3, 1])   // [4, 3, 3, 1]
    static func sequenceLengths(_ steps: [Int]) -> [Int32] {
        (0..<(steps.first ?? 0)).map { b in Int32(steps.filter { $0 > b }.count) }
    }
}

/// What cuDNN needs to run one RNN configuration on one device: its descriptor, the size
/// of its weight space, and where each piece of Knet's `w` goes in it.
final class CUDNNRecurrentPlan: @unchecked Sendable {
    /// One contiguous piece: `count` elements at `knet` in `w` and at `cudnn` in the weight space.
    struct Piece: Equatable { let knet: Int, cudnn: Int, count: Int }

    let descriptor: CUDNN.Descriptor
    /// Elements of cuDNN's weight space.
    let weightElements: Int
    /// Every matrix and bias, or nil when `w` itself is cuDNN's weight space.
    let pieces: [Piece]?

    /// Builds the descriptor of `shape` and maps `r`'s weights, asking cuDNN where each
    /// piece would sit in a weight space at `scratch` (device memory of at least
    /// `r.paramCount` elements, only addressed); throws when cuDNN refuses the
    /// configuration or its pieces do not match `rnnparam`'s sizes.
    init(_ r: RNN, _ shape: CUDNNRecurrentShape, dnn: CUDNN, calls: CUDNNRecurrentCalls, handle: CUDNN.Handle,
         scratch: (Int) -> UInt64) throws {
        descriptor = try CUDNN.Descriptor(calls.createRNN, calls.destroyRNN, "cudnnCreateRNNDescriptor", dnn.check)
        let t = dnn.dataType(shape.dtype)
        // Standard algorithm, double bias, FMA math (no TF32), no projection, no dropout, packed IO.
        try dnn.check(calls.setRNN(descriptor.pointer, 0, shape.cellMode, 2, shape.directionMode, shape.inputMode, t, t, 3,
                                   shape.inputSize, shape.hiddenSize, shape.hiddenSize, shape.layers, nil, 0),
                      "cudnnSetRNNDescriptor_v8")
        var bytes = 0
        try dnn.check(calls.weightSpaceSize(handle.handle, descriptor.pointer, &bytes), "cudnnGetRNNWeightSpaceSize")
        let size = shape.dtype.size
        weightElements = bytes / size
        // Where cuDNN puts each matrix and bias, as offsets from the weight space's start.
        guard let base = UnsafeRawPointer(bitPattern: UInt(scratch(weightElements))) else {
            throw GPUError.driver(call: "cudnnGetRNNWeightParams", message: "no weight space")
        }
        let (m, b) = (try dnn.emptyTensor(), try dnn.emptyTensor())
        var found: [Piece] = []
        let h = r.hiddenSize, gates = r.rnnType.gates
        for k in 0..<r.layerDirections {
            for id in 0..<(2 * gates) {
                var (mAddress, bAddress): (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) = (nil, nil)
                try dnn.check(calls.weightParams(handle.handle, descriptor.pointer, Int32(k), bytes, base, Int32(id),
                                                 m.pointer, &mAddress, b.pointer, &bAddress), "cudnnGetRNNWeightParams")
                let (start, rows) = r.matrixStart(k, id)
                if rows > 0 {
                    guard let mAddress, try Self.elements(m, calls) == rows * h else {
                        throw GPUError.driver(call: "cudnnGetRNNWeightParams", message: "matrix \(id) of pseudo-layer \(k) is not [\(h), \(rows)]")
                    }
                    found.append(Piece(knet: start, cudnn: base.distance(to: UnsafeRawPointer(mAddress)) / size, count: rows * h))
                }
                guard let bAddress, try Self.elements(b, calls) == h else {
                    throw GPUError.driver(call: "cudnnGetRNNWeightParams", message: "bias \(id) of pseudo-layer \(k) is not [\(h)]")
                }
                found.append(Piece(knet: r.biasStart(k, id), cudnn: base.distance(to: UnsafeRawPointer(bAddress)) / size, count: h))
            }
        }
        pieces = weightElements == r.paramCount && found.allSatisfy({ $0.knet == $0.cudnn }) ? nil : found
    }

    /// The number of elements `d` (filled in by cuDNN) describes.
    private static func elements(_ d: CUDNN.Descriptor, _ calls: CUDNNRecurrentCalls) throws -> Int {
        var (type, count) = (Int32(0), Int32(0))
        var dims = [Int32](repeating: 0, count: 8), strides = [Int32](repeating: 0, count: 8)
        guard calls.tensorDims(d.pointer, 8, &type, &count, &dims, &strides) == 0 else { return -1 }
        return dims.prefix(Int(count)).reduce(1) { $0 * Int($1) }
    }
}
