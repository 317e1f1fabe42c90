import Knet
import KnetSVG

// The suite's results as tables: one cell grid per table, printed aligned on the
// console and as Markdown in BENCHMARKS.md.

/// A table: a header row and body rows of cells.
public struct Table: Sendable, Equatable {
    /// Column titles.
    public var header: [String]
    /// The rows, each as many cells as the header.
    public var rows: [[String]]

    /// Aligned plain text (numbers right-aligned, text left-aligned).
    public var text: String {
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).enumerated().map { c, cell in
                let (text, width) = cell
                return c == 0 || Double(text.filter { $0 != "×" && $0 != "%" }) == nil ? text.rightPad(width) : text.leftPad(width)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }
            .joined(separator: "\n")
    }

    /// A GitHub Markdown table.
    public var markdown: String {
        func line(_ cells: [String]) -> String { "| " + cells.map { $0.replacingPipes() }.joined(separator: " | ") + " |" }
        return ([line(header), "|" + header.map { _ in "---|" }.joined()] + rows.map(line)).joined(separator: "\n")
    }
}

extension String {
    fileprivate func replacingPipes() -> String { split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }
}

extension SuiteResult {
    /// The training-time table: our median seconds, loss and test accuracy, each peer's
    /// median and our ratio to it, and the verdict.
    public var trainingTable: Table {
        let peers = options.peers
        let rated = rows.contains { $0.rate != nil }
        var header = ["row", "Knet s"] + (rated ? ["Knet rate"] : []) + ["loss", "test acc"]
        for p in peers { header += ["\(p) s"] + (rated ? ["\(p) rate"] : []) + ["\(p) loss", "\(p) acc", "ours/\(p)"] }
        header.append("verdict")
        let rows = self.rows.map { row -> [String] in
            let last = row.ours.last
            var cells = [row.name, fmt(row.seconds, 3)] + (rated ? [row.rateText(row.ours) ?? "—"] : [])
                + [fmt(last?.loss ?? .nan, 4), percent(last?.testAccuracy)]
            for p in peers {
                let theirs = row.peers[p]
                if let theirs, !theirs.runs.isEmpty {
                    cells += [fmt(theirs.seconds, 3)] + (rated ? [row.rateText(theirs.runs) ?? "—"] : [])
                        + [fmt(theirs.runs.last!.loss, 4), percent(theirs.runs.last!.testAccuracy), "×" + fmt(row.ratio(to: p), 2)]
                } else {
                    cells += Array(repeating: "—", count: rated ? 5 : 4)
                }
            }
            cells.append(row.verdict)
            return cells
        }
        return Table(header: header, rows: rows)
    }

    /// Knet's recording-overhead table from the mlp-record rows: recorded forward and
    /// forward+backward relative to the plain forward, ours and each peer's; nil when
    /// mlp-record did not run.
    public var recordingTable: Table? {
        guard let fwd = row("mlp-record-fwd"), let rec = row("mlp-record-rec"), let bwd = row("mlp-record-fwdbwd") else { return nil }
        func cells(_ who: String, _ f: Double, _ r: Double, _ b: Double) -> [String] {
            [who, fmt(f, 3), fmt(r, 3), fmt(b, 3), fmt(r / f, 2), fmt(b / f, 2)]
        }
        var rows = [cells("Knet for Swift", fwd.seconds, rec.seconds, bwd.seconds)]
        for p in options.peers where fwd.peers[p]?.runs.isEmpty == false {
            rows.append(cells(p, fwd.peers[p]!.seconds, rec.peers[p]?.seconds ?? .nan, bwd.peers[p]?.seconds ?? .nan))
        }
        return Table(header: ["framework", "forward s", "recorded s", "fwd+bwd s", "recorded/forward (goal ≤ 1.10)", "fwd+bwd/forward"],
                     rows: rows)
    }

