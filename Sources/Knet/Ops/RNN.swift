// The fused recurrent layer in the style of Knet.jl's `RNN`/`rnnforw`/`rnnparam`, with
// cuDNN's gate equations and cuDNN's flat weight layout (so the GPU version can hand the
// same `w` to cuDNN later).
//
// Weight layout of the flat vector `w` (Knet's `rnnparam` order): for each layer-direction
// k = layer·dirs + direction (forward and backward alternate), the G input matrices then the
// G hidden matrices, each stored as `[inputDim, H]` column-major (cuDNN's row-major
// `[H, inputDim]`, i.e. Knet's "transposed" matrices; inputDim is 0 for the first layer
// with `skipInput`); after all matrices, for each k the G input biases then the G hidden
// biases, each `[H]`. Gates: LSTM i, f, g (c̃), o; GRU r, z (update), n; tanh/relu one.
//
// Per layer-direction one GEMM projects the whole (packed) sequence onto all gates. LSTM
// then runs as one primitive over the whole sequence (`lstmSequence`: a forward kernel
// sweep that keeps the activated gates, a backward kernel sweep with one GEMM for the
// hidden-matrix gradient over all steps); its gradient under an outer `grad` is that of
// the same recurrence written step by step in differentiable ops, so `grad(grad(f))`
// works. The other cells run step by step: one GEMM with all hidden matrices and the
// gate math, for GRU one fused primitive (a CPU kernel forward, a Tensor-op backward).

/// The cell type of an `RNN`, as cuDNN's modes.
public enum RNNType: Sendable {
    /// `h' = relu(W x + R h + bW + bR)`.
    case relu
    /// `h' = tanh(W x + R h + bW + bR)`.
    case tanh
    /// cuDNN's LSTM: gates i, f, g, o; `c' = f∘c + i∘g`, `h' = o∘tanh(c')`.
    case lstm
    /// cuDNN's GRU: gates r, z, n; `n = tanh(Wn x + bWn + r∘(Rn h + bRn))`, `h' = (1−z)∘n + z∘h`.
    case gru

    /// Number of gates G (each has an input and a hidden matrix and bias).
    public var gates: Int {
        switch self {
        case .relu, .tanh: return 1
        case .lstm: return 4
        case .gru: return 3
        }
    }
}

/// Which part of a gate `rnnparam` returns.
public enum RNNParamKind: Sendable {
    /// The weight matrix, `[inputDim, H]` (transposed, as Knet's `rnnparam(…, 1)`).
    case matrix
    /// The bias vector `[H]`.
    case bias
}

/// A fused multi-layer recurrent layer (Knet's `RNN`): the configuration and one flat
/// parameter vector `w`. Conforms to `Params`, so `grad` over the layer (or a struct
/// holding it) differentiates `w`.
///
///     let r = RNN(10, 20, rnnType: .gru, numLayers: 2)
///     let y = r(Tensor.randn(10, 4, 7))            // [20, 4, 7]
///     let g = grad { (r: RNN, x: Tensor) in sum(r(x)) }
public struct RNN: Params {
    /// Input features X.
    public let inputSize: Int
    /// Hidden units H (per direction).
    public let hiddenSize: Int
    /// The cell type.
    public let rnnType: RNNType
    /// Number of stacked layers L.
    public let numLayers: Int
    /// Whether each layer also runs backward in time (outputs are `[2H, …]`).
    public let bidirectional: Bool
    /// Dropout probability applied between layers while a gradient is recorded (the
    /// layers API sets it to 0 for a recurrent layer in eval mode).
    public internal(set) var dropout: Double
    /// When true the first layer has no input matrices: `W x` is `x` itself (needs X == H).
    public let skipInput: Bool
    /// All weights and biases, a flat vector `[paramCount]` in cuDNN's order (see `rnnparam`).
    public var w: Tensor

