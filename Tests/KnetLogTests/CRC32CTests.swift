import XCTest
@testable import KnetLog

/// CRC-32C against published vectors (the "check" value of the Castagnoli CRC and the
/// iSCSI test patterns of RFC 3720, appendix B.4) and TensorFlow's masking.
final class CRC32CTests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C)
    }

    func testWorksOnSlices() {
        let bytes = Array("xx123456789yy".utf8)
        XCTAssertEqual(CRC32C.checksum(bytes[2..<11]), 0xE306_9283)
    }

    func testMasking() {
        XCTAssertEqual(CRC32C.masked(0), 0xA282_EAD8)
        // rotate right by 15, then add the constant (wrapping)
        XCTAssertEqual(CRC32C.masked(0xE306_9283), ((0xE306_9283 >> 15) | (0xE306_9283 << 17 & 0xFFFF_FFFF)) &+ 0xA282_EAD8)
        XCTAssertEqual(CRC32C.masked(0x0000_8000), 0x0000_0001 &+ 0xA282_EAD8)
    }
}
