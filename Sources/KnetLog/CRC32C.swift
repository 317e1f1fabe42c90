// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord
// framing, and the "masked" form TensorFlow stores so that a CRC of data that itself
// holds CRCs is not degenerate.

/// CRC-32C checksums as TFRecord files use them.
///
///     CRC32C.checksum(Array("123456789".utf8))           // 0xE3069283
///     CRC32C.masked(CRC32C.checksum(bytes))              // what a TFRecord stores
public enum CRC32C {
    /// The byte-at-a-time lookup table of the reflected polynomial 0x82F63B78.
    static let table: [UInt32] = (0..<256).map { (n: UInt32) in
        var c = n
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC-32C of `bytes` (initial value and final XOR 0xFFFFFFFF, as iSCSI and
    /// TFRecord define it).
    ///
    ///     CRC32C.checksum([])   // 0
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { crc = t[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// TensorFlow's masked CRC: rotated right by 15 bits plus 0xA282EAD8 (mod 2³²).
    ///
    ///     CRC32C.masked(0)   // 0xA282EAD8
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
