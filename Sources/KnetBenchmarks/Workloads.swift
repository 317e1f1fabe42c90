import Knet
#if canImport(Glibc)
import Glibc
#endif

/// How big the benchmarks are: `full` is Knet's table (the documented numbers), `smoke`
/// runs every code path on tiny sizes in well under a second per case (CI, tests).
public enum BenchmarkScale: String, Sendable {
    /// Knet's sizes: 10,000 linreg epochs, 10 MNIST epochs, Hiawatha, LSTM 256, …
    case full
    /// A few steps on tiny synthetic data.
    case smoke
}

/// Where the benchmark data come from.
public enum DataSource: Sendable, Equatable {
    /// The real files in a folder with `mnist/`, `housing/`, `hiawatha/` (as ../shared/data).
    case files(String)
    /// Random data of the real shapes (or, at smoke scale, of tiny shapes); only the
    /// times mean anything, as with the peers' `--synthetic`.
    case synthetic
}

/// MNIST as the benchmarks use it: images as columns `[784, N]`, 0-based labels.
public struct MNISTWorkload {
    /// Training images `[784, Ntrn]` in [0, 1].
    public let xtrn: Tensor
    /// Training labels 0...9.
    public let ytrn: [Int]
    /// Test images `[784, Ntst]`.
    public let xtst: Tensor
    /// Test labels.
    public let ytst: [Int]
}

/// The data of every case, loaded once on first use and shared by the runs.
public final class Workloads {
    /// Where the data come from.
    public let source: DataSource
    /// The sizes.
    public let scale: BenchmarkScale

    /// Workloads from `source` at `scale`.
    ///
    ///     let data = Workloads(source: .files("../shared/data"), scale: .full)
    public init(source: DataSource, scale: BenchmarkScale) {
        self.source = source
        self.scale = scale
    }

    /// Housing `x` `[13, 506]` (features normalized, n−1 std) and `y` `[1, 506]` unnormalized.
    public func housing() throws -> (x: Tensor, y: Tensor) {
        if let cached = housingData { return cached }
        let data: (x: Tensor, y: Tensor)
        switch source {
        case .files(let folder): data = try withDataFolder(folder) { try Knet.housing() }
        case .synthetic:
            // The peers' synthetic regression: y = x·w + 22.5 + 4.7·noise (seeded: every run the same).
            setseed(1)
            let x = Tensor.randn(13, 506), w = Tensor.randn(1, 13) * 2
            data = (x, w * x .+ 22.5 .+ 4.7 .* Tensor.randn(1, 506))
        }
        housingData = data
        return data
    }

    /// MNIST; at smoke scale 200 training and 100 test images (real test set kept whole).
    public func mnist() throws -> MNISTWorkload {
        if let cached = mnistData { return cached }
        let data: MNISTWorkload
        switch (source, scale) {
        case (.files(let folder), _):
            let (xtrn, ytrn, xtst, ytst) = try withDataFolder(folder) { try Knet.mnist() }
            let columns = reshape(xtrn, [784, -1])
            data = scale == .smoke
                ? MNISTWorkload(xtrn: copy(columns[.all, 0..<200]), ytrn: Array(ytrn.prefix(200)), xtst: reshape(xtst, [784, -1]), ytst: ytst)
                : MNISTWorkload(xtrn: columns, ytrn: ytrn, xtst: reshape(xtst, [784, -1]), ytst: ytst)
        case (.synthetic, _):
            let (ntrn, ntst) = scale == .smoke ? (200, 100) : (60_000, 10_000)
            setseed(1)
            func labels(_ n: Int) -> [Int] { (0..<n).map { _ in Int.random(in: 0..<10, using: &benchmarkRandom) } }
            data = MNISTWorkload(xtrn: Tensor.rand(784, ntrn), ytrn: labels(ntrn), xtst: Tensor.rand(784, ntst), ytst: labels(ntst))
        }
        mnistData = data
        return data
    }

    /// The CharLM text as codes and the vocabulary size: Hiawatha read as the peers read
    /// it (every Unicode scalar, CRLF kept); at smoke scale 400 characters.
    public func text() throws -> (codes: [Int], vocab: Int) {
        if let cached = textData { return cached }
        let data: (codes: [Int], vocab: Int)
        switch (source, scale) {
        case (.files(let folder), _):
            let (trn, _, vocab) = try withDataFolder(folder) { try hiawatha() }
            data = (scale == .smoke ? Array(trn.prefix(400)) : trn, vocab.count)
        case (.synthetic, .smoke):
            data = ((0..<400).map { _ in Int.random(in: 0..<20, using: &benchmarkRandom) }, 20)
        case (.synthetic, .full):
            data = ((0..<214_325).map { _ in Int.random(in: 0..<84, using: &benchmarkRandom) }, 84)
        }
        textData = data
        return data
    }

    private var housingData: (x: Tensor, y: Tensor)?
    private var mnistData: MNISTWorkload?
    private var textData: (codes: [Int], vocab: Int)?
}

/// Runs `body` with `$KNET_DATA` pointing at `folder` (the loaders look there first),
/// restoring the previous value afterwards.
private func withDataFolder<T>(_ folder: String, _ body: () throws -> T) rethrows -> T {
    let previous = getenv("KNET_DATA").map { String(cString: $0) }
    setenv("KNET_DATA", folder, 1)
    defer { if let previous { setenv("KNET_DATA", previous, 1) } else { unsetenv("KNET_DATA") } }
    return try body()
}

/// The generator of the synthetic labels and text (seeded, so runs are repeatable).
nonisolated(unsafe) var benchmarkRandom = SplitMix(seed: 1)
