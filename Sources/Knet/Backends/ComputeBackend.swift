// The backend boundary (DESIGN.md "Devices"): every op reaches memory through one
// `ComputeBackend`, chosen by the device that owns its tensors' storage. Only
// `Backends/CPU` reads or writes host memory; only `Backends/CUDA` touches GPU memory.

/// The reductions the backends implement; everything else (mean, norm, sumabs...)
/// is composed from these in `Ops/Reductions.swift`.
public enum ReduceOp: Int, Sendable, CaseIterable {
    case sum, prod, max, min

    /// The neutral element (0, 1, -Inf, +Inf).
    @inline(__always) func identity<T: KnetFloat>(_: T.Type) -> T {
        switch self {
        case .sum: return 0
        case .prod: return 1
        case .max: return -.infinity
        case .min: return .infinity
        }
    }

    /// Combines two partial results; max and min propagate NaN.
    @inline(__always) func combine<T: KnetFloat>(_ a: T, _ b: T) -> T {
        switch self {
        case .sum: return a + b
        case .prod: return a * b
        case .max: return a > b || a.isNaN ? a : b
        case .min: return a < b || a.isNaN ? a : b
        }
    }
}

/// How `randomFill` draws each element from the package's counter-based generator.
enum RandomDistribution: Equatable {
    /// `shift + scale · u`, u uniform in [0, 1).
    case uniform(scale: Double, shift: Double)
    /// `mean + std · z`, z standard normal (Box–Muller on pairs of counters).
    case normal(mean: Double, std: Double)
    /// `value` where u ≥ p, else 0 (a dropout mask).
    case bernoulli(p: Double, value: Double)
}

/// One optimizer step's rule and hyper-parameters, for `optimizerStep` (the fused update
/// of `Train/Optimizers.swift`). State tensors are passed in the order listed.
enum OptimizerRule: Equatable {
    /// `w -= lr·g`; no state.
    case sgd(lr: Double)
    /// state [v]: `v = gamma·v - lr·g; w += v` (Nesterov: `w += -gamma·v_old + (1+gamma)·v`).
    case momentum(lr: Double, gamma: Double, nesterov: Bool)
    /// state [G]: `G += g²; w -= lr·g/sqrt(G+eps)`.
    case adagrad(lr: Double, eps: Double)
    /// state [G]: `G = rho·G + (1-rho)·g²; w -= lr·g/sqrt(G+eps)`.
    case rmsprop(lr: Double, rho: Double, eps: Double)
    /// state [G, delta]: Zeiler's Adadelta.
    case adadelta(lr: Double, rho: Double, eps: Double)
    /// state [m, v]: Adam with the bias corrections `c1 = 1-beta1^t`, `c2 = 1-beta2^t`.
    case adam(lr: Double, beta1: Double, beta2: Double, eps: Double, c1: Double, c2: Double)
}

/// The narrow interface ops use to run kernels (DESIGN.md principle 4). Every method
/// takes tensors whose dtype and device were already checked (all on this backend's
/// device unless it says otherwise); outputs are allocated by the caller and fully
/// overwritten unless the method says it accumulates. Adding a device means one type
/// conforming to this protocol; no op changes.
protocol ComputeBackend: ConvolutionBackend, PoolingBackend, RecurrentBackend, NormalizationBackend {
    /// The device whose memory this backend computes on.
    var device: Device { get }

    // MARK: memory and transfers
    /// Copies host tensor `host` (contiguous, on the CPU) into `y` (contiguous, this
    /// device), converting nothing: same dtype and count. Host memory is read before return.
    func upload(_ host: Tensor, into y: Tensor)
    /// Copies `x` (contiguous, this device) into host tensor `host` (contiguous, CPU, same
    /// dtype and count); waits for the work that produces `x`.
    func download(_ x: Tensor, into host: Tensor)
    /// Elementwise copy between same-shaped (possibly strided or broadcast) views.
    func copy(from x: Tensor, to y: Tensor)
    /// y = x converted to y's dtype; both contiguous of the same shape.
    func convert(_ x: Tensor, into y: Tensor)
    /// Sets every element of y (any strided view) to `value`.
    func fill(_ y: Tensor, _ value: Double)
    /// Fills contiguous `y` from the counter-based generator: element i uses counters
    /// `counter + i` (uniform, bernoulli) or the pair `counter + 2⌊i/2⌋, +1` (normal) of the
    /// stream keyed by `key` (see `RandomSource`), so every device draws the same numbers.
    func randomFill(_ y: Tensor, _ distribution: RandomDistribution, key: UInt64, counter: UInt64)

