@testable import Knet

/// gzip and raw DEFLATE decoding (`gunzip`, `inflate`): each either throws an
/// `InflateError` or returns at most 1032 bytes per input byte (DEFLATE's largest ratio)
/// and never more than the limit it was given; a successful gzip result re-encoded in
/// stored blocks decodes to itself.
public func checkInflate(_ bytes: [UInt8]) {
    let limit = 1 << 24
    if let out = result("gunzip", throwing: InflateError.self, { try gunzip(bytes, limit: limit) }) {
        expect(out.count <= bytes.count * 1032 && out.count <= limit, "gunzip made \(out.count) bytes from \(bytes.count)")
        let again = result("gunzip of a stored re-encoding", throwing: Never.self) { try gunzip(storedGzip(out)) }
        expect(again == out, "the stored re-encoding of gunzip's \(out.count) bytes decodes to other bytes")
    }
    if let out = result("inflate", throwing: InflateError.self, { try inflate(bytes, limit: limit) }) {
        expect(out.count <= bytes.count * 1032 + 1032, "inflate made \(out.count) bytes from \(bytes.count)")
    }
    let small = 64
    if let out = result("gunzip with a small limit", throwing: InflateError.self, { try gunzip(bytes, limit: small) }) {
        expect(out.count <= small, "gunzip(limit: \(small)) made \(out.count) bytes")
    }
}

/// A one-member gzip file holding `data` in stored (uncompressed) DEFLATE blocks.
func storedGzip(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]
    var start = 0
    repeat {
        let n = min(65535, data.count - start), last: UInt8 = start + n == data.count ? 1 : 0
        out += [last, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8(~n >> 8 & 255)] + data[start..<(start + n)]
        start += n
    } while start < data.count
    for v in [crc32(data), UInt32(truncatingIfNeeded: data.count)] { out += (0..<4).map { UInt8(v >> (8 * $0) & 255) } }
    return out
}