    /// The micro-benchmark figures.
    public var microTable: Table {
        Table(header: ["section", "what", "median", "unit", "of peak"],
              rows: micro.map { [$0.section, $0.name, fmt($0.value, $0.unit == "µs" ? 3 : 1), $0.unit,
                                 $0.fractionOfPeak.map { fmt($0 * 100, 0) + "%" } ?? ""] })
    }

    /// Why peers are missing from rows, one line per peer and reason.
    public var peerFailures: [String] {
        var seen: Set<String> = [], lines: [String] = []
        for row in rows {
            for p in options.peers {
                guard let reason = row.peers[p]?.failure, seen.insert(p + reason).inserted else { continue }
                lines.append("\(p) (\(row.name)): \(reason)")
            }
        }
        return lines
    }

    /// The largest load other processes put on the machine during any run of ours or a peer's.
    public var worstOtherLoad: Double? {
        let all = rows.flatMap { $0.ours + $0.peers.values.flatMap(\.runs) }.compactMap(\.otherCores)
        return all.max()
    }

    /// The console summary: the tables, peer failures and the load warning.
    public var text: String {
        var parts = ["Training (median of \(options.runs) runs, seconds)\n" + trainingTable.text]
        if let recording = recordingTable { parts.append("Recording overhead (mlp-record)\n" + recording.text) }
        if !micro.isEmpty { parts.append("Micro-benchmarks\n" + microTable.text) }
        if !peerFailures.isEmpty { parts.append("Peers not measured: " + peerFailures.joined(separator: "; ")) }
        if let load = worstOtherLoad, load > 0.1 {
            parts.append("Warning: other processes used up to \(fmt(load, 2)) cores during a run; timings may be disturbed.")
        }
        return parts.joined(separator: "\n\n")
    }

    /// The report's section key: the GEMM backend that ran ("swift", "blas", "naive"), or
    /// "wide" for the wider table.
    public var reportKey: String { options.wide ? "wide" : gemmKey }

    /// The GEMM backend that ran ("swift", "blas", "naive").
    public var gemmKey: String { String(machine.gemm.split(separator: " ").first ?? "swift") }

