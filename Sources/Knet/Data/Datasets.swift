#if canImport(Glibc)
import Glibc
#endif

// The tutorial's data sets. A file is looked for in `$KNET_DATA/<folder>/<name>`, then
// `$KNET_DATA/<name>`, then the per-user cache `$XDG_CACHE_HOME/knet/<folder>/<name>`
// (`~/.cache/knet/...` when XDG_CACHE_HOME is unset). When it is in none of them it is
// downloaded into the cache with `curl` over HTTPS, checked against its pinned SHA-256,
// and moved into place atomically, so it is fetched at most once; a cached file that no
// longer passes its check (CacheStamp.swift) is fetched again. Files found in
// `$KNET_DATA` are trusted as they are (their format is still checked while reading).

/// A data file the loaders know: its folder and name under `$KNET_DATA` or the cache,
/// the HTTPS addresses it can be downloaded from (tried in order) and its SHA-256.
///
///     let path = try datasetPath(.housing)   // ".../housing/housing.data"
public struct DatasetFile: Sendable, Equatable {
    /// The sub-folder (`mnist`, `housing`...).
    public let folder: String
    /// The file name.
    public let name: String
    /// Download addresses, tried in order.
    public let urls: [String]
    /// The expected SHA-256 of the file, lowercase hex.
    public let sha256: String

    /// A data file description; a download is kept only when its SHA-256 is `sha256`.
    ///
    ///     let f = DatasetFile(folder: "mydata", name: "a.txt", urls: ["https://example.org/a.txt"], sha256: "…")
    public init(folder: String, name: String, urls: [String], sha256: String) {
        self.folder = folder; self.name = name; self.urls = urls; self.sha256 = sha256.lowercased()
    }

    private static func mnist(_ name: String, _ sha256: String) -> DatasetFile {
        DatasetFile(folder: "mnist", name: name,
                    urls: ["https://storage.googleapis.com/cvdf-datasets/mnist/\(name)",
                           "https://ossci-datasets.s3.amazonaws.com/mnist/\(name)"], sha256: sha256)
    }
    /// MNIST training images (60000, gzipped IDX).
    public static let mnistTrainImages = mnist("train-images-idx3-ubyte.gz",
                                               "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609")
    /// MNIST training labels.
    public static let mnistTrainLabels = mnist("train-labels-idx1-ubyte.gz",
                                               "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c")
    /// MNIST test images (10000).
    public static let mnistTestImages = mnist("t10k-images-idx3-ubyte.gz",
                                              "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6")
    /// MNIST test labels.
    public static let mnistTestLabels = mnist("t10k-labels-idx1-ubyte.gz",
                                              "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6")
    /// UCI Boston Housing, 506 rows of 14 whitespace-separated numbers.
    public static let housing = DatasetFile(
        folder: "housing", name: "housing.data",
        urls: ["https://archive.ics.uci.edu/ml/machine-learning-databases/housing/housing.data"],
        sha256: "baadf72995725d76efe787b664e1f083388c79ba21ef9a7990d87f774184735a")
    /// Project Gutenberg #19, The Song of Hiawatha (2007 ASCII edition, Knet's CharLM benchmark text).
    public static let hiawatha = DatasetFile(
        folder: "hiawatha", name: "19.txt",
        urls: ["https://www.gutenberg.org/files/19/19.txt",
               "https://raw.githubusercontent.com/ozanarkancan/Knet8-Benchmarks/b36f3a296368b242226f146c7a6b3952e3287af4/data/19.txt"],
        sha256: "c1f1725c6e9a8d96ac34de046f2c9ee320b49ed27f724dc51f85c643b715748f")
    /// The 1994 Project Gutenberg etext of Shakespeare's complete works (Knet's `shaks12.txt`, LF line ends).
    public static let shakespeare = DatasetFile(
        folder: "shakespeare", name: "t8.shakespeare.txt",
        urls: ["https://ocw.mit.edu/ans7870/6/6.006/s08/lecturenotes/files/t8.shakespeare.txt"],
        sha256: "c5601d266987ac885ca96522b1b4e439feb7eca39f0fe1111f7342b63b6468f3")
    /// Karpathy's 1.1 MB tinyshakespeare (char-rnn `input.txt`).
    public static let tinyshakespeare = DatasetFile(
        folder: "tinyshakespeare", name: "input.txt",
        urls: ["https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt"],
        sha256: "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed")
}

