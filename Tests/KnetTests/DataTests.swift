import Foundation
import XCTest
@testable import Knet
#if canImport(Glibc)
import Glibc
#endif

/// minibatch, the IDX reader, file lookup/download/verification and the dataset
/// loaders, on small files each test writes to its own temporary folder.
final class DataTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("knet-data-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    /// Writes `bytes` to `root/relative` (creating folders) and returns the path.
    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let url = URL(fileURLWithPath: root).appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// A locator over `root/data` and `root/cache` whose downloads fail (no network in tests).
    func locator(fetch: @escaping (String, String) throws -> Void = { url, _ in throw DataError.downloadFailed(url: url, reason: "offline") })
        -> DataLocator {
        DataLocator(dataDirectory: root + "/data", cacheDirectory: root + "/cache", fetch: fetch)
    }

    /// An IDX file of unsigned bytes.
    func idx(_ dims: [Int], _ values: [UInt8]) -> [UInt8] {
        var b: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        return b + values
    }

    /// A gzip file holding `data` in stored (uncompressed) DEFLATE blocks.
    func gzipStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]
        var chunks = stride(from: 0, to: data.count, by: 65535).map { Array(data[$0..<min($0 + 65535, data.count)]) }
        if chunks.isEmpty { chunks = [[]] }
        for (k, c) in chunks.enumerated() {
            let n = c.count
            out += [k == chunks.count - 1 ? 1 : 0, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8(~n >> 8 & 255)] + c
        }
        for v in [crc32(data), UInt32(data.count)] { out += (0..<4).map { UInt8(v >> (8 * $0) & 255) } }
        return out
    }

    func thrown<T>(_ body: () throws -> T) -> DataError? {
        do { _ = try body(); return nil } catch { return error as? DataError }
    }

    // MARK: minibatch

    let x = tensorFrom([2, 10]) { Double($0) }         // column j holds 2j, 2j+1
    let labels = Array(0..<10)

    func testMinibatchCountsAndPartial() {
        XCTAssertEqual(minibatch(x, labels, 3).count, 3)
        XCTAssertEqual(minibatch(x, labels, 3, partial: true).count, 4)
        XCTAssertEqual(minibatch(x, labels, 5).count, 2)
        XCTAssertEqual(minibatch(x, labels, 20).count, 0)
        let batches = Array(minibatch(x, labels, 3, partial: true))
        XCTAssertEqual(batches.map { $0.1.count }, [3, 3, 3, 1])
        XCTAssertEqual(Array(minibatch(x, labels, 3)).count, 3)
        assertValues(batches[1].0, [6, 7, 8, 9, 10, 11], shape: [2, 3])
        XCTAssertEqual(batches[1].1, [3, 4, 5])
        XCTAssertTrue(batches[1].0.storage === x.storage, "an in-order batch is a view, not a copy")
        assertKnetError("batchsize") { _ = minibatch(self.x, self.labels, 0) }
        assertKnetError("9 labels") { _ = minibatch(self.x, Array(0..<9), 2) }
    }

    /// Labels of each batch of one epoch, checking that x and y stay paired.
    func epoch(_ d: Minibatch<(Tensor, [Int])>) -> [[Int]] {
        d.map { xb, yb in
            let expected: [Double] = yb.flatMap { (k: Int) -> [Double] in [Double(2 * k), Double(2 * k + 1)] }
            XCTAssertEqual([Double](xb), expected)
            return yb
        }
    }

    func testMinibatchShuffleIsSeededAndReshufflesEachEpoch() {
        let d = minibatch(x, labels, 4, shuffle: true, partial: true, seed: 7)
        let e1 = epoch(d), e2 = epoch(d)
        XCTAssertEqual(e1.flatMap { $0 }.sorted(), labels)
        XCTAssertEqual(e2.flatMap { $0 }.sorted(), labels)
        XCTAssertNotEqual(e1, e2, "a new epoch draws a new order")
        XCTAssertNotEqual(e1.flatMap { $0 }, labels, "shuffled")
        let again = minibatch(x, labels, 4, shuffle: true, partial: true, seed: 7)
        XCTAssertEqual(epoch(again), e1)
        XCTAssertEqual(epoch(again), e2)
        setseed(3); let u1 = epoch(minibatch(x, labels, 5, shuffle: true))
        setseed(3); let u2 = epoch(minibatch(x, labels, 5, shuffle: true))
        XCTAssertEqual(u1, u2, "without a seed the order follows setseed")
    }

    func testMinibatchTensorTargetsAndXOnly() {
        let y = tensorFrom([1, 10]) { Double(100 + $0) }
        let d = Array(minibatch(x, y, 4, shuffle: true, seed: 1, xtype: .float32))
        XCTAssertEqual(d.count, 2)
        for (xb, yb) in d {
            XCTAssertEqual(xb.dtype, .float32)
            XCTAssertEqual(yb.dtype, .float64)
            XCTAssertEqual(yb.shape, [1, 4])
            let expected: [Double] = [Double](yb).flatMap { (v: Double) -> [Double] in [2 * (v - 100), 2 * (v - 100) + 1] }
            XCTAssertEqual([Double](xb), expected)
        }
        let xs = Array(minibatch(x, 6, partial: true, device: .cpu))
        XCTAssertEqual(xs.map(\.shape), [[2, 6], [2, 4]])
        assertKnetError("gpu7") { _ = Array(minibatch(self.x, 2, device: .gpu(7))) }
        if case .success(let gpu) = EmulatedGPU.device {               // batches made on the GPU
            let onGPU = Array(minibatch(x, y, 4, device: gpu)), moved = Array(minibatch(x, y, 4).to(gpu))
            XCTAssertEqual(onGPU.flatMap { [$0.0.device, $0.1.device] }, [gpu, gpu, gpu, gpu])
            XCTAssertEqual(moved.map { [Double]($0.0) }, onGPU.map { [Double]($0.0) })
            XCTAssertEqual(moved.map { [Double]($0.0) }, Array(minibatch(x, y, 4)).map { [Double]($0.0) })
        }
        assertKnetError("last dimension") { _ = minibatch(self.x, y[.all, 0..<9], 2) }
    }

    // MARK: IDX

    func testIDXImagesLayoutAndLabels() throws {
        // Two 3-row, 4-column images: pixel (r, c) of image i is 100i + 10r + c.
        var pixels: [UInt8] = []
        for i in 0..<2 { for r in 0..<3 { for c in 0..<4 { pixels.append(UInt8(100 * i + 10 * r + c)) } } }
        for (name, bytes) in [("img", idx([2, 3, 4], pixels)), ("img.gz", gzipStored(idx([2, 3, 4], pixels)))] {
            let a = try readIDX(try write(name, bytes))
            XCTAssertEqual(a.dims, [2, 3, 4])
            let t = a.tensor()
            XCTAssertEqual(t.shape, [4, 3, 2])
            XCTAssertEqual(t[3, 2, 1].scalar, 123)   // x[c, r, i]
            XCTAssertEqual(a.tensor(scale: 0.5, shape: [4, 3, 1, 2], dtype: .float64)[1, 2, 0, 0].scalar, 10.5)
        }
        XCTAssertEqual(try readIDX(try write("lab", idx([4], [3, 1, 4, 1]))).labels, [3, 1, 4, 1])
    }

    func testIDXErrors() throws {
        func reason(_ bytes: [UInt8]) throws -> String {
            let path = try write("bad.idx", bytes)
            guard case .corrupt(let p, let why)? = thrown({ try readIDX(path) }) else { XCTFail("no error"); return "" }
            XCTAssertEqual(p, path)
            return why
        }
        XCTAssertTrue(try reason([0, 1, 8, 1, 0, 0, 0, 1, 5]).contains("bad magic"))
        XCTAssertTrue(try reason([0, 0, 0x0d, 1, 0, 0, 0, 1, 5, 5, 5, 5]).contains("not supported"))
        XCTAssertTrue(try reason([0, 0, 8, 2, 0, 0, 0, 2]).contains("truncated header"))
        XCTAssertTrue(try reason([0, 0, 8]).contains("too short"))
        XCTAssertTrue(try reason(idx([2, 3], [1, 2, 3, 4, 5])).contains("truncated"))
        XCTAssertTrue(try reason(idx([2, 3], [UInt8](repeating: 0, count: 7))).contains("trailing"))
        XCTAssertTrue(try reason(idx([255 << 24, 255 << 24, 255 << 24], [])).contains("too large"))
        XCTAssertTrue(try reason(Array(gzipStored(idx([4], [1, 2, 3, 4])).dropLast(3))).contains("gzip"))
        guard case .io(let path, _)? = thrown({ try readIDX(self.root + "/missing.idx") }) else { return XCTFail("no io error") }
        XCTAssertTrue(path.hasSuffix("missing.idx"))
    }

    // MARK: lookup and download

    func testLookupOrder() throws {
        // A cached file is used only when it passes its check: here, one whose sum is that of [1].
        let h = DatasetFile.housing, l = locator()
        let f = DatasetFile(folder: h.folder, name: h.name, urls: h.urls, sha256: SHA256.hash([1]).hex)
        try write("cache/housing/housing.data", [1])
        XCTAssertEqual(try l.path(for: f), root + "/cache/housing/housing.data")
        try write("data/housing.data", [2])
        XCTAssertEqual(try l.path(for: f), root + "/data/housing.data")
        try write("data/housing/housing.data", [3])
        XCTAssertEqual(try l.path(for: f), root + "/data/housing/housing.data")
        XCTAssertEqual(l.candidates(f), [root + "/data/housing/housing.data", root + "/data/housing.data",
                                         root + "/cache/housing/housing.data"])
    }

    /// A folder-only locator (what knet-bench --data uses) reads that folder and nothing
    /// else: not the cache, not the network, and it creates nothing.
    func testFolderLocatorNeverLooksElsewhere() throws {
        try write("cache/housing/housing.data", [1])
        let l = DataLocator.folder(root + "/data")
        XCTAssertEqual(l.candidates(.housing), [root + "/data/housing/housing.data", root + "/data/housing.data"])
        guard case .notFound(_, let searched, _, _, let attempts)? = thrown({ try l.path(for: .housing) }) else {
            return XCTFail("expected notFound")
        }
        XCTAssertEqual(searched, l.candidates(.housing))
        XCTAssertTrue(attempts.joined().contains("not downloaded"), "\(attempts)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/data"), "nothing created")
        try write("data/housing.data", [2])
        XCTAssertEqual(try l.path(for: .housing), root + "/data/housing.data")
    }

    func testEnvironmentNamesTheFolders() {
        let saved: [(String, String?)] = ["KNET_DATA", "XDG_CACHE_HOME", "HOME"].map { name in
            (name, getenv(name).map { String(cString: $0) })
        }
        defer { for (k, v) in saved { if let v { setenv(k, v, 1) } else { unsetenv(k) } } }
        setenv("KNET_DATA", root + "/data", 1); setenv("XDG_CACHE_HOME", root + "/xdg", 1)
        var l = DataLocator.fromEnvironment()
        XCTAssertEqual(l.dataDirectory, root + "/data")
        XCTAssertEqual(l.cacheDirectory, root + "/xdg/knet")
        unsetenv("KNET_DATA"); unsetenv("XDG_CACHE_HOME"); setenv("HOME", root + "/home", 1)
        l = DataLocator.fromEnvironment()
        XCTAssertNil(l.dataDirectory)
        XCTAssertEqual(l.cacheDirectory, root + "/home/.cache/knet")
        XCTAssertEqual(l.candidates(.hiawatha), [root + "/home/.cache/knet/hiawatha/19.txt"])
    }

    func testMissingFileErrorSaysWhatToPutWhere() {
        // The real downloader, pointed at a port where nothing listens: fails at once.
        let file = DatasetFile(folder: "demo", name: "d.txt", urls: ["https://127.0.0.1:9/d.txt"], sha256: String(repeating: "0", count: 64))
        let l = DataLocator(dataDirectory: root + "/data", cacheDirectory: root + "/cache")
        guard case .notFound(let name, let searched, let destination, let urls, let attempts)? = thrown({ try l.path(for: file) }) else {
            return XCTFail("expected notFound")
        }
        XCTAssertEqual(name, "demo/d.txt")
        XCTAssertEqual(destination, root + "/cache/demo/d.txt")
        XCTAssertEqual(searched.count, 3)
        XCTAssertEqual(urls, file.urls)
        XCTAssertEqual(attempts.count, 1)
        let message = "\(DataError.notFound(file: name, searched: searched, destination: destination, urls: urls, attempts: attempts))"
        for part in [destination, "https://127.0.0.1:9/d.txt", root + "/data/demo/d.txt", "curl"] {
            XCTAssertTrue(message.contains(part), "\(message) lacks \(part)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/cache/demo"), [], "no partial file left")
    }

    func testDownloadIsVerifiedKeptAndNotRepeated() throws {
        let content = Array("hello data\n".utf8)
        let file = DatasetFile(folder: "demo", name: "hello.txt", urls: ["https://a.invalid/x", "https://b.invalid/x"],
                               sha256: SHA256.hash(content).hex.uppercased())
        var calls: [String] = []
        let l = locator { url, destination in
            calls.append(url)
            guard url.hasPrefix("https://b") else { throw DataError.downloadFailed(url: url, reason: "offline") }
            _ = FileManager.default.createFile(atPath: destination, contents: Data(content))
        }
        let path = try l.path(for: file)
        XCTAssertEqual(path, root + "/cache/demo/hello.txt")
        XCTAssertEqual(try readDataFile(path), content)
        XCTAssertEqual(calls, ["https://a.invalid/x", "https://b.invalid/x"], "mirrors are tried in order")
        XCTAssertEqual(try l.path(for: file), path)
        XCTAssertEqual(calls.count, 2, "a cached file is never downloaded again")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/cache/demo").sorted(),
                       [".hello.txt.verified", "hello.txt"])
    }

    func testChecksumMismatchDiscardsTheDownload() throws {
        let file = DatasetFile(folder: "demo", name: "f.bin", urls: ["https://a.invalid/f"], sha256: SHA256.hash([1, 2, 3]).hex)
        let l = locator { _, destination in _ = FileManager.default.createFile(atPath: destination, contents: Data([9, 9])) }
        guard case .checksumMismatch(let name, let url, let expected, let actual)? = thrown({ try l.path(for: file) }) else {
            return XCTFail("expected checksumMismatch")
        }
        XCTAssertEqual([name, url, expected], ["f.bin", "https://a.invalid/f", file.sha256])
        XCTAssertEqual(actual, SHA256.hash([9, 9]).hex)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/cache/demo"), [])
    }

    /// A cached download that changed (here: overwritten with other bytes of the same
    /// size, its mtime set back) fails its SHA-256 check and is fetched again; an
    /// unchanged one is trusted by its stamp, without hashing or fetching.
    func testCorruptCachedFileIsFetchedAgain() throws {
        let content = Array("the real data\n".utf8)
        let file = DatasetFile(folder: "demo", name: "d.txt", urls: ["https://a.invalid/d"], sha256: SHA256.hash(content).hex)
        var calls = 0, online = true
        let l = locator { url, destination in
            calls += 1
            guard online else { throw DataError.downloadFailed(url: url, reason: "offline") }
            _ = FileManager.default.createFile(atPath: destination, contents: Data(content))
        }
        let path = try l.path(for: file)
        XCTAssertEqual(calls, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cacheStampPath(path)))
        XCTAssertEqual(try l.path(for: file), path)
        XCTAssertEqual(calls, 1, "an unchanged cached file is not fetched again")

        let modified = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as! Date
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.write(Data("THE REAL DATA\n".utf8))
        handle.closeFile()
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        XCTAssertEqual(try l.path(for: file), path)
        XCTAssertEqual(calls, 2, "the corrupt cached file was fetched again")
        XCTAssertEqual(try readDataFile(path), content)

        try Data("damaged".utf8).write(to: URL(fileURLWithPath: path))
        online = false
        guard case .notFound(_, _, let destination, _, let attempts)? = thrown({ try l.path(for: file) }) else {
            return XCTFail("expected notFound")
        }
        XCTAssertEqual(destination, path)
        XCTAssertTrue(attempts.first?.contains("failed its SHA-256 check") == true, "\(attempts)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the corrupt file is not kept to be used again")
        XCTAssertEqual(thrown({ try l.path(for: file) }).map { "\($0)".contains("\n") }, false, "a one-line error")
    }

    /// A cached file from before stamps (or whose stamp was lost) is hashed once and stamped.
    func testUnstampedCachedFileIsHashedOnce() throws {
        let content = Array("cached earlier\n".utf8)
        let file = DatasetFile(folder: "demo", name: "old.txt", urls: ["https://a.invalid/o"], sha256: SHA256.hash(content).hex)
        let path = try write("cache/demo/old.txt", content)
        let l = locator { url, _ in XCTFail("fetched \(url)") }
        XCTAssertEqual(try l.path(for: file), path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cacheStampPath(path)))
    }

    /// Downloads through the real `curlFetch` with a fake `curl` first on PATH (no
    /// network): the bytes are verified before they reach the cache, a wrong download
    /// never reaches it, and a partial download left by a killed process goes with the next one.
    func testFakeCurlDownloadsAreVerifiedBeforeTheCache() throws {
        let served = try write("served/ok.bin", Array("served bytes".utf8))
        try write("served/bad.bin", Array("tampered".utf8))
        let bin = root + "/bin"
        try write("bin/curl", Array("""
            #!/bin/sh
            # fake curl: "... -o DEST URL" copies served/<last part of URL>, or fails as offline curl does (6)
            prev=; for a in "$@"; do [ "$prev" = "-o" ] && dest=$a; prev=$a; url=$a; done
            name=${url##*/}
            [ -f "\(root)/served/$name" ] || exit 6
            cp "\(root)/served/$name" "$dest"

            """.utf8))
        chmod(bin + "/curl", 0o755)
        let oldPath = String(cString: getenv("PATH"))
        setenv("PATH", "\(bin):\(oldPath)", 1)
        defer { setenv("PATH", oldPath, 1) }
        let l = DataLocator(dataDirectory: nil, cacheDirectory: root + "/cache")
        try write("cache/fetched/.ok.bin.tmp-999999999-5", [1])    // a killed download's (pid not alive)

        let ok = DatasetFile(folder: "fetched", name: "ok.bin", urls: ["https://example.invalid/ok.bin"],
                             sha256: SHA256.hash(try readDataFile(served)).hex)
        XCTAssertEqual(try readDataFile(try l.path(for: ok)), Array("served bytes".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/cache/fetched").sorted(),
                       [".ok.bin.verified", "ok.bin"], "nothing but the file and its stamp, the stale partial download removed")

        let bad = DatasetFile(folder: "fetched", name: "bad.bin", urls: ["https://example.invalid/bad.bin"], sha256: ok.sha256)
        guard case .checksumMismatch? = thrown({ try l.path(for: bad) }) else { return XCTFail("expected checksumMismatch") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/cache/fetched/bad.bin"))

        let missing = DatasetFile(folder: "fetched", name: "gone.bin", urls: ["https://example.invalid/gone.bin"], sha256: ok.sha256)
        let message = thrown({ try l.path(for: missing) }).map { "\($0)" } ?? ""
        XCTAssertTrue(message.contains("fetched/gone.bin") && message.contains(root + "/cache/fetched/gone.bin"), message)
        XCTAssertFalse(message.contains("\n"), "one line: \(message)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/cache/fetched").sorted(), [".ok.bin.verified", "ok.bin"])
    }

    // MARK: datasets

    func testMNISTFromSmallFiles() throws {
        let n = 3
        let images = (0..<(n * 784)).map { UInt8($0 % 256) }
        try write("data/mnist/train-images-idx3-ubyte.gz", gzipStored(idx([n, 28, 28], images)))
        try write("data/mnist/train-labels-idx1-ubyte.gz", gzipStored(idx([n], [5, 0, 4])))
        try write("data/mnist/t10k-images-idx3-ubyte.gz", gzipStored(idx([1, 28, 28], Array(images[..<784]))))
        try write("data/mnist/t10k-labels-idx1-ubyte.gz", gzipStored(idx([1], [7])))
        let (xtrn, ytrn, xtst, ytst) = try mnist(locator())
        XCTAssertEqual(xtrn.shape, [28, 28, 1, 3])
        XCTAssertEqual(xtst.shape, [28, 28, 1, 1])
        XCTAssertEqual(ytrn, [5, 0, 4])
        XCTAssertEqual(ytst, [7])
        XCTAssertEqual(xtrn[5, 1, 0, 2].scalar, Double((2 * 784 + 28 + 5) % 256) / 255, accuracy: 1e-6)
        try write("data/mnist/t10k-labels-idx1-ubyte.gz", gzipStored(idx([1], [12])))
        XCTAssertTrue("\(thrown { try mnist(self.locator()) }!)".contains("label 12"))
        try write("data/mnist/t10k-labels-idx1-ubyte.gz", gzipStored(idx([2], [1, 2])))
        XCTAssertTrue("\(thrown { try mnist(self.locator()) }!)".contains("expected [1]"))
    }

    func testHousingNormalizes() throws {
        var lines: [String] = []
        for i in 0..<5 { lines.append((0..<14).map { String(Double(i * ($0 + 1)) + 0.5) }.joined(separator: "  ")) }
        try write("data/housing/housing.data", Array((lines.joined(separator: "\n") + "\n").utf8))
        let (x, y) = try housing(locator(), dtype: .float64)
        XCTAssertEqual(x.shape, [13, 5])
        assertValues(y, [0.5, 14.5, 28.5, 42.5, 56.5], shape: [1, 5])
        let v = [Double](x)
        for f in 0..<13 {
            let row = (0..<5).map { v[$0 * 13 + f] }
            XCTAssertEqual(row.reduce(0, +) / 5, 0, accuracy: 1e-12)
            XCTAssertEqual(row.map { $0 * $0 }.reduce(0, +) / 4, 1, accuracy: 1e-12)
        }
        try write("data/housing/housing.data", Array((lines[0] + "\n1 2 3\n").utf8))
        XCTAssertTrue("\(thrown { try housing(self.locator()) }!)".contains("line 2 has 3 fields"))
        try write("data/housing/housing.data", Array((lines[0] + "\n" + lines[1].replacingOccurrences(of: "1.5", with: "x") + "\n").utf8))
        XCTAssertTrue("\(thrown { try housing(self.locator()) }!)".contains("\"x\" is not a number"))
        // scikit-learn's CSV copy (two header lines, commas) gives the same table.
        let csv = ["5,13,,,,,,,,,,,,", (0..<14).map { "\"c\($0)\"" }.joined(separator: ",")]
            + lines.map { $0.split(separator: " ").joined(separator: ",") }
        let path = try write("data/boston.csv", Array((csv.joined(separator: "\r\n") + "\r\n").utf8))
        let (cx, cy) = try housing(file: path, dtype: .float64)
        XCTAssertEqual([Double](cx), v)
        XCTAssertEqual([Double](cy), [Double](y))
        XCTAssertThrowsError(try housing(file: root + "/data/missing.csv")) { error in
            guard case .io? = error as? DataError else { return XCTFail("\(error)") }
        }
    }

    func testCharVocabularyRoundTrip() {
        let v = CharVocabulary(["hello", "\r\nwörld"])
        XCTAssertEqual(v.chars.first, "l")                   // most frequent first
        XCTAssertEqual(v.chars.prefix(4).map { String($0) }, ["l", "\n", "\r", "d"])   // ties by code point
        XCTAssertEqual(v.count, 10)                          // \r and \n are separate symbols
        let text = "\r\nhöld"
        XCTAssertEqual(v.decode(v.encode(text)), text)
        assertKnetError("not in the vocabulary") { _ = v.encode("z") }
    }

    func testTextSplitsAndShakespeareWorks() throws {
        try write("data/hiawatha/19.txt", [0xef, 0xbb, 0xbf] + Array("abcdefghij".utf8))
        let h = try gutenberg(.hiawatha, testFraction: 0.3, locator())
        XCTAssertEqual(h.vocab.decode(h.trn), "abcdefg")
        XCTAssertEqual(h.vocab.decode(h.tst), "hij")
        let notice = "<<THIS ELECTRONIC VERSION ... MEMBERSHIP.>>"
        let parts = ["front", "credits", "work0", "work1", "work2", "work3", "work4", "end"]
        try write("data/shakespeare/t8.shakespeare.txt", Array(parts.joined(separator: notice).utf8))
        let s = try shakespeare(locator())
        let trn = s.vocab.decode(s.trn), tst = s.vocab.decode(s.tst)
        XCTAssertEqual(trn.count, 20)
        XCTAssertEqual(tst.count, 5)
        for w in parts[2..<7] { XCTAssertEqual((trn + tst).components(separatedBy: w).count, 2, w) }
        XCTAssertFalse((trn + tst).contains("front") || (trn + tst).contains("end") || trn.contains("<"))
        try write("data/shakespeare/t8.shakespeare.txt", Array("a<<THIS b".utf8))
        XCTAssertTrue("\(thrown { try shakespeare(self.locator()) }!)".contains("SHIP.>>"))
    }
}
