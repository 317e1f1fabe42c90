import ArgumentParser
import Foundation
import Knet
import KnetLog

/// The optimizers a training command can use (`--optimizer`).
enum OptimizerName: String, ExpressibleByArgument, CaseIterable {
    case sgd, momentum, nesterov, adagrad, adadelta, rmsprop, adam

    /// A fresh optimizer of this kind with learning rate `lr` (Knet's defaults otherwise).
    func make(lr: Double?) -> any Optimizer {
        switch self {
        case .sgd: return lr.map { Sgd(lr: $0) } ?? Sgd()
        case .momentum: return lr.map { Momentum(lr: $0) } ?? Momentum()
        case .nesterov: return lr.map { Nesterov(lr: $0) } ?? Nesterov()
        case .adagrad: return lr.map { Adagrad(lr: $0) } ?? Adagrad()
        case .adadelta: return lr.map { Adadelta(lr: $0) } ?? Adadelta()
        case .rmsprop: return lr.map { Rmsprop(lr: $0) } ?? Rmsprop()
        case .adam: return lr.map { Adam(lr: $0) } ?? Adam()
        }
    }
}

/// The flags every MNIST model shares; a model supplies its own defaults for the
/// ones left unset. Numbers parse unconditionally, so `--epochs -3` reaches `validate`
/// (and its message) instead of reading as a flag.
struct TrainingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Number of epochs (default: the tutorial's for this model).")
    var epochs: Int?
    @Option(parsing: .unconditional, help: "Minibatch size (at most the number of training images).")
    var batchsize = 100
    @Option(parsing: .unconditional, help: "Learning rate (default: the tutorial's, or the optimizer's own).")
    var lr: Double?
    @Option(help: "Optimizer: \(OptimizerName.allCases.map(\.rawValue).joined(separator: ", ")) (default: the tutorial's).")
    var optimizer: OptimizerName?
    @Option(parsing: .unconditional, help: "Random seed (weights and shuffling).")
    var seed = 1
    @Option(help: "Folder holding mnist/*-ubyte.gz (default: $KNET_DATA, then the download cache).")
    var data: String?
    @Option(help: "Write the trained parameters and optimizer state to this safetensors file.")
    var save: String?
    @Option(help: "Start from the parameters and optimizer state saved in this safetensors file.")
    var load: String?
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var device: DeviceOption

    func validate() throws {
        if let epochs, epochs < 0 { throw ValidationError("--epochs must be 0 or more, got \(epochs)") }
        guard batchsize > 0 else { throw ValidationError("--batchsize must be positive, got \(batchsize)") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number, got \(lr)") }
        try checkDataFolder(data)
        if let save { try checkWritable(save, flag: "--save") }
    }
}

/// A tutorial model (Sources/Knet/Models) with this program's training defaults.
struct MNISTModel {
    let model: TutorialModel
    let epochs: Int
    let optimizer: OptimizerName
    let lr: Double?

    /// Trains on MNIST as the tutorial does, printing `epoch N  loss L  trn A  tst A  (S s)`
    /// per epoch (a progress bar goes to stderr when it is a terminal) and logging to
    /// `--logdir`/`--plot`. Everything that can be refused (the checkpoint, the batch size,
    /// the log) is checked before the first step.
    func train(_ o: TrainingOptions) throws {
        o.device.apply()
        setseed(o.seed)
        let name = model.name
        var w = model.parameters()
        let optimizer = (o.optimizer ?? self.optimizer).make(lr: o.lr ?? (o.optimizer == nil ? lr : nil))
        var saved: [any Optimizer] = []
        if let path = o.load {          // parameters and optimizer state from a checkpoint
            saved = Knet.optimizers(w, optimizer)
            w = try loadFitting(path, into: w, optimizers: saved, model: name)
        }
        let (xtrn, ytrn, xtst, ytst) = try mnist(.environment(dataDirectory: o.data))
        guard o.batchsize <= ytrn.count else {
            throw ValidationError("--batchsize \(o.batchsize) is larger than the \(ytrn.count) training images")
        }
        let dtrn = minibatch(xtrn, ytrn, o.batchsize)
        // accuracy counts every image, the last partial batch too
        let etrn = minibatch(xtrn, ytrn, o.batchsize, partial: true), etst = minibatch(xtst, ytst, o.batchsize, partial: true)
        let predict = model.predict
        func loss(_ w: [Tensor], _ x: Tensor, _ y: [Int]) -> Tensor { nll(predict(w, x), y) }
        func accuracies() -> [EpochMetric] {
            [("trn", etrn), ("tst", etst)].map { name, data in
                var correct = 0.0, total = 0
                for (x, y) in data {
                    correct += Knet.accuracy(predict(w, x), y) * Double(y.count)
                    total += y.count
                }
                return EpochMetric(name, tag: "accuracy/\(name)", correct / Double(max(total, 1)))
            }
        }
        // Under mpirun: one data-parallel job, each process training on its share of every
        // batch (--batchsize is the job's batch); the accuracy lines use all the data.
        let dp = Distributed.size > 1 ? DataParallel() : nil
        let trainer = Trainer(w, optimizer, dataParallel: dp)          // rank 0's w everywhere
        let mine = try dp?.shard(dtrn) ?? dtrn
        for (fresh, restored) in zip(trainer.optimizers, saved) { fresh.state = restored.state }
        let reporter = try o.logging.reporter()
        print("\(name) on MNIST (\(ytrn.count) training, \(ytst.count) test images), \(optimizer), batch \(o.batchsize)")
        try reporter.epoch(0, accuracies(), seconds: nil)
        for epoch in stride(from: 1, through: o.epochs ?? epochs, by: 1) {
            let (shardMean, seconds) = try reporter.trainEpoch(trainer.minimize(loss, mine), count: mine.count)
            let mean = shardMean.jobMean(dp)      // the job's mean, not this process's shards'
            try reporter.epoch(epoch, [EpochMetric("loss", tag: "loss/epoch", mean)] + accuracies(),
                               seconds: seconds)
        }
        if let path = o.save {
            try saveCheckpoint(path, params: w, optimizers: trainer.optimizers,
                               metadata: ["model": name, "optimizer": "\(optimizer)"])
            print("saved the parameters and optimizer state to \(path)")
        }
        try reporter.finish()
    }
}

/// `knet softmax`: softmax regression, 10 epochs of SGD with lr 0.5 (≈ 91.5% test accuracy).
struct SoftmaxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "softmax", abstract: "Softmax regression on MNIST.")
    @OptionGroup var options: TrainingOptions

    func run() throws {
        try MNISTModel(model: .softmax, epochs: 10, optimizer: .sgd, lr: 0.5).train(options)
    }
}

/// `knet mlp`: a multi-layer perceptron (one hidden layer of 64 relu units by default),
/// 10 epochs of Adam.
struct MLPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mlp", abstract: "Multi-layer perceptron on MNIST.")
    @OptionGroup var options: TrainingOptions
    @Option(parsing: .unconditional, help: "Sizes of the hidden layers, e.g. --hidden 64 or --hidden 128,64.")
    var hidden = "64"

    func validate() throws {
        guard let sizes = Self.sizes(hidden), sizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--hidden wants positive sizes separated by commas, got \(hidden)")
        }
    }

    static func sizes(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return parts.isEmpty || parts.contains(nil) ? nil : parts.map { $0! }
    }

    func run() throws {
        try MNISTModel(model: .mlp(hidden: Self.sizes(hidden)!), epochs: 10, optimizer: .adam, lr: nil).train(options)
    }
}

/// `knet lenet`: the LeNet convolutional network, 3 epochs of Adam.
struct LeNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lenet", abstract: "LeNet convolutional network on MNIST.")
    @OptionGroup var options: TrainingOptions

    func run() throws {
        try MNISTModel(model: .lenet, epochs: 3, optimizer: .adam, lr: nil).train(options)
    }
}
