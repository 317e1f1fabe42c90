import Knet
#if canImport(Glibc)
import Glibc
#endif

// The wider table's DeepLearningFrameworks rows: the CIFAR-10 CNN and the IMDB GRU
// (Sources/Knet/Models), trained by the Trainer as `knet cifar` / `knet imdb` train them,
// against Benchmarks/peers/torch_dlframeworks.py. A full epoch (781 batches of CIFAR,
// 390 of IMDB) is too long for three runs on a small CPU, so each row times 100 batches
// of 64 (smoke: 2 of 16) after a one-batch warm-up on throw-away parameters; `items` is
// the images or sequences trained on, and the loss is the trained model's mean loss in
// eval mode over those batches. Real data when the data folder holds
// `cifar-10-batches-bin` / `aclImdb` (the first images in file order; a seeded shuffle of
// the training reviews), else random data of the real shapes.

extension TableCase {
    /// The CIFAR-10 CNN row.
    static let cifar = TableCase(
        name: "cifar", rows: ["cifar"],
        summary: "CIFAR-10 CNN (conv 50, 50, 100, 100, dense 512), 100 batches of 64 images, SGD lr 0.01 momentum 0.9",
        peerScripts: ["torch": "Benchmarks/peers/torch_dlframeworks.py"], rate: .perSecond("images"),
        run: { ["cifar": try cifarCase($0)] })

    /// The IMDB GRU row.
    static let imdb = TableCase(
        name: "imdb", rows: ["imdb"],
        summary: "IMDB GRU (vocabulary 30,000, 150 ids, embedding 125, GRU 100), 100 batches of 64, Adam lr 1e-3",
        peerScripts: ["torch": "Benchmarks/peers/torch_dlframeworks.py"], rate: .perSecond("sequences"),
        run: { ["imdb": try imdbCase($0)] })
}

/// Batch size and number of timed batches at `scale`.
private func sizes(_ scale: BenchmarkScale) -> (batch: Int, batches: Int) { scale == .full ? (64, 100) : (16, 2) }

/// The data folder when it holds `subfolder`, else nil (synthetic data).
private func realFolder(_ data: Workloads, _ subfolder: String) -> String? {
    guard case .files(let folder) = data.source, access("\(folder)/\(subfolder)", F_OK) == 0 else { return nil }
    return folder
}

/// Trains `makeModel()` with `optimizer` on `batches` (warm-up first) and measures it.
private func trainedRow(_ batches: [(Tensor, [Int])], items: Int, makeModel: () -> Chain,
                        optimizer: () -> any Optimizer, loss: @escaping (Chain, Tensor, [Int]) -> Tensor) -> RunResult {
    setseed(1)
    for _ in Trainer(makeModel(), optimizer()).minimize(loss, batches.prefix(1)) {}
    let model = makeModel()
    let trainer = Trainer(model, optimizer())
    var run = timedRun { for _ in trainer.minimize(loss, batches) {} }
    model.eval()
    run.loss = batches.reduce(0) { $0 + loss(model, $1.0, $1.1).scalar } / Double(batches.count)
    run.items = Double(items)
    return run
}

private func cifarCase(_ data: Workloads) throws -> RunResult {
    let (b, nb) = sizes(data.scale), n = b * nb
    let x: Tensor, y: [Int]
    if let folder = realFolder(data, cifar10Folder) {
        let all = try cifar10(folder: folder)
        (x, y) = (copy(all.xtrn[.all, .all, .all, 0..<n]), Array(all.ytrn.prefix(n)))
    } else {
        setseed(1)
        var random = SplitMix(seed: 1)
        (x, y) = (Tensor.rand(32, 32, 3, n), (0..<n).map { _ in Int.random(in: 0..<10, using: &random) })
    }
    return trainedRow(Array(minibatch(x, y, b)), items: n, makeModel: { CIFARCNN.model() },
                      optimizer: CIFARCNN.optimizer, loss: CIFARCNN.loss)
}

private func imdbCase(_ data: Workloads) throws -> RunResult {
    let (b, nb) = sizes(data.scale), n = b * nb
    let x: Tensor, y: [Int]
    if let folder = realFolder(data, imdbFolder) {
        let all = try imdb(folder: folder)
        let batch = Array(minibatch(all.xtrn, all.ytrn, n, shuffle: true, seed: 1).prefix(1))[0]
        (x, y) = batch
    } else {
        setseed(1)
        var random = SplitMix(seed: 1)
        let ids = (0..<(IMDBGRU.length * n)).map { _ in Float(Int.random(in: 0..<IMDBGRU.vocabulary, using: &random)) }
        (x, y) = (Tensor(ids, shape: [IMDBGRU.length, n]), (0..<n).map { _ in Int.random(in: 0..<2, using: &random) })
    }
    return trainedRow(Array(minibatch(x, y, b)), items: n, makeModel: { IMDBGRU.model() },
                      optimizer: IMDBGRU.optimizer, loss: IMDBGRU.loss)
}