/// The local path of `file`: found under `$KNET_DATA` or the cache, or downloaded into
/// the cache (verified) when missing. Throws `DataError.notFound` saying where to put
/// the file when it is nowhere and cannot be downloaded.
///
///     let path = try datasetPath(.mnistTrainLabels)
public func datasetPath(_ file: DatasetFile) throws -> String {
    try DataLocator.fromEnvironment().path(for: file)
}

/// Where data files are looked for and how a missing one is fetched.
package struct DataLocator {
    /// `$KNET_DATA`, if set.
    var dataDirectory: String?
    /// The per-user download cache (`.../knet`).
    var cacheDirectory: String
    /// Downloads a URL to a path (throws on failure); `curl` unless a test replaces it.
    var fetch: (_ url: String, _ destination: String) throws -> Void = curlFetch
    /// False where a missing file must not be downloaded (`folder(_:)`).
    var downloads = true

    /// Only `path` (its `<dataset>/<file>` or top level): never the cache, never a
    /// download, so a caller that names its data folder gets those files or an error.
    package static func folder(_ path: String) -> DataLocator {
        DataLocator(dataDirectory: path, cacheDirectory: path, downloads: false)
    }

    /// The environment's locations with `dataDirectory` (a program's `--data`, say) in
    /// place of `$KNET_DATA` when given: that folder first, then the download cache.
    package static func environment(dataDirectory: String?) -> DataLocator {
        var locator = fromEnvironment()
        if let dataDirectory { locator.dataDirectory = dataDirectory }
        return locator
    }

    /// The locations the environment names now.
    static func fromEnvironment() -> DataLocator {
        func env(_ name: String) -> String? {
            guard let v = getenv(name) else { return nil }
            let s = String(cString: v)
            return s.isEmpty ? nil : s
        }
        let cacheRoot = env("XDG_CACHE_HOME") ?? ((env("HOME") ?? homeFromPasswd() ?? ".") + "/.cache")
        return DataLocator(dataDirectory: env("KNET_DATA"), cacheDirectory: cacheRoot + "/knet")
    }

    /// The paths searched for `file`, in order.
    func candidates(_ file: DatasetFile) -> [String] {
        var paths: [String] = []
        if let d = dataDirectory { paths += ["\(d)/\(file.folder)/\(file.name)", "\(d)/\(file.name)"] }
        if downloads { paths.append(cachePath(file)) }
        return paths
    }

    func cachePath(_ file: DatasetFile) -> String { "\(cacheDirectory)/\(file.folder)/\(file.name)" }

    /// The first existing candidate (a cached download only while it passes its SHA-256
    /// check: see CacheStamp.swift), else a verified download into the cache.
    func path(for file: DatasetFile) throws -> String {
        let searched = candidates(file)
        let destination = cachePath(file)
        var attempts: [String] = []
        if let found = searched.first(where: isRegularFile) {
            guard downloads && found == destination else { return found }
            if try verifiedCache(found, file) { return found }
            unlink(found)
            attempts.append("the cached \(found) failed its SHA-256 check, so it was removed and fetched again")
        }
        guard downloads else {
            throw DataError.notFound(file: "\(file.folder)/\(file.name)", searched: searched, destination: destination,
                                     urls: file.urls, attempts: ["not downloaded: only \(cacheDirectory) was to be read"])
        }
        var mismatch: DataError?
        do {
            try makeDirectories("\(cacheDirectory)/\(file.folder)")
            for url in file.urls {
                do {
                    try download(url, file, to: destination)
                    return destination
                } catch {
                    if case .checksumMismatch? = error as? DataError { mismatch = error as? DataError }
                    attempts.append("\(error)")
                }
            }
        } catch {
            attempts.append("\(error)")
        }
        if let mismatch { throw mismatch }
        throw DataError.notFound(file: "\(file.folder)/\(file.name)", searched: searched, destination: destination,
                                 urls: file.urls, attempts: attempts)
    }

    /// Fetches `url` into a temporary file next to `destination`, checks its SHA-256,
    /// writes the verified bytes into place atomically (`writeFileAtomically`) and stamps
    /// them as verified. The temporary is named as `writeFileAtomically`'s are, so that
    /// the next save there removes one left by a killed download.
    private func download(_ url: String, _ file: DatasetFile, to destination: String) throws {
        // A unique name without drawing from the seeded generator (the system's instead).
        let temporary = "\(cacheDirectory)/\(file.folder)/\(temporaryPrefix(file.name))\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(temporary) }
        try fetch(url, temporary)
        let bytes = try readDataFile(temporary)
        let actual = SHA256.hash(bytes).hex
        guard actual == file.sha256 else {
            throw DataError.checksumMismatch(file: file.name, url: url, expected: file.sha256, actual: actual)
        }
        do { try writeFileAtomically(bytes, to: destination) } catch {
            throw DataError.io(path: destination, reason: "\(error)")
        }
        stampVerified(destination, sha256: actual)
    }
}

