#if canImport(Glibc)
import Glibc
#endif

// The tutorial's hand-written LSTM character language model (Knet.jl's "Recurrent neural
// network" section and charlm example), written with basic ops only: a matrix product,
// gate slicing with ranges, `sigm`, `tanh`, an embedding lookup and `nll`.
//
// Layout (column-major, batch last): a hidden or cell state is `[H, B]`, an embedded
// input `[E, B]`. The tutorial's row-vector form `hcat(input, hidden) * weight .+ bias`
// with `weight [E+H, 4H]` becomes `weight * vcat(input, hidden) .+ bias` here, with
// `weight [4H, E+H]` and `bias [4H, 1]`; the gates are row blocks of H rows each, in the
// tutorial's order: forget, input, output, change.

/// One step of the tutorial's LSTM: the new `(hidden, cell)`, each `[H, B]`, from the
/// previous `hidden`/`cell` `[H, B]` and the `input` `[I, B]`, with `weight [4H, I+H]` and
/// `bias [4H, 1]` whose row blocks are the forget, input, output and change gates.
///
///     (h, c) = lstmStep(w[0], w[1], h, c, x)
public func lstmStep(_ weight: Tensor, _ bias: Tensor, _ hidden: Tensor, _ cell: Tensor,
                     _ input: Tensor) -> (hidden: Tensor, cell: Tensor) {
    let h = hidden.shape[0]
    knetCheck(weight.ndims == 2 && weight.shape[0] == 4 * h && weight.shape[1] == input.shape[0] + h,
              "lstmStep: weight \(weight.shape) does not fit input \(input.shape) and hidden \(hidden.shape): want [\(4 * h), \(input.shape[0] + h)]")
    let gates = weight * vcat(input, hidden) .+ bias
    let forget = sigm(gates[0..<h, .all])
    let ingate = sigm(gates[h..<(2 * h), .all])
    let outgate = sigm(gates[(2 * h)..<(3 * h), .all])
    let change = tanh(gates[(3 * h)..<(4 * h), .all])
    let newCell = cell .* forget .+ ingate .* change
    return (outgate .* tanh(newCell), newCell)
}

/// The parameters of a CharLM as the tutorial's array: for each of the `layers` LSTM
/// layers a weight `[4H, I+H]` (I = `embed` for the first layer, `hidden` after) and a
/// bias `[4H, 1]` (forget-gate rows 1, the rest 0), then the embedding `[E, V]`, the
/// output weight `[V, H]` and output bias `[V, 1]` (the tutorial's `w[end-2]`,
/// `w[end-1]`, `w[end]`). Matrices are `xavier`.
///
///     var w = charlmWeights(vocab: 65, embed: 256, hidden: 256)   // 5 tensors
public func charlmWeights(vocab: Int, embed: Int, hidden: Int, layers: Int = 1,
                          dtype: DType = .float32) -> [Tensor] {
    knetCheck(vocab > 0 && embed > 0 && hidden > 0 && layers > 0,
              "charlmWeights: sizes must be positive (vocab \(vocab), embed \(embed), hidden \(hidden), layers \(layers))")
    var w: [Tensor] = []
    for layer in 0..<layers {
        w.append(Tensor.xavier(4 * hidden, (layer == 0 ? embed : hidden) + hidden, dtype: dtype))
        let bias = Tensor.zeros(4 * hidden, 1, dtype: dtype)
        bias[0..<hidden, .all].assign(1)
        w.append(bias)
    }
    w.append(Tensor.xavier(embed, vocab, dtype: dtype))
    w.append(Tensor.xavier(vocab, hidden, dtype: dtype))
    w.append(Tensor.zeros(vocab, 1, dtype: dtype))
    return w
}

/// The LSTM state of a CharLM, an array modified in place as the model runs (the
/// tutorial's `s`): `tensors[2k]` is layer k's hidden and `tensors[2k+1]` its cell, each
/// `[H, B]`. A class, so a loss function can carry it from one minibatch to the next.
///
///     let state = LSTMState(w, batchsize: 128)   // zeros
public final class LSTMState {
    /// Hidden and cell of every layer, `[H, B]` each.
    public var tensors: [Tensor]

