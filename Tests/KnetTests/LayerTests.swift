import XCTest
@testable import Knet

final class LayerTests: DeviceTestCase {
    func testWbfMatchesItsDefinition() {
        let w = rand64(3, 8), b = rand64(3, 1), x = rand64(2, 2, 2, 5)
        assertClose(wbf(w, b, x), relu(w * reshape(x, 8, 5) .+ b))
        assertClose(wbf(w, b, x, f: tanh), tanh(w * reshape(x, 8, 5) .+ b))
        let a = rand64(3, 4), c = rand64(3, 1), u = rand64(4, 5), v = rand64(3, 5), bb = rand64(3, 3)
        assertClose(wbf2(a, bb, c, u, v), sigm(a * u .+ bb * v .+ c))
        XCTAssertTrue(gradcheck({ (p: [Tensor], x: Tensor) in sum(wbf(p[0], p[1], x, f: tanh)) }, [w, b], x))
        XCTAssertTrue(gradcheck({ (p: [Tensor]) in sum(abs2(wbf2(p[0], p[1], p[2], p[3], p[4]))) }, [a, bb, c, u, v]))
    }

    /// The ops composed of others still get a finite-difference check: `dot`, a matrix
    /// times a vector, and a dtype conversion inside a Float64 computation.
    func testComposedOpsGradcheck() {
        let a = rand64(3, 4), b = rand64(3, 4), m = rand64(3, 4), v = rand64(4)
        XCTAssertTrue(gradcheck({ (p: [Tensor]) in dot(p[0], p[1]) .* dot(p[0], p[0]) }, [a, b]))
        XCTAssertTrue(gradcheck({ (p: [Tensor]) in sum(abs2(p[0] * p[1])) }, [m, v]))
        XCTAssertEqual((m * v).shape, [3])
        XCTAssertTrue(gradcheck({ (p: [Tensor]) in sum(abs2(convert(convert(p[0], to: .float32), to: .float64))) }, [a],
                                delta: 1e-3, rtol: 1e-3, atol: 1e-4))
    }

    func testCbfpMatchesItsDefinitionAndShapes() {
        let p = cbfpParams(window: 3, inputs: 2, outputs: 4, dtype: .float64)
        XCTAssertEqual(p[0].shape, [3, 3, 2, 4])
        XCTAssertEqual(p[1].shape, [1, 1, 4, 1])
        XCTAssertEqual([Double](p[1]), [Double](repeating: 0, count: 4))
        let b = rand64(1, 1, 4, 1), x = rand64(8, 8, 2, 3)
        let y = cbfp(p[0], b, x)
        XCTAssertEqual(y.shape, [3, 3, 4, 3])
        assertClose(y, pool(relu(conv4(p[0], x) .+ b)))
        XCTAssertTrue(gradcheck({ (q: [Tensor], x: Tensor) in sum(cbfp(q[0], q[1], x, f: tanh)) }, [p[0], b], x))
    }

    func testInitializersMatchKnet() {
        let p = wbfParams(inputs: 784, outputs: 64)
        XCTAssertEqual(p[0].shape, [64, 784])
        XCTAssertEqual(p[1].shape, [64, 1])
        let bound = (2.0 / Double(784 + 64)).squareRoot()
        XCTAssertTrue([Double](p[0]).allSatisfy { Swift.abs($0) <= bound })
        XCTAssertEqual(p[0].dtype, .float32)
    }

    func testDropIsDropout() {
        let x = Tensor.ones(1000)
        XCTAssertTrue(drop(x, pdrop: 0.5) === x, "inactive outside grad")
        setseed(3)
        let a = [Float](dropout(x, 0.5, drop: true))
        setseed(3)
        let recorded = forwardRecorded({ (x: Tensor) in drop(x, pdrop: 0.5) }, x)
        XCTAssertEqual([Float](recorded), a)
    }
}