    /// This run's section of BENCHMARKS.md (see `mergeReport`): its title, how to
    /// regenerate it, the machine and versions, the tables and the chart (`chartFile`, an
    /// SVG beside it, when given).
    public func markdown(command: String, chartFile: String?) -> String {
        let title: String
        switch reportKey {
        case "swift": title = "Without a BLAS: Knet's own GEMM"
        case "blas": title = "With a system BLAS: " + machine.gemm.dropFirst("blas (".count).dropLast()
        case "wide": title = "The seeds' wider table, against PyTorch scripts of this project (Benchmarks/peers)"
        default: title = "GEMM \(machine.gemm)"
        }
        var lines = [
            "## \(title)",
            "",
            "Generated by `knet-bench` on \(date). Regenerate with:",
            "",
            "```sh",
            command,
            "```",
            "",
            "### Machine and versions",
            "",
            "- CPU: \(machine.cpu), \(machine.cores) cores online; \(machine.kernel)",
            "- Knet for Swift: \(machine.swift); GEMM \(machine.gemm); kernels \(machine.kernels); \(CPUBLAS.threads) threads (`KNET_THREADS`, default: the cores)",
        ]
        for p in options.peers {
            if let h = peerHeaders[p] {
                let extras = h.filter { !["framework", "version", "threads"].contains($0.key) }.sorted { $0.key < $1.key }
                    .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                lines.append("- \(p) \(h["version"] ?? "?"): \(h["threads"] ?? "?") threads\(extras.isEmpty ? "" : "; \(extras)")")
            } else {
                lines.append("- \(p): not measured")
            }
        }
        let data: String
        switch options.source {
        case .files(let folder) where options.wide:
            data = "the real files under `\(folder)` for each row whose data set is there, else synthetic data of the real shapes"
        case .files(let folder): data = "the real files in `\(folder)`"
        case .synthetic: data = "synthetic data of the real shapes (only the times mean anything)"
        }
        lines += [
            "- Data: \(data); scale: \(options.scale.rawValue); \(options.runs) timed runs per row, ours and each peer's alternating, medians reported.",
            "",
            "### Training times",
            "",
            options.wide
                ? "Seconds of the timed loop only (data loaded and batched beforehand, a warm-up excluded; inference rows do not record), ours and the project's PyTorch scripts in `Benchmarks/peers` alike; the rate is the seeds' unit. Loss: the mean loss of the timed steps (resnet50: the mean pooled feature, a checksum); a ratio below 1 means Knet for Swift is faster."
                : "Seconds of the training loop only (data loaded and minibatched beforehand, a short warm-up excluded), as the peer scripts in `../shared/peers` measure. Loss is the trained model's training-set loss (mlp-record: the last minibatch's); a ratio below 1 means Knet for Swift is faster.",
            "",
            trainingTable.markdown,
            "",
        ]
        for c in options.cases { lines.append("- **\(c.name)**: \(c.summary)") }
        if let chartFile { lines += ["", "![ours/peer time per row (log scale; left of 1 = Knet for Swift faster)](\(chartFile))"] }
        if let recording = recordingTable {
            lines += ["", "### Recording overhead (Knet's mlp-record table)", "", recording.markdown]
        }
        if !micro.isEmpty { lines += ["", "### Micro-benchmarks", "", microTable.markdown] }
        var notes = peerFailures.map { "- Peer not measured: \($0)" }
        if let load = worstOtherLoad {
            notes.append("- Most cores other processes used during any run: \(fmt(load, 2))\(load > 0.1 ? " — above 0.1, so some timings were disturbed" : " (a quiet machine)").")
        }
        if !notes.isEmpty { lines += ["", "### Notes", ""] + notes }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// BENCHMARKS.md with one section per GEMM backend: `existing` (the file's text, or nil)
/// with the section `key` replaced by `section` (a `SuiteResult.markdown`), or added; the
/// other sections are kept, in the order swift, blas, then any other. A file in the old
/// one-section layout is replaced.
///
///     let md = mergeReport(try? String(contentsOfFile: "BENCHMARKS.md"), key: result.reportKey, section: text)
public func mergeReport(_ existing: String?, key: String, section: String) -> String {
    var sections: [(key: String, text: String)] = []
    var rest = Substring(existing ?? "")
    while let open = rest.firstRange(of: "<!-- knet-bench section: ") {
        let afterOpen = rest[open.upperBound...]
        guard let keyEnd = afterOpen.firstRange(of: " -->\n") else { break }
        let name = String(afterOpen[..<keyEnd.lowerBound])
        let content = afterOpen[keyEnd.upperBound...]
        guard let close = content.firstRange(of: "<!-- knet-bench end: \(name) -->\n") else { break }
        sections.append((name, String(content[..<close.lowerBound])))
        rest = content[close.upperBound...]
    }
    sections.removeAll { $0.key == key }
    sections.append((key, section.hasSuffix("\n") ? section : section + "\n"))
    let rank = ["swift": 0, "blas": 1]
    sections.sort { (rank[$0.key] ?? 2, $0.key) < (rank[$1.key] ?? 2, $1.key) }
    let head = """
        # Benchmarks

        Generated by `knet-bench`; do not edit by hand. One section per GEMM backend: a run \
        replaces its own section (`KNET_GEMM=swift` for Knet's own GEMM, `blas` for a system \
        BLAS) and keeps the others. The headline is the first: a fresh machine without a BLAS.

        """
    return head + sections.map { "\n<!-- knet-bench section: \($0.key) -->\n" + $0.text + "<!-- knet-bench end: \($0.key) -->\n" }.joined()
}

/// An accuracy as a percentage with two decimals, or "—".
private func percent(_ v: Double?) -> String { v.map { fmt($0 * 100, 2) + "%" } ?? "—" }
