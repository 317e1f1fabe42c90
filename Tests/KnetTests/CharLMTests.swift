import XCTest
@testable import Knet

/// The tutorial's hand-written LSTM and CharLM: one step against a hand computation,
/// gradients of BPTT, the `mb` block layout, training below the unigram entropy and
/// reproducible sampling.
final class CharLMTests: DeviceTestCase {
    override func setUp() { setseed(11) }

    private func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    func testLSTMStepMatchesHandComputation() {
        let hsize = 2, isize = 3, b = 2
        let w = Tensor.randn(4 * hsize, isize + hsize, dtype: .float64)
        let bias = Tensor.randn(4 * hsize, 1, dtype: .float64)
        let h0 = Tensor.randn(hsize, b, dtype: .float64), c0 = Tensor.randn(hsize, b, dtype: .float64)
        let x = Tensor.randn(isize, b, dtype: .float64)
        let (h1, c1) = lstmStep(w, bias, h0, c0, x)
        XCTAssertEqual(h1.shape, [hsize, b])
        XCTAssertEqual(c1.shape, [hsize, b])
        let wv = [Double](w), bv = [Double](bias), hv = [Double](h0), cv = [Double](c0), xv = [Double](x)
        var expectedH: [Double] = [], expectedC: [Double] = []
        for col in 0..<b {
            let input = Array(xv[(col * isize)..<((col + 1) * isize)]) + Array(hv[(col * hsize)..<((col + 1) * hsize)])
            let gates = (0..<(4 * hsize)).map { r in
                bv[r] + input.indices.reduce(0.0) { $0 + wv[r + $1 * 4 * hsize] * input[$1] }
            }
            for j in 0..<hsize {
                let f = sigmoid(gates[j]), i = sigmoid(gates[hsize + j]), o = sigmoid(gates[2 * hsize + j])
                let change = Foundation.tanh(gates[3 * hsize + j])
                let c = cv[col * hsize + j] * f + i * change
                expectedC.append(c)
                expectedH.append(o * Foundation.tanh(c))
            }
        }
        assertValues(c1, expectedC, rtol: 1e-12, atol: 1e-14)
        assertValues(h1, expectedH, rtol: 1e-12, atol: 1e-14)
        assertKnetError("lstmStep", "[8, 5]") { _ = lstmStep(w, bias, h0, c0, Tensor.randn(4, b, dtype: .float64)) }
    }

    func testWeightsLayout() {
        let w = charlmWeights(vocab: 7, embed: 3, hidden: 4, layers: 2)
        XCTAssertEqual(w.map(\.shape), [[16, 7], [16, 1], [16, 8], [16, 1], [3, 7], [7, 4], [7, 1]])
        XCTAssertEqual([Double](w[1]), [Double](repeating: 1, count: 4) + [Double](repeating: 0, count: 12))
        let s = LSTMState(w, batchsize: 5)
        XCTAssertEqual(s.tensors.map(\.shape), [[4, 5], [4, 5], [4, 5], [4, 5]])
    }

    func testMinibatchTextLayout() {
        let blocks = minibatchText(Array(0..<23), batchsize: 2, seqlen: 3)
        // rows 0...10 and 11...21 (22 dropped); inputs are columns 0..<10 → 3 blocks of 3
        XCTAssertEqual(blocks.count, 3)
        XCTAssertEqual(blocks[0].x, [0, 11, 1, 12, 2, 13])
        XCTAssertEqual(blocks[0].y, [1, 12, 2, 13, 3, 14])
        XCTAssertEqual(blocks[2].x, [6, 17, 7, 18, 8, 19])
        XCTAssertEqual(blocks[2].y, [7, 18, 8, 19, 9, 20])
        XCTAssertEqual(Array(blocks[1].inputs(at: 2)), [5, 16])
        XCTAssertEqual(minibatchText(Array(0..<7), batchsize: 2, seqlen: 3), [])
        XCTAssertEqual(minibatchText([], batchsize: 4, seqlen: 3), [])
    }

