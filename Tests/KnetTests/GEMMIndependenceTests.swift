import XCTest
@testable import Knet
import KnetGEMM

/// The charlm benchmark's model in Float32 at the benchmark's sizes (batch 128, embedding
/// and hidden 256, 84 characters; a shorter block) gives the same loss and gradients on
/// every GEMM path — the naive loop, the Swift GEMM on one thread and on all — to Float32
/// rounding: the spread of the row's final loss over paths and thread counts comes from
/// training's sensitivity to rounding, not from a path computing something else.
final class GEMMIndependenceTests: XCTestCase {
    func testCharLMStepIsTheSameOnEveryGEMMPath() throws {
        try XCTSkipUnless(SwiftGEMM.isSupported, "no AVX2+FMA here: only the naive GEMM runs")
        setseed(1)
        let (vocab, embed, hidden, batch, seqlen) = (84, 256, 256, 128, 2)
        let model = RNNCharLM(vocab: vocab, embed: embed, hidden: hidden)
        let r = model.rnn
        let rw = Tensor.randn(r.paramCount) * 0.3
        for id in 0..<(2 * r.rnnType.gates) { rnnparam(r, rw, layer: 0, id: id, .bias)!.assign(id == 1 ? 1 : 0) }
        let w = [Tensor.randn(embed, vocab) * 0.3, rw, Tensor.randn(vocab, hidden) * 0.3, Tensor.zeros(vocab, 1)]
        var random = SplitMix(seed: 5)
        let codes = (0..<(batch * (seqlen + 1))).map { _ in Int.random(in: 0..<vocab, using: &random) }
        let block = minibatchText(codes, batchsize: batch, seqlen: seqlen)[0]
        func lossAndGradient() -> (loss: Double, gradient: [Tensor]) {
            let state = model.state(w, batchsize: batch)
            let (g, l) = gradloss { (w: [Tensor]) in model.loss(w, state, block) }(w)
            return (l.scalar, g)
        }
        let threads = SwiftGEMM.maxThreads
        defer { SwiftGEMM.maxThreads = threads }
        let naive = CPUBLAS.withBackend(.naive) { lossAndGradient() }
        SwiftGEMM.maxThreads = 1
        let oneThread = CPUBLAS.withBackend(.swift) { lossAndGradient() }
        SwiftGEMM.maxThreads = Swift.max(threads, 2)
        let allThreads = CPUBLAS.withBackend(.swift) { lossAndGradient() }
        for (name, run) in [("Swift GEMM, 1 thread", oneThread), ("Swift GEMM, \(SwiftGEMM.maxThreads) threads", allThreads)] {
            XCTAssertEqual(run.loss, naive.loss, accuracy: 1e-5 * naive.loss, name)
            for (k, (a, b)) in zip(run.gradient, naive.gradient).enumerated() {
                let (x, y) = ([Float](a), [Float](b))
                let scale = y.map { Swift.abs($0) }.max()!
                let worst = zip(x, y).map { Swift.abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 1e-4 * scale, "\(name): gradient \(k) differs by \(worst) (largest entry \(scale))")
            }
        }
    }
}