    /// A layer with Knet's `rnninit` initialisation: `xavier` matrices, zero biases, and
    /// LSTM forget-gate biases (input and hidden) of one.
    ///
    ///     let lstm = RNN(32, 64, numLayers: 2, bidirectional: true, dtype: .float64)
    public init(_ inputSize: Int, _ hiddenSize: Int, rnnType: RNNType = .lstm, numLayers: Int = 1,
                bidirectional: Bool = false, dropout: Double = 0, skipInput: Bool = false,
                dtype: DType = .float32) {
        knetCheck(inputSize > 0 && hiddenSize > 0 && numLayers > 0,
                  "RNN: sizes must be positive (input \(inputSize), hidden \(hiddenSize), layers \(numLayers))")
        knetCheck(!skipInput || inputSize == hiddenSize,
                  "RNN: skipInput needs inputSize == hiddenSize, got \(inputSize) and \(hiddenSize)")
        knetCheck(dropout >= 0 && dropout <= 1, "RNN: dropout \(dropout) not in [0, 1]")
        self.inputSize = inputSize; self.hiddenSize = hiddenSize; self.rnnType = rnnType
        self.numLayers = numLayers; self.bidirectional = bidirectional
        self.dropout = dropout; self.skipInput = skipInput
        self.w = Tensor.zeros(shape: [0], dtype: dtype)
        let w = Tensor.zeros(shape: [paramCount], dtype: dtype)
        let g = rnnType.gates
        for k in 0..<layerDirections {
            for id in 0..<(2 * g) {
                if let m = rnnparam(self, w, layer: k, id: id, .matrix) { m.assign(Tensor.xavier(shape: m.shape, dtype: dtype)) }
            }
        }
        if rnnType == .lstm {
            for k in 0..<layerDirections { for id in [1, 5] { rnnparam(self, w, layer: k, id: id, .bias)!.assign(1) } }
        }
        self.w = w
    }

    /// The same layer with `w` replaced by `transform(w)`.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> RNN {
        var copy = self
        copy.w = try transform(w)
        return copy
    }

    /// 2 when bidirectional, else 1.
    public var directions: Int { bidirectional ? 2 : 1 }
    /// Layers times directions: the third dim of `h`/`c`.
    public var layerDirections: Int { numLayers * directions }

    /// Input width of layer-direction `k`'s matrices (0 for the first layer with skipInput).
    func inputDim(_ k: Int) -> Int {
        k < directions ? (skipInput ? 0 : inputSize) : hiddenSize * directions
    }

    /// Number of elements of the matrices of layer-direction `k` (G input, G hidden).
    private func matrixBlock(_ k: Int) -> Int { rnnType.gates * (inputDim(k) + hiddenSize) * hiddenSize }

    /// Length of `w` (Knet's `getRNNParamsSize`).
    public var paramCount: Int {
        (0..<layerDirections).reduce(0) { $0 + matrixBlock($1) } + layerDirections * 2 * rnnType.gates * hiddenSize
    }

    /// Start in `w` of the gate-`id` matrix of layer-direction `k`, and its input width.
    func matrixStart(_ k: Int, _ id: Int) -> (start: Int, rows: Int) {
        let g = rnnType.gates, h = hiddenSize, inDim = inputDim(k)
        let base = (0..<k).reduce(0) { $0 + matrixBlock($1) }
        return id < g ? (base + id * inDim * h, inDim) : (base + g * inDim * h + (id - g) * h * h, h)
    }

    /// Start in `w` of the gate-`id` bias of layer-direction `k`.
    func biasStart(_ k: Int, _ id: Int) -> Int {
        paramCount - layerDirections * 2 * rnnType.gates * hiddenSize + (id + 2 * rnnType.gates * k) * hiddenSize
    }

    /// Runs the layer and returns the output `y` only (see `rnnforw` for shapes and the
    /// final states).
    ///
    ///     let y = r(x)                    // x [X, B, T] → y [H·dirs, B, T]
    public func callAsFunction(_ x: Tensor, h: Tensor? = nil, c: Tensor? = nil, batchSizes: [Int]? = nil) -> Tensor {
        rnnforw(self, w, x, h: h, c: c, batchSizes: batchSizes).y
    }
}

/// One gate's weight matrix `[inputDim, H]` or bias `[H]` of `r` as a view into `w` (Knet's
/// `rnnparam`, 0-based): `layer` in `0..<numLayers·dirs` (forward and backward directions
/// alternate), `id` in `0..<2G` (input gates then hidden gates: LSTM i,f,g,o; GRU r,z,n).
/// Matrices are stored transposed, so the gate's contribution is `transpose(m) * x`.
/// Returns nil for the input matrices of the first layer with `skipInput`.
///
///     let wf = rnnparam(r, r.w, layer: 0, id: 1, .matrix)!   // LSTM input→forget, [X, H]
public func rnnparam(_ r: RNN, _ w: Tensor, layer: Int, id: Int, _ kind: RNNParamKind) -> Tensor? {
    knetCheck(layer >= 0 && layer < r.layerDirections && id >= 0 && id < 2 * r.rnnType.gates,
              "rnnparam: layer \(layer) / id \(id) out of range for \(r.layerDirections) layer-directions and \(2 * r.rnnType.gates) ids")
    knetCheck(w.shape == [r.paramCount], "rnnparam: weights of shape \(w.shape), expected [\(r.paramCount)]")
    let h = r.hiddenSize
    switch kind {
    case .bias:
        let s = r.biasStart(layer, id)
        return w[s..<(s + h)]
    case .matrix:
        let (s, rows) = r.matrixStart(layer, id)
        return rows == 0 ? nil : reshape(w[s..<(s + rows * h)], [rows, h])
    }
}

