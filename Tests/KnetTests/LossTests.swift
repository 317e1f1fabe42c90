import Foundation
import XCTest
@testable import Knet

// MARK: - PyTorch fixtures of Fixtures/nn (written by make_nn_fixtures.py)

/// The JSON object of `Fixtures/nn/<file>`.
func nnFixture(_ file: String) -> [String: Any] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/nn").appendingPathComponent(file)
    guard let data = try? Data(contentsOf: url),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        fatalError("cannot read fixture \(url.path)")
    }
    return object
}

/// A fixture array `{shape, data}` (Knet shape, column-major data) as a Float64 tensor.
func nnTensor(_ entry: Any?) -> Tensor {
    let e = entry as! [String: Any]
    return Tensor((e["data"] as! [NSNumber]).map(\.doubleValue), shape: (e["shape"] as! [NSNumber]).map(\.intValue),
                  dtype: .float64)
}

/// A fixture number.
func nnNumber(_ entry: Any?) -> Double { (entry as! NSNumber).doubleValue }

/// The reference loss `-Σ logp(x)[label] / count` written with core ops only.
private func referenceNLL(_ x: Tensor, _ labels: [Int], dims d: Int, average: Bool = true) -> Double {
    let c = ClassLayout("test", x.shape, labels, dims: d, ignoreIndex: -1)
    let total = -sum(logp(x, dims: [d]) .* c.onehot(x.shape, like: x)).scalar
    return average ? total / Double(c.counted) : total
}

final class LossTests: DeviceTestCase {
    override func setUp() { setseed(11) }

    func testNllMatchesPyTorchCrossEntropy() {
        let f = nnFixture("nll.json")
        let labels = (f["labels"] as! [NSNumber]).map(\.intValue)
        let scores = nnTensor(f["scores"])
        XCTAssertEqual(nll(scores, labels, ignoreIndex: -1).shape, [])
        XCTAssertEqual(nll(scores, labels, ignoreIndex: -1).scalar, nnNumber(f["mean"]), accuracy: 1e-12)
        XCTAssertEqual(nll(scores, labels, average: false, ignoreIndex: -1).scalar, nnNumber(f["sum"]), accuracy: 1e-12)
        let g = grad { (x: Tensor) in nll(x, labels, ignoreIndex: -1) }
        assertClose(g(scores), nnTensor(f["grad"]), rtol: 1e-10, atol: 1e-13)
        let gs = grad { (x: Tensor) in nll(x, labels, average: false, ignoreIndex: -1) }
        assertClose(gs(scores), nnTensor(f["gradsum"]), rtol: 1e-10, atol: 1e-13)
        // instances in rows: [N, C] with dims 1
        let rows = nnTensor(f["scores1"])
        XCTAssertEqual(nll(rows, labels, dims: 1, ignoreIndex: -1).scalar, nnNumber(f["mean1"]), accuracy: 1e-12)
        let g1 = grad { (x: Tensor) in nll(x, labels, dims: 1, ignoreIndex: -1) }
        assertClose(g1(rows), nnTensor(f["grad1"]), rtol: 1e-10, atol: 1e-13)
        // Float32 agrees too
        XCTAssertEqual(nll(convert(scores, to: .float32), labels, ignoreIndex: -1).scalar, nnNumber(f["mean"]), accuracy: 1e-5)
    }

    func testNllKnetDocumentationExample() {
        // Knet's docstring: scores [12.2 0.3; 2.0 21.5; 0.0 -21.0], labels [1, 2] "returns
        // 2.1657e-5"; the exact value (PyTorch cross_entropy, Float64) is 2.11002523356465e-5
        let scores = Tensor([12.2, 2.0, 0.0, 0.3, 21.5, -21.0], shape: [3, 2], dtype: .float64)
        XCTAssertEqual(nll(scores, [0, 1]).scalar, 2.11002523356465e-5, accuracy: 1e-15)
        XCTAssertEqual(nll(scores, Tensor([0, 1])).scalar, 2.11002523356465e-5, accuracy: 1e-15)
        XCTAssertEqual(nll(convert(scores, to: .float32), [0, 1]).scalar, 2.11002523356465e-5, accuracy: 2e-10)
        // huge scores stay finite (stable logsumexp): losses 0 and 3000
        let big = Tensor([1000, 0, -1000, 2000], shape: [2, 2], dtype: .float32)
        XCTAssertEqual(nll(big, [0, 0]).scalar, 1500, accuracy: 1e-3)
    }

