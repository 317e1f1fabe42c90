import XCTest
import Knet

/// The README's Layers example, as written there (on small synthetic MNIST-shaped data).
final class LayersReadmeTests: XCTestCase {
    func testReadmeLayersExampleTrains() {
        setseed(1)
        // Class k: a bright stripe in rows 2k and 2k+1 over uniform noise.
        let ytrn = (0..<100).map { $0 % 10 }
        var pixels = [Double](Tensor.rand(28, 28, 1, 100) .* 0.5)
        for (n, k) in ytrn.enumerated() { for j in (2 * k)...(2 * k + 1) { for i in 0..<28 { pixels[i + 28 * j + 784 * n] += 1 } } }
        let xtrn = Tensor(pixels, shape: [28, 28, 1, 100])
        let xtst = xtrn, ytst = ytrn
        var model = Chain(Conv(5, 5, out: 20), .relu, Pool(2), Conv(5, 5, out: 50), .relu, Pool(2),
                          Dense(out: 500, activation: .relu), Dropout(0.5), Dense(out: 10))
        let table = model.summary(for: [28, 28, 1, 1])     // builds the model; 431,080 parameters
        XCTAssertTrue(table.hasSuffix("431,080"), table)
        let lossgradient = grad { (m: Chain, x: Tensor, y: [Int]) in nll(m(x), y) }
        var opt = optimizers(model, Adam())
        let before = nll(model(xtst), ytst).scalar
        for _ in 0..<5 {
            for (x, y) in minibatch(xtrn, ytrn, 50) { update(&model, lossgradient(model, x, y), &opt) }
        }
        let acc = accuracy(model.eval()(xtst), ytst)       // eval: no dropout
        XCTAssertLessThan(nll(model(xtst), ytst).scalar, before)
        XCTAssertGreaterThan(acc, 0.5, "the stripes are learnt")
    }
}