/// The result of `rnnforw`: the output and the final hidden (and, for LSTM, cell) states.
public struct RNNOutput {
    /// Outputs of the last layer: `[H·dirs, B, T]` (shaped like `x` with H·dirs rows; packed
    /// `[H·dirs, N]` with `batchSizes`).
    public let y: Tensor
    /// Final hidden states `[H, B, L·dirs]`.
    public let hy: Tensor
    /// Final cell states `[H, B, L·dirs]` for LSTM, nil otherwise.
    public let cy: Tensor?
}

/// Knet's `rnnforw`: runs `r` with weights `w` on `x` `[X, B, T]` (or `[X, B]` for one step,
/// `[X]` for one sample). `h`, `c` are the initial states `[H, B, L·dirs]` (nil means
/// zeros; `c` only for LSTM). With `batchSizes` (non-increasing, summing to N), `x` is
/// `[X, N]` holding sequences sorted by decreasing length and packed step by step: step t
/// has the first `batchSizes[t]` sequences; `hy`/`cy` then hold each sequence's state after
/// its own last step. Dropout (`r.dropout`) is applied between layers while recording.
///
///     let out = rnnforw(r, r.w, x, h: h0)      // out.y, out.hy, out.cy
public func rnnforw(_ r: RNN, _ w: Tensor, _ x: Tensor, h: Tensor? = nil, c: Tensor? = nil,
                    batchSizes: [Int]? = nil) -> RNNOutput {
    knetCheck(w.shape == [r.paramCount], "rnnforw: weights of shape \(w.shape), expected [\(r.paramCount)]")
    knetCheck(x.ndims >= 1 && x.ndims <= 3 && x.shape[0] == r.inputSize,
              "rnnforw: input of shape \(x.shape), expected [\(r.inputSize), B, T]")
    checkCompatible("rnnforw", w, x)
    let steps: [Int]
    if let batchSizes {
        knetCheck(x.ndims == 2, "rnnforw: with batchSizes the input must be packed [X, N], got \(x.shape)")
        knetCheck(!batchSizes.isEmpty && batchSizes.allSatisfy { $0 > 0 }
                  && zip(batchSizes, batchSizes.dropFirst()).allSatisfy { $0 >= $1 }
                  && batchSizes.reduce(0, +) == x.shape[1],
                  "rnnforw: batchSizes \(batchSizes) must be positive, non-increasing and sum to \(x.shape[1])")
        steps = batchSizes
    } else {
        knetCheck(x.size(1) > 0 && x.size(2) > 0, "rnnforw: empty input of shape \(x.shape)")
        steps = Array(repeating: x.size(1), count: x.size(2))
    }
    let hsize = [r.hiddenSize, steps[0], r.layerDirections]
    for (name, s) in [("h", h), ("c", c)] {
        guard let s else { continue }
        knetCheck((0..<3).map { s.size($0) } == hsize && s.ndims <= 3,
                  "rnnforw: initial \(name) of shape \(s.shape), expected \(hsize)")
        checkCompatible("rnnforw", w, s)
    }
    knetCheck(c == nil || r.rnnType == .lstm, "rnnforw: an initial cell state c is only for LSTM")
    let h0 = h.map { reshape($0, hsize) }, c0 = c.map { reshape($0, hsize) }
    let input = reshape(x, [r.inputSize, steps.reduce(0, +)])
    let out = fusedRNN(r, w, input, h0, c0, steps: steps) ?? composedRNN(r, w, input, h0, c0, steps: steps)
    return RNNOutput(y: reshape(out.y, [r.hiddenSize * r.directions] + x.shape.dropFirst()), hy: out.hy, cy: out.cy)
}

