import Foundation
import XCTest
@testable import Knet
#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints survive a writer killed at any moment: a child process (this test binary
/// re-run in writer mode) saves version after version over one checkpoint and is sent
/// SIGKILL at random moments; after every kill the file is a complete checkpoint of the
/// last or a later version, and the next successful save leaves no temporary behind.
final class CheckpointKillTests: XCTestCase {
    static let pathVariable = "KNET_TEST_SAVE_LOOP", fromVariable = "KNET_TEST_SAVE_FROM"
    static let ready = "KNET-SAVE-LOOP-READY\n"
    /// Kills per run; KNET_KILL_ROUNDS raises it for a longer check.
    static let rounds = ProcessInfo.processInfo.environment["KNET_KILL_ROUNDS"].flatMap { Int($0) } ?? 60

    /// The model of every version: w [512, 512] all `version`, b [512] all `-version`,
    /// with the state of one Adam step (about 3 MB in all).
    static func model() -> (w: [Tensor], opt: [any Optimizer]) {
        let w = [Tensor.zeros(512, 512), Tensor.zeros(512)]
        var opt = optimizers(w, Adam())
        var stepped = w
        update(&stepped, [Tensor.ones(512, 512), Tensor.ones(512)], &opt)
        return (w, opt)
    }

    /// Saves `model` as version `version` (its weights set to ±version first). The writer
    /// makes the model once, so its loop is nearly all saving and a random kill usually
    /// lands inside a save (a debug build's Adam step would otherwise take most of it).
    static func saveVersion(_ path: String, _ version: Int, _ model: (w: [Tensor], opt: [any Optimizer]) = model()) throws {
        model.w[0].assign(Double(version))
        model.w[1].assign(-Double(version))
        try saveCheckpoint(path, params: model.w, optimizers: model.opt, metadata: ["version": "\(version)"])
    }

    /// The version the checkpoint at `path` holds, after checking that it loads and that
    /// its data agrees with its metadata (a torn write would not).
    func loadedVersion(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let opt = optimizers([Tensor.zeros(512, 512), Tensor.zeros(512)], Adam())
        let (w, meta) = try loadCheckpoint(path, into: [Tensor.zeros(512, 512), Tensor.zeros(512)], optimizers: opt)
        let version = try XCTUnwrap(meta["version"].flatMap { Int($0) }, file: file, line: line)
        XCTAssertTrue([Float](w[0]).allSatisfy { $0 == Float(version) }, "w of version \(version)", file: file, line: line)
        XCTAssertTrue([Float](w[1]).allSatisfy { $0 == -Float(version) }, "b of version \(version)", file: file, line: line)
        XCTAssertEqual(opt[0].state["m"]?.shape, [512, 512], file: file, line: line)
        return version
    }

    /// The writer: does nothing unless KNET_TEST_SAVE_LOOP names a checkpoint; then saves
    /// versions KNET_TEST_SAVE_FROM, +1, ... over it until killed, after announcing
    /// itself on standard output.
    func testSaveLoopChild() throws {
        let env = ProcessInfo.processInfo.environment
        guard let path = env[Self.pathVariable], var version = env[Self.fromVariable].flatMap({ Int($0) }) else { return }
        let model = Self.model()               // made before announcing
        _ = Self.ready.withCString { write(1, $0, strlen($0)) }
        while true {
            try Self.saveVersion(path, version, model)
            version += 1
        }
    }

    func testKilledSavesLeaveTheOldOrTheNewCheckpoint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knet-kill-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ckpt.safetensors"
        try Self.saveVersion(path, 0)
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var g = SplitMix(seed: 17)
        var last = 0, advanced = 0, leftTemporaries = 0, deadPid: pid_t = 0
        for round in 0..<Self.rounds {
            let child = try spawnProcess([exe, "KnetTests.CheckpointKillTests/testSaveLoopChild"],
                                         environment: [Self.pathVariable: path, Self.fromVariable: "\(last + 1)"], pipeOutput: true)
            let announced = waitFor(Self.ready, on: child.stdout)
            usleep(UInt32.random(in: 0..<60_000, using: &g))      // somewhere in the first few saves
            child.signal(SIGKILL)
            let status = try child.wait()
            deadPid = child.pid
            let errors = drain(child.stderr)
            close(child.stdout); close(child.stderr)
            guard announced, status == 128 + SIGKILL else {
                return XCTFail("round \(round): the writer ended with status \(status) before the kill: \(errors)")
            }
            let version = try loadedVersion(path)
            XCTAssertGreaterThanOrEqual(version, last, "round \(round): the checkpoint went back to an older version")
            if version > last { advanced += 1 }
            last = version
            let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            if names.contains(where: { $0.hasPrefix(temporaryPrefix("ckpt.safetensors")) }) { leftTemporaries += 1 }
        }
        print("CheckpointKillTests: \(Self.rounds) kills, the version advanced in \(advanced), a temporary was left in \(leftTemporaries); last version \(last)")
        XCTAssertGreaterThan(advanced, 0, "no kill came after a completed save: the test did not exercise anything")
        XCTAssertGreaterThan(leftTemporaries, 0, "no kill landed inside a save")

        // A live writer's temporary (ours) is kept, every dead writer's goes with the next save
        // (one more, of the last writer killed, makes sure there is one).
        let live = "\(dir)/\(temporaryPrefix("ckpt.safetensors"))\(getpid())-7"
        let dead = "\(dir)/\(temporaryPrefix("ckpt.safetensors"))\(deadPid)-9"
        XCTAssertTrue(FileManager.default.createFile(atPath: live, contents: Data([1])))
        XCTAssertTrue(FileManager.default.createFile(atPath: dead, contents: Data([1])))
        try Self.saveVersion(path, last + 1)
        XCTAssertEqual(try loadedVersion(path), last + 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(),
                       ["ckpt.safetensors", (live as NSString).lastPathComponent].sorted())
    }

    /// Reads `fd` until `marker` has appeared (true) or the pipe closes (false).
    private func waitFor(_ marker: String, on fd: Int32) -> Bool {
        var seen: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            seen += buffer[0..<n]
            if String(decoding: seen, as: UTF8.self).contains(marker) { return true }
        }
    }

    /// What is left to read on `fd` (the writer has ended).
    private func drain(_ fd: Int32) -> String {
        var all: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return String(decoding: all, as: UTF8.self) }
            all += buffer[0..<n]
        }
    }
}