    // MARK: elementwise, reductions, indexing
    /// y = op.(x); x and y contiguous of the same shape (y may be x).
    func unary(_ op: UnaryOp, _ x: Tensor, into y: Tensor)
    /// y = op.(a, b) where `a`, `b` are viewed with broadcast strides of y's shape (y may
    /// alias a or b when they have y's shape).
    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into y: Tensor)
    /// y = reduce(op, x) over the dims where y's size is 1 and x's is not; y contiguous.
    func reduce(_ op: ReduceOp, _ x: Tensor, into y: Tensor)
    /// Σ x² over all elements of contiguous `x`, accumulated in Double (gradient clipping).
    func sumOfSquares(_ x: Tensor) -> Double
    /// y[.., j, ..] = x[.., indices[j], ..] along `dim`; x and y contiguous.
    func gather(_ x: Tensor, dim: Int, indices: [Int], into y: Tensor)
    /// x[.., indices[j], ..] = y[.., j, ..] along `dim` (added when `accumulate`; repeated
    /// indices then sum, otherwise the last wins); x and y contiguous.
    func scatter(_ y: Tensor, dim: Int, indices: [Int], into x: Tensor, accumulate: Bool)

    // MARK: matrix products
    /// C = alpha * op(A) * op(B) + beta * C on column-major matrices (views of a, b, c
    /// starting at their offsets).
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
              a: Tensor, lda: Int, b: Tensor, ldb: Int, beta: Double, c: Tensor, ldc: Int)
    /// `C_s = op(A_s) · op(B_s)` for s in 0..<batch, slice s starting `s·stride` elements
    /// after each tensor's start; a, b, c contiguous, C overwritten.
    func batchedGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     a: Tensor, lda: Int, strideA: Int, b: Tensor, ldb: Int, strideB: Int,
                     c: Tensor, ldc: Int, strideC: Int, batch: Int)

    // MARK: losses and optimizers
    /// `scale` · Σ over counted instances of `logsumexp(x_j) − x_j[label]` (classes as
    /// `layout` says) as a 0-d tensor on this device; x contiguous.
    func nllLoss(_ x: Tensor, _ layout: ClassLayout, scale: Double) -> Tensor
    /// dx = dy · scale · (softmax(x) − onehot) on counted instances, 0 on skipped ones;
    /// `dy` is 0-d, x and dx contiguous.
    func nllGradient(_ x: Tensor, _ layout: ClassLayout, scale: Double, dy: Tensor, into dx: Tensor)
    /// One in-place optimizer step of contiguous `w` from contiguous `g` after
    /// `adjustment` (`g' = scale·g + l1·sign(w) + l2·w`), updating `state` in place.
    func optimizerStep(_ rule: OptimizerRule, _ w: Tensor, _ g: Tensor, state: [Tensor], _ adjustment: GradientAdjustment)
}

/// The convolution calls a backend implements (the cuDNN trio). Tensors are contiguous,
/// of the dtype and device already checked; outputs are allocated by the caller and
/// fully overwritten. `alpha` scales every result.
protocol ConvolutionBackend {
    /// y = alpha * conv(w, x): w [kernel..., C/groups, O], x [xSize..., C, N], y [ySize..., O, N].
    func convolution(_ w: Tensor, _ x: Tensor, into y: Tensor, _ g: ConvGeometry, alpha: Double)
    /// dx = alpha * (∂ sum(conv(w, x) .* dy) / ∂x), the transposed convolution of dy.
    func convolutionBackwardData(_ w: Tensor, _ dy: Tensor, into dx: Tensor, _ g: ConvGeometry, alpha: Double)
    /// dw = alpha * (∂ sum(conv(w, x) .* dy) / ∂w).
    func convolutionBackwardFilter(_ x: Tensor, _ dy: Tensor, into dw: Tensor, _ g: ConvGeometry, alpha: Double)
}

/// The kernels a backend provides for pooling. Tensors are contiguous, of one dtype
/// and device, shaped `[X1,...,Xd,C,N]` (inputs) and `[Y1,...,Yd,C,N]` (outputs) as
/// `d.outputShape` says.
protocol PoolingBackend {
    /// `y = alpha · pool(v)`. In max mode each window takes `v` at the position of the
    /// window's maximum of `selector` (`v` itself for plain max pooling, another
    /// tensor for the gradient of `poolx`); average modes ignore `selector`.
    func poolForward(_ v: Tensor, selector: Tensor, into y: Tensor, _ d: PoolDescriptor)
    /// The adjoint of `poolForward` in `v` (cuDNN's poolingBackward): `dx` gets
    /// `alpha · dy` routed to each window's argmax of `selector` (max mode; required
    /// there) or spread evenly over the window (average modes).
    func poolBackward(_ dy: Tensor, selector: Tensor?, into dx: Tensor, _ d: PoolDescriptor)
}