/// The layers and directions of `rnnforw` one by one on packed `input` `[X, N]`: y
/// `[H·dirs, N]`, hy and cy `[H, B, L·dirs]`.
private func composedRNN(_ r: RNN, _ w: Tensor, _ input: Tensor, _ h0: Tensor?, _ c0: Tensor?,
                         steps: [Int]) -> (y: Tensor, hy: Tensor, cy: Tensor?) {
    var input = input
    var hys: [Tensor] = [], cys: [Tensor] = []
    for layer in 0..<r.numLayers {
        if layer > 0 { input = dropout(input, r.dropout) }
        var ys: [Tensor] = []
        for d in 0..<r.directions {
            let k = layer * r.directions + d
            let run = RNNDirection(r: r, w: w, k: k, steps: steps, reverse: d == 1,
                                   h0: h0.map { $0[.all, .all, k] }, c0: c0.map { $0[.all, .all, k] })
            let out = run.forward(input)
            ys.append(out.y); hys.append(out.hy)
            if let cy = out.cy { cys.append(cy) }
        }
        input = ys.count == 1 ? ys[0] : vcat(ys)
    }
    return (input, cat(hys, dims: 2), cys.isEmpty ? nil : cat(cys, dims: 2))
}

/// The whole RNN as one backend call (cuDNN's), with its backward pass one call too
/// unless an outer `grad` records it, then the gradient of `composedRNN`. Nil when the
/// backend offers none or declines, or when dropout between layers is active (Knet's
/// dropout, not cuDNN's).
private func fusedRNN(_ r: RNN, _ w: Tensor, _ input: Tensor, _ h0: Tensor?, _ c0: Tensor?,
                      steps: [Int]) -> (y: Tensor, hy: Tensor, cy: Tensor?)? {
    guard r.dropout == 0 || r.numLayers == 1 || !isRecording(), let backend = Backend.on(w.device) as? FusedRNNBackend,
          let (flat, reserve) = backend.rnnForward(r, w: w.untracked.contiguousData(), x: input.untracked.contiguousData(),
                                                   h0: h0?.untracked.contiguousData(), c0: c0?.untracked.contiguousData(),
                                                   steps: steps)
    else { return nil }
    let inputs = [w, input] + (h0.map { [$0] } ?? []) + (c0.map { [$0] } ?? [])
    @Sendable func flatten(_ o: (y: Tensor, hy: Tensor, cy: Tensor?)) -> Tensor { vcat([vec(o.y), vec(o.hy)] + (o.cy.map { [vec($0)] } ?? [])) }
    let out = fusedPrimitive("rnnforw", inputs, forward: { _ in flat }) { dy, y, xs in
        if isUnrecorded(dy, y, xs) {
            let g = backend.rnnBackward(reserve, dy.contiguousData())
            return [g.dw, g.dx] + (g.dh0.map { [$0] } ?? []) + (g.dc0.map { [$0] } ?? [])
        }
        return differentiate(xs, op: "rnnforw") { q in
            let qh = h0 == nil ? nil : q[2], qc = c0 == nil ? nil : q[h0 == nil ? 2 : 3]
            return sum(flatten(composedRNN(r, q[0], q[1], qh, qc, steps: steps)) .* dy)
        }.gradient
    }
    let hsize = [r.hiddenSize, steps[0], r.layerDirections]
    let (ny, nh) = (r.hiddenSize * r.directions * input.shape[1], hsize.reduce(1, *))
    return (reshape(out[0..<ny], [r.hiddenSize * r.directions, input.shape[1]]), reshape(out[ny..<(ny + nh)], hsize),
            r.rnnType == .lstm ? reshape(out[(ny + nh)..<(ny + 2 * nh)], hsize) : nil)
}

/// Rows `k·n ..< (k+1)·n` of a matrix (gate k of a stacked `[G·n, B]`).
private func gate(_ t: Tensor, _ k: Int, _ n: Int) -> Tensor { t[(k * n)..<((k + 1) * n), .all] }

/// cuDNN's LSTM cell fused: `(g [4H, B], c [H, B]) → [h'; c'] [2H, B]` (see
/// `RecurrentBackend.lstmCell`), with a backward pass of Tensor ops. It is the step of the
/// differentiable definition of `lstmSequence`, used under an outer `grad`.
private func lstmCell(_ g: Tensor, _ c: Tensor) -> Tensor {
    fusedPrimitive("lstmCell", [g, c], forward: { xs in Backend.on(xs[0].device).lstmCell(xs[0], xs[1]) }) { dy, y, xs in
        let (g, c, n) = (xs[0], xs[1], xs[1].shape[0])
        let s = sigm(g), ds = s .* (1 .- s)
        let cand = tanh(gate(g, 2, n)), th = tanh(gate(y, 1, n)), dh = gate(dy, 0, n)
        let dc = gate(dy, 1, n) + dh .* gate(s, 3, n) .* (1 .- th .* th)
        let dg = vcat(dc .* cand .* gate(ds, 0, n), dc .* c .* gate(ds, 1, n),
                      dc .* gate(s, 0, n) .* (1 .- cand .* cand), dh .* th .* gate(ds, 3, n))
        return [dg, dc .* gate(s, 1, n)]
    }
}

