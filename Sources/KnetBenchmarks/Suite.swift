import Knet
import KnetSVG
#if canImport(Glibc)
import Glibc
#endif

/// What to run: which cases, how often, against which peers, on which data.
public struct SuiteOptions: Sendable {
    /// The table cases to run, in order.
    public var cases: [TableCase]
    /// Timed runs per case (each peer runs as often, alternating with ours).
    public var runs: Int
    /// The peers to compare with ("torch", "jax").
    public var peers: [String]
    /// How the peer scripts are run.
    public var runner: PeerRunner
    /// The data.
    public var source: DataSource
    /// Full (Knet's table) or smoke sizes.
    public var scale: BenchmarkScale
    /// Whether to run the micro-benchmarks too.
    public var micro: Bool
    /// Whether `cases` are the wider table's (`TableCase.wide`): its own report section.
    public var wide: Bool = false

    /// Options; by default every case and the micro-benchmarks, 3 runs, no peers.
    ///
    ///     var o = SuiteOptions(source: .synthetic, scale: .smoke)
    ///     o.runs = 1
    public init(cases: [TableCase] = TableCase.all, runs: Int = 3, peers: [String] = [],
                runner: PeerRunner = PeerRunner(directory: "../shared/peers"),
                source: DataSource, scale: BenchmarkScale, micro: Bool = true) {
        self.cases = cases
        self.runs = runs
        self.peers = peers
        self.runner = runner
        self.source = source
        self.scale = scale
        self.micro = micro
    }
}

/// A peer's runs of one row, or why there are none.
public struct PeerRow: Sendable, Equatable {
    /// The measured runs.
    public var runs: [RunResult] = []
    /// Why the peer has no (or fewer) runs, if it failed.
    public var failure: String?

    /// The median seconds over the runs (NaN when none).
    public var seconds: Double { median(runs.map(\.seconds)) }
}

/// One row of the table: our runs and each peer's.
public struct RowResult: Sendable, Equatable {
    /// The row name ("mlp", "mlp-record-rec", …).
    public var name: String
    /// What the case trains.
    public var summary: String
    /// Our runs.
    public var ours: [RunResult]
    /// Each peer's runs, by peer name.
    public var peers: [String: PeerRow]
    /// How the report states its speed besides seconds (the case's `rate`).
    public var rate: TableCase.Rate? = nil

    /// Our median seconds.
    public var seconds: Double { median(ours.map(\.seconds)) }

    /// ours / theirs for `peer` (NaN when that peer has no run): of the median seconds, or
    /// of the seconds per item when both report how many items their runs processed.
    public func ratio(to peer: String) -> Double {
        let theirs = peers[peer]
        if let mine = ours.last?.items, let their = theirs?.runs.last?.items, mine > 0, their > 0 {
            return (seconds / mine) / (theirs!.seconds / their)
        }
        return seconds / (theirs?.seconds ?? .nan)
    }

    /// The rate of a median time over `runs` (their last `items`) as the row states it, nil without a rate.
    func rateText(_ runs: [RunResult]) -> String? {
        rate.map { $0.text(items: runs.last?.items, seconds: median(runs.map(\.seconds))) }
    }

    /// One line: whether we beat every peer measured, with the ratio to the fastest.
    ///
    ///     row.verdict   // "faster than every peer: ×0.48 of jax"
    public var verdict: String {
        let measured = peers.keys.map { ($0, ratio(to: $0)) }.filter { $0.1.isFinite }
        // the fastest peer is the one our ratio is largest against
        guard let (fastest, ratio) = measured.max(by: { $0.1 < $1.1 }) else { return "no peer measured" }
        let r = "×\(fmt(ratio, 2)) of \(fastest)"
        if ratio < 1 { return "faster than every peer: \(r)" }
        if ratio == 1 { return "level with \(fastest): \(r)" }
        let ahead = measured.filter { $0.1 > 1 }.map(\.0).sorted()
        return "behind \(ahead.joined(separator: ", ")): \(r)"
    }
}