/// Fused softmax and batch normalization (cuDNN's calls). Tensors are contiguous, of one
/// dtype and device; results are fresh. A backend may decline a call (nil: the GPU
/// without cuDNN), and the op then runs its composition of elementwise and reduction ops.
protocol NormalizationBackend {
    /// Softmax (or log-softmax with `log`) of `x` over the middle dim of `layout`.
    func softmax(_ x: Tensor, _ layout: NormalizationLayout, log: Bool) -> Tensor?
    /// The gradient of `softmax` from its output `y` and the output gradient `dy`:
    /// `y .* (dy .- Σ dy .* y)`, or `dy .- exp(y) .* Σ dy` with `log`.
    func softmaxBackward(_ y: Tensor, _ dy: Tensor, _ layout: NormalizationLayout, log: Bool) -> Tensor?
    /// Batch normalization with the batch's statistics over the channels `layout.n`:
    /// `y = scale · (x − mean) / sqrt(var + eps) + bias` (`scale`, `bias` `[C]`). With
    /// `running` (`[C]` each), updates it in place: `mean ← momentum · mean_batch + (1 −
    /// momentum) · mean`, and likewise the variance with the unbiased batch variance.
    func batchNormTraining(_ x: Tensor, scale: Tensor, bias: Tensor, running: (mean: Tensor, variance: Tensor)?,
                           momentum: Double, eps: Double, _ layout: NormalizationLayout) -> (y: Tensor, saved: BatchNormStatistics)?
    /// The gradients of `batchNormTraining` in `x`, `scale` and `bias` for `dy`.
    func batchNormBackward(_ x: Tensor, _ dy: Tensor, scale: Tensor, saved: BatchNormStatistics, eps: Double,
                           _ layout: NormalizationLayout) -> (dx: Tensor, dscale: Tensor, dbias: Tensor)?
}

/// The recurrent kernels (cuDNN's RNN calls, split as `Ops/RNN.swift` uses them).
/// Results are fresh tensors on the backend's device.
protocol RecurrentBackend {
    /// cuDNN's LSTM cell on one step: from gate pre-activations `g` `[4H, B]` (rows i, f,
    /// g, o) and cell `c` `[H, B]` (each with unit row stride), `[2H, B]` = `[h'; c']`.
    func lstmCell(_ g: Tensor, _ c: Tensor) -> Tensor
    /// cuDNN's GRU cell on one step: from `x` `[3H, B]` (`W x + bW`), `q` `[3H, B]`
    /// (`R h + bR`) and `h` `[H, B]`, the new state `[H, B]`.
    func gruCell(_ x: Tensor, _ q: Tensor, _ h: Tensor) -> Tensor
    /// The whole-sequence LSTM forward sweep (see `LSTMReserve`): `pre` `[4H, N]`, `bias`
    /// `[4H, 1]`, `wh` `[4H, H]`, `state0` `[2H, B]` → `[H, N + 2B]` and the reserve.
    func lstmSequenceForward(_ pre: Tensor, _ bias: Tensor, _ wh: Tensor, _ state0: Tensor,
                             steps: [Int], reverse: Bool) -> (out: Tensor, reserve: LSTMReserve)
    /// Its backward sweep from `dout` `[H, N + 2B]`: gradients of `pre`, `wh`, `state0`.
    func lstmSequenceBackward(_ reserve: LSTMReserve, _ wh: Tensor, _ dout: Tensor) -> (dpre: Tensor, dwh: Tensor, dstate0: Tensor)
}

/// What a fused whole-RNN call keeps for its backward pass (cuDNN's reserve space and the
/// forward's operands); used once.
protocol RNNReserveSpace: AnyObject {}

/// A whole multi-layer RNN as one call (cuDNN's RNN API), which a backend may offer
/// besides `RecurrentBackend`'s per-layer kernels (the GPU with cuDNN does). Tensors are
/// contiguous, of one dtype and device.
protocol FusedRNNBackend {
    /// `r` with weights `w` on packed `x` `[X, N]` (`steps`: each step's batch size) from
    /// initial states `h0`, `c0` `[H, B, L·dirs]` (nil: zeros): one flat tensor holding y
    /// `[H·dirs, N]`, then hy `[H, B, L·dirs]`, then cy for LSTM, with the reserve; nil
    /// when declined.
    func rnnForward(_ r: RNN, w: Tensor, x: Tensor, h0: Tensor?, c0: Tensor?, steps: [Int]) -> (out: Tensor, reserve: RNNReserveSpace)?
    /// The gradients of `rnnForward` in w, x and the initial states it was given, for the
    /// flat output gradient `dout`. Consumes `reserve`.
    func rnnBackward(_ reserve: RNNReserveSpace, _ dout: Tensor) -> (dw: Tensor, dx: Tensor, dh0: Tensor?, dc0: Tensor?)
}

/// Backend selection by device.
enum Backend {
    /// The CPU backend (always present).
    static let cpu = CPUBackend()

    /// The backend that owns `device`'s memory; stops with a clear message for a GPU
    /// this process cannot use.
    @inline(__always)
    static func on(_ device: Device) -> ComputeBackend {
        switch device {
        case .cpu: return cpu
        case .gpu(let n): return CUDARuntime.backend(n)
        }
    }
}

/// Calls `body` with the Swift scalar type of `dtype` (Float or Double).
@inline(__always)
func dispatchFloat(_ dtype: DType, _ f32: () -> Void, _ f64: () -> Void) {
    switch dtype {
    case .float32: f32()
    case .float64: f64()
    }
}

/// Strides of `t` broadcast to `shape` (0 where t has size 1 or lacks the dim).
func broadcastStrides(_ t: Tensor, to shape: [Int]) -> [Int] {
    shape.indices.map { d in d < t.ndims && t.shape[d] != 1 ? t.stride(d) : 0 }
}
