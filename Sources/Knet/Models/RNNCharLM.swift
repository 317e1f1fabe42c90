// The Knet 1.x character language model (its README's `rnninit`/`rnnforw` CharLM): an
// embedding, the fused recurrent layer run over a whole `(B, T)` block in one call, and
// an output projection.

/// The state an `RNNCharLM` carries between blocks: the final hidden (and, for LSTM,
/// cell) states `[H, B, L·dirs]`, nil for zeros.
public final class RNNCharState {
    /// Hidden states, or nil for zeros.
    public var h: Tensor?
    /// Cell states (LSTM), or nil for zeros.
    public var c: Tensor?
    /// A zero state.
    public init() {}
}

/// A character language model on the fused `RNN` layer, with weights
/// `[embedding [E, V], rnn weights [paramCount], output weight [V, H·dirs], output bias [V, 1]]`
/// (`weights()` makes them). It runs the whole block through `rnnforw` at once: one GEMM
/// for every step's input projection, one per step for the recurrence.
///
///     let model = RNNCharLM(vocab: 84, embed: 256, hidden: 256)
///     var w = model.weights()
///     var opt = optimizers(w, Adam())
///     trainCharLM(model, &w, trn: dtrn, tst: dtst, epochs: 1, opt: &opt, gclip: 5)
public struct RNNCharLM: CharLanguageModel {
    /// The recurrent layer's configuration (its own `w` only initialises `weights()`).
    public let rnn: RNN
    /// The vocabulary size V.
    public let vocab: Int

    /// A model over `vocab` characters with embedding size `embed` and an `rnnType` layer
    /// of `hidden` units (`layers` deep, optionally bidirectional).
    public init(vocab: Int, embed: Int, hidden: Int, layers: Int = 1, rnnType: RNNType = .lstm,
                bidirectional: Bool = false, dtype: DType = .float32) {
        knetCheck(vocab > 0, "RNNCharLM: vocabulary size must be positive, got \(vocab)")
        // A backward direction would read x[t+1], the very character step t must predict.
        knetCheck(!bidirectional, "RNNCharLM: a language model cannot be bidirectional (it would see the next character)")
        self.vocab = vocab
        rnn = RNN(embed, hidden, rnnType: rnnType, numLayers: layers, bidirectional: bidirectional, dtype: dtype)
    }

    /// Fresh parameters: `xavier` embedding and output weight, the RNN's own initial
    /// weights (Knet's `rnninit`), a zero output bias.
    public func weights() -> [Tensor] {
        let dtype = rnn.w.dtype, out = rnn.hiddenSize * rnn.directions
        return [Tensor.xavier(shape: [rnn.inputSize, vocab], dtype: dtype), copy(rnn.w),
                Tensor.xavier(shape: [vocab, out], dtype: dtype), Tensor.zeros(shape: [vocab, 1], dtype: dtype)]
    }

    /// A zero state.
    public func state(_ w: [Tensor], batchsize: Int) -> RNNCharState { RNNCharState() }

    /// The whole block through the RNN from `state`, one projection and one `nll`.
    public func loss(_ w: [Tensor], _ state: RNNCharState, _ block: CharBlock) -> Tensor {
        let x = reshape(w[0][.all, block.x], [rnn.inputSize, block.batchsize, block.seqlen])
        let y = run(w, state, x)
        return nll(w[2] * reshape(y, [y.shape[0], block.batchsize * block.seqlen]) .+ w[3], block.y)
    }

    /// One step from `ids`: scores `[V, B]`.
    public func scores(_ w: [Tensor], _ state: RNNCharState, _ ids: [Int]) -> Tensor {
        w[2] * run(w, state, w[0][.all, ids]) .+ w[3]
    }

    /// `rnnforw` from `state`, leaving the detached final state there.
    private func run(_ w: [Tensor], _ state: RNNCharState, _ x: Tensor) -> Tensor {
        knetCheck(w.count == 4 && w[0].shape == [rnn.inputSize, vocab],
                  "RNNCharLM: weights \(w.map(\.shape)) do not match embedding [\(rnn.inputSize), \(vocab)]")
        let out = rnnforw(rnn, w[1], x, h: state.h, c: state.c)
        state.h = value(out.hy)
        state.c = out.cy.map(value)
        return out.y
    }
}
