// TFRecord framing, the container of TensorBoard event files: each record is
//
//     uint64 length (little-endian) · uint32 masked CRC32C of those 8 bytes
//     · length bytes of data · uint32 masked CRC32C of the data

/// Why bytes are not a valid sequence of TFRecords: every case names the byte offset of
/// the record at fault.
///
///     do { _ = try TFRecord.split(bytes) } catch { print(error) }   // "TFRecord at byte 0: ..."
public enum TFRecordError: Error, Equatable, CustomStringConvertible {
    /// The bytes end inside a record (`needed` bytes from `offset` on, `available` there).
    case truncated(offset: Int, needed: Int, available: Int)
    /// The masked CRC32C stored after the length is not that of the length's bytes.
    case lengthChecksum(offset: Int, stored: UInt32, computed: UInt32)
    /// The masked CRC32C stored after the data is not that of the data.
    case dataChecksum(offset: Int, stored: UInt32, computed: UInt32)

    /// "TFRecord at byte N: what is wrong".
    public var description: String {
        func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16, uppercase: true) }
        switch self {
        case let .truncated(offset, needed, available):
            return "TFRecord at byte \(offset): truncated, needs \(needed) bytes, \(available) left"
        case let .lengthChecksum(offset, stored, computed):
            return "TFRecord at byte \(offset): length CRC \(hex(stored)) stored, \(hex(computed)) computed"
        case let .dataChecksum(offset, stored, computed):
            return "TFRecord at byte \(offset): data CRC \(hex(stored)) stored, \(hex(computed)) computed"
        }
    }
}

/// Framing and unframing of TFRecords.
///
///     let bytes = TFRecord.frame(payload)          // payload.count + 16 bytes
///     let records = try TFRecord.split(bytes)      // [payload]
public enum TFRecord {
    /// `data` framed as one record: length, its masked CRC, the data, its masked CRC.
    ///
    ///     TFRecord.frame([1, 2, 3]).count   // 19
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        let length = littleEndian(UInt64(data.count))
        var out = length
        out.reserveCapacity(data.count + 16)
        out += littleEndian(CRC32C.masked(CRC32C.checksum(length)))
        out += data
        out += littleEndian(CRC32C.masked(CRC32C.checksum(data)))
        return out
    }

    /// The records of a whole TFRecord file, each length and CRC checked; throws
    /// `TFRecordError` at the first bad one.
    ///
    ///     let events = try TFRecord.split(Array(try Data(contentsOf: url)))
    public static func split(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var records: [[UInt8]] = [], offset = 0
        while offset < bytes.count {
            let available = bytes.count - offset
            guard available >= 12 else { throw TFRecordError.truncated(offset: offset, needed: 12, available: available) }
            let lengthBytes = bytes[offset..<(offset + 8)]
            let stored = read32(bytes, offset + 8), computed = CRC32C.masked(CRC32C.checksum(lengthBytes))
            guard stored == computed else { throw TFRecordError.lengthChecksum(offset: offset, stored: stored, computed: computed) }
            let length = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard available >= 16, length <= UInt64(available - 16) else {
                let needed = length > UInt64(Int.max - 16) ? Int.max : Int(length) + 16
                throw TFRecordError.truncated(offset: offset, needed: needed, available: available)
            }
            let start = offset + 12, end = start + Int(length)
            let dataStored = read32(bytes, end), dataComputed = CRC32C.masked(CRC32C.checksum(bytes[start..<end]))
            guard dataStored == dataComputed else {
                throw TFRecordError.dataChecksum(offset: offset, stored: dataStored, computed: dataComputed)
            }
            records.append(Array(bytes[start..<end]))
            offset = end + 4
        }
        return records
    }

    private static func littleEndian<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) }
    }

    private static func read32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << ($1 * 8) }
    }
}
