import XCTest
@testable import KnetLog

/// TFRecord framing: the header, the masked CRCs, and the errors of a damaged file.
final class TFRecordTests: XCTestCase {
    func testFrameLayout() {
        let data: [UInt8] = Array("hello, tensorboard".utf8)
        let record = TFRecord.frame(data)
        XCTAssertEqual(record.count, data.count + 16)
        XCTAssertEqual(Array(record[0..<8]), [UInt8(data.count), 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(le32(record, 8), CRC32C.masked(CRC32C.checksum(record[0..<8])))
        XCTAssertEqual(Array(record[12..<(12 + data.count)]), data)
        XCTAssertEqual(le32(record, 12 + data.count), CRC32C.masked(CRC32C.checksum(data)))
    }

    func testSplitRoundTrips() throws {
        let payloads: [[UInt8]] = [[], [1], Array(repeating: 7, count: 300), Array("abc".utf8)]
        XCTAssertEqual(try TFRecord.split(payloads.flatMap(TFRecord.frame)), payloads)
        XCTAssertEqual(try TFRecord.split([]), [])
    }

    func testDamageIsReportedWithItsOffset() {
        let first = TFRecord.frame([1, 2, 3]), second = TFRecord.frame([4, 5, 6, 7])
        var bytes = first + second
        bytes[first.count + 13] ^= 0x01                      // a data byte of the second record
        XCTAssertThrowsError(try TFRecord.split(bytes)) { error in
            guard case .dataChecksum(let offset, _, _)? = error as? TFRecordError else { return XCTFail("\(error)") }
            XCTAssertEqual(offset, first.count)
        }
        bytes = first + second
        bytes[first.count] = 200                             // the second record's length
        XCTAssertThrowsError(try TFRecord.split(bytes)) { error in
            XCTAssertEqual(error as? TFRecordError, .lengthChecksum(offset: first.count, stored: le32(second, 8),
                                                                    computed: CRC32C.masked(CRC32C.checksum([200, 0, 0, 0, 0, 0, 0, 0]))))
        }
        XCTAssertThrowsError(try TFRecord.split(first + second.dropLast(2))) { error in
            XCTAssertEqual(error as? TFRecordError, .truncated(offset: first.count, needed: 20, available: 18))
            XCTAssert("\(error)".contains("TFRecord at byte 19"), "\(error)")
        }
    }
}

/// The little-endian UInt32 at `offset`.
func le32<C: Collection>(_ bytes: C, _ offset: Int) -> UInt32 where C.Element == UInt8, C.Index == Int {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[bytes.startIndex + offset + $1]) << ($1 * 8) }
}
