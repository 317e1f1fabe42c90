import XCTest
import Knet

/// The README's example, as written there, compiles and trains (with the `x`, `y` that its
/// `swift-check: given` comment names; `scripts/check-dependency.sh` compiles every README
/// block in a Swift 6 package, this runs the first one on each device).
final class ReadmeExampleTests: DeviceTestCase {
    func predict(_ w: [Tensor], _ x: Tensor) -> Tensor {
        var x = mat(x)
        for i in stride(from: 0, to: w.count - 2, by: 2) { x = relu(w[i] * x .+ w[i+1]) }
        return w[w.count-2] * x .+ w[w.count-1]
    }
    func loss(_ w: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
        sum(abs2(y .- predict(w, x))) ./ Double(y.shape[1])
    }

    func testReadmeExampleReducesTheLoss() {
        setseed(1)
        let x = Tensor.rand(784, 20), y = Tensor.rand(10, 20)
        let lossgradient = grad(loss)          // same arguments, returns dw with w's structure
        var w = [Tensor.randn(64, 784) * 0.1, .zeros(64, 1), Tensor.randn(10, 64) * 0.1, .zeros(10, 1)]
        let before = loss(w, x, y).scalar
        for _ in 0..<20 {
            let dw = lossgradient(w, x, y)
            for i in w.indices { w[i] = w[i] .- 0.1 .* dw[i] }
        }
        XCTAssertLessThan(loss(w, x, y).scalar, 0.5 * before)
    }
}
