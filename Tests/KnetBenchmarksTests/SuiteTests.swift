import Foundation
import XCTest
@testable import KnetBenchmarks
import KnetGEMM
import Knet

/// The benchmark suite in smoke mode (every case's real code on tiny synthetic data, so
/// the suite cannot rot in CI), the peer runner against fake peer scripts, and the reports.
final class SuiteTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("knet-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    /// Writes a fake peer "script" (run by /bin/sh) into the test folder.
    func writePeer(_ name: String, _ script: String) throws {
        try script.write(toFile: "\(folder)/\(name)_bench.py", atomically: true, encoding: .utf8)
    }

    func testSmokeSuiteRunsEveryCaseAndMicroBenchmark() throws {
        var lines: [String] = []
        let result = try runSuite(SuiteOptions(runs: 1, source: .synthetic, scale: .smoke)) { lines.append($0) }
        XCTAssertEqual(result.rows.map(\.name), ["linreg", "softmax", "mlp", "lenet", "charlm",
                                                 "mlp-record-fwd", "mlp-record-rec", "mlp-record-fwdbwd"])
        XCTAssertEqual(lines.count, TableCase.all.count)
        for row in result.rows {
            XCTAssertEqual(row.ours.count, 1, row.name)
            XCTAssert(row.seconds > 0 && row.seconds.isFinite, "\(row.name): \(row.seconds) s")
            XCTAssert(row.ours[0].loss.isFinite, "\(row.name): loss \(row.ours[0].loss)")
            XCTAssertEqual(row.verdict, "no peer measured")
        }
        // linreg on y = w·x + 22.5 + noise starts near 500 and falls fast at lr 0.1.
        XCTAssertLessThan(result.row("linreg")!.ours[0].loss, 100)
        // The classifiers report accuracies; the CharLM's loss is a per-character nll.
        for name in ["softmax", "mlp", "lenet"] {
            let m = result.row(name)!.ours[0]
            XCTAssert((0...1).contains(m.testAccuracy ?? -1) && (0...1).contains(m.trainAccuracy ?? -1), name)
        }
        XCTAssertLessThan(result.row("charlm")!.ours[0].loss, log(20.0) + 1)
        // The three mlp-record variants evaluate the same untrained model.
        let losses = ["fwd", "rec", "fwdbwd"].map { result.row("mlp-record-\($0)")!.ours[0].loss }
        XCTAssertEqual(losses[0], losses[1])
        XCTAssertEqual(losses[0], losses[2])
        XCTAssertNotNil(result.recordingTable)
        let peak: Set<String> = SwiftGEMM.isSupported ? ["FMA peak"] : []
        XCTAssertEqual(Set(result.micro.map(\.section)), peak.union(["per-op overhead", "SGEMM", "elementwise"]))
        for m in result.micro { XCTAssert(m.value > 0 && m.value.isFinite, "\(m.name): \(m.value)") }
        // Each SIMD GEMM row is a fraction of its instruction set's measured peak.
        for m in result.micro where m.name.contains("Swift GEMM AVX") {
            XCTAssert((m.fractionOfPeak ?? -1) > 0, "\(m.name): \(String(describing: m.fractionOfPeak))")
        }
    }

    func testPeerOutputParsing() {
        let out = parsePeerOutput("""
            # framework=torch version=2.13.0+cpu threads=2 interop_threads=2 data=real
            # data loaded in 1.20s
            softmax seconds=1.880 final_loss=0.2751 train_acc=0.9189 test_acc=0.9148 warmup=0.0123 other_cores=0.02 own_cores=1.95
            mlp-record ratios rec/fwd=1.05 fwdbwd/fwd=3.0
            garbage line
            """)
        XCTAssertEqual(out.header["version"], "2.13.0+cpu")
        XCTAssertEqual(out.header["threads"], "2")
        XCTAssertEqual(Array(out.rows.keys), ["softmax"])
        XCTAssertEqual(out.rows["softmax"], RunResult(seconds: 1.88, loss: 0.2751, trainAccuracy: 0.9189,
                                                        testAccuracy: 0.9148, otherCores: 0.02))
    }

    func testPeerArgumentsFollowTheScaleAndSource() {
        let runner = PeerRunner(directory: "/p")
        XCTAssertEqual(runner.scriptPath("jax"), "/p/jax_bench.py")
        XCTAssertEqual(runner.arguments(case: "lenet", source: .synthetic, scale: .smoke),
                       ["--only", "lenet", "--synthetic", "--max-batches", "2"])
        XCTAssertEqual(runner.arguments(case: "lenet", source: .files("/d"), scale: .full), ["--only", "lenet", "--data", "/d"])
        XCTAssertEqual(runner.arguments(case: "mlp-record", source: .files("/d"), scale: .full),
                       ["--only", "mlp-record", "--data", "/d", "--reps", "1"])
    }

    func testSuiteAlternatesWithPeersAndReportsRatiosAndFailures() throws {
        // A fast fake torch (every row 100 s, so ours is faster) and a jax that is not installed.
        try writePeer("torch", """
            echo "# framework=torch version=9.9 threads=2"
            echo "# data loaded in 0.1s"
            case "$2" in
              mlp-record)
                echo "mlp-record-fwd seconds=100 final_loss=5 other_cores=0.00"
                echo "mlp-record-rec seconds=110 final_loss=5 other_cores=0.00"
                echo "mlp-record-fwdbwd seconds=300 final_loss=5 other_cores=0.00"
                echo "mlp-record ratios rec/fwd=1.1";;
              *) echo "$2 seconds=100 final_loss=1.5 train_acc=0.9 test_acc=0.91 other_cores=0.01";;
            esac
            """)
        try writePeer("jax", """
            echo "ModuleNotFoundError: No module named 'jax'" >&2
            exit 1
            """)
        let cases = TableCase.all.filter { ["linreg", "mlp-record"].contains($0.name) }
        let options = SuiteOptions(cases: cases, runs: 2, peers: ["torch", "jax"],
                                   runner: PeerRunner(directory: folder, interpreter: ["/bin/sh"]),
                                   source: .synthetic, scale: .smoke, micro: false)
        var log: [String] = []
        let result = try runSuite(options) { log.append($0) }
        XCTAssertEqual(log.count, 4)
        XCTAssert(log[0].hasPrefix("linreg run 1/2: ours ") && log[0].contains("; torch 100.00 s; jax failed"), log[0])
        XCTAssertFalse(log[1].contains("jax"), "a peer that failed is not retried within the case: \(log[1])")
        XCTAssertEqual(result.peerHeaders["torch"]?["version"], "9.9")
        for row in result.rows {
            XCTAssertEqual(row.peers["torch"]?.runs.count, 2, row.name)
            XCTAssertEqual(row.ratio(to: "torch"), row.seconds / row.peers["torch"]!.seconds)
            XCTAssert(row.verdict.hasPrefix("faster than every peer: ×0.") && row.verdict.hasSuffix(" of torch"), row.verdict)
            XCTAssertEqual(row.peers["jax"]?.runs.count, 0)
            XCTAssertEqual(row.peers["jax"]?.failure, "exit status 1: ModuleNotFoundError: No module named 'jax'")
        }
        XCTAssertEqual(result.row("mlp-record-rec")?.peers["torch"]?.seconds, 110)
        let recording = try XCTUnwrap(result.recordingTable)
        XCTAssertEqual(recording.rows[1], ["torch", "100.000", "110.000", "300.000", "1.10", "3.00"])
        XCTAssertEqual(result.peerFailures, ["jax (linreg): exit status 1: ModuleNotFoundError: No module named 'jax'"])   // the same reason once
    }

    func testMissingPeerScriptIsReportedAndNeverRetried() throws {
        let options = SuiteOptions(cases: TableCase.all.filter { $0.name == "linreg" }, runs: 2, peers: ["torch"],
                                   runner: PeerRunner(directory: folder + "/nowhere"),
                                   source: .synthetic, scale: .smoke, micro: false)
        var log: [String] = []
        let result = try runSuite(options) { log.append($0) }
        XCTAssert(log[0].contains("torch failed (\(folder)/nowhere/torch_bench.py not found)"), log[0])
        XCTAssertFalse(log[1].contains("torch"))
        XCTAssertEqual(result.rows[0].peers["torch"]?.failure, "\(folder)/nowhere/torch_bench.py not found")
        XCTAssertEqual(result.rows[0].verdict, "no peer measured")
        XCTAssertEqual(result.rows[0].ours.count, 2)
    }

    /// A case of the wider table: its own peer script (given `--smoke`), a rate from
    /// `items`, the ratio of seconds per item, a missing script that spoils no other case,
    /// and the report section "wide".
    func testWideCaseUsesItsOwnScriptAndRate() throws {
        try writePeer("torch_own", """
            echo "# framework=torch version=9.9 threads=2"
            [ "$3" = "--synthetic" ] && [ "$4" = "--smoke" ] || { echo "bad arguments: $*" >&2; exit 3; }
            echo "$2 seconds=4 final_loss=0.7 items=2000"
            """)
        let rated = TableCase(name: "rated", rows: ["rated"], summary: "1000 words",
                              peerScripts: ["torch": folder + "/torch_own_bench.py"], rate: .perSecond("words"),
                              run: { _ in ["rated": RunResult(seconds: 1, loss: 0.5, items: 1000)] })
        let orphan = TableCase(name: "orphan", rows: ["orphan"], summary: "no script", peerScripts: ["jax": "nowhere.py"],
                               rate: .secondsPer(1000, "images"), run: { _ in ["orphan": RunResult(seconds: 2, loss: 1, items: 500)] })
        var options = SuiteOptions(cases: [orphan, rated], runs: 1, peers: ["torch"],
                                   runner: PeerRunner(directory: folder + "/nowhere", interpreter: ["/bin/sh"]),
                                   source: .synthetic, scale: .smoke, micro: false)
        options.wide = true
        let result = try runSuite(options)
        XCTAssertEqual(result.row("orphan")?.peers["torch"]?.failure, "(torch has no script for orphan) not found")
        let row = try XCTUnwrap(result.row("rated"))
        XCTAssertEqual(row.peers["torch"]?.runs.first?.items, 2000)
        XCTAssertEqual(row.ratio(to: "torch"), 0.5, "1 s for 1000 words against 4 s for 2000")
        XCTAssertEqual(row.verdict, "faster than every peer: ×0.50 of torch")
        XCTAssertEqual(result.trainingTable.rows[0][2], "4.000 s/1000 images")
        XCTAssertEqual(result.trainingTable.rows[1].prefix(3), ["rated", "1.000", "1000 words/s"])
        XCTAssertEqual(result.trainingTable.rows[1][6], "500 words/s")
        XCTAssertEqual(result.reportKey, "wide")
        XCTAssert(result.markdown(command: "x", chartFile: nil).hasPrefix("## The seeds' wider table"))
        var fromFiles = result
        fromFiles.options.source = .files("/data")
        XCTAssert(fromFiles.markdown(command: "x", chartFile: nil).contains(
            "- Data: the real files under `/data` for each row whose data set is there, else synthetic data of the real shapes;"),
                  "a wide row falls back to synthetic data when its set is missing, and the report says so")
    }
}
