// Descriptor types of the backend boundary: the plain sizes and options that ops
// build and check and that every backend's kernels trust.

/// The sizes of one convolution, with spatial dims padded to three (a 2-D convolution
/// has a third spatial dim of size 1, padding 0, stride 1, dilation 1). Built and
/// checked by `Ops/Convolution.swift`; backends trust it.
///
///     // x [28,28,1,100], w [5,5,1,20]: x [28,28,1], kernel [5,5,1], y [24,24,1]
struct ConvGeometry {
    /// Spatial dims of the tensors (1, 2 or 3); the arrays below always have three.
    var spatialDims: Int
    /// Spatial sizes of x, of the kernel and of y (three each).
    var xSize: [Int], kernel: [Int], ySize: [Int]
    /// Zero padding at both ends, window step, and kernel dilation per spatial dim.
    var padding: [Int], stride: [Int], dilation: [Int]
    /// Input channels C, output channels O, batch N and channel groups.
    var channels: Int, outChannels: Int, batch: Int, groups: Int
    /// True for convolution (Knet mode 0: kernel flipped), false for cross-correlation.
    var flipped: Bool

    /// Elements of one channel of one image of x, of y, and of one kernel slice.
    var xSpatial: Int { xSize.reduce(1, *) }
    var ySpatial: Int { ySize.reduce(1, *) }
    var kernelSpatial: Int { kernel.reduce(1, *) }
    /// Input and output channels of one group.
    var groupChannels: Int { channels / groups }
    var groupOutChannels: Int { outChannels / groups }
    /// Rows of one group's filter matrix (= columns of the lowered image).
    var groupK: Int { kernelSpatial * groupChannels }

    /// Full shapes of x [X..., C, N], w [K..., C/groups, O] and y [Y..., O, N].
    var xShape: [Int] { Array(xSize.prefix(spatialDims)) + [channels, batch] }
    var wShape: [Int] { Array(kernel.prefix(spatialDims)) + [groupChannels, outChannels] }
    var yShape: [Int] { Array(ySize.prefix(spatialDims)) + [outChannels, batch] }
}

/// A pooling configuration (cuDNN's pooling descriptor), one entry per spatial dim.
/// Built and validated by `Ops/Pooling.swift`; kernels trust it.
struct PoolDescriptor {
    /// How a window is summarised (Knet's `mode` 0, 1, 2).
    enum Mode: Int {
        /// The maximum of the window (padding never wins).
        case max = 0
        /// The sum of the window divided by its full size (padding counts as zeros).
        case averageIncludingPadding = 1
        /// The sum of the window divided by the number of real (unpadded) elements.
        case averageExcludingPadding = 2
    }
    /// Window size per spatial dim.
    let window: [Int]
    /// Implicit padding at both ends of each spatial dim.
    let padding: [Int]
    /// Step between windows per spatial dim.
    let stride: [Int]
    /// How each window is summarised.
    let mode: Mode
    /// Max mode: a NaN in a window becomes the result (cuDNN's `maxpoolingNanOpt` 1);
    /// otherwise NaNs are skipped (a window holding nothing above -Inf gives its first element).
    let propagateNaN: Bool
    /// Scale applied to the output (and to the gradient).
    let alpha: Double

    /// The pooled shape of an input `[X1,...,Xd,C,N]`: `Yi = 1 + (Xi + 2Pi − Wi) ÷ Si`.
    func outputShape(_ x: [Int]) -> [Int] {
        x.indices.map { i in i < window.count ? 1 + (x[i] + 2 * padding[i] - window[i]) / stride[i] : x[i] }
    }

    /// The same configuration with another mode and scale.
    func with(mode: Mode, alpha: Double) -> PoolDescriptor {
        PoolDescriptor(window: window, padding: padding, stride: stride, mode: mode,
                       propagateNaN: propagateNaN, alpha: alpha)
    }
}

/// What `lstmSequenceForward` keeps for `lstmSequenceBackward` (cuDNN's reserve space).
final class LSTMReserve {
    /// `[4H, N]`: the activated gates i, f, g̃, o of every column; the backward pass
    /// overwrites them with the gradients of the gate pre-activations.
    let gates: Tensor
    /// `[2H, N]`: the state `[h; c]` each column started its step from.
    let previous: Tensor
    /// `[H, N]`: tanh of each column's new cell state.
    let tanhCell: Tensor
    /// Columns per step, and whether the steps ran last to first.
    let steps: [Int], reverse: Bool

    init(gates: Tensor, previous: Tensor, tanhCell: Tensor, steps: [Int], reverse: Bool) {
        self.gates = gates; self.previous = previous; self.tanhCell = tanhCell
        self.steps = steps; self.reverse = reverse
    }