private func homeFromPasswd() -> String? {
    guard let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir else { return nil }
    return String(cString: dir)
}

private func systemError(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

private func isRegularFile(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

/// The whole content of a regular file; failures are `DataError.io`.
func readDataFile(_ path: String) throws -> [UInt8] {
    do {
        return try ReadOnlyFile(path) { _, _ in DataError.io(path: path, reason: "file shrank while reading") }.readAll()
    } catch let e as FileIOError {
        throw DataError.io(path: path, reason: e.code == EISDIR ? "not a regular file" : systemError(e.code))
    }
}

/// Runs `curl` (HTTPS only, redirects too) to fetch `url` into `destination`;
/// throws `DataError.downloadFailed` saying why it failed, with curl's own last message
/// (its output is captured, never shown raw).
func curlFetch(_ url: String, _ destination: String) throws {
    let reasons: [Int32: String] = [6: "could not resolve the host; no network?", 7: "could not connect",
                                    22: "HTTP error", 28: "timed out", 35: "TLS handshake failed",
                                    60: "TLS certificate not trusted"]
    let arguments = ["curl", "-fsSL", "--proto", "=https", "--proto-redir", "=https",
                     "--connect-timeout", "30", "--retry", "1", "-o", destination, url]
    let result: ProcessResult
    do { result = try runProcess(arguments, collectOutput: true) } catch {
        throw DataError.downloadFailed(url: url, reason: "cannot run curl: \(error)")
    }
    guard result.status == 0 else {
        throw DataError.downloadFailed(url: url, reason: "curl exited with status \(result.status)"
                                       + (reasons[result.status].map { " (\($0))" } ?? "")
                                       + (curlMessage(result.stderr).map { ": " + $0 } ?? ""))
    }
}

/// curl's last line of `stderr` without its "curl: (6) " prefix ("Could not resolve host: example.org").
private func curlMessage(_ stderr: String) -> String? {
    guard let line = stderr.split(whereSeparator: \.isNewline).last else { return nil }
    if line.hasPrefix("curl: ("), let close = line.firstRange(of: ") ") { return String(line[close.upperBound...]) }
    return String(line)
}

/// Reads a known data file, finding or downloading it first.
private func loadDataset(_ file: DatasetFile, _ locator: DataLocator) throws -> (path: String, bytes: [UInt8]) {
    let path = try locator.path(for: file)
    return (path, try readDataFile(path))
}

// MARK: - MNIST

/// The MNIST handwritten digits: `xtrn` `[28,28,1,60000]` and `xtst` `[28,28,1,10000]`
/// Float32 pixels in [0, 1] (`x[c, r, 0, i]` is row `r`, column `c` of image `i`, the
/// raw byte order, as in Knet.jl), and the labels as 0-based classes 0...9 (Knet.jl
/// used 1...10 with 10 for the digit 0).
///
///     let (xtrn, ytrn, xtst, ytst) = try mnist()
///     let dtrn = minibatch(xtrn, ytrn, 100)
public func mnist() throws -> (xtrn: Tensor, ytrn: [Int], xtst: Tensor, ytst: [Int]) {
    try mnist(DataLocator.fromEnvironment())
}

package func mnist(_ locator: DataLocator) throws -> (xtrn: Tensor, ytrn: [Int], xtst: Tensor, ytst: [Int]) {
    let (xtrn, ytrn) = try mnistPart(.mnistTrainImages, .mnistTrainLabels, locator)
    let (xtst, ytst) = try mnistPart(.mnistTestImages, .mnistTestLabels, locator)
    return (xtrn, ytrn, xtst, ytst)
}

/// One image file and its label file, checked against each other.
private func mnistPart(_ images: DatasetFile, _ labels: DatasetFile, _ locator: DataLocator) throws -> (Tensor, [Int]) {
    let (xpath, xbytes) = try loadDataset(images, locator)
    let x = try parseIDX(xbytes, path: xpath)
    guard x.dims.count == 3 else {
        throw DataError.corrupt(path: xpath, reason: "MNIST images need 3 IDX dims [n, rows, cols], got \(x.dims)")
    }
    let (ypath, ybytes) = try loadDataset(labels, locator)
    let y = try parseIDX(ybytes, path: ypath)
    guard y.dims == [x.dims[0]] else {
        throw DataError.corrupt(path: ypath, reason: "labels have IDX dims \(y.dims), expected [\(x.dims[0])] to match \(xpath)")
    }
    if let bad = y.values.first(where: { $0 > 9 }) {
        throw DataError.corrupt(path: ypath, reason: "label \(bad) is not a digit class 0...9")
    }
    return (x.tensor(scale: 1.0 / 255, shape: [x.dims[2], x.dims[1], 1, x.dims[0]]), y.labels)
}

// MARK: - Housing

/// The UCI Boston Housing data as the tutorial uses it: `x` `[13, 506]`, each feature
/// normalized to mean 0 and standard deviation 1 (the n−1 estimate, as Julia's `std`;
/// a constant feature is only centered), and `y` `[1, 506]`, the median house value in
/// $1000s, not normalized.
///
///     let (x, y) = try housing()
///     let w = Tensor.randn(1, 13) * 0.1    // predict(w, x) = w * x .+ b
public func housing(dtype: DType = .float32) throws -> (x: Tensor, y: Tensor) {
    try housing(DataLocator.fromEnvironment(), dtype: dtype)
}

package func housing(_ locator: DataLocator, dtype: DType = .float32) throws -> (x: Tensor, y: Tensor) {
    let (path, bytes) = try loadDataset(.housing, locator)
    return try parseHousing(bytes, path: path, dtype: dtype)
}

/// `housing()` from a given file: UCI's whitespace-separated `housing.data`, or
/// scikit-learn's `boston_house_prices.csv` (commas; the lines before the first row of 14
/// numbers are its header). Throws `DataError` for anything else.
///
///     let (x, y) = try housing(file: "boston_house_prices.csv")
public func housing(file path: String, dtype: DType = .float32) throws -> (x: Tensor, y: Tensor) {
    try parseHousing(readDataFile(path), path: path, dtype: dtype)
}

/// `housing(file:)` for the bytes of such a table already in memory; `name` stands for
/// the file's path in errors.
///
///     let (x, y) = try housing(bytes: Array(csvText.utf8), name: "boston.csv")
public func housing(bytes: [UInt8], name: String = "<bytes>", dtype: DType = .float32) throws -> (x: Tensor, y: Tensor) {
    try parseHousing(bytes, path: name, dtype: dtype)
}

/// The 14-column table normalized as `housing()` describes.
private func parseHousing(_ bytes: [UInt8], path: String, dtype: DType) throws -> (x: Tensor, y: Tensor) {
    let columns = 14
    var rows: [[Double]] = []
    // Lines end in \n or \r\n (one Character in Swift, so split on isNewline).
    for (number, line) in String(decoding: bytes, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
        if fields.isEmpty { continue }
        let values = fields.map { Double($0).flatMap { $0.isFinite ? $0 : nil } }
        if rows.isEmpty && (fields.count != columns || values.contains(nil)) { continue }   // a header
        guard fields.count == columns else {
            throw DataError.corrupt(path: path, reason: "line \(number + 1) has \(fields.count) fields, expected \(columns)")
        }
        if let k = values.firstIndex(of: nil) {
            throw DataError.corrupt(path: path, reason: "line \(number + 1), field \(k + 1): \"\(fields[k])\" is not a number")
        }
        if dtype == .float32, !Float(values[columns - 1]!).isFinite {
            throw DataError.corrupt(path: path, reason: "line \(number + 1): the target \(fields[columns - 1]) does not fit Float32")
        }
        rows.append(values.map { $0! })
    }
    let n = rows.count
    guard n >= 2 else { throw DataError.corrupt(path: path, reason: "\(n) data rows; at least 2 are needed to normalize") }
    var x = [Double](repeating: 0, count: (columns - 1) * n)   // column-major [13, n]
    for f in 0..<(columns - 1) {
        let mean = rows.reduce(0) { $0 + $1[f] } / Double(n)
        let std = (rows.reduce(0) { $0 + ($1[f] - mean) * ($1[f] - mean) } / Double(n - 1)).squareRoot()
        guard mean.isFinite && std.isFinite else {
            throw DataError.corrupt(path: path, reason: "column \(f + 1): the values are too large to normalize (their mean or deviation overflows)")
        }
        for i in 0..<n { x[i * (columns - 1) + f] = (rows[i][f] - mean) / (std > 0 ? std : 1) }
    }
    return (Tensor(x, shape: [columns - 1, n], dtype: dtype),
            Tensor(rows.map { $0[columns - 1] }, shape: [1, n], dtype: dtype))
}

// MARK: - Text

/// The characters of a text corpus, most frequent first (ties by code point), as
/// Knet.jl's `chars`; a symbol's code is its 0-based position. Characters are Unicode
/// scalars (Julia's `Char`), so "\r\n" is two symbols.
///
///     let v = CharVocabulary(["hello"])        // chars "lheo"
///     v.decode(v.encode("hole"))               // "hole"
public struct CharVocabulary: Equatable, Sendable {
    /// The symbols; `chars[k]` has code `k`.
    public let chars: [Unicode.Scalar]
    private let codes: [Unicode.Scalar: Int]

    /// The vocabulary of all characters in `texts`.
    ///
    ///     let v = CharVocabulary([trainText, testText])
    public init(_ texts: [String]) {
        var counts: [Unicode.Scalar: Int] = [:]
        for text in texts { for c in text.unicodeScalars { counts[c, default: 0] += 1 } }
        self.init(distinct: counts.keys.sorted { (counts[$0]!, $1.value) > (counts[$1]!, $0.value) })
    }

    /// The vocabulary with exactly these symbols in this order (e.g. as saved with a
    /// model); `nil` when a symbol repeats.
    ///
    ///     let v = CharVocabulary(symbols: Array("\nab".unicodeScalars))
    public init?(symbols: [Unicode.Scalar]) {
        guard Set(symbols).count == symbols.count else { return nil }
        self.init(distinct: symbols)
    }

    private init(distinct symbols: [Unicode.Scalar]) {
        chars = symbols
        codes = Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1, $0) })
    }

    /// Number of symbols.
    public var count: Int { chars.count }

    /// The codes of `text`'s characters; every character must be in the vocabulary.
    ///
    ///     let codes = vocab.encode("To be")
    public func encode(_ text: String) -> [Int] {
        text.unicodeScalars.map { c in
            guard let k = codes[c] else { knetFail("CharVocabulary.encode: \"\(c.escaped(asASCII: true))\" is not in the vocabulary") }
            return k
        }
    }

    /// The text of `codes` (each in `0..<count`).
    ///
    ///     print(vocab.decode(trn[1020..<1210]))
    public func decode<S: Sequence>(_ codes: S) -> String where S.Element == Int {
        var s = String.UnicodeScalarView()
        for k in codes {
            knetCheck(k >= 0 && k < chars.count, "CharVocabulary.decode: code \(k) outside 0..<\(chars.count)")
            s.append(chars[k])
        }
        return String(s)
    }
}