/// Everything one invocation measured, for the console, BENCHMARKS.md and JSON.
public struct SuiteResult: Sendable {
    /// The machine.
    public var machine: MachineDescription
    /// When it ran (UTC, "2026-11-26 01:23").
    public var date: String
    /// The options it ran with.
    public var options: SuiteOptions
    /// Each peer's header fields (version, threads), from its last successful run.
    public var peerHeaders: [String: [String: String]]
    /// The table rows, in order.
    public var rows: [RowResult]
    /// The micro-benchmark figures.
    public var micro: [MicroResult]

    /// The row called `name`.
    public func row(_ name: String) -> RowResult? { rows.first { $0.name == name } }
}

/// Runs the suite: for each case, `runs` rounds of ours then each peer (alternating, so
/// slow drifts of the machine hit everyone alike), then the micro-benchmarks. `log`
/// receives a progress line after each round.
///
///     let result = try runSuite(SuiteOptions(source: .synthetic, scale: .smoke)) { print($0) }
public func runSuite(_ options: SuiteOptions, log: (String) -> Void = { _ in }) throws -> SuiteResult {
    let data = Workloads(source: options.source, scale: options.scale)
    var rows: [RowResult] = []
    var headers: [String: [String: String]] = [:]
    var unavailable: [String: String] = [:]          // peers that can never run, with the reason
    for c in options.cases {
        var caseRows = c.rows.map { RowResult(name: $0, summary: c.summary, ours: [], peers: [:], rate: c.rate) }
        var failedHere: Set<String> = []
        for round in 1...max(1, options.runs) {
            let ours = try c.run(data)
            var line = "\(c.name) run \(round)/\(options.runs): ours \(caseRows.map { fmt(ours[$0.name]?.seconds ?? .nan, 2) }.joined(separator: "/")) s"
            for i in caseRows.indices {
                if let m = ours[caseRows[i].name] { caseRows[i].ours.append(m) }
            }
            for peer in options.peers where unavailable[peer] == nil && !failedHere.contains(peer) {
                let script = c.peerScripts.isEmpty ? nil : c.peerScripts[peer] ?? "(\(peer) has no script for \(c.name))"
                switch options.runner.run(peer: peer, case: c.name, script: script, source: options.source, scale: options.scale) {
                case .success(let output):
                    headers[peer] = output.header
                    for i in caseRows.indices {
                        if let m = output.rows[caseRows[i].name] { caseRows[i].peers[peer, default: PeerRow()].runs.append(m) }
                    }
                    line += "; \(peer) \(caseRows.map { fmt(output.rows[$0.name]?.seconds ?? .nan, 2) }.joined(separator: "/")) s"
                case .failure(let failure):
                    // a missing script of one case of the wider table says nothing about the others
                    if failure.isPermanent && script == nil { unavailable[peer] = failure.description } else { failedHere.insert(peer) }
                    for i in caseRows.indices { caseRows[i].peers[peer, default: PeerRow()].failure = failure.description }
                    line += "; \(peer) failed (\(failure))"
                }
            }
            log(line)
        }
        for peer in options.peers {     // peers skipped for good say why on every later row
            guard let reason = unavailable[peer] else { continue }
            for i in caseRows.indices where caseRows[i].peers[peer] == nil { caseRows[i].peers[peer] = PeerRow(failure: reason) }
        }
        rows += caseRows
    }
    let micro = options.micro ? microBenchmarks(runs: max(1, options.runs), scale: options.scale) : []
    return SuiteResult(machine: .current, date: utcNow(), options: options, peerHeaders: headers, rows: rows, micro: micro)
}

/// The current UTC date and time as "YYYY-MM-DD HH:MM UTC".
///
///     utcNow()   // "2026-12-07 12:30 UTC"
public func utcNow() -> String {
    var t = time(nil)
    var parts = tm()
    gmtime_r(&t, &parts)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)) UTC"
}
