import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Knet
import KnetLog

/// What `knet` prints and logs while training: one epoch-line format for every model,
/// TensorBoard events and the SVG curve from `--logdir`/`--plot`, and stdout that reaches
/// a pipe line by line.
final class TrainingOutputTests: XCTestCase {
    static var data: TinyData!
    override class func setUp() { data = try! TinyData() }
    override class func tearDown() { data.remove() }
    var root: String { Self.data.root }

    /// `epoch N  name value ...  (S.s s)`: four decimals per value, the time last.
    let epochLinePattern = try! NSRegularExpression(pattern: #"^epoch [1-9][0-9]*(  [a-z]+ ([0-9]+\.[0-9]{4}|nan|inf))+  \([0-9]+\.[0-9] s\)$"#)

    func testEveryModelPrintsTheSameEpochLine() throws {
        let tiny = ["--data", root, "--epochs", "2", "--batchsize", "40"]
        let runs: [(model: String, arguments: [String], names: [String])] = [
            ("linreg", ["linreg", "--epochs", "2"], ["loss"]),
            ("softmax", ["softmax"] + tiny, ["loss", "trn", "tst"]),
            ("mlp", ["mlp", "--hidden", "8"] + tiny, ["loss", "trn", "tst"]),
            ("lenet", ["lenet"] + tiny, ["loss", "trn", "tst"]),
            ("charlm", ["charlm", "--data", root, "--epochs", "2", "--batchsize", "4", "--seqlen", "10", "--embed", "8",
                        "--hidden", "8", "--generate", "5"], ["loss", "trnppl", "tstppl"]),
        ]
        for run in runs {
            let r = try knet(run.arguments)
            XCTAssertEqual(r.status, 0, "\(run.model): \(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("epoch ") && !$0.hasPrefix("epoch 0") }
            XCTAssertEqual(lines.count, 2, "\(run.model): \(r.stdout)")
            for line in lines {
                XCTAssertEqual(epochLinePattern.numberOfMatches(in: line, range: NSRange(line.startIndex..., in: line)), 1,
                               "\(run.model): \(line)")
                let names = line.components(separatedBy: "  ").dropFirst().dropLast().map { $0.split(separator: " ")[0] }
                XCTAssertEqual(names.map(String.init), run.names, "\(run.model): \(line)")
            }
            XCTAssertFalse(r.stdout.contains("(:epoch"), "\(run.model): \(r.stdout)")
        }
    }

    func testLogdirAndPlotRecordWhatIsPrinted() throws {
        let logdir = root + "/runs/mlp-\(UUID().uuidString)", plot = root + "/mlp-\(UUID().uuidString).svg"
        let r = try knet(["mlp", "--data", root, "--epochs", "2", "--batchsize", "20", "--hidden", "8",
                          "--logdir", logdir, "--log-every", "2", "--plot", plot])
        XCTAssertEqual(r.status, 0, r.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: logdir)
        XCTAssertEqual(files.count, 1)
        let file = try XCTUnwrap(files.first)
        XCTAssert(file.hasPrefix("events.out.tfevents."), file)
        XCTAssert(r.stdout.contains("TensorBoard events in \(logdir)/\(file)"), r.stdout)
        let scalars = try readEventScalars(logdir + "/" + file)
        func steps(_ tag: String) -> [Int] { scalars.filter { $0.tag == tag }.map(\.step) }
        // 120 images in batches of 20: 6 steps per epoch, the loss of every 2nd step
        XCTAssertEqual(steps("loss/step"), [2, 4, 6, 8, 10, 12])
        XCTAssertEqual(steps("loss/epoch"), [6, 12])
        XCTAssertEqual(steps("accuracy/trn"), [0, 6, 12])
        XCTAssertEqual(steps("accuracy/tst"), [0, 6, 12])
        // the printed test accuracies are the logged ones
        let printed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.map { line in
            Double(line.components(separatedBy: "tst ")[1].prefix(6))!
        }
        let logged = scalars.filter { $0.tag == "accuracy/tst" }.map(\.value)
        XCTAssertEqual(printed.count, logged.count)
        for (p, l) in zip(printed, logged) { XCTAssertEqual(p, l, accuracy: 5e-5) }

        let svg = try String(contentsOfFile: plot, encoding: .utf8)
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssert(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 4, "loss/step, loss/epoch, accuracy/trn, accuracy/tst")
    }

    func testCharLMLogsPerplexity() throws {
        let logdir = root + "/runs/charlm-\(UUID().uuidString)"
        let r = try knet(["charlm", "--data", root, "--epochs", "1", "--batchsize", "4", "--seqlen", "10", "--embed", "8",
                          "--hidden", "8", "--generate", "0", "--logdir", logdir, "--log-every", "5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let file = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: logdir).first)
        let scalars = try readEventScalars(logdir + "/" + file)
        // 3600 training characters in 4 rows: (900 - 1) / 10 = 89 blocks, the loss of every 5th
        XCTAssertEqual(scalars.filter { $0.tag == "loss/step" }.map(\.step), Array(stride(from: 5, through: 85, by: 5)))
        XCTAssertEqual(Set(scalars.filter { $0.step == 89 }.map(\.tag)), ["loss/epoch", "perplexity/trn", "perplexity/tst"])
    }

    /// Epoch lines reach a pipe as they are printed, not when a 4 KiB buffer fills or the
    /// program ends: the first bytes through the pipe are whole lines, well under 4096.
    func testStdoutReachesAPipeLineByLine() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try knetProgram())
        process.arguments = ["mlp", "--data", root, "--epochs", "1000000", "--batchsize", "1", "--hidden", "4"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }
        let first = out.fileHandleForReading.availableData          // blocks until the first write reaches the pipe
        let text = String(decoding: first, as: UTF8.self)
        XCTAssert(process.isRunning, "the program should still be training")
        XCTAssertLessThan(first.count, 4096, text)
        XCTAssert(text.hasPrefix("mlp 784-4-10 on MNIST (120 training, 40 test images)"), text)
        XCTAssert(text.hasSuffix("\n"), text)
    }
}
