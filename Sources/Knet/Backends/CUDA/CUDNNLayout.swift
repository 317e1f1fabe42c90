// How Knet's column-major tensors look to cuDNN: a tensor `[X1, ..., Xd, C, N]` stored
// with X1 fastest is cuDNN's packed NCHW tensor `[N, C, Xd, ..., X1]` (row-major, last
// dim fastest) — the same bytes with the dims read backwards. cuDNN's Nd calls want at
// least two spatial dims, so a 1-D convolution gets a leading spatial dim of size 1
// (padding 0, stride 1, dilation 1); pooling always has two or three.

/// The dims, strides and options of cuDNN's tensor, filter and convolution descriptors
/// for one `ConvGeometry`, as C ints.
///
///     // x [12,10,4,3], w [5,3,2,6], padding [2,1], stride [1,2], dilation [1,2], 2 groups
///     let l = CUDNNConvolutionLayout(g)!    // l.x == [3, 4, 10, 12], l.w == [6, 2, 3, 5]
struct CUDNNConvolutionLayout: Hashable {
    /// x `[N, C, spatial...]`, w `[O, C/groups, kernel...]`, y `[N, O, spatial...]`.
    let x: [Int32], w: [Int32], y: [Int32]
    /// Per spatial dim, slowest first.
    let padding: [Int32], stride: [Int32], dilation: [Int32]
    /// CUDNN_CONVOLUTION (0, the kernel flipped: Knet's mode 0) or CUDNN_CROSS_CORRELATION (1).
    let mode: Int32
    /// The channel groups.
    let groups: Int32

    /// The layout of `g`; nil when a size or a tensor's extent does not fit a C int (the
    /// own kernels run then).
    init?(_ g: ConvGeometry) {
        let s = Swift.max(g.spatialDims, 2)
        func spatial(_ v: [Int]) -> [Int] { Array(v.prefix(s).reversed()) }
        guard let x = cInts([g.batch, g.channels] + spatial(g.xSize)),
              let w = cInts([g.outChannels, g.groupChannels] + spatial(g.kernel)),
              let y = cInts([g.batch, g.outChannels] + spatial(g.ySize)),
              let padding = cInts(spatial(g.padding)), let stride = cInts(spatial(g.stride)),
              let dilation = cInts(spatial(g.dilation)), let groups = Int32(exactly: g.groups),
              [x, w, y].allSatisfy(stridesFit) else { return nil }
        (self.x, self.w, self.y, self.padding, self.stride, self.dilation) = (x, w, y, padding, stride, dilation)
        self.groups = groups
        mode = g.flipped ? 0 : 1
    }
}

/// The dims of cuDNN's tensor and pooling descriptors for pooling an input of `input`
/// shape with a `PoolDescriptor`.
///
///     // x [6,5,3,2], window [2,3], padding [1,0], stride [2,1]
///     let l = CUDNNPoolingLayout(d, input: [6, 5, 3, 2])!  // l.x == [2, 3, 5, 6], l.window == [3, 2]
struct CUDNNPoolingLayout: Hashable {
    /// x `[N, C, spatial...]` and y.
    let x: [Int32], y: [Int32]
    /// Per spatial dim, slowest first.
    let window: [Int32], padding: [Int32], stride: [Int32]
    /// cudnnPoolingMode_t: MAX_DETERMINISTIC (3), AVERAGE_COUNT_INCLUDE_PADDING (1) or
    /// AVERAGE_COUNT_EXCLUDE_PADDING (2).
    let mode: Int32
    /// cudnnNanPropagation_t: PROPAGATE_NAN (1) or NOT_PROPAGATE_NAN (0).
    let nanPropagation: Int32

    /// The layout (pooling has two or three spatial dims), or nil when a size or a
    /// tensor's extent does not fit a C int.
    init?(_ d: PoolDescriptor, input: [Int]) {
        let dims = d.window.count
        guard dims == 2 || dims == 3, input.count == dims + 2 else { return nil }
        func spatial(_ v: [Int]) -> [Int] { Array(v.prefix(dims).reversed()) }
        let output = d.outputShape(input)
        guard let x = cInts([input[dims + 1], input[dims]] + spatial(input)),
              let y = cInts([output[dims + 1], output[dims]] + spatial(output)),
              let window = cInts(spatial(d.window)), let padding = cInts(spatial(d.padding)),
              let stride = cInts(spatial(d.stride)), stridesFit(x), stridesFit(y) else { return nil }
        (self.x, self.y, self.window, self.padding, self.stride) = (x, y, window, padding, stride)
        switch d.mode {
        case .max: mode = 3
        case .averageIncludingPadding: mode = 1
        case .averageExcludingPadding: mode = 2
        }
        nanPropagation = d.propagateNaN ? 1 : 0
    }
}

extension NormalizationLayout {
    /// cuDNN's 4-d tensor `[outer, n, inner, 1]` for this layout: softmax's CHANNEL mode
    /// and SPATIAL batch normalization both work over its C dim. Nil past C ints.
    ///
    ///     NormalizationLayout(shape: [5, 4, 3], dims: [1])!.cudnnDims   // [3, 4, 5, 1]
    var cudnnDims: [Int32]? {
        guard let dims = cInts([outer, n, inner, 1]), stridesFit(dims) else { return nil }
        return dims
    }
}

/// True when every element of a packed tensor of `dims` is addressed by a C int.
private func stridesFit(_ dims: [Int32]) -> Bool { dims.reduce(1) { $0 * Int($1) } <= Int(Int32.max) }

/// The row-major strides of packed `dims` (cuDNN's NCHW), which `stridesFit`.
///
///     packedStrides([2, 3, 4, 5])    // [60, 20, 5, 1]
func packedStrides(_ dims: [Int32]) -> [Int32] {
    var strides = [Int32](repeating: 1, count: dims.count)
    for i in dims.indices.dropLast().reversed() { strides[i] = strides[i + 1] * Swift.max(dims[i + 1], 1) }
    return strides
}

/// `values` as C ints, or nil when one does not fit (or is negative).
private func cInts(_ values: [Int]) -> [Int32]? {
    var out: [Int32] = []
    for v in values {
        guard v >= 0, let c = Int32(exactly: v) else { return nil }
        out.append(c)
    }
    return out
}
