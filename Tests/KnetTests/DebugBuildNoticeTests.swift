import XCTest
import Synchronization
@testable import Knet
#if canImport(Glibc)
import Glibc
#endif

/// The notice that an unoptimized Knet trains slowly: once per process, from the first
/// backward pass, only in a debug build, and not with `KNET_QUIET_DEBUG=1`.
final class DebugBuildNoticeTests: XCTestCase {
    /// The notices sent while `body` runs, from a fresh start.
    private func notices(_ body: () -> Void) -> [String] {
        let seen = Mutex<[String]>([])
        DebugBuildNotice.reset(sink: { message in seen.withLock { $0.append(message) } })
        defer { DebugBuildNotice.reset(emitted: true, sink: nil) }   // the rest of the run stays quiet
        body()
        return seen.withLock { $0 }
    }

    private func train() {
        let w = [Tensor.randn(3, 4), Tensor.zeros(3, 1)]
        let x = Tensor.randn(4, 5), y = Tensor.randn(3, 5)
        let lossgradient = grad { (w: [Tensor], x: Tensor, y: Tensor) in sum(abs2(w[0] * x .+ w[1] .- y)) }
        _ = lossgradient(w, x, y)
        _ = lossgradient(w, x, y)
        let trainer = Trainer(w, Adam())
        for _ in trainer.minimize({ w, x, y in sum(abs2(w[0] * x .+ w[1] .- y)) }, [(x, y), (x, y)]) {}
    }

    func testTheNoticeIsPrintedOnceInADebugBuild() {
        let seen = notices { train() }
        if DebugBuildNotice.isUnoptimized {
            XCTAssertEqual(seen.count, 1)
            XCTAssertTrue(seen.first?.contains("debug build") ?? false)
            XCTAssertTrue(seen.first?.contains("swift run -c release") ?? false)
            XCTAssertTrue(seen.first?.contains("KNET_QUIET_DEBUG=1") ?? false)
        } else {
            XCTAssertEqual(seen, [])
        }
    }

    func testTheForwardPassAloneSaysNothing() {
        XCTAssertEqual(notices { _ = sum(abs2(Tensor.randn(3, 4))) }, [])
    }

    func testKnetQuietDebugSilencesIt() {
        setenv("KNET_QUIET_DEBUG", "1", 1)
        defer { unsetenv("KNET_QUIET_DEBUG") }
        XCTAssertEqual(notices { train() }, [])
    }

    func testTheCKernelsAreSeenInTheSwiftCodesConfiguration() {
        // SwiftPM builds the C kernels at -O0 exactly when it builds Swift at -Onone.
        XCTAssertEqual(DebugBuildNotice.isUnoptimized, _isDebugAssertConfiguration())
    }
}
