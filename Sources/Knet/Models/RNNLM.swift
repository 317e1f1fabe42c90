// DyNet's rnnlm-batch (dynet-benchmark, Neubig et al. 2017): a word-level LSTM language
// model trained on minibatches of sentences of similar length, padded, with the loss of
// the padding masked out. Here one fused `LSTM` layer runs over the whole padded batch
// and one `nll` with `ignoreIndex` skips the padding.

/// A minibatch of sentences for `RNNLM`: B sentences (the longest T words, `<eos>`
/// included) as column-major `[B, T]` id grids. Step t's input is the word before
/// target t (`<eos>` at t = 0, as DyNet starts from `<s>`); padding inputs hold `<eos>`
/// and padding targets `-1`, which the loss skips.
///
///     let b = lmBatches([[4, 2, 0], [5, 0]], batchsize: 2, eos: 0)[0]
///     b.targets    // [4, 5, 2, 0, 0, -1]: step 0 of both sentences, step 1, step 2
public struct LMBatch: Sendable, Equatable {
    /// Input ids `[B, T]` (column-major: entry `b + B·t`).
    public var inputs: [Int]
    /// Target ids `[B, T]`, `-1` at padding positions.
    public var targets: [Int]
    /// Sentences B.
    public let batchsize: Int
    /// Steps T (the longest sentence).
    public let seqlen: Int

    /// The non-padding targets: the words this batch trains on.
    public var words: Int { targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}

/// rnnlm-batch's minibatches: `sentences` (id lists, each ending in `eos`) sorted by
/// decreasing length, cut into consecutive groups of `batchsize` (the last may be
/// smaller), each padded to its longest sentence. Empty sentences are skipped.
///
///     let batches = lmBatches(corpus, batchsize: 64, eos: vocab["<eos>"]!)
public func lmBatches(_ sentences: [[Int]], batchsize: Int, eos: Int) -> [LMBatch] {
    knetCheck(batchsize > 0, "lmBatches: batchsize must be positive, got \(batchsize)")
    let sorted = sentences.filter { !$0.isEmpty }.enumerated()
        .sorted { ($0.element.count, $1.offset) > ($1.element.count, $0.offset) }.map(\.element)
    return stride(from: 0, to: sorted.count, by: batchsize).map { start in
        let group = sorted[start..<min(start + batchsize, sorted.count)]
        let b = group.count, t = group.first!.count
        var inputs = [Int](repeating: eos, count: b * t), targets = [Int](repeating: -1, count: b * t)
        for (i, sentence) in group.enumerated() {
            for (step, id) in sentence.enumerated() {
                targets[i + b * step] = id
                if step + 1 < t { inputs[i + b * (step + 1)] = id }
            }
        }
        return LMBatch(inputs: inputs, targets: targets, batchsize: b, seqlen: t)
    }
}

/// rnnlm-batch's model: an embedding `[E, V]`, one LSTM layer of H units, a dense layer
/// to V word scores; dynet-benchmark's sizes are E = 128, H = 256, V = 10k (PTB).
///
///     let model = RNNLM(vocab: 10_000)
///     let trainer = Trainer(model, Adam())
///     let (loss, words) = rnnlmTrain(trainer, lmBatches(corpus, batchsize: 64, eos: 0))
public final class RNNLM: Params {
    /// The word embedding `[E, V]`.
    public let embed: Embed
    /// The LSTM over the embedded words.
    public let lstm: LSTM
    /// Word scores from the LSTM's output.
    public let output: Dense

    /// A model over `vocab` words, initialised as Knet's layers are (or as PyTorch's).
    public init(vocab: Int, embed: Int = 128, hidden: Int = 256, initialization: Initialization = .knet,
                dtype: DType = .float32) {
        self.embed = Embed(vocab: vocab, dim: embed, initialization: initialization, dtype: dtype)
        lstm = LSTM(hidden: hidden, initialization: initialization).build(for: [embed, 1], dtype: dtype)
        output = Dense(in: hidden, out: vocab, initialization: initialization, dtype: dtype)
    }

    private init(embed: Embed, lstm: LSTM, output: Dense) { self.embed = embed; self.lstm = lstm; self.output = output }

    /// The PyTorch modules, in `mapTensors` order: `embed` (nn.Embedding), `lstm`
    /// (nn.LSTM), `output` (nn.Linear), for `PyTorch.filled`/`loadPyTorch`.
    public var pytorchLayers: [PyTorch.Layer] { [.embedding("embed"), .rnn("lstm", lstm.rnn!), .dense("output")] }

    /// Word scores `[V, B·T]` (column `b + B·t`) for `batch`'s inputs.
    public func scores(_ batch: LMBatch) -> Tensor {
        let x = reshape(embed(indices: batch.inputs), [embed.dim, batch.batchsize, batch.seqlen])
        let y = lstm(x)
        return output(reshape(y, [y.shape[0], batch.batchsize * batch.seqlen]))
    }

    /// The mean negative log-likelihood of `batch`'s non-padding targets.
    public func loss(_ batch: LMBatch) -> Tensor { nll(scores(batch), batch.targets, ignoreIndex: -1) }

    /// A copy with every tensor transformed.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> RNNLM {
        RNNLM(embed: try embed.mapTensors(transform), lstm: try lstm.mapTensors(transform), output: try output.mapTensors(transform))
    }
}

/// One training step per batch of `batches` with `trainer` (dynet-benchmark: Adam,
/// lr 0.001, no clipping); returns the mean loss per word over all the batches (each
/// batch's mean weighted by its words) and the words trained on.
///
///     let (loss, words) = rnnlmTrain(trainer, batches)
public func rnnlmTrain(_ trainer: Trainer<RNNLM>, _ batches: [LMBatch]) -> (loss: Double, words: Int) {
    var total = 0.0, words = 0
    for (loss, batch) in zip(trainer.minimize({ m, b, _ in m.loss(b) }, batches.map { ($0, ()) }), batches) {
        total += loss * Double(batch.words)
        words += batch.words
    }
    return (total / Double(max(words, 1)), words)
}

/// The mean loss per word of `model` on `batches` (no training).
///
///     let dev = rnnlmLoss(model, lmBatches(valid, batchsize: 64, eos: eos))
public func rnnlmLoss(_ model: RNNLM, _ batches: [LMBatch]) -> Double {
    var total = 0.0, words = 0
    for batch in batches {
        total += nll(model.scores(batch), batch.targets, average: false, ignoreIndex: -1).scalar
        words += batch.words
    }
    return total / Double(max(words, 1))
}
