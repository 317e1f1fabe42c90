import XCTest
@testable import Knet

/// `withErrorHandling`: a usage error inside the closure becomes a thrown `KnetError`
/// with the op's message, and AutoGrad goes on working afterwards.
final class ErrorHandlingTests: XCTestCase {
    private struct Unrelated: Error, Equatable { let code: Int }

    func testShapeErrorIsThrownWithTheMessage() {
        let a = Tensor.ones(3, 4, dtype: .float64), b = Tensor.ones(5, 2, dtype: .float64)
        XCTAssertThrowsError(try withErrorHandling { a * b }) { error in
            guard let e = error as? KnetError else { return XCTFail("not a KnetError: \(error)") }
            XCTAssertTrue(e.message.hasPrefix("Knet: "), e.message)
            XCTAssertTrue(e.message.contains("[3, 4]") && e.message.contains("[5, 2]"), e.message)
            XCTAssertEqual("\(e)", e.message)
        }
    }

    func testResultsAndOwnErrorsPassThrough() throws {
        let x = Tensor([1, 2, 3], dtype: .float64)
        XCTAssertEqual([Double](try withErrorHandling { x .* 2 }), [2, 4, 6])
        XCTAssertThrowsError(try withErrorHandling { () throws -> Int in throw Unrelated(code: 7) }) { error in
            XCTAssertEqual(error as? Unrelated, Unrelated(code: 7))
        }
    }

    /// A failure in the middle of `grad` leaves no recording state behind: the next
    /// gradient is right and `isRecording()` is false again.
    func testTrainingGoesOnAfterACaughtError() throws {
        setseed(3)
        var w = [Tensor.randn(3, 4, dtype: .float64), Tensor.zeros(3, 1, dtype: .float64)]
        let x = Tensor.randn(4, 5, dtype: .float64), labels = [0, 2, 1, 1, 0]
        let lossgradient = grad { (w: [Tensor], x: Tensor, y: [Int]) in nll(w[0] * x .+ w[1], y) }
        let bad = Tensor.randn(7, 5, dtype: .float64)
        XCTAssertThrowsError(try withErrorHandling { lossgradient(w, bad, labels) }) { error in
            XCTAssertTrue((error as? KnetError)?.message.contains("[7, 5]") == true, "\(error)")
        }
        XCTAssertFalse(isRecording())
        let before = nll(w[0] * x .+ w[1], labels).scalar
        for _ in 0..<5 {
            let g = try withErrorHandling { lossgradient(w, x, labels) }
            for i in w.indices { w[i] = w[i] .- 0.5 .* g[i] }
        }
        XCTAssertLessThan(nll(w[0] * x .+ w[1], labels).scalar, before)
        XCTAssertTrue(gradcheck({ (w: Tensor) in nll(w * x .+ Tensor.zeros(3, 1, dtype: .float64), labels) }, w[0]))
    }

    /// An error caught inside a loss function does not disturb the enclosing `grad`.
    func testEnclosingGradKeepsRecording() {
        let x = Tensor([1, 2, 3], dtype: .float64)
        var caught: String?
        let g = grad { (x: Tensor) -> Tensor in
            let y = x .* x
            do { _ = try withErrorHandling { x * Tensor.ones(2, 2, dtype: .float64) } } catch { caught = "\(error)" }
            XCTAssertTrue(isRecording())
            return sum(y .* 3)
        }(x)
        XCTAssertNotNil(caught)
        XCTAssertEqual([Double](g), [6, 12, 18])
    }

    func testDiffStackIsRestored() throws {
        let w = Param(Tensor([1, 2], dtype: .float64))
        XCTAssertThrowsError(try withErrorHandling { _ = diff { sum(w .* Tensor.ones(3, dtype: .float64)) } })
        XCTAssertTrue(ThreadContext.current.diffStack.isEmpty)
        let J = diff { sum(w .* w) }
        XCTAssertEqual([Double](try XCTUnwrap(J.gradient(w))), [2, 4])
    }

    func testNestedCallsCatchAtTheInnermost() throws {
        var inner: String?
        let value = try withErrorHandling { () -> Double in
            do { _ = try withErrorHandling { Tensor.ones(2) .+ Tensor.ones(3) } } catch { inner = "\(error)" }
            return sum(Tensor.ones(4, dtype: .float64)).scalar
        }
        XCTAssertEqual(value, 4)
        XCTAssertNotNil(inner)
        // the outer call's trap is back in place for what follows inside it
        XCTAssertThrowsError(try withErrorHandling { () -> Tensor in
            _ = try? withErrorHandling { 1 }
            return Tensor.ones(2) .+ Tensor.ones(3)
        })
        XCTAssertNil(ThreadContext.current.failureTrap)
    }
}
