import ArgumentParser
import Foundation
import Knet
import KnetLog

/// `knet treenn`: DyNet's treenn benchmark model, a binary Tree-LSTM sentiment classifier
/// trained one Stanford Sentiment Treebank tree at a time with Adam (`<data>/trees/train.txt`
/// and `dev.txt`, or `--synthetic` trees); each epoch prints the loss per node, the root
/// accuracy on the training trees (and dev trees) and sentences per second.
struct TreennCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "treenn",
        abstract: "Tree-LSTM sentiment classifier on SST trees (DyNet's treenn), one tree per Adam step.")

    /// How a tree is computed.
    enum Schedule: String, ExpressibleByArgument, CaseIterable {
        /// Preterminals in one GEMM, then each height's nodes together.
        case level
        /// Plain recursion, one node at a time.
        case recursive
    }

    @Option(help: "Folder holding trees/train.txt (and trees/dev.txt), as dynet-benchmark's data folder.")
    var data: String?
    @Flag(help: "Random trees of SST's shape instead of files (vocabulary 20,000).")
    var synthetic = false
    @Option(parsing: .unconditional, help: "Train on the first N training trees (0: all).")
    var sentences = 500
    @Option(parsing: .unconditional, help: "Number of epochs.")
    var epochs = 1
    @Option(parsing: .unconditional, help: "Embedding size.")
    var embed = 128
    @Option(parsing: .unconditional, help: "Hidden size.")
    var hidden = 128
    @Option(parsing: .unconditional, help: "Adam learning rate.")
    var lr = 0.001
    @Option(help: "How a tree is computed: level (nodes of one height batched) or recursive.")
    var schedule = Schedule.level
    @Option(parsing: .unconditional, help: "Random seed.")
    var seed = 1
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard sentences >= 0 else { throw ValidationError("--sentences must be 0 or more, got \(sentences)") }
        for (name, value) in [("epochs", epochs), ("embed", embed), ("hidden", hidden)] where value <= 0 {
            throw ValidationError("--\(name) must be positive, got \(value)")
        }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard synthetic || data != nil else { throw ValidationError("give --data DIR (with trees/train.txt) or --synthetic") }
        try checkDataFolder(data)
    }

    func run() throws {
        setseed(seed)
        var train: [SentimentTree], dev: [SentimentTree] = [], vocab: TreebankVocabulary
        if synthetic {
            (train, vocab) = syntheticSentimentTrees(count: sentences == 0 ? 8544 : sentences, seed: UInt64(seed))
        } else {
            let folder = data! + "/trees/"
            let all = try sentimentTrees(path: folder + "train.txt")
            vocab = TreebankVocabulary(all)
            train = sentences == 0 ? all : Array(all.prefix(sentences))
            if FileManager.default.fileExists(atPath: folder + "dev.txt") { dev = try sentimentTrees(path: folder + "dev.txt") }
        }
        let trn = train.map { TreeSchedule($0, words: vocab.ids($0.words)) }
        let tst = dev.map { TreeSchedule($0, words: vocab.ids($0.words)) }
        let model = TreeLSTM(vocabulary: vocab.count, embed: embed, hidden: hidden)
        let loss = schedule == .level ? model.loss : model.recursiveLoss
        let trainer = Trainer(model.parameters(), Adam(lr: lr))
        let reporter = try logging.reporter()
        print("treenn (\(schedule.rawValue)): \(trn.count) training trees, \(tst.count) dev trees, vocabulary \(vocab.count), "
              + "embedding \(embed), hidden \(hidden)")
        for epoch in 1...epochs {
            let (_, seconds) = try reporter.trainEpoch(trainer.minimize(loss, trn.map { ($0, $0.labels) }), count: trn.count)
            let (trnloss, trnacc) = model.evaluate(trainer.w, trn)
            var metrics = [EpochMetric("loss", tag: "loss/epoch", trnloss), EpochMetric("trn", tag: "accuracy/trn", trnacc)]
            if !tst.isEmpty { metrics.append(EpochMetric("dev", tag: "accuracy/dev", model.evaluate(trainer.w, tst).accuracy)) }
            metrics.append(EpochMetric("sent/s", tag: "speed/sentences", Double(trn.count) / seconds))
            try reporter.epoch(epoch, metrics, seconds: seconds)
        }
        try reporter.finish()
    }
}
