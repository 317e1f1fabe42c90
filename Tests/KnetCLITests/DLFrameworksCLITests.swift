import XCTest
@testable import Knet

/// `knet cifar` and `knet imdb`: their flags are validated before any data is read or
/// made, and `knet imdb` trains on a few synthetic sequences end to end.
final class DLFrameworksCLITests: XCTestCase {
    func testFlagsAreRefusedWithTheUsage() throws {
        assertUsageError(try knet(["cifar"]), "Error: give --data FOLDER or --synthetic", "Usage: knet cifar")
        assertUsageError(try knet(["imdb", "--synthetic", "--limit", "0"]), "--limit must be positive, got 0", "Usage: knet imdb")
        assertUsageError(try knet(["cifar", "--synthetic", "--batchsize", "-1"]), "--batchsize must be positive, got -1")
        assertUsageError(try knet(["imdb", "--synthetic", "--limit", "10"]),
                         "Error: --batchsize 64 is larger than the 10 training instances", "Usage: knet imdb")
    }

    func testMissingCIFARFilesSayWhereToPutThem() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("knet-cifar-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let r = try knet(["cifar", "--data", folder])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("cifar-10-batches-bin/data_batch_1.bin not found"), r.stderr)
        XCTAssertTrue(r.stderr.contains("cifar-10-binary.tar.gz"), r.stderr)
    }

    func testIMDBTrainsOnSyntheticData() throws {
        let r = try knet(["imdb", "--synthetic", "--limit", "64", "--epochs", "1"], environment: ["KNET_QUIET_DEBUG": "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "IMDB GRU (64 training, 64 test), Adam(lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-08), batch 64")
        XCTAssertTrue(lines.contains { $0.hasPrefix("epoch 1  loss 0.") && $0.contains("tst 0.") }, r.stdout)
    }
}
