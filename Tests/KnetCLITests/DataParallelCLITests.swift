import Foundation
import XCTest
@testable import Knet

/// `knet` under `mpirun -np 2`, unchanged: one data-parallel job whose epoch lines are
/// printed once and equal one process's (the same accuracies; the loss is the job's
/// mean), and whose checkpoint rank 0 writes. Skipped with a notice without mpirun.
final class DataParallelCLITests: XCTestCase {
    static var data: TinyData!
    override class func setUp() { data = try! TinyData() }
    override class func tearDown() { data.remove() }

    private func mpirun() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        guard let found = path.split(separator: ":").map({ "\($0)/mpirun" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
              MPILibrary.load() != nil else {
            print("DataParallelCLITests: mpirun or OpenMPI's libmpi.so.40 not found; skipped (apt-get install openmpi-bin libopenmpi-dev)")
            throw XCTSkip("no OpenMPI")
        }
        return found
    }

    /// The epoch lines without their times.
    private func epochs(_ stdout: String) -> [String] {
        stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }
            .map { $0.replacingOccurrences(of: #"  \([0-9.]+ s\)$"#, with: "", options: .regularExpression) }
    }

    func testTwoProcessesPrintOnceAndMatchOne() throws {
        let mpirun = try mpirun()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("knet-dp-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let arguments = ["mlp", "--hidden", "8", "--data", Self.data.root, "--epochs", "2", "--batchsize", "40", "--optimizer", "sgd"]
        let one = try knet(arguments, environment: ["KNET_THREADS": "1"])
        XCTAssertEqual(one.status, 0, one.stderr)
        let job = try runProcess(["env", "-u", "KNET_DATA", "KNET_QUIET_DEBUG=1", "KNET_THREADS=1", mpirun, "--allow-run-as-root",
                                  "--oversubscribe", "--bind-to", "none", "-np", "2", try knetProgram()]
                                 + arguments + ["--save", folder + "/mlp.safetensors"], collectOutput: true)
        XCTAssertEqual(job.status, 0, job.stdout + job.stderr)
        XCTAssertEqual(job.stdout.components(separatedBy: "mlp 784-8-10 on MNIST").count, 2, "the header once:\n\(job.stdout)")
        let lines = epochs(job.stdout)
        XCTAssertEqual(lines.count, 3, job.stdout)
        XCTAssertEqual(lines.map { $0.replacingOccurrences(of: #"  loss \S+"#, with: "", options: .regularExpression) },
                       epochs(one.stdout).map { $0.replacingOccurrences(of: #"  loss \S+"#, with: "", options: .regularExpression) })
        // the job's mean loss: the same as one process's up to the order of the adds
        for (a, b) in zip(lines, epochs(one.stdout)) where a.contains("loss") {
            func loss(_ s: String) -> Double { Double(s.components(separatedBy: "loss ")[1].split(separator: " ")[0])! }
            XCTAssertEqual(loss(a), loss(b), accuracy: 2e-4, "\(a) vs \(b)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/mlp.safetensors"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["mlp.safetensors"], "no temporary left")
    }
}
