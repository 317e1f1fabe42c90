import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import KnetBenchmarks
import KnetSVG

/// The tables, BENCHMARKS.md, the SVG chart and the JSON, from a result with known numbers.
final class ReportTests: XCTestCase {
    /// linreg: ours 1 s (runs 1.2, 0.8, 1.0), torch 2 s, jax 0.5 s; mlp: ours 1 s, torch 4 s, jax failed.
    func sampleResult() -> SuiteResult {
        func runs(_ seconds: [Double], acc: Double? = nil) -> [RunResult] {
            seconds.map { RunResult(seconds: $0, loss: 0.25, trainAccuracy: acc, testAccuracy: acc, otherCores: 0.02) }
        }
        let cases = TableCase.all.filter { $0.name == "linreg" || $0.name == "mlp" }
        let options = SuiteOptions(cases: cases, runs: 3, peers: ["torch", "jax"], source: .files("/data"), scale: .full, micro: true)
        let rows = [
            RowResult(name: "linreg", summary: "Housing", ours: runs([1.2, 0.8, 1.0]),
                      peers: ["torch": PeerRow(runs: runs([2, 2, 2])), "jax": PeerRow(runs: runs([0.5, 0.4, 0.6]))]),
            RowResult(name: "mlp", summary: "MNIST <mlp> & co", ours: runs([1, 1, 1], acc: 0.9712),
                      peers: ["torch": PeerRow(runs: runs([4, 4, 4], acc: 0.969)), "jax": PeerRow(failure: "exit status 1: no jax")]),
        ]
        let machine = MachineDescription(cpu: "Test CPU", cores: 2, kernel: "Linux 6 x86_64", gemm: "swift (none)",
                                         kernels: "AVX2+FMA; the CPU has no AVX-512", swift: "Swift 6.3, release build")
        return SuiteResult(machine: machine, date: "2026-11-26 01:00 UTC", options: options,
                           peerHeaders: ["torch": ["framework": "torch", "version": "2.13.0+cpu", "threads": "2"]], rows: rows,
                           micro: [MicroResult(section: "SGEMM", name: "1024³, Swift", value: 150.04, unit: "GFLOP/s", fractionOfPeak: 0.7504)])
    }

    func testMediansRatiosAndVerdicts() {
        let r = sampleResult()
        XCTAssertEqual(r.rows[0].seconds, 1.0)
        XCTAssertEqual(r.rows[0].ratio(to: "torch"), 0.5)
        XCTAssertEqual(r.rows[0].ratio(to: "jax"), 2.0)
        XCTAssertEqual(r.rows[0].verdict, "behind jax: ×2.00 of jax")
        XCTAssertEqual(r.rows[1].verdict, "faster than every peer: ×0.25 of torch")
        XCTAssert(r.rows[1].ratio(to: "jax").isNaN)
        XCTAssertEqual(median([3, 1, 2, 10]), 2.5)
        let tie = RowResult(name: "linreg", summary: "Housing", ours: r.rows[0].ours,
                            peers: ["jax": PeerRow(runs: [RunResult(seconds: 1.0, loss: 0.25, otherCores: 0)])])
        XCTAssertEqual(tie.verdict, "level with jax: ×1.00 of jax")
    }

    func testTrainingTableCells() {
        let t = sampleResult().trainingTable
        XCTAssertEqual(t.header, ["row", "Knet s", "loss", "test acc", "torch s", "torch loss", "torch acc", "ours/torch",
                                  "jax s", "jax loss", "jax acc", "ours/jax", "verdict"])
        XCTAssertEqual(t.rows[1], ["mlp", "1.000", "0.2500", "97.12%", "4.000", "0.2500", "96.90%", "×0.25",
                                   "—", "—", "—", "—", "faster than every peer: ×0.25 of torch"])
        let lines = t.text.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssert(lines[1].hasPrefix("linreg   1.000"), String(lines[1]))
    }

