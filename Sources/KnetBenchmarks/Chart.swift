import KnetSVG
#if canImport(Glibc)
import Glibc
#endif

// The ratio chart of BENCHMARKS.md: one horizontal bar per row and peer, the time of
// Knet for Swift over the peer's on a log2 axis centred on 1, as a self-contained SVG.

extension SuiteResult {
    /// The SVG chart of ours/peer ratios per row (bars left of the 1× line: we are
    /// faster); nil when no peer was measured.
    public var ratioChart: String? {
        let bars = rows.flatMap { row in
            options.peers.compactMap { p -> (row: String, peer: String, ratio: Double)? in
                let r = row.ratio(to: p)
                return r.isFinite && r > 0 ? (row.name, p, r) : nil
            }
        }
        guard !bars.isEmpty else { return nil }
        let ratios = bars.map(\.ratio)
        let lo = log2(Swift.min(0.25, ratios.min()!)).rounded(.down), hi = log2(Swift.max(4, ratios.max()!)).rounded(.up)
        let labelWidth = 150.0, plotWidth = 520.0, barHeight = 16.0, gap = 4.0, groupGap = 10.0, top = 40.0
        func x(_ ratio: Double) -> Double { labelWidth + (log2(ratio) - lo) / (hi - lo) * plotWidth }
        let colours = ["torch": "#ee4c2c", "jax": "#4285f4"], fallback = ["#7b3294", "#008837", "#e66101"]
        func colour(_ peer: String) -> String {
            colours[peer] ?? fallback[(options.peers.firstIndex(of: peer) ?? 0) % fallback.count]
        }
        var body: [String] = [], y = top
        for row in rows {
            let mine = bars.filter { $0.row == row.name }
            guard !mine.isEmpty else { continue }
            body.append(svgText(labelWidth - 8, y + (Double(mine.count) * (barHeight + gap) - gap) / 2 + 4, row.name, anchor: "end"))
            for bar in mine {
                let (a, b) = (Swift.min(x(1), x(bar.ratio)), Swift.max(x(1), x(bar.ratio)))
                body.append("<rect x=\"\(fmt(a, 1))\" y=\"\(fmt(y, 1))\" width=\"\(fmt(Swift.max(b - a, 1), 1))\" height=\"\(fmt(barHeight, 1))\" fill=\"\(colour(bar.peer))\"><title>\(escape(row.name)) vs \(escape(bar.peer)): ×\(fmt(bar.ratio, 2))</title></rect>")
                let right = bar.ratio >= 1
                body.append(svgText(right ? b + 4 : a - 4, y + barHeight - 4, "×\(fmt(bar.ratio, 2)) vs \(bar.peer)", anchor: right ? "start" : "end", size: 11))
                y += barHeight + gap
            }
            y += groupGap
        }
        let height = y + 30
        var axis: [String] = []
        for e in stride(from: Int(lo), through: Int(hi), by: 1) {
            let r = pow(2, Double(e)), px = fmt(x(r), 1)
            axis.append("<line x1=\"\(px)\" y1=\"\(fmt(top - 6, 1))\" x2=\"\(px)\" y2=\"\(fmt(y, 1))\" stroke=\"\(e == 0 ? "#000" : "#ccc")\" stroke-width=\"\(e == 0 ? 1.5 : 1)\"/>")
            axis.append(svgText(x(r), y + 16, e < 0 ? "1/\(Int(pow(2, Double(-e))))" : "\(Int(r))", anchor: "middle", size: 11))
        }
        let width = labelWidth + plotWidth + 110
        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="13">
        <rect width="100%" height="100%" fill="#fff"/>
        \(svgText(width / 2, 20, "Knet for Swift time / peer time (log scale; left of 1 = Knet for Swift faster)", anchor: "middle", size: 14))
        \((axis + body).joined(separator: "\n"))
        </svg>

        """
    }
}
