// The DeepLearningFrameworks benchmark's CIFAR-10 CNN (github.com/ilkarman/DeepLearningFrameworks,
// its Knet notebook included), defined once: `knet cifar` and the benchmark row "cifar"
// both train it.

/// The DeepLearningFrameworks CIFAR-10 CNN and its training settings: on images
/// `[32, 32, 3, N]`, conv 3×3 3→50 (padding 1) relu, conv 3×3 50→50, 2×2 max pooling,
/// relu, dropout 0.25, conv 3×3 50→100 relu, conv 3×3 100→100, max pooling, relu, dropout
/// 0.25, flatten to 6400, dense 512 relu, dropout 0.5, dense 10 (class scores `[10, N]`);
/// 3,441,592 parameters. Trained with softmax cross-entropy (`nll`) and SGD with
/// momentum: lr 0.01, momentum 0.9, batches of 64.
///
/// The optimizer is Knet's `Momentum(lr: 0.01, gamma: 0.9)`: `v = 0.9v − 0.01g; w += v`.
/// PyTorch's `SGD(lr=0.01, momentum=0.9)` keeps `b = 0.9b + g; w −= 0.01b` (`b = g` at the
/// first step) instead: with a constant learning rate `v = −0.01b` at every step, so the
/// two make the same updates (up to rounding); the PyTorch peer uses `torch.optim.SGD`.
///
///     let model = CIFARCNN.model()
///     let trainer = Trainer(model, CIFARCNN.optimizer())
///     for loss in trainer.minimize(CIFARCNN.loss, minibatch(xtrn, ytrn, CIFARCNN.batchsize)) { print(loss) }
public enum CIFARCNN {
    /// Images per minibatch (complete batches only).
    public static let batchsize = 64
    /// SGD's learning rate.
    public static let lr = 0.01
    /// The momentum coefficient.
    public static let momentum = 0.9

    /// A new model, built for `[32, 32, 3, N]` images of `dtype` on `device` (Knet's xavier
    /// weights and zero biases by default, or PyTorch's initialisation).
    ///
    ///     let model = CIFARCNN.model(dtype: .float64)
    public static func model(initialization: Initialization = .knet, dtype: DType = .float32,
                             device: Device = .current) -> Chain {
        func conv(_ out: Int, activation: Activation? = nil) -> Conv {
            Conv(3, 3, out: out, padding: 1, activation: activation, initialization: initialization)
        }
        return Chain(conv(50, activation: .relu), conv(50), Pool(2), .relu, Dropout(0.25),
                     conv(100, activation: .relu), conv(100), Pool(2), .relu, Dropout(0.25),
                     Flatten(), Dense(out: 512, activation: .relu, initialization: initialization), Dropout(0.5),
                     Dense(out: 10, initialization: initialization))
            .build(for: [32, 32, 3, 1], dtype: dtype, device: device)
    }

    /// A fresh optimizer of the table's settings: `Momentum(lr: 0.01, gamma: 0.9)`.
    public static func optimizer() -> Momentum { Momentum(lr: lr, gamma: momentum) }

    /// The training loss: softmax cross-entropy of `model(x)` against the classes `y`, averaged.
    public static func loss(_ model: Chain, _ x: Tensor, _ y: [Int]) -> Tensor { nll(model(x), y) }

    /// How the model's tensors (in `mapTensors` order) are named in a PyTorch state_dict of
    /// the peer's module (`conv1` … `conv4`, `fc1`, `fc2`; Knet's mode-0 kernels flipped).
    ///
    ///     let m = try loadPyTorch("cifar.safetensors", into: CIFARCNN.model(), layers: CIFARCNN.pytorchLayers)
    public static let pytorchLayers: [PyTorch.Layer] =
        (1...4).map { .conv("conv\($0)") } + [.dense("fc1"), .dense("fc2")]
}
