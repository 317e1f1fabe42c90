import Foundation
import XCTest
@testable import Knet

/// The gzip/DEFLATE decoder against Python-made fixtures (Fixtures/data, written by
/// make_data_fixtures.py), corrupt and truncated inputs; CRC-32 and SHA-256 vectors.
final class InflateTests: XCTestCase {
    struct Entry: Decodable { let file: String; let kind: String; let size: Int; let sha256: String }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/data")

    func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
    }

    func testPythonFixturesDecode() throws {
        let manifest = try JSONDecoder().decode([Entry].self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("manifest.json")))
        XCTAssertGreaterThan(manifest.count, 30)
        for e in manifest {
            let input = try fixture(e.file)
            let output = e.kind == "gzip" ? try gunzip(input) : try inflate(input)
            XCTAssertEqual(output.count, e.size, e.file)
            XCTAssertEqual(SHA256.hash(output).hex, e.sha256, e.file)
        }
    }

    func testSHA256Vectors() {
        func hex(_ s: String) -> String { SHA256.hash(Array(s.utf8)).hex }
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // One million 'a', fed in uneven pieces to exercise the buffering of `update`.
        var h = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        var fed = 0
        while fed < 1_000_000 { let n = min(chunk.count, 1_000_000 - fed); h.update(Array(chunk[..<n])); fed += n }
        XCTAssertEqual(h.finalize().hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testCRC32() {
        XCTAssertEqual(crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(crc32([]), 0)
        XCTAssertEqual(crc32(Array("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
    }

    func testTruncatedGzipThrows() throws {
        let input = try fixture("text-9.gz")
        for n in stride(from: 0, to: input.count, by: 29) {
            XCTAssertThrowsError(try gunzip(Array(input[..<n])), "prefix of \(n) bytes")
        }
        XCTAssertThrowsError(try gunzip(Array(input.dropLast()))) // only the ISIZE byte is missing
        let raw = try fixture("text-fixed.deflate")
        XCTAssertThrowsError(try inflate(Array(raw[..<(raw.count / 2)]))) { XCTAssertEqual($0 as? InflateError, .truncated) }
    }

    func testCorruptGzipThrows() throws {
        let good = try fixture("text-9.gz")
        func corrupted(_ edit: (inout [UInt8]) -> Void) -> [UInt8] { var b = good; edit(&b); return b }
        XCTAssertThrowsError(try gunzip(corrupted { $0[0] = 0x1e })) { XCTAssertEqual($0 as? InflateError, .invalid("not a gzip file (bad magic)")) }
        XCTAssertThrowsError(try gunzip(corrupted { $0[2] = 7 }))
        XCTAssertThrowsError(try gunzip(corrupted { $0[3] |= 0x80 }))
        XCTAssertThrowsError(try gunzip(corrupted { $0[$0.count - 6] ^= 1 })) { error in
            guard case .checksum(let why)? = error as? InflateError else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("CRC-32"), why)
        }
        XCTAssertThrowsError(try gunzip(corrupted { $0[$0.count - 1] = 0xff }))   // ISIZE claims ~4 GB
        XCTAssertThrowsError(try gunzip(good + [0, 0, 0]))                         // trailing garbage
        // Flipping any bit of the compressed body must be caught (by the decoder or the CRC).
        for i in stride(from: 12, to: good.count - 8, by: 97) {
            XCTAssertThrowsError(try gunzip(corrupted { $0[i] ^= 0x10 }), "bit flip at byte \(i)")
        }
    }

    func testGarbageNeverCrashesOrOverruns() throws {
        var g = SplitMix(seed: 99)
        var decoded = 0
        for _ in 0..<300 {
            let bytes = (0..<(1 + Int(g.next() % 300))).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            if let out = try? inflate(bytes, limit: 10_000) { XCTAssertLessThanOrEqual(out.count, 10_000); decoded += 1 }
            XCTAssertThrowsError(try gunzip([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3] + bytes))
        }
        let raw = try fixture("text-huffman.deflate")
        for i in stride(from: 0, to: raw.count, by: 53) {
            var b = raw; b[i] ^= 0x04
            if let out = try? inflate(b, limit: 30_000) { XCTAssertLessThanOrEqual(out.count, 30_000); decoded += 1 }
        }
        XCTAssertLessThan(decoded, 500, "most garbage is rejected")
    }

    func testOutputLimit() throws {
        let zeros = try fixture("zeros-9.gz")   // 5000 bytes from 40
        XCTAssertThrowsError(try gunzip(zeros, limit: 1000)) { XCTAssertEqual($0 as? InflateError, .tooLarge(limit: 1000)) }
        XCTAssertEqual(try gunzip(zeros, limit: 5000).count, 5000)
    }

    /// Writes DEFLATE bits LSB-first; Huffman codes go MSB-first as the format wants.
    struct BitWriter {
        var bytes: [UInt8] = [], bit = 0
        mutating func put(_ value: Int, _ n: Int) {
            for k in 0..<n {
                if bit == 0 { bytes.append(0) }
                if value >> k & 1 != 0 { bytes[bytes.count - 1] |= UInt8(1 << bit) }
                bit = (bit + 1) % 8
            }
        }
        mutating func code(_ value: Int, _ n: Int) { for k in stride(from: n - 1, through: 0, by: -1) { put(value >> k & 1, 1) } }
    }

    func testInvalidDeflateStreams() {
        XCTAssertThrowsError(try inflate([])) { XCTAssertEqual($0 as? InflateError, .truncated) }
        XCTAssertThrowsError(try inflate([0x07])) { XCTAssertEqual($0 as? InflateError, .invalid("reserved block type 3")) }
        // Stored block whose NLEN is not the complement of LEN.
        XCTAssertThrowsError(try inflate([0x01, 0x03, 0x00, 0x00, 0x00, 1, 2, 3]))
        XCTAssertEqual(try inflate([0x01, 0x03, 0x00, 0xfc, 0xff, 1, 2, 3]), [1, 2, 3])
        // Fixed block starting with a match: nothing to copy from yet.
        var w = BitWriter()
        w.put(1, 1); w.put(1, 2)          // final, fixed Huffman
        w.code(0b0000001, 7)              // length code 257 (3 bytes)
        w.code(0, 5)                      // distance code 0 (1 back)
        w.code(0, 7)                      // end of block
        XCTAssertThrowsError(try inflate(w.bytes)) { error in
            guard case .invalid(let why)? = error as? InflateError else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("distance"), why)
        }
        // Dynamic block whose code-length code is over-subscribed (19 codes of length 1).
        var d = BitWriter()
        d.put(1, 1); d.put(2, 2); d.put(0, 5); d.put(0, 5); d.put(15, 4)
        for _ in 0..<19 { d.put(1, 3) }
        XCTAssertThrowsError(try inflate(d.bytes)) { XCTAssertEqual($0 as? InflateError, .invalid("over-subscribed Huffman code")) }
    }
}