    func testGradcheckBPTTOverThreeSteps() {
        let w = charlmWeights(vocab: 5, embed: 3, hidden: 4, layers: 2, dtype: .float64)
        for t in w { t.assign(Tensor.randn(shape: t.shape, dtype: .float64) * 0.5) }
        let block = minibatchText([0, 3, 1, 4, 4, 2, 0, 1, 3, 2], batchsize: 2, seqlen: 3)[0]
        // a fresh state per call: gradcheck evaluates the loss many times
        let ok = gradcheck({ (w: [Tensor], block: CharBlock) in charlmLoss(w, LSTMState(w, batchsize: 2), block) },
                           w, block, samples: 12)
        XCTAssertTrue(ok)
        // under grad as without it, the loss leaves the state at the block's end
        let carried = LSTMState(w, batchsize: 2), plain = LSTMState(w, batchsize: 2)
        let lossgradient = grad(charlmLoss)
        let dw = lossgradient(w, carried, block)
        XCTAssertEqual(dw.map(\.shape), w.map(\.shape))
        let fresh = charlmLoss(w, plain, block).scalar
        for (a, b) in zip(carried.tensors, plain.tensors) { assertClose(a, b, rtol: 1e-12, atol: 1e-14) }
        XCTAssertGreaterThan([Double](plain.tensors[2]).map(Swift.abs).max()!, 0)
        // a second pass starts from the carried state, not from zeros
        XCTAssertNotEqual(charlmLoss(w, plain, block).scalar, fresh, accuracy: 1e-9)
    }

    /// Shannon entropy (nats per character) of the character frequencies of `codes`.
    private func unigramEntropy(_ codes: [Int]) -> Double {
        var counts: [Int: Int] = [:]
        for c in codes { counts[c, default: 0] += 1 }
        let n = Double(codes.count)
        return -counts.values.reduce(0.0) { let p = Double($1) / n; return $0 + p * Foundation.log(p) }
    }

    func testTrainingFallsWellBelowUnigramEntropy() {
        let text = String(repeating: "the quick brown fox jumps over the lazy dog.\n", count: 6)
        let vocab = CharVocabulary([text])
        let codes = vocab.encode(text)
        let entropy = unigramEntropy(codes)
        XCTAssertGreaterThan(entropy, 2.5)
        let blocks = minibatchText(codes, batchsize: 2, seqlen: 10)
        XCTAssertEqual(blocks.count, 13)
        var w = charlmWeights(vocab: vocab.count, embed: 16, hidden: 32)
        var opt = optimizers(w, Adam(lr: 0.01))
        var lines: [String] = []
        let epochs = 16                                   // 208 Adam steps
        let ppl = trainCharLM(&w, trn: blocks, tst: Array(blocks.suffix(3)), epochs: epochs, opt: &opt, gclip: 5) { lines.append($0) }
        XCTAssertEqual(lines.count, epochs)
        XCTAssertTrue(lines[0].hasPrefix("(:epoch, 1, :trnppl, "), lines[0])
        // per-character losses in nats: training ends near 0.08, held-out blocks (started
        // from a zero state) near 0.4, against an entropy of about 2.9
        let trnloss = Foundation.log(ppl[epochs - 1].trnppl), tstloss = Foundation.log(ppl[epochs - 1].tstppl)
        XCTAssertLessThan(trnloss, 0.25 * entropy, "train loss \(trnloss) vs unigram entropy \(entropy)")
        XCTAssertLessThan(tstloss, 0.5 * entropy, "test loss \(tstloss) vs unigram entropy \(entropy)")
        setseed(5)
        let sample = generate(w, vocab, 60)
        XCTAssertTrue(sample.contains("the "), sample)
    }

