import XCTest
@testable import Knet

/// Each argument error of `knet` names the real problem, comes with the usage of the
/// subcommand that was run, and is found before any training starts.
final class ArgumentErrorTests: XCTestCase {
    static var data: TinyData!
    override class func setUp() { data = try! TinyData() }
    override class func tearDown() { data.remove() }
    var root: String { Self.data.root }

    func testNegativeNumbersReachValidation() throws {
        assertUsageError(try knet(["mlp", "--epochs", "-3"]), "Error: --epochs must be 0 or more, got -3", "Usage: knet mlp")
        assertUsageError(try knet(["linreg", "--lr", "-0.5"]), "Error: --lr must be a positive number, got -0.5", "Usage: knet linreg")
        assertUsageError(try knet(["--epochs", "-1"]), "--epochs must be 0 or more, got -1", "Usage: knet linreg")
        assertUsageError(try knet(["charlm", "--seqlen", "-7"]), "--seqlen must be positive, got -7", "Usage: knet charlm")
        assertUsageError(try knet(["lenet", "--batchsize", "-100"]), "--batchsize must be positive, got -100", "Usage: knet lenet")
        assertUsageError(try knet(["softmax", "--log-every", "0"]), "--log-every must be positive, got 0", "Usage: knet softmax")
        // a value that is no number still says so
        assertUsageError(try knet(["mlp", "--epochs", "x"]), "The value 'x' is invalid for '--epochs <epochs>'")
    }

    func testUnknownSubcommandListsTheSubcommands() throws {
        let r = try knet(["frobnicate"])
        assertUsageError(r, "Error: unknown subcommand 'frobnicate'; the subcommands are linreg, softmax, mlp, lenet, charlm, cifar, imdb, resnet50, rnnlm, tagger, treenn, info",
                         "Usage: knet <subcommand>", "See 'knet --help'")
        XCTAssertFalse(r.stderr.contains("linreg ["), "not linreg's usage: \(r.stderr)")
    }

    func testBatchLargerThanTheDataIsRefused() throws {
        assertUsageError(try knet(["mlp", "--data", root, "--batchsize", "1000"]),
                         "Error: --batchsize 1000 is larger than the 120 training images", "Usage: knet mlp")
        assertUsageError(try knet(["charlm", "--data", root, "--batchsize", "100", "--seqlen", "50"]),
                         "--batchsize 100 × --seqlen 50 needs at least 5100 training characters for one block; "
                         + "the training part of hiawatha has 3600", "Usage: knet charlm")
        assertUsageError(try knet(["charlm", "--data", root, "--batchsize", "10", "--seqlen", "50"]),
                         "needs at least 510 test characters for one block; the test part of hiawatha has 400")
    }

    func testUnwritableOutputsAreRefusedBeforeTraining() throws {
        assertUsageError(try knet(["mlp", "--data", root, "--save", "/nonexistent/dir/x"]),
                         "Error: --save /nonexistent/dir/x: cannot write there: No such file or directory", "Usage: knet mlp")
        assertUsageError(try knet(["charlm", "--data", root, "--save", root]), "--save \(root): cannot write there: Is a directory")
        assertUsageError(try knet(["linreg", "--plot", "/nonexistent/curve.svg"]),
                         "--plot /nonexistent/curve.svg: cannot write there: No such file or directory", "Usage: knet linreg")
        assertUsageError(try knet(["softmax", "--data", root, "--logdir", root + "/mnist/t10k-labels-idx1-ubyte.gz/runs"]),
                         "--logdir \(root)/mnist/t10k-labels-idx1-ubyte.gz/runs: create directory", "Not a directory")
    }

    func testLoadThatDoesNotFitNamesTheTensorAndShapes() throws {
        let checkpoint = root + "/mlp8.safetensors"
        let saved = try knet(["mlp", "--data", root, "--epochs", "1", "--batchsize", "40", "--hidden", "8", "--save", checkpoint])
        XCTAssertEqual(saved.status, 0, saved.stderr)
        assertUsageError(try knet(["mlp", "--data", root, "--hidden", "16", "--load", checkpoint]),
                         "Error: --load \(checkpoint) does not fit the mlp 784-16-10 model: \(checkpoint): "
                         + "tensor \"0\" has shape [8, 784] but the container expects [16, 784]", "Usage: knet mlp")
        assertUsageError(try knet(["lenet", "--data", root, "--load", root + "/none.safetensors"]),
                         "--load \(root)/none.safetensors: open \(root)/none.safetensors: No such file or directory")
        // the same file fits the model it came from
        let resumed = try knet(["mlp", "--data", root, "--epochs", "1", "--batchsize", "40", "--hidden", "8", "--load", checkpoint])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
    }

    func testMissingDataFolderIsNamed() throws {
        assertUsageError(try knet(["mlp", "--data", "/nonexistent"]), "Error: --data /nonexistent: no such folder", "Usage: knet mlp")
        assertUsageError(try knet(["charlm", "--data", root + "/hiawatha/19.txt"]), "--data \(root)/hiawatha/19.txt: not a folder")
    }

    /// With the data nowhere and the download failing, one line says which file to put
    /// where; curl's own lines are not shown (a stand-in curl fails as one without network).
    func testFailedDownloadIsOneLineWithoutCurlOutput() throws {
        let empty = root + "/empty-\(UUID().uuidString)", bin = root + "/bin-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho 'curl: (6) Could not resolve host: storage.googleapis.com' >&2\nexit 6\n".utf8)
            .write(to: URL(fileURLWithPath: bin + "/curl"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/curl")
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let r = try knet(["softmax", "--data", empty], environment: ["PATH": path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssert(r.stderr.hasPrefix("Error: data file mnist/train-images-idx3-ubyte.gz not found"), r.stderr)
        XCTAssert(r.stderr.contains("status 6 (could not resolve the host; no network?): Could not resolve host: storage.googleapis.com"), r.stderr)
        XCTAssert(r.stderr.contains("and put it at "), r.stderr)
        XCTAssertFalse(r.stderr.contains("curl: (6)"), "raw curl output: \(r.stderr)")
        XCTAssertEqual(r.stdout, "")
    }
}
