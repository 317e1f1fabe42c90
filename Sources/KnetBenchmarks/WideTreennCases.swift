import Foundation
import Knet

// DyNet's treenn benchmark: the binary Tree-LSTM (Sources/Knet/Models/TreeLSTM.swift,
// computed level by level) trained one SST tree at a time with Adam, against
// Benchmarks/peers/torch_treenn.py (the same model and schedule in PyTorch).

extension TableCase {
    /// The treenn row: 500 sentences (smoke 10), embedding and hidden 128 (smoke 16).
    static let treenn = TableCase(
        name: "treenn", rows: ["treenn"],
        summary: "SST Tree-LSTM (DyNet treenn), embedding 128, hidden 128, vocabulary 20,000, 500 sentences one at a time, Adam 1e-3",
        peerScripts: ["torch": "Benchmarks/peers/torch_treenn.py"],
        rate: .perSecond("sentences"),
        run: { ["treenn": try treennCase($0)] })
}

/// Trees that precede the timed ones, trained on throw-away parameters (as the peer's WARMUP).
private let treennWarmup = 5

/// `<data>/trees/train.txt` when it exists (its first trees, vocabulary of all its words),
/// else synthetic trees; sentences, embedding, hidden and vocabulary as the peer script.
private func treennCase(_ data: Workloads) throws -> RunResult {
    let (sentences, size, vocabularySize) = data.scale == .full ? (500, 128, 20_000) : (10, 16, 50)
    var trees: [SentimentTree], vocab: TreebankVocabulary
    if case .files(let folder) = data.source, FileManager.default.fileExists(atPath: folder + "/trees/train.txt") {
        let all = try sentimentTrees(path: folder + "/trees/train.txt")
        (trees, vocab) = (Array(all.prefix(sentences + treennWarmup)), TreebankVocabulary(all))
    } else {
        (trees, vocab) = syntheticSentimentTrees(count: sentences + treennWarmup, vocabulary: vocabularySize)
    }
    let schedules = trees.map { TreeSchedule($0, words: vocab.ids($0.words)) }
    let batches = schedules.map { ($0, $0.labels) }
    let model = TreeLSTM(vocabulary: vocab.count, embed: size, hidden: size)
    func train(_ w: TreeLSTMParams, _ batches: ArraySlice<(TreeSchedule, [Int])>) {
        let trainer = Trainer(w, Adam(lr: 0.001))
        for _ in trainer.minimize(model.loss, batches) {}
    }
    setseed(1)
    train(model.parameters(), batches.prefix(treennWarmup))
    let w = model.parameters()
    var run = timedRun { train(w, batches.dropFirst(treennWarmup)) }
    run.loss = model.evaluate(w, Array(schedules.dropFirst(treennWarmup))).loss
    run.items = Double(schedules.count - treennWarmup)
    return run
}