    func testNllSkipsTheIgnoredLabel() {
        let x = rand64(4, 5)
        let skipped = nll(x, [1, -1, 3, 2, 0], ignoreIndex: -1).scalar
        let kept = nll(x[.all, [0, 2, 3, 4]], [1, 3, 2, 0]).scalar
        XCTAssertEqual(skipped, kept, accuracy: 1e-14)
        XCTAssertEqual(nll(x, [1, -1, 3, 2, 0], average: false, ignoreIndex: -1).scalar, 4 * kept, accuracy: 1e-13)
        // an ignored index inside the classes (a padding class, as PyTorch allows)
        XCTAssertEqual(nll(x, [1, 0, 3, 2, 0], ignoreIndex: 0).scalar,
                       nll(x[.all, [0, 2, 3]], [1, 3, 2]).scalar, accuracy: 1e-14)
        XCTAssertEqual(nll(x, Tensor([1, -100, 3, 2, 0]), ignoreIndex: -100).scalar, skipped, accuracy: 1e-14)
        // the skipped column gets no gradient
        let g = grad { (x: Tensor) in nll(x, [1, -1, 3, 2, 0], ignoreIndex: -1) }(x)
        XCTAssertEqual([Double](g[.all, 1]), [0, 0, 0, 0])
        XCTAssertTrue(nll(x, [-1, -1, -1, -1, -1], ignoreIndex: -1).scalar.isNaN, "no counted instance: 0/0 as Knet")
    }

    /// As PyTorch's "Target 10 is out of bounds": a label outside the classes that is not
    /// the ignored one stops with an error naming it and the class count (Knet.jl's
    /// labels are 1-based, so a port that forgets to shift them fails here).
    func testOutOfRangeLabelsAreRefused() {
        let x = rand64(10, 3)
        assertKnetError("nll", "label 10", "10 classes", "0-based", "ignoreIndex") { _ = nll(x, [3, 10, 0]) }
        assertKnetError("nll", "label -1", "instance 2") { _ = nll(x, Tensor([3, 9, -1])) }
        assertKnetError("nll", "label -1") { _ = nll(x, [3, -1, 0], ignoreIndex: -100) }
        assertKnetError("accuracy", "label 10", "10 classes") { _ = accuracy(x, [10, 1, 2]) }
        assertKnetError("accuracy", "label 11") { _ = zeroone(x, [1, 11, 2]) }
    }

    func testNllAlongAnyDim() {
        let x = rand64(3, 4, 2)        // classes along dim 1: 6 instances
        let labels = [0, 3, 2, -1, 1, 1]
        XCTAssertEqual(nll(x, labels, dims: 1, ignoreIndex: -1).scalar, referenceNLL(x, labels, dims: 1), accuracy: 1e-12)
        XCTAssertEqual(nll(x, [2, 0, 1, 1, 2, 0, 0, 1], dims: 0, average: false).scalar,
                       referenceNLL(x, [2, 0, 1, 1, 2, 0, 0, 1], dims: 0, average: false), accuracy: 1e-12)
        XCTAssertEqual(nll(x, Array(repeating: 1, count: 12), dims: 2).scalar,
                       referenceNLL(x, Array(repeating: 1, count: 12), dims: 2), accuracy: 1e-12)
        // a strided (transposed) view of scores
        let t = rand64(3, 5)
        XCTAssertEqual(nll(transpose(t), [4, 0, 2]).scalar, nll(t, [4, 0, 2], dims: 1).scalar, accuracy: 1e-14)
    }

