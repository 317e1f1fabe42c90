import ArgumentParser
import Foundation
import Knet
import KnetLog

/// `knet charlm`: the tutorial's character-level LSTM language model (hand-written
/// LSTM, BPTT over `(B,T)` blocks, Adam with gradient clipping); prints the loss, train and
/// test perplexity per epoch, then samples text starting from a newline.
struct CharLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "charlm",
        abstract: "Character-level LSTM language model: train on a text, then generate from it.")

    /// The texts the command knows by name.
    enum Corpus: String, ExpressibleByArgument, CaseIterable {
        case hiawatha, shakespeare, tinyshakespeare
    }

    /// The two styles of the Knet documentation.
    enum Style: String, ExpressibleByArgument, CaseIterable {
        /// The fused RNN layer over whole blocks (Knet 1.x's rnninit/rnnforw).
        case fused
        /// The tutorial's hand-written LSTM, one lstmStep per character.
        case handwritten
    }

    @Option(help: "Text: \(Corpus.allCases.map(\.rawValue).joined(separator: ", ")).")
    var text = Corpus.hiawatha
    @Option(help: "Model: fused (the RNN layer) or handwritten (the tutorial's lstmStep).")
    var style = Style.fused
    @Option(help: "Folder holding the text's folder (default: $KNET_DATA, then the download cache).")
    var data: String?
    @Option(parsing: .unconditional, help: "Number of epochs (0: only generate, e.g. with --load).")
    var epochs = 1
    @Option(parsing: .unconditional, help: "Sequences per block.")
    var batchsize = 128
    @Option(parsing: .unconditional, help: "Characters per sequence (truncated BPTT length).")
    var seqlen = 100
    @Option(parsing: .unconditional, help: "Embedding size.")
    var embed = 256
    @Option(parsing: .unconditional, help: "LSTM hidden size.")
    var hidden = 256
    @Option(parsing: .unconditional, help: "LSTM layers.")
    var layers = 1
    @Option(parsing: .unconditional, help: "Adam learning rate.")
    var lr = 0.001
    @Option(parsing: .unconditional, help: "Global gradient-norm clipping threshold (0: none).")
    var gclip = 5.0
    @Option(parsing: .unconditional, help: "Characters to generate after training.")
    var generate = 500
    @Option(parsing: .unconditional, help: "Random seed (weights and sampling).")
    var seed = 1
    @Option(help: "Write the model, its optimizer state and vocabulary to this safetensors file.")
    var save: String?
    @Option(help: "Start from a model saved with --save.")
    var load: String?
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var device: DeviceOption

    func validate() throws {
        for (name, value) in [("epochs", epochs), ("generate", generate)] where value < 0 {
            throw ValidationError("--\(name) must be 0 or more, got \(value)")
        }
        for (name, value) in [("batchsize", batchsize), ("seqlen", seqlen), ("embed", embed), ("hidden", hidden), ("layers", layers)]
        where value <= 0 {
            throw ValidationError("--\(name) must be positive, got \(value)")
        }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard gclip >= 0 else { throw ValidationError("--gclip must be 0 or more, got \(gclip)") }
        try checkDataFolder(data)
        if let save { try checkWritable(save, flag: "--save") }
    }

    func run() throws {
        device.apply()
        setseed(seed)
        let locator = DataLocator.environment(dataDirectory: data)
        let corpus: CharData
        switch text {
        case .hiawatha: corpus = try gutenberg(.hiawatha, testFraction: 0.1, locator)
        case .shakespeare: corpus = try shakespeare(locator)
        case .tinyshakespeare: corpus = try gutenberg(.tinyshakespeare, testFraction: 0.1, locator)
        }
        switch style {
        case .fused:
            try run(RNNCharLM(vocab: corpus.vocab.count, embed: embed, hidden: hidden, layers: layers), corpus) { $0.weights() }
        case .handwritten:
            try run(LSTMCharLM(), corpus) { _ in charlmWeights(vocab: corpus.vocab.count, embed: embed, hidden: hidden, layers: layers) }
        }
    }

    /// Trains (and saves) `model` on `corpus`, then samples from it; each epoch prints
    /// `epoch N  loss L  trnppl P  tstppl Q  (S s)` (loss in nats per character).
    private func run<M: CharLanguageModel>(_ model: M, _ corpus: CharData, weights: (M) -> [Tensor]) throws {
        var vocab = corpus.vocab
        var w = weights(model)
        var opt = optimizers(w, Adam(lr: lr))
        if let path = load {
            let file = try Knet.load(path)
            guard let symbols = file.metadata["vocabulary"],
                  let saved = CharVocabulary(symbols: Array(symbols.unicodeScalars)),
                  Set(saved.chars) == Set(vocab.chars) else {
                throw ValidationError("\(path) has no vocabulary matching this text (saved with another corpus?)")
            }
            vocab = saved
            w = try loadFitting(path, into: w, optimizers: opt, model: "charlm (\(style.rawValue))")
        }
        // A loaded model brings its own vocabulary order: re-encode the text with it.
        let recode = { (codes: [Int]) in vocab == corpus.vocab ? codes : vocab.encode(corpus.vocab.decode(codes)) }
        // Under mpirun: one data-parallel job, each process on its streams of every block.
        let dp = Distributed.size > 1 ? DataParallel() : nil
        let whole = (trn: minibatchText(recode(corpus.trn), batchsize: batchsize, seqlen: seqlen),
                     tst: minibatchText(recode(corpus.tst), batchsize: batchsize, seqlen: seqlen))
        let trn = try dp?.shard(whole.trn) ?? whole.trn, tst = try dp?.shard(whole.tst) ?? whole.tst
        dp?.broadcastParameters(w)
        if epochs > 0 {
            for (part, blocks, count) in [("training", trn, corpus.trn.count), ("test", tst, corpus.tst.count)] where blocks.isEmpty {
                throw ValidationError("--batchsize \(batchsize) × --seqlen \(seqlen) needs at least \(batchsize * (seqlen + 1)) "
                                      + "\(part) characters for one block; the \(part) part of \(text.rawValue) has \(count)")
            }
        }
        let reporter = try logging.reporter()
        print("charlm (\(style.rawValue)) on \(text.rawValue): \(corpus.trn.count) training, \(corpus.tst.count) test characters, "
              + "vocabulary \(vocab.count); \(trn.count) blocks of \(batchsize)×\(seqlen)")
        for epoch in stride(from: 1, through: epochs, by: 1) {
            var logFailure: Error?                  // a failed log write ends the run after this epoch
            let (trnloss, seconds) = timed {
                charlmTrain(model, &w, trn, &opt, gclip: gclip, onLoss: { loss in
                    do { try reporter.trained(loss: loss) } catch { logFailure = logFailure ?? error }
                }, dataParallel: dp)
            }
            if let logFailure { throw logFailure }
            try reporter.epoch(epoch, [EpochMetric("loss", tag: "loss/epoch", trnloss),
                                       EpochMetric("trnppl", tag: "perplexity/trn", exp(trnloss)),
                                       EpochMetric("tstppl", tag: "perplexity/tst", exp(charlmTest(model, w, tst, dataParallel: dp)))],
                               seconds: seconds)
        }
        if let path = save {
            try saveCheckpoint(path, params: w, optimizers: opt,
                               metadata: ["model": "charlm-\(style.rawValue)", "vocabulary": String(String.UnicodeScalarView(vocab.chars))])
            print("saved the model to \(path)")
        }
        try reporter.finish()
        if generate > 0 { print(Knet.generate(model, w, vocab, generate)) }
    }
}