/// cuDNN's LSTM over a whole packed sequence as one primitive (see `RecurrentBackend.lstmSequenceForward`):
/// `[pre [4H, N], bias [4H, 1], wh [4H, H], state0 [2H, B]] → [H, N + 2B]` (every column's
/// hidden, then the final h and c). Its backward pass is the backend's `lstmSequenceBackward` when
/// nothing records it; otherwise it is the gradient of `definition`, the same function
/// written with differentiable ops, so `grad(grad(f))` works.
private func lstmSequence(_ inputs: [Tensor], steps: [Int], reverse: Bool,
                          definition: @escaping ([Tensor]) -> Tensor) -> Tensor {
    final class Slot { var reserve: LSTMReserve? }
    let slot = Slot()
    return fusedPrimitive("lstmSequence", inputs, forward: { xs in
        let (out, reserve) = Backend.on(xs[0].device).lstmSequenceForward(xs[0], xs[1], xs[2], xs[3],
                                                                              steps: steps, reverse: reverse)
        slot.reserve = reserve
        return out
    }) { dy, y, xs in
        if let reserve = slot.reserve, isUnrecorded(dy, y, xs) {
            slot.reserve = nil
            let (dpre, dwh, dstate0) = Backend.on(dy.device).lstmSequenceBackward(reserve, xs[2], dy)
            return [dpre, sum(dpre, dims: 1), dwh, dstate0]
        }
        return differentiate(xs, op: "lstmSequence") { p in sum(definition(p) .* dy) }.gradient
    }
}

/// cuDNN's GRU cell fused: `(x [3H, B] = W x + bW, q [3H, B] = R h + bR, h [H, B]) → h'`
/// (see `RecurrentBackend.gruCell`); the backward pass is written with Tensor ops.
private func gruCell(_ x: Tensor, _ q: Tensor, _ h: Tensor) -> Tensor {
    fusedPrimitive("gruCell", [x, q, h], forward: { xs in Backend.on(xs[0].device).gruCell(xs[0], xs[1], xs[2]) }) { dy, _, xs in
        let (x, q, h, n) = (xs[0], xs[1], xs[2], xs[2].shape[0])
        let rz = sigm(x[0..<(2 * n), .all] + q[0..<(2 * n), .all])
        let (r, z, qn) = (gate(rz, 0, n), gate(rz, 1, n), gate(q, 2, n))
        let cand = tanh(gate(x, 2, n) + r .* qn)
        let da = dy .* (1 .- z) .* (1 .- cand .* cand)
        let drz = vcat(da .* qn, dy .* (h - cand)) .* rz .* (1 .- rz)
        return [vcat(drz, da), vcat(drz, da .* r), dy .* z]
    }
}

/// Per-step column blocks of the packed `m` (steps `lo..<hi`, column `offsets`), split in
/// halves recursively: each slice's gradient is as large as its parent, so halving costs
/// O(N log T) in the backward pass where slicing every step from `m` would cost O(N T).
private func splitSteps(_ m: Tensor, _ offsets: [Int], _ lo: Int, _ hi: Int, into out: inout [Tensor]) {
    if hi - lo == 1 { out.append(m); return }
    let mid = (lo + hi) / 2, cut = offsets[mid] - offsets[lo], end = offsets[hi] - offsets[lo]
    splitSteps(m[.all, 0..<cut], offsets, lo, mid, into: &out)
    splitSteps(m[.all, cut..<end], offsets, mid, hi, into: &out)
}

/// One direction of one layer over a packed sequence. The recurrent state is `h` `[H, b]`,
/// or `[h; c]` `[2H, b]` for LSTM.
private struct RNNDirection {
    let r: RNN, w: Tensor, k: Int, steps: [Int], reverse: Bool
    let h0: Tensor?, c0: Tensor?

    var hidden: Int { r.hiddenSize }
    var gates: Int { r.rnnType.gates }

