import XCTest
import Knet

/// The tutorial models of Sources/Knet/Models: parameter shapes and counts as Knet's
/// tutorial, outputs of the right shape for both MNIST layouts, and the same draws
/// under the same seed (the CLI and the benchmarks start alike).
final class TutorialModelTests: XCTestCase {
    private func count(_ w: [Tensor]) -> Int { w.reduce(0) { $0 + $1.count } }

    func testShapesCountsAndOutputs() {
        setseed(2)
        XCTAssertEqual(TutorialModel.linreg.parameters().map(\.shape), [[1, 13], [1, 1]])
        XCTAssertEqual(count(TutorialModel.softmax.parameters()), 7850)
        XCTAssertEqual(count(TutorialModel.mlp(hidden: [64]).parameters()), 784 * 64 + 64 + 64 * 10 + 10)
        XCTAssertEqual(TutorialModel.mlp(hidden: [128, 64]).name, "mlp 784-128-64-10")
        XCTAssertEqual(count(TutorialModel.lenet.parameters()), 431_080)
        let images = Tensor.rand(28, 28, 1, 3)
        for model in [TutorialModel.softmax, .mlp(hidden: [32, 16]), .lenet] {
            let w = model.parameters()
            let a = model.predict(w, images), b = model.predict(w, reshape(images, [784, 3]))
            XCTAssertEqual(a.shape, [10, 3], model.name)
            XCTAssertEqual([Float](a), [Float](b), model.name)
        }
        XCTAssertEqual(TutorialModel.linreg.predict(TutorialModel.linreg.parameters(), Tensor.rand(13, 5)).shape, [1, 5])
    }

    func testSameSeedSameParameters() {
        setseed(7); let a = TutorialModel.lenet.parameters()
        setseed(7); let b = TutorialModel.lenet.parameters()
        XCTAssertEqual(a.map { [Float]($0) }, b.map { [Float]($0) })
    }
}
