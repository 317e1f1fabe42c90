import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import KnetLog
@testable import KnetSVG

/// The SVG training curve: valid XML, one polyline per tag with one point per record,
/// panels grouped by tag prefix, tick labels on both axes, written atomically.
final class TrainingCurveTests: XCTestCase {
    func testPlotHasOnePolylinePerTagWithEveryPoint() throws {
        let dir = try temporaryFolder(self, "svg")
        let path = dir + "/curve.svg"
        let log = try TrainingLog(plot: path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the plot is only checked, not written, at start")
        for step in 1...7 { try log.add("loss/step", 1 / Double(step), step: step * 10) }
        for epoch in 0...2 {
            try log.add([("accuracy/trn", 0.5 + 0.1 * Double(epoch)), ("accuracy/tst", 0.45 + 0.1 * Double(epoch))], step: epoch * 35)
        }
        try log.add("lr", .nan, step: 5)                         // a non-finite value is not drawn
        try log.add("lr", 0.001, step: 70)
        try log.writePlot()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["curve.svg"], "no temporary file left")

        let svg = try SVGSummary(path)
        XCTAssertEqual(svg.polylines.count, 4)
        XCTAssertEqual(svg.polylines["step"]?.count, 7)
        XCTAssertEqual(svg.polylines["trn"]?.count, 3)
        XCTAssertEqual(svg.polylines["tst"]?.count, 3)
        XCTAssertEqual(svg.polylines["lr"]?.count, 1)
        XCTAssertEqual(svg.panels, 3)                           // loss, accuracy, lr
        XCTAssert(svg.texts.contains("loss") && svg.texts.contains("accuracy") && svg.texts.contains("lr"), "\(svg.texts)")
        XCTAssert(svg.texts.contains("trn") && svg.texts.contains("tst"), "a legend for the panel of two series")
        XCTAssert(svg.texts.contains("step"), "the x axis is labelled")
        XCTAssert(svg.texts.contains("70") && svg.texts.contains("0.4") && svg.texts.contains("0.00100"),
                  "tick labels on both axes: \(svg.texts)")
        XCTAssertEqual(log.charts.map(\.title), ["loss", "accuracy", "lr"])
        XCTAssertEqual(log.charts[1].series.map(\.name), ["trn", "tst"])
    }

    func testTicksAreRoundAndCoverTheData() {
        let t = AxisTicks(0.13, 0.92)
        XCTAssertEqual(t.values.count, 6)
        XCTAssertEqual(t.step, 0.2, accuracy: 1e-12)
        XCTAssertEqual(t.lower, 0)
        XCTAssertEqual(t.upper, 1, accuracy: 1e-12)
        XCTAssertEqual(t.values.map(t.label), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let steps = AxisTicks(0, 1800, count: 6, minimumStep: 1)
        XCTAssertEqual(steps.values, [0, 500, 1000, 1500, 2000])
        XCTAssertEqual(steps.label(500), "500")
        XCTAssertEqual(AxisTicks(3, 3, minimumStep: 1).values, [2, 3, 4], "one point: widened to a unit range")
        XCTAssertEqual(AxisTicks(0, 0).values.first, -1)
    }
}

/// What a parsed SVG holds: the points of each polyline by its `data-series`, the
/// text of every text element and the number of panel groups.
private struct SVGSummary {
    var polylines: [String: [(Double, Double)]] = [:]
    var texts: [String] = []
    var panels = 0

    init() {}

    init(_ path: String) throws {
        final class Delegate: NSObject, XMLParserDelegate {
            var summary = SVGSummary(), inText = false, text = ""
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                switch name {
                case "polyline":
                    let points = (attributes["points"] ?? "").split(separator: " ").map { pair -> (Double, Double) in
                        let xy = pair.split(separator: ",").map { Double($0) ?? .nan }
                        return (xy.first ?? .nan, xy.count == 2 ? xy[1] : .nan)
                    }
                    XCTAssert(points.allSatisfy { $0.0.isFinite && $0.1.isFinite }, "\(attributes)")
                    summary.polylines[attributes["data-series"] ?? "?"] = points
                case "text": inText = true; text = ""
                case "g": summary.panels += 1
                default: break
                }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { if inText { text += string } }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "text" { summary.texts.append(text); inText = false }
            }
        }
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
        let delegate = Delegate()
        parser.delegate = delegate
        guard parser.parse() else { throw parser.parserError ?? CocoaError(.fileReadCorruptFile) }
        self = delegate.summary
    }
}
