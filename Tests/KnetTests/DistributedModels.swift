@testable import Knet

/// The small Float64 models and data the data-parallel tests train, the same on every
/// process (seeded): an MLP and a LeNet-shaped convolutional network, both classifiers.
enum TinyModel: String, CaseIterable {
    case mlp, lenet

    /// Classes of the synthetic labels.
    static let classes = 3

    /// Fresh parameters (Float64, seeded by `seed`; different on each rank when the
    /// ranks pass different seeds, as before `broadcastParameters`).
    func parameters(seed: Int) -> [Tensor] {
        setseed(seed)
        switch self {
        case .mlp:
            return [Tensor.randn(shape: [12, 20], dtype: .float64) * 0.3, Tensor.zeros(shape: [12, 1], dtype: .float64),
                    Tensor.randn(shape: [Self.classes, 12], dtype: .float64) * 0.3, Tensor.zeros(shape: [Self.classes, 1], dtype: .float64)]
        case .lenet:
            return [Tensor.randn(shape: [3, 3, 1, 4], dtype: .float64) * 0.3, Tensor.zeros(shape: [1, 1, 4, 1], dtype: .float64),
                    Tensor.randn(shape: [2, 2, 4, 6], dtype: .float64) * 0.3, Tensor.zeros(shape: [1, 1, 6, 1], dtype: .float64),
                    Tensor.randn(shape: [10, 24], dtype: .float64) * 0.3, Tensor.zeros(shape: [10, 1], dtype: .float64),
                    Tensor.randn(shape: [Self.classes, 10], dtype: .float64) * 0.3, Tensor.zeros(shape: [Self.classes, 1], dtype: .float64)]
        }
    }

    /// Class scores `[classes, B]`: 20 → 12 relu → 3, or 12×12 images → conv 3×3 (4) relu
    /// pool → conv 2×2 (6) relu pool → dense 10 relu → 3.
    func predict(_ w: [Tensor], _ x: Tensor) -> Tensor {
        switch self {
        case .mlp: return w[2] * relu(w[0] * x .+ w[1]) .+ w[3]
        case .lenet:
            var a = pool(relu(conv4(w[0], x) .+ w[1]))
            a = pool(relu(conv4(w[2], a) .+ w[3]))
            return w[6] * relu(w[4] * mat(a) .+ w[5]) .+ w[7]
        }
    }

    /// The mean cross-entropy loss.
    func loss(_ w: [Tensor], _ x: Tensor, _ y: [Int]) -> Tensor { nll(predict(w, x), y) }

    /// `n` instances (the same on every process): inputs `[20, n]` or `[12, 12, 1, n]` and labels.
    func data(_ n: Int) -> (x: Tensor, y: [Int]) {
        setseed(99)
        let shape = self == .mlp ? [20, n] : [12, 12, 1, n]
        var random = SplitMix(seed: 5)
        return (Tensor.randn(shape: shape, dtype: .float64), (0..<n).map { _ in Int.random(in: 0..<Self.classes, using: &random) })
    }

    /// The parameters after one process trains `epochs` epochs of SGD (lr 0.1) on batches
    /// of `batchsize` of `data(n)`, shuffled with seed 7: the reference of data-parallel runs.
    func reference(n: Int, batchsize: Int, epochs: Int) -> [Tensor] {
        let (x, y) = data(n)
        var w = parameters(seed: 1)
        var opt = optimizers(w, Sgd(lr: 0.1))
        let lossgradient = grad(loss)
        let batches = minibatch(x, y, batchsize, shuffle: true, seed: 7)
        for _ in 0..<epochs {
            for (xb, yb) in batches { update(&w, lossgradient(w, xb, yb), &opt) }
        }
        return w
    }
}