    func testGenerationIsReproducibleAndInVocabulary() {
        let vocab = CharVocabulary(["ab\ncd e"])
        let w = charlmWeights(vocab: vocab.count, embed: 4, hidden: 6)
        setseed(42)
        let first = generate(w, vocab, 40)
        setseed(42)
        let second = generate(w, vocab, 40)
        XCTAssertEqual(first, second)
        XCTAssertEqual(first.unicodeScalars.count, 40)
        XCTAssertTrue(first.unicodeScalars.allSatisfy { vocab.chars.contains($0) })
        XCTAssertEqual(generate(w, vocab, 0), "")
        XCTAssertEqual(generate(w, vocab, 5, start: "a").unicodeScalars.count, 5)
        assertKnetError("generate", "not in the vocabulary") { _ = generate(w, vocab, 3, start: "z") }
    }
}

/// The Knet 1.x style CharLM on the fused RNN layer.
final class RNNCharLMTests: DeviceTestCase {
    func testGradcheckAndStateCarry() {
        setseed(3)
        let model = RNNCharLM(vocab: 5, embed: 3, hidden: 4, dtype: .float64)
        let w = model.weights()
        XCTAssertEqual(w.map(\.shape), [[3, 5], [model.rnn.paramCount], [5, 4], [5, 1]])
        let blocks = minibatchText([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 2, 2, 1, 0, 3, 4, 1, 1, 0, 2], batchsize: 2, seqlen: 3)
        XCTAssertEqual(blocks.count, 3)
        let state = model.state(w, batchsize: 2)
        XCTAssertTrue(gradcheck({ (w: [Tensor], b: CharBlock) in model.loss(w, RNNCharState(), b) }, w, blocks[0], samples: 8))
        let first = model.loss(w, state, blocks[0]).scalar
        XCTAssertNotNil(state.h); XCTAssertNotNil(state.c)
        XCTAssertEqual(state.h!.shape, [4, 2, 1])
        // the second block starts from the carried state, not from zeros
        let carried = model.loss(w, state, blocks[1]).scalar
        let fresh = model.loss(w, RNNCharState(), blocks[1]).scalar
        XCTAssertNotEqual(carried, fresh)
        XCTAssertTrue(first.isFinite)
    }

    func testFusedModelLearnsBelowUnigramEntropy() {
        setseed(1)
        let text = String(repeating: "the cat sat on the mat. ", count: 12)
        let vocab = CharVocabulary([text])
        let ids = vocab.encode(text)
        let counts = Dictionary(ids.map { ($0, 1) }, uniquingKeysWith: +)
        let entropy = counts.values.reduce(0.0) { h, c in let p = Double(c) / Double(ids.count); return h - p * Foundation.log(p) }
        let model = RNNCharLM(vocab: vocab.count, embed: 16, hidden: 32)
        var w = model.weights()
        var opt = optimizers(w, Adam(lr: 0.01))
        let blocks = minibatchText(ids, batchsize: 2, seqlen: 10)
        var last = Double.infinity
        for _ in 0..<15 { last = charlmTrain(model, &w, blocks, &opt, gclip: 5) }
        XCTAssertLessThan(last, 0.25 * entropy, "loss \(last) vs unigram entropy \(entropy)")
        setseed(7)
        let a = generate(model, w, vocab, 30, start: "t")
        setseed(7)
        XCTAssertEqual(a, generate(model, w, vocab, 30, start: "t"))
        XCTAssertTrue(a.unicodeScalars.allSatisfy { vocab.chars.contains($0) })
    }

    func testOnLossSeesEveryBlocksLoss() {
        setseed(1)
        let vocab = CharVocabulary(["abcabd"])
        let ids = vocab.encode(String(repeating: "abcabd", count: 10))
        let model = RNNCharLM(vocab: vocab.count, embed: 4, hidden: 4)
        var w = model.weights()
        var opt = optimizers(w, Adam(lr: 0.01))
        let blocks = minibatchText(ids, batchsize: 2, seqlen: 5)
        var losses: [Double] = []
        let mean = charlmTrain(model, &w, blocks, &opt) { losses.append($0) }
        XCTAssertEqual(losses.count, blocks.count)
        XCTAssertEqual(mean, losses.reduce(0, +) / Double(losses.count), accuracy: 1e-12)
        XCTAssert(losses.allSatisfy { $0.isFinite && $0 > 0 }, "\(losses)")
    }
}
