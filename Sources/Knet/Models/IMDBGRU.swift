// The IMDB sentiment GRU of the DeepLearningFrameworks benchmark, defined once: `knet imdb`
// and the benchmark row "imdb" both train it.

/// The IMDB GRU classifier and its training settings: id sequences `[150, B]` (one review
/// per column, see `IMDBData`) transposed to `[B, 150]`, an embedding of 30,000 ids in 125
/// dims (`[125, B, 150]`), one GRU layer of 100 units whose last step's output `[100, B]`
/// goes to a dense layer of 2 (scores `[2, B]`). Trained with softmax cross-entropy and
/// Adam lr 1e-3, batches of 64. The GRU is cuDNN's and PyTorch's (`r, z, n` gates,
/// `n = tanh(W_in x + b_in + r ∘ (W_hn h + b_hn))`, `h' = (1 − z) ∘ n + z ∘ h`).
///
///     let model = IMDBGRU.model()
///     let trainer = Trainer(model, IMDBGRU.optimizer())
///     for loss in trainer.minimize(IMDBGRU.loss, minibatch(d.xtrn, d.ytrn, IMDBGRU.batchsize)) { print(loss) }
public enum IMDBGRU {
    /// The ids' range `0..<vocabulary` (Keras's `num_words`).
    public static let vocabulary = 30_000
    /// Ids per sequence.
    public static let length = 150
    /// Embedding size.
    public static let embedding = 125
    /// GRU units.
    public static let hidden = 100
    /// Sequences per minibatch.
    public static let batchsize = 64
    /// Adam's learning rate.
    public static let lr = 1e-3

    /// A new model of `dtype` on `device` (Knet's initialisation by default, or PyTorch's).
    ///
    ///     let model = IMDBGRU.model(dtype: .float64)
    public static func model(initialization: Initialization = .knet, dtype: DType = .float32,
                             device: Device = .current) -> Chain {
        Chain(Lambda("transpose", shape: { $0.count == 2 ? [$0[1], $0[0]] : $0 }) { transpose($0) },
              Embed(vocab: vocabulary, dim: embedding, initialization: initialization, dtype: dtype, device: device),
              GRU(hidden: hidden, output: .last, initialization: initialization),
              Dense(out: 2, initialization: initialization))
            .build(for: [length, 1], dtype: dtype, device: device)
    }

    /// A fresh optimizer of the table's settings: `Adam(lr: 0.001)`.
    public static func optimizer() -> Adam { Adam(lr: lr) }

    /// The training loss: softmax cross-entropy of `model(x)` against the labels `y`, averaged.
    public static func loss(_ model: Chain, _ x: Tensor, _ y: [Int]) -> Tensor { nll(model(x), y) }

    /// How the tensors of `model` (made by `model()`) are named in a PyTorch state_dict of
    /// the peer's module: `embedding` (nn.Embedding), `gru` (nn.GRU), `fc` (nn.Linear).
    public static func pytorchLayers(_ model: Chain) -> [PyTorch.Layer] {
        guard let gru = model[2] as? GRU, let rnn = gru.rnn else {
            knetFail("IMDBGRU.pytorchLayers: \(model) is not a built IMDBGRU.model()")
        }
        return [.embedding("embedding"), .rnn("gru", rnn), .dense("fc")]
    }
}
