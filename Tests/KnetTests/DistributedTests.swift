import Foundation
import XCTest
@testable import Knet

/// `Distributed` in this process (a job of one: `swift test` is not started by mpirun)
/// and in jobs of two processes: `mpirun -np 2` of this test binary running
/// `DistributedWorker` (skipped with a notice where mpirun or OpenMPI is missing).
final class DistributedTests: XCTestCase {
    // MARK: a job of one

    func testAProcessAloneIsAJobOfOne() {
        XCTAssertFalse(launchedByMPI([:]))
        XCTAssertTrue(launchedByMPI(["OMPI_COMM_WORLD_SIZE": "2"]))
        XCTAssertTrue(launchedByMPI(["PMIX_RANK": "0"]))
        guard !Distributed.isLaunchedByMPI else { return print("DistributedTests: this test process runs under mpirun; skipping") }
        XCTAssertEqual(Distributed.initialize().size, 1)
        XCTAssertEqual(Distributed.rank, 0)
        XCTAssertTrue(Distributed.isPrimary)
        XCTAssertEqual(Distributed.summary, "one process (not started by mpirun)")
        Distributed.barrier()
        for op in AllReduceOp.allCases {
            let x = Tensor([1, -2, 3], dtype: .float64)
            Distributed.allReduce(x, op)
            XCTAssertEqual([Double](x), [1, -2, 3], "\(op) of one process is the identity")
        }
        let m = Tensor([1, 2, 3, 4], shape: [2, 2])
        Distributed.broadcast(m[0, .all])
        XCTAssertEqual([Double](m), [1, 2, 3, 4])
        let g = Distributed.allGather(m)
        XCTAssertEqual(g.shape, [2, 2])
        XCTAssertEqual([Double](g), [1, 2, 3, 4])
        XCTAssertEqual(Distributed.allGather(Tensor(scalar: 7)).shape, [1])
        assertKnetError("broadcast: root 1 is not a rank of this job of 1") { Distributed.broadcast(m, root: 1) }
    }

    func testDifferentiableAllReduceComposesWithGrad() {
        let x = Tensor([1, 2, 3], dtype: .float64), c = Tensor([2, -1, 4], dtype: .float64)
        for op in AllReduceOp.allCases {
            let f = { (w: Tensor) in sum(allReduce(w .* x, op) .* c) }
            XCTAssertEqual(f(Tensor([1, 1, 1], dtype: .float64)).scalar, 12)
            let df = grad(f)
            let dw = df(Tensor([1, 1, 1], dtype: .float64))
            XCTAssertEqual([Double](dw), [2, -2, 12], "\(op): with one process the gradient is x .* c")
            let y = Tensor([5, 6, 7], dtype: .float64)
            _ = allReduce(y, op)
            XCTAssertEqual([Double](y), [5, 6, 7], "the differentiable allReduce leaves its argument alone")
        }
        // Second order: d/dw of the gradient of sum(allReduce(w)²) = 2.
        let inner = grad { (v: Tensor) in sum(abs2(allReduce(v))) }
        let g = grad { (w: Tensor) in sum(inner(w)) }
        XCTAssertEqual([Double](g(Tensor([3, 4], dtype: .float64))), [2, 2])
    }

    func testMPIBindingRejectsOtherLibraries() {
        XCTAssertNil(MPILibrary.load(["libknet-no-such-mpi.so.40"]))
        XCTAssertNil(MPILibrary.load(["libm.so.6"]), "a library without OpenMPI's symbols is not MPI")
        guard let mpi = MPILibrary.load() else { return print("DistributedTests: OpenMPI (libmpi.so.40) is not installed; binding not checked") }
        XCTAssertTrue(mpi.library.contains("libmpi"))
        XCTAssertNotEqual(mpi.datatype(.float32), mpi.datatype(.float64))
        XCTAssertEqual(mpi.operation(.mean), mpi.sum)
        XCTAssertNotEqual(mpi.operation(.max), mpi.operation(.min))
    }