    /// Zero hidden and cell states for the model `w` (from `charlmWeights`) and `batchsize` sequences.
    ///
    ///     let state = LSTMState(w, batchsize: 1)
    public init(_ w: [Tensor], batchsize: Int) {
        knetCheck(batchsize > 0, "LSTMState: batchsize must be positive, got \(batchsize)")
        let hidden = charlmHiddenSize(w), dtype = w[0].dtype
        tensors = (0..<(2 * charlmLayers(w))).map { _ in Tensor.zeros(hidden, batchsize, dtype: dtype) }
    }

    /// Detaches every state tensor from the tape (`value`), so the next minibatch does
    /// not backpropagate into this one.
    ///
    ///     state.detach()
    public func detach() { tensors = tensors.map(value) }
}

/// Number of LSTM layers of the CharLM parameters `w`.
func charlmLayers(_ w: [Tensor]) -> Int {
    knetCheck(w.count >= 5 && (w.count - 3) % 2 == 0,
              "charlm: expected 2·layers + 3 parameter tensors as charlmWeights builds, got \(w.count)")
    return (w.count - 3) / 2
}

/// Hidden size H of the CharLM parameters `w` (its output weight is `[V, H]`).
func charlmHiddenSize(_ w: [Tensor]) -> Int { w[w.count - 2].shape[1] }

/// The tutorial's `predict` for one time step, without the output projection: runs the
/// embedded characters `embedded` `[E, B]` through every LSTM layer, updating `state`
/// in place, and returns the last layer's hidden `[H, B]`.
func charlmStep(_ w: [Tensor], _ state: LSTMState, _ embedded: Tensor) -> Tensor {
    var x = embedded
    for k in 0..<charlmLayers(w) {
        (state.tensors[2 * k], state.tensors[2 * k + 1]) =
            lstmStep(w[2 * k], w[2 * k + 1], state.tensors[2 * k], state.tensors[2 * k + 1], x)
        x = state.tensors[2 * k]
    }
    return x
}

/// One `(B, T)` block of a minibatched text, as the tutorial's `mb`: `x[b, t]` is the
/// 0-based id of character t of sequence b, and `y[b, t]` the character after it. Both
/// are stored column-major (`x[b + t·B]`), so time step t is the B ids
/// `x[t·B ..< (t+1)·B]`.
///
///     for block in minibatchText(trn, batchsize: 128, seqlen: 100) { ... block.inputs(at: 0) }
public struct CharBlock: Equatable, Sendable {
    /// Number of sequences B.
    public let batchsize: Int
    /// Number of time steps T.
    public let seqlen: Int
    /// Input ids, `(B, T)` column-major.
    public let x: [Int]
    /// Target ids (the next characters), `(B, T)` column-major.
    public let y: [Int]

    /// The B input ids of time step `t`.
    ///
    ///     let ids = block.inputs(at: 0)
    public func inputs(at t: Int) -> ArraySlice<Int> { x[(t * batchsize)..<((t + 1) * batchsize)] }

    /// Process `rank`'s sequences when `processes` processes train on these blocks
    /// together: rows r, r + N, r + 2N… (N = `processes`) of every time step, B/N of them,
    /// so that consecutive blocks' shards continue each other (the state carries over).
    /// Throws `DistributedError` unless B is a multiple of N and `rank` is in `0..<N`.
    ///
    ///     let mine = try block.shard(rank: 1, of: 2)     // batchsize 64 of 128
    public func shard(rank: Int, of processes: Int) throws -> CharBlock {
        guard processes > 0, rank >= 0, rank < processes else { throw DistributedError.invalidShard(rank: rank, processes: processes) }
        guard batchsize % processes == 0 else { throw DistributedError.batchNotDivisible(batchsize: batchsize, processes: processes) }
        let rows = Array(stride(from: rank, to: batchsize, by: processes))
        func pick(_ ids: [Int]) -> [Int] { (0..<seqlen).flatMap { t in rows.map { ids[t * batchsize + $0] } } }
        return CharBlock(batchsize: rows.count, seqlen: seqlen, x: pick(x), y: pick(y))
    }
}

