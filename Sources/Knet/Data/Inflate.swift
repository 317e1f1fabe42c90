#if canImport(Glibc)
import Glibc
#endif

// A DEFLATE (RFC 1951) and gzip (RFC 1952) decoder in pure Swift, for the gzipped
// data files (MNIST). Corrupt or truncated input throws `InflateError`; the output
// never grows past `limit` bytes, nor past 1032 bytes per input byte (DEFLATE's
// largest possible ratio), so a hostile file cannot make it allocate without bound.

/// The largest output `gunzip`/`inflate` produce unless told otherwise (2 GiB).
let defaultInflateLimit = 1 << 31

/// Decompresses a gzip file's bytes (one or more members), checking each member's
/// CRC-32 and length.
///
///     let idx = try gunzip(bytes)
func gunzip(_ data: [UInt8], limit: Int = defaultInflateLimit) throws -> [UInt8] {
    try data.withUnsafeBufferPointer { input in
        guard input.count >= 18 else { throw input.count >= 2 && input[0] == 0x1f && input[1] == 0x8b
                                             ? InflateError.truncated : InflateError.invalid("not a gzip file (too short)") }
        // The last member's ISIZE sizes the first allocation (never beyond the caps).
        let hint = Int(readLE32(input, input.count - 4))
        var out = OutputBuffer(hint: hint, limit: Swift.min(limit, input.count &* 1032))
        defer { out.free() }
        var pos = 0
        repeat {
            let start = out.count
            out.memberStart = start
            pos = try gzipHeaderEnd(input, from: pos)
            var reader = BitReader(input, from: pos)
            try inflateBlocks(&reader, into: &out)
            pos = try reader.byteAlignedPosition()
            guard input.count - pos >= 8 else { throw InflateError.truncated }
            let crc = crc32(UnsafeBufferPointer(start: out.base! + start, count: out.count - start))
            guard crc == readLE32(input, pos) else {
                throw InflateError.checksum("CRC-32 \(hex32(crc)) differs from the stored \(hex32(readLE32(input, pos)))")
            }
            let size = UInt32(truncatingIfNeeded: out.count - start)
            guard size == readLE32(input, pos + 4) else {
                throw InflateError.checksum("length \(out.count - start) differs from the stored ISIZE \(readLE32(input, pos + 4))")
            }
            pos += 8
        } while pos < input.count
        return out.array()
    }
}

/// Decompresses a raw DEFLATE stream (no zlib or gzip wrapper).
///
///     let plain = try inflate(deflated)
func inflate(_ data: [UInt8], limit: Int = defaultInflateLimit) throws -> [UInt8] {
    guard !data.isEmpty else { throw InflateError.truncated }
    return try data.withUnsafeBufferPointer { input in
        var out = OutputBuffer(hint: input.count * 4, limit: Swift.min(limit, input.count &* 1032 &+ 1032))
        defer { out.free() }
        var reader = BitReader(input, from: 0)
        try inflateBlocks(&reader, into: &out)
        _ = try reader.byteAlignedPosition()
        return out.array()
    }
}

/// CRC-32 (the IEEE polynomial of gzip, zip and PNG), slicing by 8 bytes.
///
///     crc32(Array("123456789".utf8))   // 0xCBF43926
func crc32(_ data: [UInt8]) -> UInt32 { data.withUnsafeBufferPointer { crc32($0) } }

func crc32(_ data: UnsafeBufferPointer<UInt8>) -> UInt32 {
    guard var p = data.baseAddress else { return 0 }
    var n = data.count
    var crc: UInt32 = 0xffff_ffff
    return crcTables.withUnsafeBufferPointer { t in
        while n >= 8 {
            let one = UnsafeRawPointer(p).loadUnaligned(as: UInt32.self).littleEndian ^ crc
            let two = UnsafeRawPointer(p + 4).loadUnaligned(as: UInt32.self).littleEndian
            crc = t[7 * 256 + Int(one & 0xff)] ^ t[6 * 256 + Int((one >> 8) & 0xff)]
                ^ t[5 * 256 + Int((one >> 16) & 0xff)] ^ t[4 * 256 + Int(one >> 24)]
                ^ t[3 * 256 + Int(two & 0xff)] ^ t[2 * 256 + Int((two >> 8) & 0xff)]
                ^ t[1 * 256 + Int((two >> 16) & 0xff)] ^ t[Int(two >> 24)]
            p += 8; n -= 8
        }
        for i in 0..<n { crc = t[Int((crc ^ UInt32(p[i])) & 0xff)] ^ (crc >> 8) }
        return ~crc
    }
}