    // MARK: jobs of two processes

    func testCollectivesAcrossTwoProcesses() throws {
        let job = try MPIJob.run(.collectives)
        job.assertSucceeded(scenario: "collectives")
    }

    func testDataParallelEqualsOneProcessOnWholeBatches() throws {
        let job = try MPIJob.run(.equivalence)
        job.assertSucceeded(scenario: "equivalence")
    }

    func testARankThatThrowsEndsTheJobNamingIt() throws {
        let job = try MPIJob.run(.rankThrows)
        job.assertAborted(saying: "Knet: rank 1 of 2: rank one gives up; aborting the job")
    }

    func testAUsageErrorOnOneRankEndsTheJob() throws {
        let job = try MPIJob.run(.usageError)
        job.assertAborted(saying: "Knet: rank 1 of 2: *: ")
    }

    func testARankThatExitsEndsTheJob() throws {
        let job = try MPIJob.run(.rankExits)
        job.assertAborted(saying: "Knet: rank 1 of 2 exited with status 3; aborting the job")
    }
}

/// One `mpirun -np 2` job of this test binary's `DistributedWorker` (one thread per
/// process, a time limit of `limit` seconds).
struct MPIJob {
    let status: Int32
    let output: String
    let seconds: Double

    /// The time limit of a job.
    static let limit = 180

    /// Runs `scenario`; throws `XCTSkip` (with a notice) where mpirun or OpenMPI is missing.
    static func run(_ scenario: DistributedScenario, processes: Int = 2) throws -> MPIJob {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        guard let mpirun = path.split(separator: ":").map({ "\($0)/mpirun" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            print("DistributedTests: mpirun not found; the \(scenario) job is skipped (apt-get install openmpi-bin libopenmpi-dev)")
            throw XCTSkip("mpirun not found")
        }
        guard MPILibrary.load() != nil else {
            print("DistributedTests: OpenMPI's libmpi.so.40 does not load; the \(scenario) job is skipped")
            throw XCTSkip("libmpi.so.40 not found")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("knet-mpi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let environment = ["KNET_TEST_MPI_SCENARIO=\(scenario.rawValue)", "KNET_TEST_MPI_DIR=\(folder)", "KNET_THREADS=1"]
        let timeout = path.split(separator: ":").map { "\($0)/timeout" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        let command = (timeout.map { [$0, "-k", "5", "\(limit)"] } ?? []) + [mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                       "--mca", "btl_vader_single_copy_mechanism", "none", "-np", "\(processes)"]
            + environment.flatMap { ["-x", $0] } + [binary, "KnetTests.DistributedWorker/testWorker"]
        for variable in environment { putenv(strdup(variable)) }
        defer { for variable in environment { unsetenv(String(variable.split(separator: "=")[0])) } }
        let start = Date()
        let result = try runProcess(command, collectOutput: true)
        return MPIJob(status: result.status, output: result.stdout + result.stderr, seconds: Date().timeIntervalSince(start))
    }

    /// Asserts that both ranks finished the scenario and the job exited with status 0.
    func assertSucceeded(scenario: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(status, 0, "the job failed:\n\(output)", file: file, line: line)
        for rank in 0..<2 where !output.contains("rank \(rank) of 2: \(scenario) finished") {
            XCTFail("rank \(rank) did not finish:\n\(output)", file: file, line: line)
        }
    }

    /// Asserts that the job ended early with a failure status and `message` in its output.
    func assertAborted(saying message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(status, 0, "the job should have failed:\n\(output)", file: file, line: line)
        XCTAssertNotEqual(status, 124, "the job hung until the time limit:\n\(output)", file: file, line: line)
        XCTAssertTrue(output.contains(message), "no \"\(message)\" in:\n\(output)", file: file, line: line)
        XCTAssertFalse(output.contains("finished"), "a rank went on after the failure:\n\(output)", file: file, line: line)
        XCTAssertLessThan(seconds, Double(MPIJob.limit) / 2, file: file, line: line)
    }
}
