// Line charts as self-contained SVG: one panel per chart, stacked vertically, each with a
// frame, grid lines and tick labels on both axes, one polyline per series and a legend
// when a panel holds more than one series. Used for training curves (step on x).

/// One point of a series.
///
///     ChartPoint(x: 100, y: 0.42)
public struct ChartPoint: Sendable, Equatable {
    /// The position on the horizontal axis (a training step, say).
    public var x: Double
    /// The value.
    public var y: Double

    /// The point `(x, y)`.
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

/// A named line: its points in drawing order.
///
///     LineSeries(name: "trn", points: [ChartPoint(x: 0, y: 0.1), ChartPoint(x: 600, y: 0.93)])
public struct LineSeries: Sendable, Equatable {
    /// The legend entry (and the polyline's `data-series` attribute).
    public var name: String
    /// The points; those with a non-finite coordinate (a NaN loss) are left out of the drawing.
    public var points: [ChartPoint]

    /// A series named `name`.
    public init(name: String, points: [ChartPoint]) { self.name = name; self.points = points }
}

/// One panel: a title, the horizontal axis's label and the series drawn over each other.
///
///     let chart = LineChart(title: "accuracy", xLabel: "step", series: [trn, tst])
///     let svg = LineChart.svg([chart])
public struct LineChart: Sendable, Equatable {
    /// The panel's title.
    public var title: String
    /// The label under the horizontal axis.
    public var xLabel: String
    /// The series of this panel, each in its own colour.
    public var series: [LineSeries]

    /// A panel of `series`.
    public init(title: String, xLabel: String = "step", series: [LineSeries]) {
        self.title = title; self.xLabel = xLabel; self.series = series
    }

    /// An SVG document with `charts` stacked top to bottom, `width` × `panelHeight`
    /// pixels each. Every series becomes one `<polyline>` (with `data-series` set to its
    /// name) of its finite points; series of at most 50 points also get a dot per point.
    ///
    ///     try writeFileAtomically(Array(LineChart.svg([loss, accuracy]).utf8), to: "curve.svg")
    public static func svg(_ charts: [LineChart], width: Int = 640, panelHeight: Int = 240) -> String {
        let panels = charts.enumerated().map { i, chart in
            "<g transform=\"translate(0,\(i * panelHeight))\">\n"
                + chart.panel(width: Double(width), height: Double(panelHeight)).joined(separator: "\n") + "\n</g>"
        }
        let height = Swift.max(charts.count, 1) * panelHeight
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="#fff"/>
        \(panels.joined(separator: "\n"))
        </svg>

        """
    }

    /// Colours of successive series (colour-blind-safe, as matplotlib's default cycle).
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    /// The SVG elements of this panel in a `width` × `height` box at the origin.
    func panel(width: Double, height: Double) -> [String] {
        let (left, right, top, bottom) = (64.0, 16.0, 28.0, 40.0)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let finite = series.map { $0.points.filter { $0.x.isFinite && $0.y.isFinite } }
        let all = finite.flatMap { $0 }
        let xs = AxisTicks(all.map(\.x).min() ?? 0, all.map(\.x).max() ?? 1, count: 6, minimumStep: 1)
        let ys = AxisTicks(all.map(\.y).min() ?? 0, all.map(\.y).max() ?? 1)
        func px(_ x: Double) -> Double { left + (x - xs.lower) / (xs.upper - xs.lower) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (y - ys.lower) / (ys.upper - ys.lower)) * plotHeight }

        var out = [svgText(left, 18, title, anchor: "start", size: 14)]
        for v in ys.values {
            out.append(line(left, py(v), left + plotWidth, py(v), stroke: "#e5e5e5"))
            out.append(svgText(left - 6, py(v) + 4, ys.label(v), anchor: "end", size: 11))
        }
        for v in xs.values {
            out.append(line(px(v), top + plotHeight, px(v), top + plotHeight + 4, stroke: "#000"))
            out.append(svgText(px(v), top + plotHeight + 16, xs.label(v), anchor: "middle", size: 11))
        }
        out.append("<rect x=\"\(fmt(left, 1))\" y=\"\(fmt(top, 1))\" width=\"\(fmt(plotWidth, 1))\" height=\"\(fmt(plotHeight, 1))\" fill=\"none\" stroke=\"#000\"/>")
        out.append(svgText(left + plotWidth / 2, height - 6, xLabel, anchor: "middle", size: 12))
        for (k, (s, points)) in zip(series, finite).enumerated() {
            let colour = Self.palette[k % Self.palette.count]
            let coordinates = points.map { "\(fmt(px($0.x), 1)),\(fmt(py($0.y), 1))" }.joined(separator: " ")
            out.append("<polyline data-series=\"\(escape(s.name))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(coordinates)\"><title>\(escape(s.name))</title></polyline>")
            if points.count <= 50 {
                out += points.map { "<circle cx=\"\(fmt(px($0.x), 1))\" cy=\"\(fmt(py($0.y), 1))\" r=\"2.5\" fill=\"\(colour)\"/>" }
            }
            if series.count > 1 {      // legend, top right inside the frame
                let y = top + 14 + Double(k) * 16, x = left + plotWidth - 110
                out.append(line(x, y - 4, x + 18, y - 4, stroke: colour, width: 2))
                out.append(svgText(x + 24, y, s.name, anchor: "start", size: 11))
            }
        }
        return out
    }

    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1) -> String {
        "<line x1=\"\(fmt(x1, 1))\" y1=\"\(fmt(y1, 1))\" x2=\"\(fmt(x2, 1))\" y2=\"\(fmt(y2, 1))\" stroke=\"\(stroke)\" stroke-width=\"\(fmt(width, 1))\"/>"
    }
}