    /// More class-contiguous instances than one block of the CPU kernel's batched exps (64),
    /// in Float64 and Float32, with skipped labels: loss and gradient equal the log-softmax
    /// composition; an instance of all −∞ scores gives NaN, as a lone one does.
    func testNllOverSeveralBlocks() {
        let labels = (0..<150).map { $0 % 9 == 4 ? -1 : ($0 * 5) % 7 }
        for (dtype, tolerance) in [(DType.float64, 1e-12), (.float32, 2e-6)] {
            let x = convert(rand64(7, 150) * 6, to: dtype)
            let c = ClassLayout("test", x.shape, labels, dims: 0, ignoreIndex: -1)
            let reference = { (x: Tensor) in sum(logp(x, dims: [0]) .* c.onehot(x.shape, like: x)) * (-1 / Double(c.counted)) }
            XCTAssertEqual(nll(x, labels, ignoreIndex: -1).scalar, reference(x).scalar, accuracy: tolerance * 10, "\(dtype)")
            assertClose(grad { (x: Tensor) in nll(x, labels, ignoreIndex: -1) }(x), grad(reference)(x),
                        rtol: tolerance * 100, atol: tolerance)
        }
        var scores = [Double](repeating: 0.5, count: 7 * 70)
        for k in 0..<7 { scores[7 * 66 + k] = -.infinity }
        XCTAssertTrue(nll(Tensor(scores, shape: [7, 70]), Array(repeating: 1, count: 70)).scalar.isNaN)
    }

    func testNllGradcheck() {
        let labels = [2, 0, -1, 3, 3]
        for dims in [0, 1] {
            for average in [true, false] {
                let x = dims == 0 ? rand64(4, 5) : rand64(5, 4)
                XCTAssertTrue(gradcheck({ (x: Tensor) in nll(x, labels, dims: dims, average: average, ignoreIndex: -1) }, x),
                              "dims \(dims) average \(average)")
            }
        }
        XCTAssertTrue(gradcheck({ (x: Tensor) in nll(x, [1, 0, 2, -1, 1, 0], dims: 1, ignoreIndex: -1) }, rand64(2, 3, 3)))
        // through a model: gradient reaches the weights
        let w = rand64(3, 4), input = rand64(4, 5)
        XCTAssertTrue(gradcheck({ (w: Tensor, x: Tensor) in nll(w * x, [0, 1, 2, 1, -1], ignoreIndex: -1) }, w, input))
    }

