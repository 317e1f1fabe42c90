import Knet
#if canImport(Glibc)
import Glibc
#endif

/// What one invocation of a peer script reported: its header fields (framework,
/// version, threads, …) and a measurement per row.
public struct PeerOutput: Sendable, Equatable {
    /// The `key=value` fields of the `# framework=…` header line.
    public var header: [String: String]
    /// The measurements by row name.
    public var rows: [String: RunResult]
}

/// Why a peer produced no measurement.
public enum PeerFailure: Error, Equatable, CustomStringConvertible {
    /// The script is not there.
    case missing(path: String)
    /// The interpreter could not be started.
    case cannotStart(command: String)
    /// The script ran but failed or printed no line for the row (e.g. the framework is
    /// not installed); the last lines of its stderr.
    case failed(status: Int32, tail: String)

    /// A one-line reason for the report.
    public var description: String {
        switch self {
        case .missing(let path): return "\(path) not found"
        case .cannotStart(let command): return "cannot run \(command)"
        case .failed(let status, let tail): return "exit status \(status)\(tail.isEmpty ? "" : ": \(tail)")"
        }
    }

    /// Whether every later invocation would fail the same way.
    var isPermanent: Bool {
        if case .failed = self { return false }
        return true
    }
}

/// Runs the peers' benchmark scripts (`<directory>/<peer>_bench.py`, see
/// ../shared/peers/README.md) one case per process and parses their result lines.
///
///     let runner = PeerRunner(directory: "../shared/peers")
///     let out = try runner.run(peer: "torch", case: "mlp", source: .files("../shared/data"), scale: .full).get()
public struct PeerRunner: Sendable {
    /// The folder holding `torch_bench.py`, `jax_bench.py`, …
    public var directory: String
    /// The command that runs a script (its path is appended, then the arguments).
    public var interpreter: [String]

    /// A runner for the scripts in `directory`, run by `interpreter`.
    public init(directory: String, interpreter: [String] = ["python3"]) {
        self.directory = directory
        self.interpreter = interpreter
    }

    /// The script of `peer`.
    public func scriptPath(_ peer: String) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + "\(peer)_bench.py"
    }

    /// The arguments that make a peer run `name` on `source` at `scale`: at smoke scale
    /// lenet and charlm time 2 minibatches, and mlp-record does one repetition always (the
    /// suite repeats runs itself).
    /// A project script of the wider table (`ownScript`) takes `--smoke` instead.
    public func arguments(case name: String, source: DataSource, scale: BenchmarkScale, ownScript: Bool = false) -> [String] {
        var args = ["--only", name]
        switch source {
        case .files(let folder): args += ["--data", folder]
        case .synthetic: args.append("--synthetic")
        }
        if scale == .smoke && ownScript { args.append("--smoke") }
        if scale == .smoke && (name == "lenet" || name == "charlm") { args += ["--max-batches", "2"] }
        if name == "mlp-record" { args += ["--reps", "1"] }
        return args
    }

    /// Runs `peer`'s script for case `name` once and returns what it printed; `script` is
    /// the case's own script (`TableCase.peerScripts`), nil for the shared one.
    public func run(peer: String, case name: String, script: String? = nil, source: DataSource,
                    scale: BenchmarkScale) -> Result<PeerOutput, PeerFailure> {
        let path = script ?? scriptPath(peer)
        guard access(path, R_OK) == 0 else { return .failure(.missing(path: path)) }
        let command = interpreter + [path] + arguments(case: name, source: source, scale: scale, ownScript: script != nil)
        guard let result = try? runProcess(command, collectOutput: true) else {
            return .failure(.cannotStart(command: interpreter.joined(separator: " ")))
        }
        let output = parsePeerOutput(result.stdout)
        guard result.status == 0, !output.rows.isEmpty else {
            let tail = result.stderr.split(separator: "\n").suffix(2).joined(separator: " / ")
            return .failure(.failed(status: result.status, tail: tail))
        }
        return .success(output)
    }
}

/// Parses a peer script's output: the `# framework=… version=…` header and result lines
/// `NAME seconds=S final_loss=L [train_acc=A test_acc=A] [items=N] … other_cores=X`. Lines without
/// `seconds=` (comments, ratio summaries) are skipped.
///
///     parsePeerOutput("linreg seconds=2.3 final_loss=21.89\n").rows["linreg"]?.seconds   // 2.3
public func parsePeerOutput(_ text: String) -> PeerOutput {
    var output = PeerOutput(header: [:], rows: [:])
    func fields(_ parts: ArraySlice<Substring>) -> [String: String] {
        var f: [String: String] = [:]
        for part in parts {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { f[String(kv[0])] = String(kv[1]) }
        }
        return f
    }
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ")
        guard let first = parts.first else { continue }
        if first == "#" {
            let f = fields(parts.dropFirst())
            if f["framework"] != nil { output.header = f }
            continue
        }
        let f = fields(parts.dropFirst())
        guard let seconds = f["seconds"].flatMap(Double.init) else { continue }
        output.rows[String(first)] = RunResult(
            seconds: seconds, loss: f["final_loss"].flatMap(Double.init) ?? .nan,
            trainAccuracy: f["train_acc"].flatMap(Double.init), testAccuracy: f["test_acc"].flatMap(Double.init),
            otherCores: f["other_cores"].flatMap(Double.init), items: f["items"].flatMap(Double.init))
    }
    return output
}