    /// A fresh (uninitialised) reserve for a sweep over `n` columns from `state0` `[2H, B]`,
    /// with the sweep's output `[H, N + 2B]` and its running state, a copy of `state0`:
    /// what both backends' `lstmSequenceForward` start from.
    ///
    ///     let (reserve, out, state) = LSTMReserve.sweep(from: state0, columns: n, steps: steps, reverse: false)
    static func sweep(from state0: Tensor, columns n: Int, steps: [Int], reverse: Bool) -> (LSTMReserve, out: Tensor, state: Tensor) {
        let (h, batch, dtype, device) = (state0.shape[0] / 2, state0.shape[1], state0.dtype, state0.device)
        let reserve = LSTMReserve(gates: Tensor(uninitialized: [4 * h, n], dtype: dtype, device: device),
                                  previous: Tensor(uninitialized: [2 * h, n], dtype: dtype, device: device),
                                  tanhCell: Tensor(uninitialized: [h, n], dtype: dtype, device: device),
                                  steps: steps, reverse: reverse)
        let out = Tensor(uninitialized: [h, n + 2 * batch], dtype: dtype, device: device)
        let state = Tensor(uninitialized: [2 * h, batch], dtype: dtype, device: device)
        Backend.on(device).copy(from: state0, to: state)
        return (reserve, out, state)
    }

    /// First column of each step.
    var offsets: [Int] { steps.reduce(into: [0]) { $0.append($0.last! + $1) }.dropLast() }
    /// The steps in the order the forward sweep ran them.
    var order: [Int] { reverse ? Array(steps.indices.reversed()) : Array(steps.indices) }
}

/// Where each instance's class scores sit in a scores tensor viewed as
/// `[inner, classes, outer]` (the class dim in the middle), and which labels count.
struct ClassLayout {
    let inner: Int, classes: Int, outer: Int
    /// One 0-based class per instance; -1 marks an instance that is skipped.
    let labels: [Int]
    /// Number of instances that are not skipped.
    let counted: Int

    /// Checks `labels` against the instances of `shape` with classes along dim `d`:
    /// each must lie in `0..<classes` or equal `ignoreIndex` (skipped).
    init(_ op: String, _ shape: [Int], _ labels: [Int], dims d: Int, ignoreIndex: Int? = nil) {
        knetCheck(d >= 0 && d < shape.count,
                  "\(op): class dim \(d) out of range for scores of shape \(shape)")
        inner = shape.prefix(d).reduce(1, *)
        classes = shape[d]
        outer = shape.suffix(from: d + 1).reduce(1, *)
        knetCheck(labels.count == inner * outer,
                  "\(op): \(labels.count) labels for \(inner * outer) instances of scores \(shape) (classes in dim \(d))")
        let c = classes
        var counted = 0
        self.labels = labels.enumerated().map { j, label in
            if label == ignoreIndex { return -1 }
            if label < 0 || label >= c {
                knetFail("\(op): label \(label) (instance \(j)) is out of range for \(c) classes: labels are 0-based "
                         + "(Knet.jl's are 1-based); pass ignoreIndex: to skip a label")
            }
            counted += 1
            return label
        }
        self.counted = counted
    }

    /// True when instance `j` has a label in range.
    @inline(__always) func counts(_ j: Int) -> Bool { labels[j] >= 0 && labels[j] < classes }
    /// Element offset of instance `j`'s score for class 0; class `k` is at `+ k * inner`.
    @inline(__always) func base(_ j: Int) -> Int { j % inner &+ (j / inner) &* inner &* classes }
}

/// A contiguous tensor seen as `[inner, n, outer]` around the dims an op normalises over:
/// softmax over `n` values `inner` apart, for each of the `inner · outer` others; batch
/// normalization's `n` channels, each over `inner · outer` values (spatial × batch).
///
///     NormalizationLayout(shape: [5, 4, 3], dims: [1])   // inner 5, n 4, outer 3
struct NormalizationLayout: Hashable {
    let inner: Int, n: Int, outer: Int

    /// The layout of `shape` around `dims`, a run of adjacent dims in increasing order;
    /// nil for any other set (the op then composes its own).
    init?(shape: [Int], dims: [Int]) {
        guard let first = dims.first, dims == Array(first..<(first + dims.count)), first >= 0,
              first + dims.count <= shape.count else { return nil }
        inner = shape[..<first].reduce(1, *)
        n = shape[first..<(first + dims.count)].reduce(1, *)
        outer = shape[(first + dims.count)...].reduce(1, *)
    }
}

/// What batch normalization's training pass keeps for its backward pass: per channel the
/// batch mean and `1/sqrt(var + eps)` (biased variance), `[C]` each, in the input's dtype.
struct BatchNormStatistics {
    let mean: Tensor, inverseStd: Tensor
}
