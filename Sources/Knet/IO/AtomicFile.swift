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
        try writeAll(fd, bytes, path: path)
    }

    /// Appends `bytes` to the file.
    ///
    ///     try w.write([0x01, 0x02])
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// Writes `path` atomically: `body` streams the content into a temporary file in the
/// same directory (`.<name>.tmp-<pid>-<random>`), which is flushed to disk (`fsync`),
/// then the directory is flushed, the file renamed over `path` and the directory flushed
/// again. Readers, and a machine that loses power or a process killed at any moment, see
/// either the old file or the complete new one; if `body` or any step throws, the
/// temporary file is removed and an existing `path` is left untouched. After a
/// successful save the temporaries of `path` left by writers that died (their pid is no
/// longer alive) are removed; those of live writers are kept. Saves of one path from
/// several threads or processes are safe: the last rename wins.
///
///     try writeFileAtomically(to: "model.safetensors") { w in try w.write(header); try w.write(data) }
public func writeFileAtomically(to path: String, _ body: (AtomicFileWriter) throws -> Void) throws {
    let (created, temporary, directory, name) = try createTemporaryFile(for: path)
    var fd = created, renamed = false
    defer {
        if fd >= 0 { close(fd) }
        if !renamed { unlink(temporary) }
    }
    try body(AtomicFileWriter(fd: fd, path: temporary))
    if fsync(fd) != 0 { throw FileIOError("fsync", temporary) }
    let closed = close(fd)
    fd = -1
    if closed != 0 { throw FileIOError("close", temporary) }
    // The directory is flushed before the rename (the temporary's entry is durable) and
    // after it (the rename is); best effort, as the new file is complete either way.
    let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    defer { if directoryFD >= 0 { close(directoryFD) } }
    if directoryFD >= 0 { _ = fsync(directoryFD) }
    if rename(temporary, path) != 0 { throw FileIOError("rename \(temporary) to", path) }
    renamed = true
    if directoryFD >= 0 { _ = fsync(directoryFD) }
    removeStaleTemporaries(of: name, in: directory)
}

/// How the temporary files of `name` begin (the writer's pid and a random number follow).
func temporaryPrefix(_ name: String) -> String { ".\(name).tmp-" }

/// Removes the temporary files of `name` in `directory` whose writer, the pid in the
/// name, is no longer alive (it was killed mid-save). A pid that is alive, or that
/// `kill(pid, 0)` may not probe (another user's), keeps its file; a reused pid only
/// keeps a stale file longer. (A writer in another pid namespace sharing the directory
/// looks dead; its save then fails with a thrown error, never a damaged file.)
private func removeStaleTemporaries(of name: String, in directory: String) {
    guard let dir = opendir(directory) else { return }
    defer { closedir(dir) }
    let prefix = temporaryPrefix(name)
    var stale: [String] = []
    while let entry = readdir(dir) {
        let entryName = withUnsafePointer(to: &entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { String(cString: $0) }
        }
        guard entryName.hasPrefix(prefix) else { continue }
        let parts = entryName.dropFirst(prefix.count).split(separator: "-")
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, UInt32(parts[1]) != nil else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { stale.append(entryName) }
    }
    for file in stale { unlink("\(directory)/\(file)") }
}

/// Checks now that `writeFileAtomically(to: path)` can succeed later, so that a long
/// computation whose result goes there is refused before it starts: throws the
/// `FileIOError` a write would (a missing or read-only directory, say), or `EISDIR` when
/// `path` is a directory. Creates and removes the temporary file a write would; `path`
/// itself is not touched.
///
///     try checkAtomicWrite(to: "/nonexistent/dir/model.safetensors")
///     // throws "create temporary file for /nonexistent/dir/model.safetensors: No such file or directory"
public func checkAtomicWrite(to path: String) throws {
    var st = stat()
    if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { throw FileIOError("write", path, code: EISDIR) }
    let (fd, temporary, _, _) = try createTemporaryFile(for: path)
    close(fd)
    unlink(temporary)
}

/// A new, empty temporary file next to `path` (same directory, hidden, unique name),
/// open for writing (named `temporaryPrefix(name)`, the pid and a random number); also
/// returns its name, the directory and `path`'s file name.
private func createTemporaryFile(for path: String) throws -> (fd: Int32, temporary: String, directory: String, name: String) {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    if name.isEmpty || name == "." || name == ".." { throw FileIOError("write", path, code: EISDIR) }
    var temporary = "", fd: Int32 = -1
    for _ in 0..<8 where fd < 0 {
        temporary = "\(directory)/\(temporaryPrefix(name))\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        if fd < 0 && errno != EEXIST { break }
    }
    if fd < 0 { throw FileIOError("create temporary file for", path) }
    return (fd, temporary, directory, name)
}

/// `mkdir -p path`: creates `path` and every missing folder above it (mode 0755); a
/// failure throws `FileIOError("create directory", folder)` for the folder at fault.
///
///     try makeDirectories("runs/mlp/2024")
package func makeDirectories(_ path: String) throws {
    var prefix = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        prefix += "/" + part
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw FileIOError("create directory", prefix) }
    }
}

/// Writes all of `bytes` to the open file `fd`, retrying short writes and interrupts; a
/// failure throws `FileIOError("write", path)`.
///
///     try writeAll(fd, buffer, path: "events.out.tfevents.1.host")
package func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
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

/// Writes `bytes` to `path` atomically (see `writeFileAtomically(to:_:)`).
///
///     try writeFileAtomically(Array("hello\n".utf8), to: "/tmp/greeting.txt")
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    try writeFileAtomically(to: path) { try $0.write(bytes) }
}