    /// Gates `0..<G` (input) or `G..<2G` (hidden) of layer-direction k: the matrices as
    /// one transposed `[G·H, inputDim]` view (nil with skipInput) and biases `[G·H, 1]`.
    func weights(hiddenSide: Bool) -> (m: Tensor?, b: Tensor) {
        let first = hiddenSide ? gates : 0, gh = gates * hidden
        let (s, rows) = r.matrixStart(k, first)
        let m = rows == 0 ? nil : transpose(reshape(w[s..<(s + rows * gh)], [rows, gh]))
        let bs = r.biasStart(k, first)
        return (m, reshape(w[bs..<(bs + gh)], [gh, 1]))
    }

    /// The initial state of every sequence (zeros where none was given): `[H, B]`, or
    /// `[h; c]` `[2H, B]` for LSTM.
    func initialState() -> Tensor {
        let b = steps[0]
        func part(_ s: Tensor?) -> Tensor { s ?? Tensor.zeros(shape: [hidden, b], dtype: w.dtype, device: w.device) }
        return r.rnnType == .lstm ? vcat(part(h0), part(c0)) : part(h0)
    }

    /// Runs the direction on `input` `[inDim, N]`: y `[H, N]`, final hy and cy `[H, B]`.
    /// LSTM runs as one `lstmSequence` primitive, the other cells step by step.
    func forward(_ input: Tensor) -> (y: Tensor, hy: Tensor, cy: Tensor?) {
        let (wi, bi) = weights(hiddenSide: false)
        let (wh, bh) = weights(hiddenSide: true)
        // One GEMM projects every step; bR folds in too except for GRU (n needs r∘(Rn h + bRn)).
        let projected = wi.map { $0 * input } ?? vcat(Array(repeating: input, count: gates))
        let (hs, n, b) = (hidden, projected.shape[1], steps[0])
        switch r.rnnType {
        case .lstm:
            let out = lstmSequence([projected, bi + bh, wh!, initialState()], steps: steps, reverse: reverse) { p in
                let last = recurrence(p[0] .+ p[1], p[2], nil, p[3])
                return hcat(last.y, gate(last.state, 0, hs), gate(last.state, 1, hs))
            }
            return (out[.all, 0..<n], out[.all, n..<(n + b)], out[.all, (n + b)..<(n + 2 * b)])
        case .gru:
            let last = recurrence(projected .+ bi, wh!, bh, initialState())
            return (last.y, last.state, nil)
        case .relu, .tanh:
            let last = recurrence(projected .+ (bi + bh), wh!, nil, initialState())
            return (last.y, last.state, nil)
        }
    }

    /// The recurrence step by step, in differentiable ops: from `pre` `[G·H, N]` (`W x` and
    /// the biases, for GRU without bR, which comes as `bh`) and `state0` (as
    /// `initialState`), returns y `[H, N]` and every sequence's final state.
    func recurrence(_ pre: Tensor, _ wh: Tensor, _ bh: Tensor?, _ state0: Tensor) -> (y: Tensor, state: Tensor) {
        let hs = hidden, isLSTM = r.rnnType == .lstm
        var offsets = [0]
        for b in steps { offsets.append(offsets.last! + b) }
        var xs: [Tensor] = []
        splitSteps(pre, offsets, 0, steps.count, into: &xs)
        let order = reverse ? Array(steps.indices.reversed()) : Array(steps.indices)
        var state = state0[.all, 0..<steps[order[0]]]
        var done: [Tensor] = []
        var ys = [Tensor?](repeating: nil, count: steps.count)
        for t in order {
            let b = steps[t], cur = state.shape[1]
            if b < cur {            // forward in time: the shortest sequences end here
                done.append(state[.all, b..<cur]); state = state[.all, 0..<b]
            } else if b > cur {     // backward in time: longer sequences start here
                state = hcat(state, state0[.all, cur..<b])
            }
            let xt = xs[t], h = isLSTM ? gate(state, 0, hs) : state
            let rh = wh * h
            switch r.rnnType {
            case .relu: state = relu(xt + rh)
            case .tanh: state = tanh(xt + rh)
            case .lstm: state = lstmCell(xt + rh, gate(state, 1, hs))
            case .gru: state = gruCell(xt, rh .+ bh!, state)
            }
            ys[t] = isLSTM ? gate(state, 0, hs) : state
        }
        let y = ys.count == 1 ? ys[0]! : hcat(ys.map { $0! })
        return (y, done.isEmpty ? state : hcat([state] + done.reversed()))
    }
}