/// A character-level corpus: training and test texts as codes of one vocabulary.
public typealias CharData = (trn: [Int], tst: [Int], vocab: CharVocabulary)

/// Shakespeare's complete works split as Knet.jl's `shakespeare()` does: the 1994
/// Gutenberg etext is cut at its "<<THIS ELECTRONIC VERSION ... MEMBERSHIP.>>" notices
/// into 218 works (the front matter and the end are dropped), the works are shuffled
/// (seed 42, with this package's generator, so the split differs from Knet.jl's),
/// 200 are joined for training and 18 for testing (≈5.0M and 0.46M characters).
/// The vocabulary has 83 symbols (Knet's 84 counted the "\r" of CRLF line ends).
///
///     let (trn, tst, vocab) = try shakespeare()
///     print(vocab.decode(trn[0..<200]))
public func shakespeare() throws -> CharData {
    try shakespeare(DataLocator.fromEnvironment())
}

package func shakespeare(_ locator: DataLocator) throws -> CharData {
    let (path, bytes) = try loadDataset(.shakespeare, locator)
    return try shakespeare(bytes: bytes, name: path)
}

/// `shakespeare()` from the bytes of the 1994 etext already in memory; `name` stands
/// for the file's path in errors (`DataError.corrupt` when the notices are missing).
///
///     let (trn, tst, vocab) = try shakespeare(bytes: etext, name: "t8.shakespeare.txt")
public func shakespeare(bytes: [UInt8], name path: String = "<bytes>") throws -> CharData {
    let text = decodeText(bytes)
    var pieces: [Substring] = []
    var rest = text[...]
    while let open = rest.firstRange(of: "<<THIS") {
        pieces.append(rest[..<open.lowerBound])
        guard let close = rest[open.upperBound...].firstRange(of: "SHIP.>>") else {
            throw DataError.corrupt(path: path, reason: "a \"<<THIS\" notice has no closing \"SHIP.>>\"")
        }
        rest = rest[close.upperBound...]
    }
    pieces.append(rest)
    guard pieces.count >= 5 else {
        throw DataError.corrupt(path: path, reason: "found \(pieces.count) pieces between <<THIS ... SHIP.>> notices; expected the 1994 etext's 221")
    }
    var works = Array(pieces[2..<(pieces.count - 1)])
    var g = SplitMix(seed: 42)
    works = g.permutation(works.count).map { works[$0] }
    let ntrn = Swift.min(200, works.count - 1)
    return charData(trn: works[..<ntrn].joined(), tst: works[ntrn...].joined())
}

