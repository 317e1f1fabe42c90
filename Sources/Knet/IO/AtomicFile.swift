#if canImport(Glibc)
import Glibc
#endif

/// A failed file-system call: which operation, on which path, and the `errno` it set.
///
///     do { try writeFileAtomically([1, 2], to: "/nonexistent/x") }
///     catch let e as FileIOError { print(e) }   // "create temporary file for /nonexistent/x: No such file or directory"
public struct FileIOError: Error, CustomStringConvertible, Equatable {
    /// The file the operation was about.
    public let path: String
    /// What was being done (`"open"`, `"write"`, `"rename"`...).
    public let operation: String
    /// The `errno` value.
    public let code: Int32

    /// A `FileIOError` for `operation` on `path` with the current `errno` (or `code`).
    package init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// "operation path: strerror".
    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// Streams bytes into the temporary file of `writeFileAtomically(to:_:)`. Valid only
/// inside that call's body.
public struct AtomicFileWriter {
    fileprivate let fd: Int32
    fileprivate let path: String

    /// Appends `bytes` to the file (retrying short writes and interrupts).
    ///
    ///     try w.write(UnsafeRawBufferPointer(start: p, count: n))
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileIOError("write", path)
            }
            done += n
        }
    }

    /// Appends `bytes` to the file.
    ///
    ///     try w.write([0x01, 0x02])
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// Writes `path` atomically: `body` streams the content into a temporary file in the
/// same directory, which is then flushed to disk (`fsync`) and renamed over `path`.
/// Readers see either the old file or the complete new one; if `body` or any step
/// throws, the temporary file is removed and an existing `path` is left untouched.
///
///     try writeFileAtomically(to: "model.safetensors") { w in try w.write(header); try w.write(data) }
public func writeFileAtomically(to path: String, _ body: (AtomicFileWriter) throws -> Void) throws {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    if name.isEmpty || name == "." || name == ".." { throw FileIOError("write", path, code: EISDIR) }

    var temporary = "", fd: Int32 = -1
    for _ in 0..<8 where fd < 0 {
        temporary = "\(directory)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        if fd < 0 && errno != EEXIST { break }
    }
    if fd < 0 { throw FileIOError("create temporary file for", path) }

    var renamed = false
    defer {
        if fd >= 0 { close(fd) }
        if !renamed { unlink(temporary) }
    }
    try body(AtomicFileWriter(fd: fd, path: temporary))
    if fsync(fd) != 0 { throw FileIOError("fsync", temporary) }
    let closed = close(fd)
    fd = -1
    if closed != 0 { throw FileIOError("close", temporary) }
    if rename(temporary, path) != 0 { throw FileIOError("rename \(temporary) to", path) }
    renamed = true
    // Make the rename itself durable (best effort: the new file is already in place).
    let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directoryFD >= 0 { _ = fsync(directoryFD); close(directoryFD) }
}

/// Writes `bytes` to `path` atomically (see `writeFileAtomically(to:_:)`).
///
///     try writeFileAtomically(Array("hello\n".utf8), to: "/tmp/greeting.txt")
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    try writeFileAtomically(to: path) { try $0.write(bytes) }
}
