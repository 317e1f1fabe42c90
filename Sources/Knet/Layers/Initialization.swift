/// How a layer initialises its weights and biases when it is built.
///
///     Dense(out: 10)                                  // Knet's: xavier weights, zero biases
///     Conv(3, 3, out: 50, initialization: .pytorch)   // as nn.Conv2d.reset_parameters
public enum Initialization: Sendable {
    /// Knet's `wbfParams`/`cbfpParams`/`rnninit`: `Tensor.xavier` weights (uniform in
    /// ±sqrt(2/(fanin+fanout))), zero biases; for recurrent layers Knet's `RNN` init
    /// (xavier matrices, zero biases, LSTM forget-gate biases of one); embeddings xavier.
    case knet
    /// PyTorch's defaults: weights and biases of Linear/Conv/ConvTranspose uniform in
    /// ±1/sqrt(fanIn) (`kaiming_uniform_(a=√5)` and the bias rule of `reset_parameters`,
    /// fanIn = every weight dim but the output one); recurrent weights and biases uniform
    /// in ±1/sqrt(hidden); embeddings standard normal.
    case pytorch

    /// A weight of `shape` with `fanIn` inputs per output.
    func weight(_ shape: [Int], fanIn: Int, dtype: DType, device: Device) -> Tensor {
        switch self {
        case .knet: return Tensor.xavier(shape: shape, dtype: dtype, device: device)
        case .pytorch: return uniformTensor(shape, bound: 1 / Double(Swift.max(fanIn, 1)).squareRoot(), dtype, device)
        }
    }

    /// A bias of `shape` for a weight with `fanIn` inputs per output.
    func bias(_ shape: [Int], fanIn: Int, dtype: DType, device: Device) -> Tensor {
        switch self {
        case .knet: return Tensor.zeros(shape: shape, dtype: dtype, device: device)
        case .pytorch: return uniformTensor(shape, bound: 1 / Double(Swift.max(fanIn, 1)).squareRoot(), dtype, device)
        }
    }
}

/// Uniform random numbers in [-bound, bound) from the seeded generator.
func uniformTensor(_ shape: [Int], bound: Double, _ dtype: DType, _ device: Device) -> Tensor {
    let t = Tensor(uninitialized: shape, dtype: dtype, device: device)
    RandomSource.shared.fill(t, .uniform(scale: 2 * bound, shift: -bound))
    return t
}
