import XCTest
@testable import Knet

/// The DyNet benchmarks' models (RNNLM, BiLSTMTagger) and their data readers.
final class DyNetModelTests: XCTestCase {
    func testReadersAndTypedErrors() throws {
        XCTAssertEqual(try readSentences(bytes: Array("a b\n\n c\n".utf8)), [["a", "b", "<eos>"], ["c", "<eos>"]])
        let tagged = try readTagged(bytes: Array("The|DT a|b|NN\n\nx|Y\n".utf8))
        XCTAssertEqual(tagged, [TaggedSentence(words: ["The", "a|b"], tags: ["DT", "NN"]), TaggedSentence(words: ["x"], tags: ["Y"])])
        for bad in ["The|DT dog\n", "ok|A |NN\n", "ok|A dog|\n"] {
            XCTAssertThrowsError(try readTagged(bytes: Array(bad.utf8), name: "t.txt")) { error in
                guard case DataError.corrupt(path: "t.txt", let reason) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.hasPrefix("line 1: token"), reason)
            }
        }
        XCTAssertThrowsError(try readSentences(bytes: [0x61, 0x0A, 0xFF, 0xFE]))
        XCTAssertThrowsError(try readTagged(file: "/nonexistent/train.txt"))
    }

    func testBatchesSortAndPad() {
        let batches = lmBatches([[4, 0], [5, 2, 0], [7, 0]], batchsize: 2, eos: 0)
        XCTAssertEqual(batches.count, 2)
        XCTAssertEqual(batches[0], LMBatch(inputs: [0, 0, 5, 4, 2, 0], targets: [5, 4, 2, 0, 0, -1], batchsize: 2, seqlen: 3))
        XCTAssertEqual(batches[0].words, 5)
        XCTAssertEqual(batches[1], LMBatch(inputs: [0, 7], targets: [7, 0], batchsize: 1, seqlen: 2))
    }

    /// Padding does not count: another id in a padded input or target leaves the loss
    /// and its gradient unchanged; the mean is over the real words.
    func testMaskedLossIgnoresPadding() throws {
        setseed(3)
        let model = RNNLM(vocab: 9, embed: 4, hidden: 5, dtype: .float64)
        let batch = lmBatches([[1, 2, 3, 0], [4, 0]], batchsize: 2, eos: 0)[0]
        var changed = batch
        changed.inputs[1 + 2 * 2] = 7; changed.inputs[1 + 2 * 3] = 8; changed.targets[1 + 2 * 3] = -1
        let g = gradloss { (m: RNNLM, b: LMBatch) in m.loss(b) }
        let (g1, l1) = g(model, batch), (g2, l2) = g(model, changed)
        XCTAssertEqual(l1.scalar, l2.scalar, accuracy: 1e-12)
        for (a, b) in zip(g1.tensors, g2.tensors) { XCTAssertEqual(Double(sum(abs(a .- b)).scalar), 0, accuracy: 1e-12) }
        // The second sentence alone gives its own words' loss: the total is the word-weighted mean.
        let short = lmBatches([[4, 0]], batchsize: 1, eos: 0)[0], long = lmBatches([[1, 2, 3, 0]], batchsize: 1, eos: 0)[0]
        XCTAssertEqual(l1.scalar, (model.loss(short).scalar * 2 + model.loss(long).scalar * 4) / 6, accuracy: 1e-10)
    }

    func testGradcheckRNNLMAndCharTagger() throws {
        setseed(4)
        let lm = RNNLM(vocab: 6, embed: 3, hidden: 4, dtype: .float64)
        let batch = lmBatches([[1, 2, 0], [3, 0]], batchsize: 2, eos: 0)[0]
        XCTAssertTrue(gradcheck({ (m: RNNLM, b: LMBatch) in m.loss(b) }, lm, batch))
        let sentences = [TaggedSentence(words: ["a", "bc", "a", "de"], tags: ["X", "Y", "X", "Z"])]
        let vocab = TaggerVocabulary(sentences, rareCount: 1)
        let x = try vocab.encode(sentences[0])
        XCTAssertEqual(x.rare, [1, 3])
        let tagger = BiLSTMTagger(words: vocab.words.count, tags: vocab.tags.count, chars: vocab.chars.count,
                                  embed: 4, hidden: 3, mlp: 3, charEmbed: 2, dtype: .float64)
        XCTAssertTrue(gradcheck({ (m: BiLSTMTagger, x: TaggerExample) in m.loss(x) }, tagger, x))
    }

    /// A rare word's vector is the char BiLSTM's final forward state and its final
    /// backward state (the backward run's output at the word's first character).
    func testRareWordVectorIsCharBiLSTMFinalStates() throws {
        setseed(5)
        let sentences = [TaggedSentence(words: ["aa", "b", "aa", "cde"], tags: ["X", "Y", "X", "Y"])]
        let vocab = TaggerVocabulary(sentences, rareCount: 1)
        let x = try vocab.encode(sentences[0])
        let tagger = BiLSTMTagger(words: vocab.words.count, tags: 2, chars: vocab.chars.count, embed: 4, hidden: 2, mlp: 2,
                                  charEmbed: 3, dtype: .float64)
        let v = tagger.wordVectors(x)
        XCTAssertEqual(v.shape, [4, 4])
        for (k, position) in x.rare.enumerated() {
            let chars = x.rareChars[k]
            let y = tagger.charLSTM!(reshape(tagger.charEmbed!(indices: chars), [3, 1, chars.count]))   // [4, 1, n]
            let expected = vcat(y[0..<2, 0, chars.count - 1], y[2..<4, 0, 0])
            XCTAssertEqual(Double(sum(abs(v[.all, position] .- expected)).scalar), 0, accuracy: 1e-12)
        }
        XCTAssertEqual(Double(sum(abs(v[.all, 0] .- tagger.wordEmbed.weight[.all, vocab.words["aa"]!])).scalar), 0, accuracy: 1e-15)
    }

    /// A few Adam steps on one synthetic sentence lower its loss (the Trainer path).
    func testTaggerTrainingLowersLoss() throws {
        var g = SyntheticText(seed: 1)
        let sentences = g.tagged(count: 3, vocab: 50, tags: 5)
        let vocab = TaggerVocabulary(sentences, rareCount: 1)
        let examples = try sentences.map(vocab.encode)
        setseed(1)
        let tagger = BiLSTMTagger(words: vocab.words.count, tags: vocab.tags.count, chars: vocab.chars.count,
                                  embed: 8, hidden: 6, mlp: 5, charEmbed: 4)
        let trainer = Trainer(tagger, Adam(lr: 0.01))
        let first = taggerTrain(trainer, examples)
        for _ in 0..<5 { _ = taggerTrain(trainer, examples) }
        let last = taggerTrain(trainer, examples)
        XCTAssertEqual(first.words, examples.map(\.words.count).reduce(0, +))
        XCTAssertLessThan(last.loss, first.loss)
        XCTAssertGreaterThan(taggerAccuracy(tagger, examples), 0)
    }

    /// Loss and gradients match the PyTorch peer's models (Benchmarks/peers/torch_dynet.py)
    /// with the same weights: Fixtures/dynet/make_fixtures.py.
    func testLossAndGradientsMatchPyTorch() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dynet")
        func check<P: Params>(_ name: String, _ template: P, _ layers: [PyTorch.Layer], _ f: @escaping (P) -> Tensor) throws {
            let file = try load(folder.appendingPathComponent(name + ".safetensors").path).tensors
            let weights = file.filter { !$0.key.hasPrefix("grad.") && $0.key != "loss" }
            let model = try PyTorch.filled(template, from: weights, layers: layers)
            let (g, loss) = gradloss({ (m: P) in f(m) })(model)
            XCTAssertEqual(loss.scalar, file["loss"]!.scalar, accuracy: 1e-10, name)
            let grads = try PyTorch.stateDict(g, layers: layers)
            XCTAssertFalse(grads.isEmpty)
            for (key, value) in grads {
                let expected = try XCTUnwrap(file["grad." + key], "\(name): \(key)")
                XCTAssertEqual(value.shape, expected.shape, "\(name): \(key)")
                XCTAssertEqual(Double(maximum(abs(value .- expected)).scalar), 0, accuracy: 1e-10, "\(name): \(key)")
            }
        }
        let lm = RNNLM(vocab: 7, embed: 3, hidden: 4, dtype: .float64)
        let batch = lmBatches([[1, 2, 3, 0], [4, 0]], batchsize: 2, eos: 0)[0]
        try check("rnnlm", lm, lm.pytorchLayers) { $0.loss(batch) }
        let plain = BiLSTMTagger(words: 6, tags: 3, embed: 4, hidden: 3, mlp: 2, dtype: .float64)
        let x = TaggerExample(words: [0, 5, 2, 5], rare: [], rareChars: [], tags: [0, 1, 2, 1])
        try check("tagger", plain, plain.pytorchLayers) { $0.loss(x) }
        let withChars = BiLSTMTagger(words: 6, tags: 3, chars: 5, embed: 4, hidden: 3, mlp: 2, charEmbed: 2, dtype: .float64)
        let xc = TaggerExample(words: [0, 5, 2, 5], rare: [1, 3], rareChars: [[4, 0, 1, 4], [4, 2, 4]], tags: [0, 1, 2, 1])
        try check("taggerchar", withChars, withChars.pytorchLayers) { $0.loss(xc) }
    }
}