/// Eight 256-entry tables: table k advances the CRC over a byte followed by k zero bytes.
private let crcTables: [UInt32] = {
    var t = [UInt32](repeating: 0, count: 8 * 256)
    for i in 0..<256 {
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        t[i] = c
    }
    for k in 1..<8 { for i in 0..<256 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xff)] } }
    return t
}()

private func readLE32(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32 {
    UInt32(p[i]) | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2]) << 16 | UInt32(p[i + 3]) << 24
}

private func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - s.count) + s
}

/// Validates the gzip member header at `start` and returns where its DEFLATE data begins.
private func gzipHeaderEnd(_ p: UnsafeBufferPointer<UInt8>, from start: Int) throws -> Int {
    guard p.count - start >= 10 else { throw InflateError.truncated }
    guard p[start] == 0x1f, p[start + 1] == 0x8b else {
        throw InflateError.invalid(start == 0 ? "not a gzip file (bad magic)" : "trailing garbage after gzip member at byte \(start)")
    }
    guard p[start + 2] == 8 else { throw InflateError.invalid("unknown compression method \(p[start + 2])") }
    let flags = p[start + 3]
    guard flags & 0xe0 == 0 else { throw InflateError.invalid("reserved gzip header flags set (0x\(String(flags, radix: 16)))") }
    var pos = start + 10
    if flags & 0x04 != 0 {                               // FEXTRA: length-prefixed field
        guard p.count - pos >= 2 else { throw InflateError.truncated }
        pos += 2 + (Int(p[pos]) | Int(p[pos + 1]) << 8)
    }
    for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {   // FNAME, FCOMMENT: zero-terminated
        while pos < p.count && p[pos] != 0 { pos += 1 }
        pos += 1
    }
    if flags & 0x02 != 0 {                               // FHCRC: low 16 bits of the header's CRC-32
        guard p.count - pos >= 2 else { throw InflateError.truncated }
        let crc = crc32(UnsafeBufferPointer(rebasing: p[start..<pos])) & 0xffff
        guard crc == UInt32(p[pos]) | UInt32(p[pos + 1]) << 8 else { throw InflateError.checksum("gzip header CRC mismatch") }
        pos += 2
    }
    guard pos < p.count else { throw InflateError.truncated }
    return pos
}

/// A growable output buffer with a hard size limit.
private struct OutputBuffer {
    var base: UnsafeMutablePointer<UInt8>?
    var capacity: Int
    var count = 0
    /// Where the current gzip member's output begins: back-references may not reach before it.
    var memberStart = 0
    let limit: Int

    init(hint: Int, limit: Int) {
        self.limit = limit
        capacity = Swift.max(1, Swift.min(limit, Swift.max(1024, hint)))     // never past the limit
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    }

    /// Makes room for `n` more bytes.
    mutating func reserve(_ n: Int) throws {
        if count + n <= capacity { return }
        guard count + n <= limit else { throw InflateError.tooLarge(limit: limit) }
        let newCapacity = Swift.min(limit, Swift.max(capacity * 2, count + n))
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: base!, count: count)
        base!.deallocate()
        base = bigger; capacity = newCapacity
    }

    func array() -> [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    mutating func free() { base?.deallocate(); base = nil }
}

/// Reads the input LSB-first through a 64-bit buffer. Reading past the end supplies
/// zero bytes, up to the 8 that may legitimately sit unused in the buffer; more means
/// the stream really needed data that is not there.
private struct BitReader {
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos: Int
    var buf: UInt64 = 0
    var count = 0          // valid bits in buf
    var padding = 0        // zero bytes supplied past the end

    init(_ input: UnsafeBufferPointer<UInt8>, from pos: Int) {
        base = input.baseAddress!; end = input.count; self.pos = pos
    }

