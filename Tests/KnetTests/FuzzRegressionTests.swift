import Foundation
import XCTest
@testable import Knet

/// Every input the fuzzers of Fuzz/ (scripts/fuzz.sh) found to break a parser, minimized
/// (`fuzz-<target> -minimize_crash=1`) and kept in Fixtures/fuzz: each now gets its
/// parser's typed error instead of a trap or a silent wrong value.
final class FuzzRegressionTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz")

    func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
    }

    /// The `DataError.corrupt` reason `body` throws, or a failure.
    func corruptReason<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { _ = try body() } catch DataError.corrupt(_, let reason) { return reason } catch {
            XCTFail("threw \(error), expected DataError.corrupt", file: file, line: line); return ""
        }
        XCTFail("did not throw", file: file, line: line)
        return ""
    }

    /// fuzz-inflate: a limit below the first buffer (1024 bytes) was not enforced, so
    /// `gunzip(x, limit: 64)` returned this member's 340 bytes.
    func testInflateLimitBelowTheFirstBuffer() throws {
        let input = try fixture("inflate-limit-below-1024.gz")
        XCTAssertEqual(try gunzip(input).count, 340)
        for limit in [0, 1, 64, 339] {
            XCTAssertThrowsError(try gunzip(input, limit: limit)) { XCTAssertEqual($0 as? InflateError, .tooLarge(limit: limit)) }
        }
        XCTAssertEqual(try gunzip(input, limit: 340).count, 340)
        XCTAssertThrowsError(try inflate(Array(input[10..<(input.count - 8)]), limit: 100)) {
            XCTAssertEqual($0 as? InflateError, .tooLarge(limit: 100))
        }
    }

    /// fuzz-idx: dims [0, 0x15050000, 0x1505, 0x15050000] passed (zero values), but their
    /// product taken in another order (the tensor's reversed shape) overflowed and trapped.
    func testIDXZeroDimBesideHugeOnes() throws {
        let reason = corruptReason { try readIDX(bytes: fixture("idx-zero-dim-overflow.idx")) }
        XCTAssertTrue(reason.contains("too large"), reason)
        let empty = try readIDX(bytes: [0, 0, 8, 2, 0, 0, 0, 0, 0, 0, 1, 0])   // [0, 256]: still fine
        XCTAssertEqual(empty.dims, [0, 256])
        XCTAssertEqual(empty.tensor().shape, [256, 0])
    }

    /// fuzz-housing: a target of 1e308 became +inf in Float32 without a word.
    func testHousingTargetBeyondFloat32() throws {
        let bytes = try fixture("housing-target-beyond-float32.data")
        let reason = corruptReason { try housing(bytes: bytes, name: "t.data") }
        XCTAssertTrue(reason.contains("line 1") && reason.contains("1e308") && reason.contains("Float32"), reason)
        XCTAssertEqual(try housing(bytes: bytes, dtype: .float64).y.shape, [1, 2], "Float64 holds it")
    }

    /// Written beside the finding above: features whose mean overflows normalize to NaN.
    func testHousingFeatureTooLargeToNormalize() throws {
        let reason = corruptReason { try housing(bytes: fixture("housing-mean-overflows.data"), dtype: .float64) }
        XCTAssertTrue(reason.contains("column 1") && reason.contains("too large"), reason)
    }
}
