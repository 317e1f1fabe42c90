import XCTest
@testable import Knet

/// Embeddings as in Knet's CharLM tutorial: `wx[:, xs]` picks one column of an embedding
/// matrix per token; its gradient scatters back into the columns used only.
final class EmbeddingTests: DeviceTestCase {
    override func setUp() { setseed(8) }

    func testLookupGathersColumns() {
        let w = tensorFrom([3, 5], dtype: .float32) { Double($0) }    // column c = [3c, 3c+1, 3c+2]
        let xs = [4, 0, 4, 2]
        let e = w[.all, xs]
        XCTAssertEqual(e.shape, [3, 4])
        assertValues(e, [12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8])
        XCTAssertEqual(w[.all, [Int]()].shape, [3, 0])
    }

    func testGradientScattersIntoUsedColumnsOnly() {
        let w = rand64(4, 6)
        let xs = [5, 1, 5, 5, 3]                          // repeats add up
        let r = rand64(4, 5)
        let g = grad { (w: Tensor) in sum(w[.all, xs] .* r) }(w)
        XCTAssertEqual(g.shape, [4, 6])
        let gv = [Double](g), rv = [Double](r)
        for col in 0..<6 {
            for row in 0..<4 {
                let expected = xs.indices.filter { xs[$0] == col }.reduce(0.0) { $0 + rv[row + 4 * $1] }
                XCTAssertEqual(gv[row + 4 * col], expected, accuracy: 1e-14, "row \(row) col \(col)")
            }
        }
        for unused in [0, 2, 4] { XCTAssertEqual([Double](g[.all, unused]), [0, 0, 0, 0]) }
    }

    func testGradcheckCharLMStyle() {
        // embed → hidden → scores → nll, with repeated tokens; the embedding and the output
        // weights are both checked
        let vocab = 7, embed = 4, tokens = [3, 6, 3, 0, 3, 1]
        let next = [6, 3, 0, 3, 1, 2]
        let w: [Tensor] = [rand64(embed, vocab), rand64(vocab, embed)]
        func loss(_ w: [Tensor]) -> Tensor { nll(w[1] * tanh(w[0][.all, tokens]), next) }
        XCTAssertTrue(gradcheck(loss, w, samples: 28))
        let g = grad(loss)(w)
        for unused in [2, 4, 5] { XCTAssertEqual([Double](g[0][.all, unused]), [0, 0, 0, 0]) }
        // second order through the gather: the scatter's gradient is a gather again
        let r = rand64(embed, vocab)
        let inner = grad { (e: Tensor) in sum(abs2(e[.all, tokens])) }
        XCTAssertTrue(gradcheck({ (e: Tensor) in sum(inner(e) .* r) }, rand64(embed, vocab)))
    }
}
