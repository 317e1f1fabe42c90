import ArgumentParser
import Foundation
import Knet
import KnetLog

// `knet rnnlm` and `knet tagger [--chars]`: the DyNet benchmarks' models (Models/RNNLM.swift,
// Models/BiLSTMTagger.swift) trained as dynet-benchmark does (Adam, no clipping), on
// `<data>/ptb/ptb.train.txt` or `<data>/tags/train.txt`, or on synthetic corpora of their
// shapes. Each epoch prints `epoch N  loss L  words/s W  (S s)`.

/// Options both commands share.
struct DyNetOptions: ParsableArguments {
    @Option(help: "Folder holding ptb/ptb.train.txt (rnnlm) or tags/train.txt (tagger).")
    var data: String?
    @Flag(help: "Train on a synthetic corpus of the real shapes instead of files.")
    var synthetic = false
    @Option(parsing: .unconditional, help: "Number of epochs.")
    var epochs = 1
    @Option(parsing: .unconditional, help: "Train on at most this many batches (rnnlm) or sentences (tagger) per epoch (0: all).")
    var limit = 0
    @Option(parsing: .unconditional, help: "Adam learning rate.")
    var lr = 0.001
    @Option(parsing: .unconditional, help: "Random seed.")
    var seed = 1

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
        guard limit >= 0 else { throw ValidationError("--limit must be 0 or more, got \(limit)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard synthetic || data != nil else { throw ValidationError("give --data DIR (the real files) or --synthetic") }
        try checkDataFolder(data)
    }

    /// The file `sub` under --data (a ValidationError when it is missing).
    func file(_ sub: String) throws -> String {
        let path = "\(data!)/\(sub)"
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("--data \(data!): no \(sub) there") }
        return path
    }

    /// The first `limit` items (all with 0).
    func limited<T>(_ items: [T]) -> [T] { limit > 0 ? Array(items.prefix(limit)) : items }

    /// Prints one epoch's line.
    func report(_ epoch: Int, _ result: (loss: Double, words: Int), _ seconds: Double) {
        print(epochLine(epoch, [EpochMetric("loss", tag: "loss/epoch", result.loss),
                                EpochMetric("words/s", tag: "words/s", Double(result.words) / seconds)], seconds: seconds))
    }
}

/// `knet rnnlm`: DyNet's rnnlm-batch (embedding 128, LSTM 256, batches of 64 sentences
/// sorted by length, masked loss).
struct RNNLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnnlm", abstract: "DyNet's rnnlm-batch: a word LSTM language model on PTB (or synthetic) sentences.")

    @OptionGroup var options: DyNetOptions
    @Option(parsing: .unconditional, help: "Sentences per batch.")
    var batchsize = 64

    func validate() throws {
        guard batchsize > 0 else { throw ValidationError("--batchsize must be positive, got \(batchsize)") }
    }

    func run() throws {
        setseed(options.seed)
        let sentences: [[Int]], vocab: Int
        if options.synthetic {
            var g = SyntheticText(seed: UInt64(options.seed))
            vocab = 10_000
            sentences = (0..<42_068).map { _ in g.sentence(vocab: vocab - 1) + [vocab - 1] }
        } else {
            let words = try readSentences(file: try options.file("ptb/ptb.train.txt"))
            let v = Vocabulary(words.joined())
            (sentences, vocab) = (words.map { $0.map { v[$0]! } }, v.count)
        }
        guard let eos = sentences.first?.last else { throw ValidationError("the training file has no sentences") }
        let batches = options.limited(lmBatches(sentences, batchsize: batchsize, eos: eos))
        print("rnnlm: \(sentences.count) sentences, vocabulary \(vocab); \(batches.count) batches of up to \(batchsize)")
        let trainer = Trainer(RNNLM(vocab: vocab), Adam(lr: options.lr))
        for epoch in 1...options.epochs {
            let (result, seconds) = timed { rnnlmTrain(trainer, batches) }
            options.report(epoch, result, seconds)
        }
    }
}

/// `knet tagger [--chars]`: DyNet's bilstm-tagger (and -withchar), one sentence per step.
struct TaggerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tagger", abstract: "DyNet's bilstm-tagger: a BiLSTM part-of-speech tagger (--chars: rare words by characters).")

    @OptionGroup var options: DyNetOptions
    @Flag(help: "Represent rare words (seen at most 5 times) by a character BiLSTM (bilstm-tagger-withchar).")
    var chars = false

    func run() throws {
        setseed(options.seed)
        let sentences: [TaggedSentence]
        if options.synthetic {
            var g = SyntheticText(seed: UInt64(options.seed))
            sentences = g.tagged(count: 10_000, vocab: 20_000, tags: 45)
        } else {
            sentences = try readTagged(file: try options.file("tags/train.txt"))
        }
        let vocab = TaggerVocabulary(sentences)
        let examples = try options.limited(sentences).map(vocab.encode)
        print("tagger\(chars ? " (chars)" : ""): \(examples.count) sentences, \(vocab.words.count) words, \(vocab.tags.count) tags")
        let tagger = BiLSTMTagger(words: vocab.words.count, tags: vocab.tags.count, chars: chars ? vocab.chars.count : nil)
        let trainer = Trainer(tagger, Adam(lr: options.lr))
        for epoch in 1...options.epochs {
            let (result, seconds) = timed { taggerTrain(trainer, examples) }
            options.report(epoch, result, seconds)
        }
    }
}
