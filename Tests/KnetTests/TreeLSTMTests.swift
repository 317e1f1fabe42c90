import Foundation
import XCTest
@testable import Knet

/// The treenn benchmark's Tree-LSTM: loss and gradient against PyTorch (fixture by
/// Fixtures/treenn/make_fixtures.py), gradcheck, level batching against plain recursion,
/// and the treebank parser on good and bad input.
final class TreeLSTMTests: XCTestCase {
    static let trees = ["(3 (2 It) (4 (2 's) (3 good)))", "(1 (0 (2 not) (1 (1 very) (0 bad))) (2 .))"]
    static let vocab = TreebankVocabulary(words: ["It", "'s", "good", "not", "very", "bad", "."])
    let model = TreeLSTM(vocabulary: 8, embed: 3, hidden: 4)

    func schedules() throws -> [TreeSchedule] {
        try sentimentTrees(bytes: Array(Self.trees.joined(separator: "\n").utf8)).map {
            TreeSchedule($0, words: Self.vocab.ids($0.words))
        }
    }

    /// The fixture's tensors: PyTorch `[out, in]` weights become Knet `[out, in]`, biases columns.
    func fixture(_ prefix: String = "") throws -> TreeLSTMParams {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/treenn/treenn.safetensors").path
        let t = try load(path).tensors
        func weight(_ name: String) -> Tensor { copy(transpose(t[prefix + name + ".weight"]!)) }
        func column(_ name: String) -> Tensor { reshape(t[prefix + name]!, [-1, 1]) }
        return TreeLSTMParams(embedding: t[prefix + "embedding.weight"]!, leaf: weight("leaf"), pair: weight("pair"),
                              forgetLeft: weight("forget_left"), forgetRight: weight("forget_right"),
                              bias: column("bias"), forgetBias: column("forget_bias"), output: weight("output"))
    }

    func testLossAndGradientMatchPyTorch() throws {
        let w = try fixture(), all = try load(URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/treenn/treenn.safetensors").path).tensors
        XCTAssertEqual(w.embedding.shape, [3, 8])
        let lossgradient = gradloss { (w: TreeLSTMParams, s: TreeSchedule, y: [Int]) in self.model.loss(w, s, y) }
        for (t, s) in try schedules().enumerated() {
            let (g, loss) = lossgradient(w, s, s.labels)
            XCTAssertEqual(loss.scalar, all["loss\(t)"]!.scalar, accuracy: 1e-10)
            for (mine, theirs) in zip(g.tensors, try fixture("grad\(t).").tensors) {
                assertClose(mine, theirs, rtol: 1e-9, atol: 1e-12)
            }
        }
    }

    func testGradcheckOfATinyTree() throws {
        setseed(3)
        var w = model.parameters(dtype: .float64)
        w.bias = Tensor.randn(12, 1, dtype: .float64) * 0.5
        w.forgetBias = Tensor.randn(4, 1, dtype: .float64) * 0.5
        let s = try schedules()[1]
        XCTAssertTrue(gradcheck({ (w: TreeLSTMParams, s: TreeSchedule) in self.model.loss(w, s, s.labels) }, w, s, samples: 10))
    }

    func testLevelBatchingEqualsRecursion() throws {
        setseed(4)
        let w = model.parameters(dtype: .float64)
        let (trees, vocab) = syntheticSentimentTrees(count: 3, vocabulary: 8, maxLength: 9, seed: 2)
        let levels = gradloss { (w: TreeLSTMParams, s: TreeSchedule, y: [Int]) in self.model.loss(w, s, y) }
        let recursion = gradloss { (w: TreeLSTMParams, s: TreeSchedule, y: [Int]) in self.model.recursiveLoss(w, s, y) }
        for tree in trees + (try sentimentTrees(bytes: Array(Self.trees[1].utf8))) {
            let s = TreeSchedule(tree, words: vocab.ids(tree.words))
            let (g1, l1) = levels(w, s, s.labels), (g2, l2) = recursion(w, s, s.labels)
            XCTAssertEqual(l1.scalar, l2.scalar, accuracy: 1e-12 * Swift.abs(l2.scalar))
            for (a, b) in zip(g1.tensors, g2.tensors) { assertClose(a, b, rtol: 1e-10, atol: 1e-13) }
        }
    }

    func testScheduleColumnsByHeight() throws {
        let s = try schedules()[0]          // (3 (2 It) (4 (2 's) (3 good)))
        XCTAssertEqual(s.words, [1, 2, 3])
        XCTAssertEqual(s.levels, [[1, 2], [0, 3]])
        XCTAssertEqual(s.labels, [2, 2, 3, 4, 3])
    }

    func testParserReadsTrees() throws {
        let trees = try sentimentTrees(bytes: Array("(3 (2 It) (4 (2 's) (3 good)))\r\n\n  (0 bad)\n".utf8))
        XCTAssertEqual(trees.count, 2)
        XCTAssertEqual(trees[0].words, ["It", "'s", "good"])
        XCTAssertEqual(trees[0].nodes, [.word(0), .word(1), .word(2), .pair(1, 2), .pair(0, 3)])
        XCTAssertEqual(trees[0].labels, [2, 2, 3, 4, 3])
        XCTAssertEqual(trees[1].label, 0)
    }

    func testParserErrorsNameLineAndColumn() {
        let cases: [(String, Int, Int, SentimentTreeError.Kind)] = [
            ("(3 (2 a) (2 b)", 1, 1, .unbalanced("this ( is never closed")),
            ("(2 a)\n(3 (2 a) (2 b)))", 2, 16, .unbalanced("this ) closes no (")),
            ("(7 a)", 1, 2, .badLabel("7")),
            ("(x a)", 1, 2, .badLabel("x")),
            ("(3 (2 a) (2 b) (2 c))", 1, 1, .notBinary(children: 3)),
            ("(3 (2 a))", 1, 1, .notBinary(children: 1)),
            ("(3 a b)", 1, 1, .notBinary(children: 2)),
            ("(2 a) (2 b)", 1, 7, .syntax("text after the end of the tree")),
            ("a (2 b)", 1, 1, .syntax("a tree must start with (")),
        ]
        for (text, line, column, kind) in cases {
            XCTAssertThrowsError(try sentimentTrees(bytes: Array(text.utf8), name: "t.txt"), text) { error in
                XCTAssertEqual(error as? SentimentTreeError, SentimentTreeError(name: "t.txt", line: line, column: column, kind: kind), text)
            }
        }
        XCTAssertEqual(String(describing: SentimentTreeError(name: "t.txt", line: 2, column: 5, kind: .badLabel("7"))),
                       "t.txt:2:5: bad label '7': node labels are 0, 1, 2, 3 or 4")
        XCTAssertThrowsError(try sentimentTrees(path: "/nonexistent/trees/train.txt")) { XCTAssertTrue($0 is DataError) }
    }

    func testSyntheticTreesHaveTheTreebankShape() {
        let (trees, vocab) = syntheticSentimentTrees(count: 200, vocabulary: 20_000)
        XCTAssertEqual(vocab.count, 20_000)
        let mean = Double(trees.map(\.words.count).reduce(0, +)) / 200
        XCTAssertEqual(mean, 19, accuracy: 2.5)
        XCTAssertTrue(trees.allSatisfy { $0.nodes.count == 2 * $0.words.count - 1 && vocab.ids($0.words).allSatisfy { $0 > 0 } })
    }
}