/// The Song of Hiawatha (Knet's CharLM benchmark text), the whole file by default
/// (the benchmark trained on all of it); `testFraction` moves that share of the end
/// of the text into `tst`.
///
///     let (trn, _, vocab) = try hiawatha()
public func hiawatha(testFraction: Double = 0) throws -> CharData {
    try gutenberg(.hiawatha, testFraction: testFraction)
}

/// Karpathy's tinyshakespeare (1.1M characters, 65 symbols), the last 10% as `tst`.
///
///     let (trn, tst, vocab) = try tinyshakespeare()
public func tinyshakespeare(testFraction: Double = 0.1) throws -> CharData {
    try gutenberg(.tinyshakespeare, testFraction: testFraction)
}

/// Any text file as a character corpus: the first `1 - testFraction` of its characters
/// for training, the rest for testing, one vocabulary over both. A UTF-8 byte-order
/// mark is dropped; invalid UTF-8 becomes U+FFFD.
///
///     let (trn, tst, vocab) = try gutenberg(.hiawatha, testFraction: 0.1)
public func gutenberg(_ file: DatasetFile, testFraction: Double = 0.1) throws -> CharData {
    try gutenberg(file, testFraction: testFraction, DataLocator.fromEnvironment())
}

package func gutenberg(_ file: DatasetFile, testFraction: Double, _ locator: DataLocator) throws -> CharData {
    textCorpus(bytes: try loadDataset(file, locator).bytes, testFraction: testFraction)
}