    func testNllSecondOrder() {
        // gradient of a function of nll's gradient: exercises nllgrad's gradient for x ...
        let labels = [1, -1, 0, 2], r = rand64(3, 4)
        let g = grad { (x: Tensor) in nll(x, labels, ignoreIndex: -1) }
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(g(x) .* r) }, rand64(3, 4)))
        // ... and for the incoming gradient dy (here a function of x, so it is recorded)
        let h = grad { (x: Tensor) in nll(x, labels, average: false, ignoreIndex: -1) .* sum(x) }
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(h(x) .* r) }, rand64(3, 4)))
    }

    func testAccuracyAndZeroOne() {
        let scores = Tensor([0.1, 0.9, 0.0,   // argmax 1
                             0.8, 0.1, 0.1,   // argmax 0
                             0.2, 0.3, 0.5,   // argmax 2
                             0.3, 0.3, 0.4],  // argmax 2
                            shape: [3, 4])
        XCTAssertEqual(accuracy(scores, [1, 0, 2, 2]), 1)
        XCTAssertEqual(accuracy(scores, [1, 1, 2, 0]), 0.5)
        XCTAssertEqual(accuracy(scores, [1, -1, 0, -1], ignoreIndex: -1), 0.5, "two skipped, one of two right")
        XCTAssertEqual(zeroone(scores, [1, 1, 2, 0]), 0.5)
        XCTAssertEqual(accuracy(scores, Tensor([1, 0, 0, 0])), 0.5)
        XCTAssertEqual(zeroone(scores, Tensor([1, 0, 0, 0])), 0.5)
        XCTAssertEqual(accuracy(transpose(scores), [1, 0, 2, 2], dims: 1), 1)
        XCTAssertTrue(accuracy(scores, [-1, -1, -1, -1], ignoreIndex: -1).isNaN)
    }

    func testBceAndLogisticMatchPyTorch() {
        let f = nnFixture("bce.json")
        let x = nnTensor(f["scores"]), y = nnTensor(f["labels"])
        XCTAssertEqual(bce(x, y).scalar, nnNumber(f["mean"]), accuracy: 1e-12)
        XCTAssertEqual(bce(x, y, average: false).scalar, nnNumber(f["sum"]), accuracy: 1e-11)
        let g = grad { (x: Tensor) in bce(x, y) }
        assertClose(g(x), nnTensor(f["grad"]), rtol: 1e-9, atol: 1e-14)
        // labels as a vector for [1, N] scores, in another dtype
        XCTAssertEqual(bce(x, convert(vec(y), to: .float32)).scalar, nnNumber(f["mean"]), accuracy: 1e-12)
        // logistic with ±1 labels is the same loss
        let pm = 2 .* y .- 1
        XCTAssertEqual(logistic(x, pm).scalar, nnNumber(f["mean"]), accuracy: 1e-12)
        XCTAssertEqual(logistic(x, pm, average: false).scalar, nnNumber(f["sum"]), accuracy: 1e-11)
        // the definition mean(log(1 + exp(-y x))) on moderate scores
        let s = Tensor([0.5, -1.5, 2.0], dtype: .float64), l = Tensor([1, -1, -1], dtype: .float64)
        XCTAssertEqual(logistic(s, l).scalar, mean(log(1 .+ exp(-l .* s))).scalar, accuracy: 1e-14)
    }

    func testBceLogisticGradcheck() {
        let y = Tensor([1, 0, 0, 1, 1, 0], shape: [2, 3], dtype: .float64)
        XCTAssertTrue(gradcheck({ (x: Tensor) in bce(x, y) }, rand64(2, 3) .* 3))
        XCTAssertTrue(gradcheck({ (x: Tensor) in bce(x, y, average: false) }, rand64(6)))
        let pm = 2 .* y .- 1
        XCTAssertTrue(gradcheck({ (x: Tensor) in logistic(x, pm) }, rand64(2, 3) .* 3))
        let w = rand64(1, 4), input = rand64(4, 6)
        XCTAssertTrue(gradcheck({ (w: Tensor, x: Tensor) in logistic(w * x, vec(pm)) }, w, input))
    }

    func testOldQuadlossAndSoftlossAreExpressible() {
        let yhat = rand64(3, 4), y = rand64(3, 4)
        // quadloss: mean(abs2, y - ŷ)
        XCTAssertEqual(mean(abs2, y - yhat).scalar,
                       zip([Double](y), [Double](yhat)).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 12, accuracy: 1e-14)
        XCTAssertTrue(gradcheck({ (p: Tensor) in mean(abs2, y - p) }, yhat))
        // softloss with one-hot gold probabilities is nll
        let labels = [2, 0, 1, 1]
        let gold = ClassLayout("test", [3, 4], labels, dims: 0).onehot([3, 4], like: yhat)
        let softloss = -sum(gold .* logp(yhat, dims: [0])) ./ 4
        XCTAssertEqual(softloss.scalar, nll(yhat, labels).scalar, accuracy: 1e-14)
    }

    func testLossErrorsNameOpAndShapes() {
        let x = Tensor.zeros(5, 6)
        assertKnetError("nll", "4 labels", "[5, 6]") { _ = nll(x, [0, 1, 2, 3]) }
        assertKnetError("nll", "dim 2", "[5, 6]") { _ = nll(x, [0, 1, 2, 3, 4, 0], dims: 2) }
        assertKnetError("nll", "integers") { _ = nll(x, Tensor([0, 1.5, 2, 3, 4, 0])) }
        assertKnetError("accuracy", "5 labels", "[5, 6]") { _ = accuracy(x, [0, 1, 2, 3, 4]) }
        assertKnetError("bce", "[3]", "[5, 6]") { _ = bce(x, Tensor([0, 1, 1])) }
        assertKnetError("logistic", "[3]", "[5, 6]") { _ = logistic(x, Tensor([0, 1, 1])) }
    }
}