    /// Fills the buffer to at least 56 bits.
    @inline(__always) mutating func refill() throws {
        if pos + 8 <= end {
            // Bits above `count` already hold the next byte's bits, so OR-ing is exact.
            buf |= UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self).littleEndian << UInt64(count)
            pos += (63 - count) >> 3
            count |= 56
        } else {
            while count <= 56 {
                if pos < end { buf |= UInt64(base[pos]) << UInt64(count); pos += 1 } else {
                    padding += 1
                    if padding > 8 { throw InflateError.truncated }
                }
                count += 8
            }
        }
    }

    /// The next `n` bits (the caller made sure `count >= n`).
    @inline(__always) mutating func bits(_ n: Int) -> Int {
        let v = Int(truncatingIfNeeded: buf & ((1 << UInt64(n)) &- 1))
        buf >>= UInt64(n); count -= n
        return v
    }

    /// The next `n` bits, refilling first when needed.
    @inline(__always) mutating func read(_ n: Int) throws -> Int {
        if count < n { try refill() }
        return bits(n)
    }

    /// Decodes one Huffman symbol (the caller made sure `count >= 15`).
    @inline(__always) mutating func decode(_ table: HuffmanTable) throws -> Int {
        let entry = Int(table.entries[Int(truncatingIfNeeded: buf) & table.mask])
        let length = entry & 15
        guard length != 0 else { throw InflateError.invalid("invalid Huffman code") }
        buf >>= UInt64(length); count -= length
        return entry >> 4
    }

    /// Drops bits up to the next byte boundary and returns the position of the next
    /// unread input byte (the buffer is emptied).
    mutating func byteAlignedPosition() throws -> Int {
        let buffered = count / 8 - padding
        guard buffered >= 0 else { throw InflateError.truncated }
        pos -= buffered
        buf = 0; count = 0; padding = 0
        return pos
    }
}

/// A single-level decoding table: entry `i` holds `symbol << 4 | length` for the code
/// whose bit-reversed value is `i` modulo `2^length`; 0 marks an unused code.
private struct HuffmanTable {
    let entries: UnsafeMutablePointer<UInt16>
    var mask = 0

    init(maxBits: Int) { entries = .allocate(capacity: 1 << maxBits) }

    func free() { entries.deallocate() }

    /// Builds the canonical code for `lengths` (0 = symbol unused).
    mutating func build(_ lengths: ArraySlice<UInt8>) throws {
        var perLength = [Int](repeating: 0, count: 16)
        for l in lengths { perLength[Int(l)] += 1 }
        perLength[0] = 0
        var left = 1
        for l in 1...15 {
            left = left << 1 - perLength[l]
            guard left >= 0 else { throw InflateError.invalid("over-subscribed Huffman code") }
        }
        let bits = Swift.max(1, (1...15).last { perLength[$0] > 0 } ?? 1)
        mask = (1 << bits) - 1
        entries.initialize(repeating: 0, count: 1 << bits)
        var next = [Int](repeating: 0, count: 16)
        for l in 1..<15 { next[l + 1] = (next[l] + perLength[l]) << 1 }
        for (symbol, l) in lengths.enumerated() where l != 0 {
            let length = Int(l)
            let code = next[length]; next[length] += 1
            var reversed = 0
            for b in 0..<length where code & (1 << b) != 0 { reversed |= 1 << (length - 1 - b) }
            let entry = UInt16(symbol << 4 | length)
            for i in stride(from: reversed, to: 1 << bits, by: 1 << length) { entries[i] = entry }
        }
    }
}

private let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
private let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                  3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
private let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                   513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
private let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
                                    8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
/// The order in which a dynamic block lists its code-length code lengths.
private let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

/// The code lengths of DEFLATE's fixed Huffman codes (RFC 1951 3.2.6).
private let fixedLiteralLengths = [UInt8](repeating: 8, count: 144) + [UInt8](repeating: 9, count: 112)
    + [UInt8](repeating: 7, count: 24) + [UInt8](repeating: 8, count: 8)
private let fixedDistanceLengths = [UInt8](repeating: 5, count: 30)

/// Decodes DEFLATE blocks until the one marked final.
private func inflateBlocks(_ r: inout BitReader, into out: inout OutputBuffer) throws {
    var literals = HuffmanTable(maxBits: 15), distances = HuffmanTable(maxBits: 15)
    defer { literals.free(); distances.free() }
    var final = false
    while !final {
        final = try r.read(1) == 1
        switch try r.read(2) {
        case 0: try copyStoredBlock(&r, into: &out)
        case 1:
            try literals.build(fixedLiteralLengths[...])
            try distances.build(fixedDistanceLengths[...])
            try inflateCodes(&r, literals, distances, into: &out)
        case 2:
            try readDynamicTables(&r, &literals, &distances)
            try inflateCodes(&r, literals, distances, into: &out)
        default: throw InflateError.invalid("reserved block type 3")
        }
    }
}

