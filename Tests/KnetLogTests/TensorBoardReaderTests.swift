import Foundation
import XCTest
import Knet
import KnetLog

/// The event file read back by TensorBoard's own Python reader (`pip install
/// tensorboard`): its EventAccumulator must see the tags, steps, values and wall times
/// that were logged. Skipped, with a notice, where `import tensorboard` fails.
final class TensorBoardReaderTests: XCTestCase {
    func testTensorBoardReadsTheScalars() throws {
        guard (try? runProcess(["python3", "-c", "import tensorboard"], collectOutput: true))?.status == 0 else {
            print("note: TensorBoardReaderTests skipped: python3 cannot import tensorboard (pip install tensorboard)")
            throw XCTSkip("python3 cannot import tensorboard")
        }
        let dir = try temporaryFolder(self, "tensorboard")
        var t = 1_700_000_000.5
        let log = try TrainingLog(logdir: dir) { t += 0.25; return t }
        for step in stride(from: 10, through: 60, by: 10) { try log.add("loss/step", 2.0 / Double(step), step: step) }
        try log.add([("loss/epoch", 0.123456), ("accuracy/trn", 0.9), ("accuracy/tst", 0.875)], step: 60)
        try log.add([("loss/epoch", 0.05), ("accuracy/trn", 0.95), ("accuracy/tst", 0.9375)], step: 120)
        try log.close()

        let script = """
        import json, sys
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        acc = EventAccumulator(sys.argv[1])
        acc.Reload()
        print(json.dumps({tag: [[e.step, e.value, e.wall_time] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}))
        """
        let result = try runProcess(["python3", "-c", script, try XCTUnwrap(log.eventFile)], collectOutput: true)
        XCTAssertEqual(result.status, 0, result.stderr)
        let read = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [[Double]]], result.stdout)
        var expected: [String: [ScalarRecord]] = [:]
        for r in log.records { expected[r.tag, default: []].append(r) }
        XCTAssertEqual(Set(read.keys), Set(expected.keys))
        for (tag, records) in expected {
            let events = try XCTUnwrap(read[tag])
            XCTAssertEqual(events.map { Int($0[0]) }, records.map(\.step), tag)
            XCTAssertEqual(events.map { Float($0[1]) }, records.map { Float($0.value) }, tag)   // simple_value is a float
            XCTAssertEqual(events.map { $0[2] }, records.map(\.wallTime), tag)
        }
    }
}
