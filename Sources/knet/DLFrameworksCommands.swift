import ArgumentParser
import Foundation
import Knet
import KnetLog

/// The flags of the DeepLearningFrameworks models (`knet cifar`, `knet imdb`).
struct WideTrainingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Number of epochs (default: the model's).")
    var epochs: Int?
    @Option(parsing: .unconditional, help: "Minibatch size (complete batches only).")
    var batchsize = 64
    @Option(parsing: .unconditional, help: "Random seed (weights, shuffling, synthetic data).")
    var seed = 1
    @Option(help: "Folder holding cifar-10-batches-bin/ or aclImdb/ (the extracted downloads).")
    var data: String?
    @Flag(help: "Random data of the real shapes instead of the files.")
    var synthetic = false
    @Option(parsing: .unconditional, help: "Use only the first N training and test instances (default: all).")
    var limit: Int?
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let epochs, epochs < 0 { throw ValidationError("--epochs must be 0 or more, got \(epochs)") }
        guard batchsize > 0 else { throw ValidationError("--batchsize must be positive, got \(batchsize)") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive, got \(limit)") }
        guard synthetic || data != nil else { throw ValidationError("give --data FOLDER or --synthetic") }
        try checkDataFolder(data)
    }

    /// The first `limit` instances of `x` (batch last) and `y`.
    func limited(_ x: Tensor, _ y: [Int]) -> (Tensor, [Int]) {
        guard let limit, limit < y.count else { return (x, y) }
        var index = [TensorIndex](repeating: .colon, count: x.ndims - 1)
        index.append(.range(0..<limit))
        return (copy(x[index]), Array(y.prefix(limit)))
    }

    /// Trains `model` with `trainer` for `epochs` on shuffled complete batches, printing the
    /// epoch lines (mean training loss, test accuracy in eval mode, seconds).
    func train(_ name: String, _ model: Chain, _ trainer: Trainer<Chain>, loss: @escaping (Chain, Tensor, [Int]) -> Tensor,
               data: (xtrn: Tensor, ytrn: [Int], xtst: Tensor, ytst: [Int]), defaultEpochs: Int) throws {
        let (xtrn, ytrn) = limited(data.xtrn, data.ytrn), (xtst, ytst) = limited(data.xtst, data.ytst)
        guard batchsize <= ytrn.count else {
            throw ValidationError("--batchsize \(batchsize) is larger than the \(ytrn.count) training instances")
        }
        let dtrn = minibatch(xtrn, ytrn, batchsize, shuffle: true, seed: seed)
        func accuracy() -> [EpochMetric] {
            model.eval()
            defer { model.train() }
            var correct = 0.0
            for (x, y) in minibatch(xtst, ytst, batchsize, partial: true) { correct += Knet.accuracy(model(x), y) * Double(y.count) }
            return [EpochMetric("tst", tag: "accuracy/tst", correct / Double(max(ytst.count, 1)))]
        }
        let reporter = try logging.reporter()
        print("\(name) (\(ytrn.count) training, \(ytst.count) test), \(trainer.optimizers[0]), batch \(batchsize)")
        try reporter.epoch(0, accuracy(), seconds: nil)
        for epoch in stride(from: 1, through: epochs ?? defaultEpochs, by: 1) {
            let (mean, seconds) = try reporter.trainEpoch(trainer.minimize(loss, dtrn), count: dtrn.count)
            try reporter.epoch(epoch, [EpochMetric("loss", tag: "loss/epoch", mean)] + accuracy(), seconds: seconds)
        }
        try reporter.finish()
    }
}

/// `knet cifar`: the DeepLearningFrameworks CIFAR-10 CNN, SGD lr 0.01 momentum 0.9, 10 epochs.
struct CIFARCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cifar", abstract: "The DeepLearningFrameworks CNN on CIFAR-10.")
    @OptionGroup var options: WideTrainingOptions

    func run() throws {
        setseed(options.seed)
        let data: (Tensor, [Int], Tensor, [Int])
        if options.synthetic {
            let (ntrn, ntst) = (options.limit.map { min($0, 50_000) } ?? 50_000, options.limit.map { min($0, 10_000) } ?? 10_000)
            var random = SplitMix(seed: UInt64(truncatingIfNeeded: options.seed))
            func labels(_ n: Int) -> [Int] { (0..<n).map { _ in Int.random(in: 0..<10, using: &random) } }
            data = (Tensor.rand(32, 32, 3, ntrn), labels(ntrn), Tensor.rand(32, 32, 3, ntst), labels(ntst))
        } else {
            data = try cifar10(folder: options.data!)
        }
        let model = CIFARCNN.model()
        try options.train("CIFAR-10 CNN", model, Trainer(model, CIFARCNN.optimizer()), loss: CIFARCNN.loss,
                          data: data, defaultEpochs: 10)
    }
}

/// `knet imdb`: the IMDB GRU, Adam lr 1e-3, 3 epochs.
struct IMDBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "imdb", abstract: "The IMDB sentiment GRU.")
    @OptionGroup var options: WideTrainingOptions

    func run() throws {
        setseed(options.seed)
        let data: (Tensor, [Int], Tensor, [Int])
        if options.synthetic {
            let n = options.limit.map { min($0, 25_000) } ?? 25_000
            var random = SplitMix(seed: UInt64(truncatingIfNeeded: options.seed))
            func part() -> (Tensor, [Int]) {
                let ids = (0..<(IMDBGRU.length * n)).map { _ in Float(Int.random(in: 0..<IMDBGRU.vocabulary, using: &random)) }
                return (Tensor(ids, shape: [IMDBGRU.length, n]), (0..<n).map { _ in Int.random(in: 0..<2, using: &random) })
            }
            let (trn, tst) = (part(), part())
            data = (trn.0, trn.1, tst.0, tst.1)
        } else {
            let d = try imdb(folder: options.data!, size: IMDBGRU.vocabulary, length: IMDBGRU.length)
            data = (d.xtrn, d.ytrn, d.xtst, d.ytst)
        }
        let model = IMDBGRU.model()
        try options.train("IMDB GRU", model, Trainer(model, IMDBGRU.optimizer()), loss: IMDBGRU.loss,
                          data: data, defaultEpochs: 3)
    }
}
