import Foundation
import Knet

// The DyNet benchmarks of the wider table (Knet.jl README, dynet-benchmark): rnnlm-batch,
// bilstm-tagger and bilstm-tagger-withchar, trained as dynet-benchmark does (Adam lr
// 0.001, no clipping; taggers one sentence per step). Real data when the folder has
// `ptb/ptb.train.txt` or `tags/train.txt`, else synthetic corpora of their shapes.
// Work per run: rnnlm 50 batches of 64 sentences (an evenly spaced choice of the sorted
// batches), taggers the first 500 sentences; smoke: 3 batches of 4, 10 sentences. The
// loss is the mean training loss per word of the timed part.

extension TableCase {
    /// rnnlm-batch: embedding 128, LSTM 256, vocabulary 10k, batch 64; words/s.
    static let rnnlm = TableCase(name: "rnnlm", rows: ["rnnlm"],
                                 summary: "DyNet rnnlm-batch: PTB-shaped, embedding 128, LSTM 256, vocab 10k, batch 64 sorted by length, masked loss, Adam, 50 batches",
                                 peerScripts: ["torch": "Benchmarks/peers/torch_dynet.py"], rate: .perSecond("words"),
                                 run: { ["rnnlm": try rnnlmCase($0)] })
    /// bilstm-tagger: embedding 128, BiLSTM 50+50, tanh 32; words/s.
    static let bilstmTagger = TableCase(name: "bilstm-tagger", rows: ["bilstm-tagger"],
                                        summary: "DyNet bilstm-tagger: WSJ-shaped, embedding 128, BiLSTM 50+50, tanh 32, one sentence per step, Adam, 500 sentences",
                                        peerScripts: ["torch": "Benchmarks/peers/torch_dynet.py"], rate: .perSecond("words"),
                                        run: { ["bilstm-tagger": try taggerCase($0, chars: false)] })
    /// bilstm-tagger-withchar: as bilstm-tagger, rare words by a char BiLSTM 64+64; words/s.
    static let bilstmTaggerChar = TableCase(name: "bilstm-tagger-char", rows: ["bilstm-tagger-char"],
                                            summary: "DyNet bilstm-tagger-withchar: as bilstm-tagger, words seen ≤ 5 times by a char BiLSTM (20 → 64+64), 500 sentences",
                                            peerScripts: ["torch": "Benchmarks/peers/torch_dynet.py"], rate: .perSecond("words"),
                                            run: { ["bilstm-tagger-char": try taggerCase($0, chars: true)] })
}

/// The data file `sub` of the data folder when it exists.
private func dynetFile(_ data: Workloads, _ sub: String) -> String? {
    guard case .files(let folder) = data.source, FileManager.default.fileExists(atPath: "\(folder)/\(sub)") else { return nil }
    return "\(folder)/\(sub)"
}

private func rnnlmCase(_ data: Workloads) throws -> RunResult {
    let smoke = data.scale == .smoke
    let (count, batchsize) = smoke ? (3, 4) : (50, 64)
    var sentences: [[Int]], vocab: Int
    if let path = dynetFile(data, "ptb/ptb.train.txt") {
        let words = try readSentences(file: path)
        let v = Vocabulary(words.joined())
        (sentences, vocab) = (words.map { $0.map { v[$0]! } }, v.count)
    } else {
        vocab = smoke ? 100 : 10_000
        var g = SyntheticText(seed: 1)
        sentences = (0..<(count * batchsize)).map { _ in g.sentence(vocab: vocab - 1) + [vocab - 1] }
    }
    let eos = sentences[0].last!
    let all = lmBatches(sentences, batchsize: batchsize, eos: eos)
    let batches = stride(from: 0, to: all.count, by: max(1, all.count / count)).prefix(count).map { all[$0] }
    let (embed, hidden) = smoke ? (8, 16) : (128, 256)
    setseed(1)
    _ = rnnlmTrain(Trainer(RNNLM(vocab: vocab, embed: embed, hidden: hidden), Adam()), Array(batches.prefix(1)))
    let trainer = Trainer(RNNLM(vocab: vocab, embed: embed, hidden: hidden), Adam())
    var result = (loss: Double.nan, words: 0)
    var run = timedRun { result = rnnlmTrain(trainer, batches) }
    (run.loss, run.items) = (result.loss, Double(result.words))
    return run
}

private func taggerCase(_ data: Workloads, chars: Bool) throws -> RunResult {
    let smoke = data.scale == .smoke
    let count = smoke ? 10 : 500
    let sentences: [TaggedSentence]
    if let path = dynetFile(data, "tags/train.txt") {
        sentences = try readTagged(file: path)
    } else {
        var g = SyntheticText(seed: 1)
        sentences = g.tagged(count: smoke ? 200 : 10_000, vocab: smoke ? 500 : 20_000, tags: 45)
    }
    let vocab = TaggerVocabulary(sentences)
    let examples = try sentences.prefix(count).map(vocab.encode)
    func model() -> BiLSTMTagger {
        BiLSTMTagger(words: vocab.words.count, tags: vocab.tags.count, chars: chars ? vocab.chars.count : nil)
    }
    setseed(1)
    _ = taggerTrain(Trainer(model(), Adam()), Array(examples.prefix(2)))
    let trainer = Trainer(model(), Adam())
    var result = (loss: Double.nan, words: 0)
    var run = timedRun { result = taggerTrain(trainer, examples) }
    (run.loss, run.items) = (result.loss, Double(result.words))
    return run
}