/// Minibatches a text of character ids into `(B, T)` blocks exactly as the tutorial's
/// `mb`: the first `N·B` ids (N = count ÷ B) become B contiguous rows of N ids (row b is
/// `encoded[b·N ..< (b+1)·N]`); inputs are columns `0..<N-1`, targets columns `1..<N`,
/// split into ⌊(N−1)/T⌋ blocks of T columns (a partial last block is dropped). Row b of
/// one block continues row b of the previous one, so the LSTM state carries over.
///
///     let dtrn = minibatchText(trn, batchsize: 128, seqlen: 100)
public func minibatchText(_ encoded: [Int], batchsize: Int, seqlen: Int) -> [CharBlock] {
    knetCheck(batchsize > 0 && seqlen > 0, "minibatchText: batchsize and seqlen must be positive, got \(batchsize), \(seqlen)")
    let n = encoded.count / batchsize
    let blocks = n > 0 ? (n - 1) / seqlen : 0
    return (0..<blocks).map { k in
        func shifted(_ shift: Int) -> [Int] {   // (B, T) ids, `shift` columns on
            var ids = [Int](repeating: 0, count: batchsize * seqlen)
            for t in 0..<seqlen {
                for b in 0..<batchsize { ids[b + t * batchsize] = encoded[b * n + k * seqlen + t + shift] }
            }
            return ids
        }
        return CharBlock(batchsize: batchsize, seqlen: seqlen, x: shifted(0), y: shifted(1))
    }
}

/// The average per-character negative log-likelihood (nats) of `block` under the CharLM
/// `w`: BPTT over its T steps, starting from `state` and leaving it (detached with
/// `value`) at the block's final hidden and cell, ready for the next block. The hiddens
/// of all steps go through one output projection `w[end-1] * h .+ w[end]` and one `nll`.
///
///     let lossgradient = gradloss(charlmLoss)
///     let (dw, loss) = lossgradient(w, state, block)
public func charlmLoss(_ w: [Tensor], _ state: LSTMState, _ block: CharBlock) -> Tensor {
    // one lookup per step: the gradient of a column range of a whole-block embedding
    // would be a zero-filled [E, B·T] tensor per step
    let hiddens = (0..<block.seqlen).map { t in
        charlmStep(w, state, w[w.count - 3][.all, Array(block.inputs(at: t))])   // [E, B] in
    }
    state.detach()
    let scores = w[w.count - 2] * hcat(hiddens) .+ w[w.count - 1]     // [V, B·T]
    return nll(scores, block.y)
}

/// A character language model trained on `(B, T)` blocks with a state carried from
/// block to block: the tutorial's hand-written LSTM (`LSTMCharLM`) and the Knet 1.x
/// model on the fused RNN layer (`RNNCharLM`). The training, test and sampling loops
/// below work with either.
public protocol CharLanguageModel {
    /// The recurrent state carried between blocks (and sampling steps).
    associatedtype State: AnyObject
    /// A zero state for `batchsize` sequences.
    func state(_ w: [Tensor], batchsize: Int) -> State
    /// The mean per-character negative log-likelihood of `block`, by BPTT from `state`;
    /// leaves `state` at the block's end, detached (`value`).
    func loss(_ w: [Tensor], _ state: State, _ block: CharBlock) -> Tensor
    /// The scores `[V, B]` of the characters after `ids` (one per sequence), advancing
    /// `state` by one step.
    func scores(_ w: [Tensor], _ state: State, _ ids: [Int]) -> Tensor
}

/// The tutorial's hand-written LSTM (`lstmStep`, `charlmLoss`) as a `CharLanguageModel`
/// over weights from `charlmWeights`.
public struct LSTMCharLM: CharLanguageModel {
    /// The model; all of its parameters are in the weight array.
    public init() {}
    /// Zero hidden and cell states for every layer.
    public func state(_ w: [Tensor], batchsize: Int) -> LSTMState { LSTMState(w, batchsize: batchsize) }
    /// `charlmLoss`.
    public func loss(_ w: [Tensor], _ state: LSTMState, _ block: CharBlock) -> Tensor { charlmLoss(w, state, block) }
    /// One `charlmStep` and the output projection.
    public func scores(_ w: [Tensor], _ state: LSTMState, _ ids: [Int]) -> Tensor {
        w[w.count - 2] * charlmStep(w, state, w[w.count - 3][.all, ids]) .+ w[w.count - 1]
    }
}

