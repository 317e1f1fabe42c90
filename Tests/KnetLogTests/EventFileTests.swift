import Foundation
import XCTest
import Knet
@testable import KnetLog

/// The event files of `TrainingLog`, read back in Swift: the name, the framing (lengths
/// and CRCs checked by hand here, not by `TFRecord.split`), the Events, and that every
/// record is in the file as soon as `add` returns.
final class EventFileTests: XCTestCase {
    func testFileNameAndFirstRecord() throws {
        let dir = try temporaryFolder(self, "name")
        let clock = FakeClock()
        let log = try TrainingLog(logdir: dir + "/runs/a", clock: clock.tick)
        let file = try XCTUnwrap(log.eventFile)
        XCTAssertEqual(file, dir + "/runs/a/events.out.tfevents.1700000000.\(hostName())")
        try log.close()
        let events = try decodedEvents(file)
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(events[0].fileVersion, "brain.Event:2")
        XCTAssertEqual(events[0].wallTime, 1_700_000_000.25)
        XCTAssertEqual(events[0].sourceMetadata.writer, "knet-swift")
        // a second log started in the same second gets its own file
        let again = try TrainingLog(logdir: dir + "/runs/a", clock: { 1_700_000_000.5 })
        XCTAssertEqual(again.eventFile, file + ".1")
    }

    func testRecordsAreFramedAndHoldTheScalars() throws {
        let dir = try temporaryFolder(self, "frames")
        let clock = FakeClock()
        let log = try TrainingLog(logdir: dir, clock: clock.tick)
        try log.add("loss/step", 2.5, step: 10)
        try log.add([("accuracy/trn", 0.75), ("accuracy/tst", 0.625)], step: 600)
        try log.close()
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(log.eventFile))))
        var offset = 0, payloads: [[UInt8]] = []
        while offset < bytes.count {                      // framing by hand
            let length = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << ($1 * 8) })
            XCTAssertEqual(le32(bytes, offset + 8), CRC32C.masked(CRC32C.checksum(bytes[offset..<(offset + 8)])), "length CRC at \(offset)")
            let data = Array(bytes[(offset + 12)..<(offset + 12 + length)])
            XCTAssertEqual(le32(bytes, offset + 12 + length), CRC32C.masked(CRC32C.checksum(data)), "data CRC at \(offset)")
            payloads.append(data)
            offset += 16 + length
        }
        XCTAssertEqual(offset, bytes.count)
        XCTAssertEqual(payloads.count, 3)
        let events = try payloads.map { try Tensorboard_Event(serializedBytes: $0) }
        XCTAssertEqual(events[1].step, 10)
        XCTAssertEqual(events[1].wallTime, 1_700_000_001.25)
        XCTAssertEqual(events[1].summary.value.map(\.tag), ["loss/step"])
        XCTAssertEqual(events[1].summary.value.map(\.simpleValue), [2.5])
        XCTAssertEqual(events[2].step, 600)
        XCTAssertEqual(events[2].summary.value.map(\.tag), ["accuracy/trn", "accuracy/tst"])
        XCTAssertEqual(events[2].summary.value.map(\.simpleValue), [0.75, 0.625])
        // the public reader gives the same records the log kept
        XCTAssertEqual(try readEventScalars(log.eventFile!), log.records)
        XCTAssertEqual(log.records.map(\.tag), ["loss/step", "accuracy/trn", "accuracy/tst"])
    }

    func testEveryRecordIsInTheFileWhenAddReturns() throws {
        let dir = try temporaryFolder(self, "flush")
        let log = try TrainingLog(logdir: dir)
        let file = try XCTUnwrap(log.eventFile)
        for step in 1...5 {
            try log.add("loss/step", Double(step), step: step)
            // read by another descriptor while the log is still open, as a crash would leave it
            XCTAssertEqual(try readEventScalars(file).map(\.step), Array(1...step))
        }
    }

    func testDamagedOrForeignFilesAreRefused() throws {
        let dir = try temporaryFolder(self, "damaged")
        let log = try TrainingLog(logdir: dir)
        try log.add("loss/step", 1, step: 1)
        try log.close()
        let file = try XCTUnwrap(log.eventFile)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[bytes.count - 6] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try readEventScalars(file)) { XCTAssert($0 is TFRecordError, "\($0)") }
        let foreign = dir + "/foreign"
        try Data(TFRecord.frame([])).write(to: URL(fileURLWithPath: foreign))
        XCTAssertThrowsError(try readEventScalars(foreign)) {
            XCTAssertEqual($0 as? TrainingLogError, .notAnEventFile(path: foreign))
        }
    }

    func testUnusableFoldersAreTypedErrors() throws {
        let dir = try temporaryFolder(self, "errors")
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/file"))
        XCTAssertThrowsError(try TrainingLog(logdir: dir + "/file/runs")) { error in
            guard case .logdir(let path, let reason)? = error as? TrainingLogError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, dir + "/file/runs")
            XCTAssert(reason.contains("Not a directory"), reason)
        }
        XCTAssertThrowsError(try TrainingLog(plot: "/nonexistent/dir/curve.svg")) { error in
            XCTAssertEqual("\(error)", "cannot write the plot /nonexistent/dir/curve.svg: create temporary file for "
                           + "/nonexistent/dir/curve.svg: No such file or directory")
        }
    }

    private func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        XCTAssertEqual(gethostname(&buffer, 255), 0)
        return String(cString: buffer)
    }

    private func decodedEvents(_ path: String) throws -> [Tensorboard_Event] {
        try TFRecord.split(Array(try Data(contentsOf: URL(fileURLWithPath: path)))).map { try Tensorboard_Event(serializedBytes: $0) }
    }
}
