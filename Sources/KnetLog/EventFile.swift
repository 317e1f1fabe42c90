import Knet
import SwiftProtobuf
#if canImport(Glibc)
import Glibc
#endif

// TensorBoard event files: TFRecords of serialized `tensorboard.Event` messages, the
// first one holding the file version. Each record goes to the file with one write(2)
// as soon as it is made, so a crash of the process loses nothing already recorded;
// closing the file also fsyncs it.

/// An event file being written: created new (never appended to) in its folder.
final class EventFileWriter {
    /// The file's path, `<logdir>/events.out.tfevents.<unix time>.<hostname>`.
    let path: String
    private var fd: Int32

    /// Creates the event file in the existing folder `logdir` and writes its first
    /// record (`file_version: "brain.Event:2"`). A name taken already (two logs started
    /// in the same second) gets a `.1`, `.2`... suffix.
    init(logdir: String, wallTime: Double) throws {
        let base = "\(logdir)/events.out.tfevents.\(Int(wallTime)).\(hostName())"
        var candidate = base, descriptor: Int32 = -1
        for suffix in 0..<100 where descriptor < 0 {
            candidate = suffix == 0 ? base : "\(base).\(suffix)"
            descriptor = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
            if descriptor < 0 && errno != EEXIST { break }
        }
        guard descriptor >= 0 else { throw FileIOError("create", candidate) }
        path = candidate
        fd = descriptor
        var first = Tensorboard_Event()
        first.wallTime = wallTime
        first.fileVersion = "brain.Event:2"
        first.sourceMetadata.writer = "knet-swift"
        try write(first)
    }

    /// Appends `event` as one TFRecord, in one write.
    func write(_ event: Tensorboard_Event) throws {
        guard fd >= 0 else { throw FileIOError("write", path, code: EBADF) }
        let record = TFRecord.frame(try event.serializedBytes())
        try record.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    /// Flushes the file to disk and closes it; later writes throw.
    func close() throws {
        guard fd >= 0 else { return }
        defer { fd = -1 }
        if fsync(fd) != 0 { let e = FileIOError("fsync", path); Glibc.close(fd); throw e }
        if Glibc.close(fd) != 0 { throw FileIOError("close", path) }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }
}

/// This machine's name, as event file names carry it ("localhost" when unknown).
private func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
    let name = String(String(cString: buffer).map { $0 == "/" ? "_" : $0 })
    return name.isEmpty ? "localhost" : name
}

/// The scalars of a TensorBoard event file, in file order: every `simple_value` of every
/// Summary, with its event's step and wall time. Checks each record's framing (throws
/// `TFRecordError`), decodes each Event (throws SwiftProtobuf's `BinaryDecodingError` for
/// a damaged one) and requires the first to hold a `brain.Event:` file version
/// (`TrainingLogError.notAnEventFile` otherwise).
///
///     let scalars = try readEventScalars(log.eventFile!)   // [ScalarRecord(tag: "loss/step", step: 10, ...)]
public func readEventScalars(_ path: String) throws -> [ScalarRecord] {
    let bytes = try ReadOnlyFile(path) { _, _ in FileIOError("read", path, code: EIO) }.readAll()
    let events = try TFRecord.split(bytes).map { try Tensorboard_Event(serializedBytes: $0) }
    guard let first = events.first, first.fileVersion.hasPrefix("brain.Event:") else {
        throw TrainingLogError.notAnEventFile(path: path)
    }
    return events.flatMap { event in
        event.summary.value.compactMap { v -> ScalarRecord? in
            guard case .simpleValue(let x)? = v.value else { return nil }
            return ScalarRecord(tag: v.tag, step: Int(event.step), value: Double(x), wallTime: event.wallTime)
        }
    }
}
