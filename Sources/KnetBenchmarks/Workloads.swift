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
struct MNISTWorkload {
    /// Training images `[784, Ntrn]` in [0, 1].
    let xtrn: Tensor
    /// Training labels 0...9.
    let ytrn: [Int]
    /// Test images `[784, Ntst]`.
    let xtst: Tensor
    /// Test labels.
    let ytst: [Int]
}

/// The data of every case, loaded once on first use and shared by the runs.
final class Workloads {
    /// Where the data come from.
    let source: DataSource
    /// The sizes.
    let scale: BenchmarkScale

    /// Workloads from `source` at `scale`.
    ///
    ///     let data = Workloads(source: .files("../shared/data"), scale: .full)
    init(source: DataSource, scale: BenchmarkScale) {
        self.source = source
        self.scale = scale
    }

    /// Housing `x` `[13, 506]` (features normalized, n−1 std) and `y` `[1, 506]` unnormalized.
    func housing() throws -> (x: Tensor, y: Tensor) {
        if let cached = housingData { return cached }
        let data: (x: Tensor, y: Tensor)
        switch source {
        case .files(let folder): data = try Knet.housing(.folder(folder))
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
    func mnist() throws -> MNISTWorkload {
        if let cached = mnistData { return cached }
        let data: MNISTWorkload
        switch (source, scale) {
        case (.files(let folder), _):
            let (xtrn, ytrn, xtst, ytst) = try Knet.mnist(.folder(folder))
            let columns = reshape(xtrn, [784, -1])
            data = scale == .smoke
                ? MNISTWorkload(xtrn: copy(columns[.all, 0..<200]), ytrn: Array(ytrn.prefix(200)), xtst: reshape(xtst, [784, -1]), ytst: ytst)
                : MNISTWorkload(xtrn: columns, ytrn: ytrn, xtst: reshape(xtst, [784, -1]), ytst: ytst)
        case (.synthetic, _):
            let (ntrn, ntst) = scale == .smoke ? (200, 100) : (60_000, 10_000)
            setseed(1)
            var random = SplitMix(seed: 1)                              // the same labels in every run
            func labels(_ n: Int) -> [Int] { (0..<n).map { _ in Int.random(in: 0..<10, using: &random) } }
            data = MNISTWorkload(xtrn: Tensor.rand(784, ntrn), ytrn: labels(ntrn), xtst: Tensor.rand(784, ntst), ytst: labels(ntst))
        }
        mnistData = data
        return data
    }

    /// The CharLM text as codes and the vocabulary size: Hiawatha read as the peers read
    /// it (every Unicode scalar, CRLF kept); at smoke scale 400 characters.
    func text() throws -> (codes: [Int], vocab: Int) {
        if let cached = textData { return cached }
        let data: (codes: [Int], vocab: Int)
        switch (source, scale) {
        case (.files(let folder), _):
            let (trn, _, vocab) = try gutenberg(.hiawatha, testFraction: 0, .folder(folder))
            data = (scale == .smoke ? Array(trn.prefix(400)) : trn, vocab.count)
        case (.synthetic, _):
            var random = SplitMix(seed: 1)                              // the same text in every run
            let (n, vocab) = scale == .smoke ? (400, 20) : (214_325, 84)
            data = ((0..<n).map { _ in Int.random(in: 0..<vocab, using: &random) }, vocab)
        }
        textData = data
        return data
    }

    private var housingData: (x: Tensor, y: Tensor)?
    private var mnistData: MNISTWorkload?
    private var textData: (codes: [Int], vocab: Int)?
}

