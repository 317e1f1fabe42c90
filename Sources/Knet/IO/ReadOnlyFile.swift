#if canImport(Glibc)
import Glibc
#endif

/// Bytes read at given offsets: a file (`ReadOnlyFile`) or memory (`InMemoryBytes`), so
/// that a format reader (safetensors) parses both the same way.
protocol PositionedBytes {
    /// The total byte count.
    var size: Int { get }
    /// Fills `buffer` with the bytes at `offset`, throwing at the end of the bytes.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws
}

/// Bytes already in memory as `PositionedBytes`; reading past the end throws what
/// `endOfFile(at, expected)` makes.
struct InMemoryBytes: PositionedBytes {
    let bytes: [UInt8]
    let endOfFile: (_ at: Int, _ expected: Int) -> Error
    var size: Int { bytes.count }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        guard offset >= 0, offset <= bytes.count - buffer.count else {
            throw endOfFile(Swift.min(Swift.max(offset, 0), bytes.count), offset + buffer.count)
        }
        guard buffer.count > 0 else { return }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: buffer.count) }
    }
}

/// A regular file opened for reading with exact positioned reads (closed when released).
/// Open and read failures throw `FileIOError`; a read that meets the end of the file
/// early (the file shrank, or a header lied about it) throws what `endOfFile(at,
/// expected)` makes, so that each format reports it in its own terms.
///
///     let bytes = try ReadOnlyFile("data.bin") { at, _ in MyError.truncated(at) }.readAll()
package final class ReadOnlyFile: PositionedBytes {
    let path: String
    let size: Int
    private let fd: Int32
    private let endOfFile: (_ at: Int, _ expected: Int) -> Error

    package init(_ path: String, endOfFile: @escaping (_ at: Int, _ expected: Int) -> Error) throws {
        self.path = path
        self.endOfFile = endOfFile
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw FileIOError("open", path) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { let e = FileIOError("stat", path); close(fd); throw e }
        guard (info.st_mode & S_IFMT) == S_IFREG else { close(fd); throw FileIOError("read", path, code: EISDIR) }
        size = Int(info.st_size)
    }

    deinit { close(fd) }

    /// Fills `buffer` with the bytes at `offset`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileIOError("read", path)
            }
            if n == 0 { throw endOfFile(offset + done, offset + buffer.count) }
            done += n
        }
    }

    /// The whole file (its size when opened).
    package func readAll() throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            try read(into: UnsafeMutableRawBufferPointer(buffer), at: 0)
            initialized = size
        }
    }
}