private func copyStoredBlock(_ r: inout BitReader, into out: inout OutputBuffer) throws {
    var pos = try r.byteAlignedPosition()
    guard r.end - pos >= 4 else { throw InflateError.truncated }
    let length = Int(r.base[pos]) | Int(r.base[pos + 1]) << 8
    let complement = Int(r.base[pos + 2]) | Int(r.base[pos + 3]) << 8
    guard length ^ 0xffff == complement else { throw InflateError.invalid("stored block length check failed") }
    pos += 4
    guard r.end - pos >= length else { throw InflateError.truncated }
    try out.reserve(length)
    (out.base! + out.count).update(from: r.base + pos, count: length)
    out.count += length
    r.pos = pos + length
}

private func readDynamicTables(_ r: inout BitReader, _ literals: inout HuffmanTable,
                               _ distances: inout HuffmanTable) throws {
    let nlit = try r.read(5) + 257, ndist = try r.read(5) + 1, ncode = try r.read(4) + 4
    guard nlit <= 286, ndist <= 30 else { throw InflateError.invalid("too many length or distance codes") }
    var codeLengths = [UInt8](repeating: 0, count: 19)
    for i in 0..<ncode { codeLengths[codeLengthOrder[i]] = UInt8(try r.read(3)) }
    var codeTable = HuffmanTable(maxBits: 7)
    defer { codeTable.free() }
    try codeTable.build(codeLengths[...])
    var lengths = [UInt8](repeating: 0, count: nlit + ndist)
    var i = 0
    while i < lengths.count {
        if r.count < 15 { try r.refill() }
        let symbol = try r.decode(codeTable)
        if symbol < 16 { lengths[i] = UInt8(symbol); i += 1; continue }
        let (value, repeats): (UInt8, Int)
        switch symbol {
        case 16:
            guard i > 0 else { throw InflateError.invalid("repeat code with no previous length") }
            (value, repeats) = (lengths[i - 1], 3 + (try r.read(2)))
        case 17: (value, repeats) = (0, 3 + (try r.read(3)))
        default: (value, repeats) = (0, 11 + (try r.read(7)))
        }
        guard i + repeats <= lengths.count else { throw InflateError.invalid("code lengths overflow the table") }
        for k in i..<(i + repeats) { lengths[k] = value }
        i += repeats
    }
    guard lengths[256] != 0 else { throw InflateError.invalid("no end-of-block code") }
    try literals.build(lengths[0..<nlit])
    try distances.build(lengths[nlit...])
}

/// Decodes one Huffman-coded block's literals and matches.
private func inflateCodes(_ r: inout BitReader, _ literals: HuffmanTable,
                          _ distances: HuffmanTable, into out: inout OutputBuffer) throws {
    while true {
        // 48 bits cover a length code, its extra bits, a distance code and its extra bits.
        if r.count < 48 { try r.refill() }
        let symbol = try r.decode(literals)
        if symbol < 256 {
            if out.count == out.capacity { try out.reserve(1) }
            out.base![out.count] = UInt8(truncatingIfNeeded: symbol)
            out.count += 1
            continue
        }
        if symbol == 256 { return }
        let li = symbol - 257
        guard li < 29 else { throw InflateError.invalid("invalid length code \(symbol)") }
        let length = lengthBase[li] + r.bits(lengthExtra[li])
        let di = try r.decode(distances)
        guard di < 30 else { throw InflateError.invalid("invalid distance code \(di)") }
        let distance = distanceBase[di] + r.bits(distanceExtra[di])
        guard distance <= out.count - out.memberStart else { throw InflateError.invalid("distance \(distance) reaches before the start of the data") }
        try out.reserve(length)
        let dst = out.base! + out.count
        let src = dst - distance
        if distance == 1 {
            dst.initialize(repeating: src.pointee, count: length)
        } else if distance >= length {
            dst.update(from: src, count: length)
        } else {
            for k in 0..<length { dst[k] = src[k] }
        }
        out.count += length
    }
}