/// One training pass over `blocks` (the tutorial's `train`): a `Trainer` with the
/// optimizers `opt` (from `optimizers(w, Adam())`, their state kept) and gradient
/// clipping `gclip` (0: none) minimizes `model.loss` block by block. The state starts at
/// zero and carries over between blocks. `onLoss` sees each block's loss after its
/// update (for a training log). Returns the mean loss (NaN when `blocks` is empty).
///
/// With `dataParallel`, every process of the job passes its shards of the blocks
/// (`CharBlock.shard`), the gradients are averaged over the job before each update, and
/// the mean loss returned is the job's.
///
///     var opt = optimizers(w, Adam())
///     let trnloss = charlmTrain(RNNCharLM(rnn), &w, dtrn, &opt, gclip: 5)
public func charlmTrain<M: CharLanguageModel>(_ model: M, _ w: inout [Tensor], _ blocks: [CharBlock],
                                             _ opt: inout [any Optimizer], gclip: Double = 0,
                                             onLoss: (Double) -> Void = { _ in },
                                             dataParallel: DataParallel? = nil) -> Double {
    guard let first = blocks.first else { return .nan }
    let state = model.state(w, batchsize: first.batchsize)
    let trainer = Trainer(w, optimizers: opt, gclip: gclip, dataParallel: dataParallel)
    var total = 0.0
    for loss in trainer.minimize({ w, state, block in model.loss(w, state, block) }, blocks.lazy.map { (state, $0) }) {
        total += loss
        onLoss(loss)
    }
    return (total / Double(blocks.count)).jobMean(dataParallel)
}

/// `charlmTrain` of the tutorial's hand-written LSTM.
///
///     let trnloss = charlmTrain(&w, dtrn, &opt, gclip: 5)
public func charlmTrain(_ w: inout [Tensor], _ blocks: [CharBlock], _ opt: inout [any Optimizer],
                        gclip: Double = 0) -> Double {
    charlmTrain(LSTMCharLM(), &w, blocks, &opt, gclip: gclip)
}

/// The mean `model.loss` over `blocks` without training (the tutorial's `test`), the
/// state carried over from block to block. NaN when `blocks` is empty. With
/// `dataParallel`, each process passes its shards and the job's mean is returned.
///
///     let tstloss = charlmTest(LSTMCharLM(), w, dtst)
public func charlmTest<M: CharLanguageModel>(_ model: M, _ w: [Tensor], _ blocks: [CharBlock],
                                            dataParallel: DataParallel? = nil) -> Double {
    guard let first = blocks.first else { return .nan }
    let state = model.state(w, batchsize: first.batchsize)
    return (blocks.reduce(0.0) { $0 + model.loss(w, state, $1).scalar } / Double(blocks.count)).jobMean(dataParallel)
}

/// `charlmTest` of the tutorial's hand-written LSTM.
public func charlmTest(_ w: [Tensor], _ blocks: [CharBlock]) -> Double { charlmTest(LSTMCharLM(), w, blocks) }

