import Knet

// The suite's results as JSON (`knet-bench --json FILE`), written without Foundation.

/// A JSON value.
indirect enum JSON {
    case number(Double)
    case string(String)
    case null
    case array([JSON])
    case object([(String, JSON)])

    /// A number, or null for NaN, infinity and nil.
    static func num(_ v: Double?) -> JSON { v.map { $0.isFinite ? .number($0) : .null } ?? .null }

    /// Compact JSON text.
    var text: String {
        switch self {
        case .number(let v): return v == v.rounded() && v.magnitude < 1e15 ? String(Int(v)) : "\(v)"
        case .string(let s): return jsonQuoted(s)
        case .null: return "null"
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let fields): return "{" + fields.map { jsonQuoted($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }
}

extension RunResult {
    var json: JSON {
        .object([("seconds", .num(seconds)), ("loss", .num(loss)), ("train_accuracy", .num(trainAccuracy)),
                 ("test_accuracy", .num(testAccuracy)), ("other_cores", .num(otherCores)), ("items", .num(items))])
    }
}

extension SuiteResult {
    /// Every measurement, the medians, ratios and verdicts, machine and versions, as JSON.
    ///
    ///     try writeFileAtomically(Array(result.json.utf8), to: "bench.json")
    public var json: String {
        let rowValues: [JSON] = rows.map { row in
            let peers: [(String, JSON)] = options.peers.map { p in
                let pr = row.peers[p]
                return (p, .object([("median_seconds", .num(pr?.seconds)), ("ratio", .num(row.ratio(to: p))),
                                    ("runs", .array((pr?.runs ?? []).map(\.json))),
                                    ("failure", pr?.failure.map(JSON.string) ?? .null)]))
            }
            return .object([("name", .string(row.name)), ("summary", .string(row.summary)),
                            ("median_seconds", .num(row.seconds)), ("runs", .array(row.ours.map(\.json))),
                            ("peers", .object(peers)), ("verdict", .string(row.verdict))])
        }
        let source: JSON
        switch options.source {
        case .files(let folder): source = .string(folder)
        case .synthetic: source = .string("synthetic")
        }
        return JSON.object([
            ("date", .string(date)),
            ("machine", .object([("cpu", .string(machine.cpu)), ("cores", .number(Double(machine.cores))),
                                 ("kernel", .string(machine.kernel)), ("gemm", .string(machine.gemm)), ("kernels", .string(machine.kernels)), ("swift", .string(machine.swift))])),
            ("scale", .string(options.scale.rawValue)), ("data", source), ("runs", .number(Double(options.runs))),
            ("peers", .object(peerHeaders.sorted { $0.key < $1.key }.map { ($0.key, .object($0.value.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })) })),
            ("rows", .array(rowValues)),
            ("micro", .array(micro.map { .object([("section", .string($0.section)), ("name", .string($0.name)),
                                                  ("value", .num($0.value)), ("unit", .string($0.unit)),
                                                  ("of_peak", .num($0.fractionOfPeak))]) })),
        ]).text + "\n"
    }
}