/// `gutenberg(_:testFraction:)` for text already in memory: the first `1 - testFraction`
/// of the characters of `bytes` (UTF-8, a byte-order mark dropped, invalid sequences as
/// U+FFFD) for training, the rest for testing, one vocabulary over both.
///
///     let (trn, tst, vocab) = textCorpus(bytes: Array("to be or not to be".utf8), testFraction: 0.25)
public func textCorpus(bytes: [UInt8], testFraction: Double = 0.1) -> CharData {
    knetCheck(testFraction >= 0 && testFraction <= 1, "textCorpus: testFraction \(testFraction) is not in [0, 1]")
    let scalars = decodeText(bytes).unicodeScalars
    let cut = scalars.index(scalars.startIndex, offsetBy: Int((Double(scalars.count) * (1 - testFraction)).rounded()))
    return charData(trn: String(scalars[..<cut]), tst: String(scalars[cut...]))
}

/// UTF-8 text without a leading byte-order mark.
private func decodeText(_ bytes: [UInt8]) -> String {
    let bom: [UInt8] = [0xef, 0xbb, 0xbf]
    return String(decoding: bytes.starts(with: bom) ? bytes[3...] : bytes[...], as: UTF8.self)
}

private func charData(trn: String, tst: String) -> CharData {
    let vocab = CharVocabulary([trn, tst])
    return (vocab.encode(trn), vocab.encode(tst), vocab)
}