/// Trains `model` for `epochs` passes over `trn` and reports the tutorial's line per
/// epoch, `(:epoch, 1, :trnppl, 13.92, :tstppl, 7.75)`, through `log` (default: print).
/// Perplexity is `exp` of the mean per-character loss. Returns `(trnppl, tstppl)` per epoch.
///
/// With `dataParallel` (see `charlmTrain`), `trn` and `tst` are this process's shards,
/// every process starts from rank 0's `w`, the perplexities are the job's, and only rank 0 logs.
///
///     var opt = optimizers(w, Adam())
///     trainCharLM(LSTMCharLM(), &w, trn: dtrn, tst: dtst, epochs: 10, opt: &opt, gclip: 5)
@discardableResult
public func trainCharLM<M: CharLanguageModel>(_ model: M, _ w: inout [Tensor], trn: [CharBlock], tst: [CharBlock],
                                             epochs: Int, opt: inout [any Optimizer], gclip: Double = 0,
                                             dataParallel: DataParallel? = nil,
                                             log: (String) -> Void = { print($0) }) -> [(trnppl: Double, tstppl: Double)] {
    knetCheck(epochs >= 0, "trainCharLM: epochs must be non-negative, got \(epochs)")
    dataParallel?.broadcastParameters(w)
    return (1..<(epochs + 1)).map { epoch in
        let trnppl = Glibc.exp(charlmTrain(model, &w, trn, &opt, gclip: gclip, dataParallel: dataParallel))
        let tstppl = Glibc.exp(charlmTest(model, w, tst, dataParallel: dataParallel))
        if dataParallel?.isPrimary ?? true { log("(:epoch, \(epoch), :trnppl, \(trnppl), :tstppl, \(tstppl))") }
        return (trnppl, tstppl)
    }
}

extension DataParallel {
    /// This process's shard of every block (see `CharBlock.shard`).
    ///
    ///     let mine = try dp.shard(minibatchText(trn, batchsize: 128, seqlen: 100))
    public func shard(_ blocks: [CharBlock]) throws -> [CharBlock] {
        try blocks.map { try $0.shard(rank: rank, of: size) }
    }
}

/// `trainCharLM` of the tutorial's hand-written LSTM.
@discardableResult
public func trainCharLM(_ w: inout [Tensor], trn: [CharBlock], tst: [CharBlock], epochs: Int,
                        opt: inout [any Optimizer], gclip: Double = 0,
                        log: (String) -> Void = { print($0) }) -> [(trnppl: Double, tstppl: Double)] {
    trainCharLM(LSTMCharLM(), &w, trn: trn, tst: tst, epochs: epochs, opt: &opt, gclip: gclip, log: log)
}

/// Samples `n` characters from `model` with weights `w` (the tutorial's `generate`):
/// starting from `start` (a newline by default; it must be in `vocab`) with a zero
/// state, each character is drawn from softmax of the scores for the previous one, using
/// the package's random generator (`setseed` makes it reproducible). Returns the `n`
/// sampled characters (without `start`).
///
///     setseed(1)
///     print(generate(LSTMCharLM(), w, vocab, 1000))
public func generate<M: CharLanguageModel>(_ model: M, _ w: [Tensor], _ vocab: CharVocabulary, _ n: Int,
                                           start: Unicode.Scalar = "\n") -> String {
    knetCheck(n >= 0, "generate: n must be non-negative, got \(n)")
    guard var id = vocab.chars.firstIndex(of: start) else {
        knetFail("generate: the start character \"\(start.escaped(asASCII: true))\" is not in the vocabulary")
    }
    let state = model.state(w, batchsize: 1)
    var out: [Int] = []
    out.reserveCapacity(n)
    for _ in 0..<n {
        let scores = model.scores(w, state, [id])
        knetCheck(scores.shape[0] == vocab.count,
                  "generate: the model scores \(scores.shape[0]) characters but the vocabulary has \(vocab.count)")
        id = sampleIndex([Double](softmax(scores)))
        out.append(id)
    }
    return vocab.decode(out)
}

/// `generate` from the tutorial's hand-written LSTM.
///
///     print(generate(w, vocab, 1000))
public func generate(_ w: [Tensor], _ vocab: CharVocabulary, _ n: Int, start: Unicode.Scalar = "\n") -> String {
    generate(LSTMCharLM(), w, vocab, n, start: start)
}

/// An index drawn with probabilities `p` (summing to about 1) from the package's random
/// generator; rounding leftovers go to the last index.
func sampleIndex(_ p: [Double]) -> Int {
    var r = RandomSource.shared.uniform()
    for (j, pj) in p.enumerated() {
        r -= pj
        if r < 0 { return j }
    }
    return p.count - 1
}