    func testReportKeepsOneSectionPerGEMMBackend() {
        let swift1 = "## Without a BLAS\nRUN-ONE\n", blas = "## With a system BLAS\nb\n", swift2 = "## Without a BLAS\nRUN-TWO\n"
        let one = mergeReport(nil, key: "swift", section: swift1)
        XCTAssert(one.hasPrefix("# Benchmarks\n"))
        XCTAssert(one.contains("<!-- knet-bench section: swift -->\n" + swift1 + "<!-- knet-bench end: swift -->\n"))
        // A BLAS run adds its section after the headline; a later Swift run replaces only its own.
        let two = mergeReport(one, key: "blas", section: blas)
        let three = mergeReport(two, key: "swift", section: swift2)
        XCTAssertFalse(three.contains("RUN-ONE"))
        let s = three.range(of: "RUN-TWO")!, b = three.range(of: "## With a system BLAS\nb")!
        XCTAssertLessThan(s.lowerBound, b.lowerBound, "the Swift GEMM's section comes first")
        XCTAssertEqual(three.components(separatedBy: "<!-- knet-bench section:").count, 3)
        XCTAssertEqual(mergeReport(three, key: "blas", section: blas), three, "a rerun is a fixed point")
        // A file in the old one-section layout has no markers: it is replaced.
        XCTAssertEqual(mergeReport("# Benchmarks\nold table\n", key: "swift", section: swift1), one)
    }

    func testMarkdownReport() {
        let md = sampleResult().markdown(command: "knet-bench --vs torch,jax --report BENCHMARKS.md", chartFile: "BENCHMARKS.svg")
        XCTAssert(md.hasPrefix("## Without a BLAS: Knet's own GEMM\n"), md)
        XCTAssert(md.contains("knet-bench --vs torch,jax --report BENCHMARKS.md"))
        XCTAssert(md.contains("- CPU: Test CPU, 2 cores online"))
        XCTAssert(md.contains("GEMM swift (none); kernels AVX2+FMA; the CPU has no AVX-512; "), "which kernels ran")
        XCTAssert(md.contains("- torch 2.13.0+cpu: 2 threads"))
        XCTAssert(md.contains("- jax: not measured"))
        XCTAssert(md.contains("| linreg | 1.000 | 0.2500 | — | 2.000 | 0.2500 | — | ×0.50 | 0.500 | 0.2500 | — | ×2.00 | behind jax: ×2.00 of jax |"))
        XCTAssert(md.contains("![ours/peer time per row"))
        XCTAssert(md.contains("(BENCHMARKS.svg)"))
        XCTAssert(md.contains("| SGEMM | 1024³, Swift | 150.0 | GFLOP/s | 75% |"))
        XCTAssert(md.contains("- Peer not measured: jax (mlp): exit status 1: no jax"))
        XCTAssert(md.contains("a quiet machine"))
    }

    func testChartHasOneBarPerMeasuredRatio() throws {
        let svg = try XCTUnwrap(sampleResult().ratioChart)
        XCTAssert(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssert(svg.hasSuffix("</svg>\n"))
        // background + linreg/torch, linreg/jax, mlp/torch
        XCTAssertEqual(svg.components(separatedBy: "<rect").count - 1, 4)
        XCTAssert(svg.contains("×2.00 vs jax") && svg.contains("×0.50 vs torch") && svg.contains("×0.25 vs torch"))
        // The XML parses.
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssert(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        var none = sampleResult()
        none.options.peers = []
        XCTAssertNil(none.ratioChart)
    }

    func testJSONParsesAndCarriesTheNumbers() throws {
        let text = sampleResult().json
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(object["scale"] as? String, "full")
        XCTAssertEqual(object["data"] as? String, "/data")
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[1]["summary"] as? String, "MNIST <mlp> & co")
        XCTAssertEqual(rows[0]["median_seconds"] as? Double, 1.0)
        let peers = try XCTUnwrap(rows[1]["peers"] as? [String: [String: Any]])
        XCTAssertEqual(peers["torch"]?["ratio"] as? Double, 0.25)
        XCTAssert(peers["jax"]?["ratio"] is NSNull)
        XCTAssertEqual(peers["jax"]?["failure"] as? String, "exit status 1: no jax")
        let runs = try XCTUnwrap(rows[1]["runs"] as? [[String: Any]])
        XCTAssertEqual(runs[0]["test_accuracy"] as? Double, 0.9712)
    }

    func testNumberFormatting() {
        XCTAssertEqual(fmt(1.23456, 2), "1.23")
        XCTAssertEqual(fmt(-0.05, 1), "-0.1")
        XCTAssertEqual(fmt(0.004, 3), "0.004")
        XCTAssertEqual(fmt(12, 0), "12")
        XCTAssertEqual(fmt(.nan), "—")
        XCTAssertEqual(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;")
    }
}
