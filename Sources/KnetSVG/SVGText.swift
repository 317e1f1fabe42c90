#if canImport(Glibc)
import Glibc
#endif

// The small text pieces every SVG chart of the package needs (the benchmark ratio chart,
// the training curves): fixed-decimal numbers, XML escaping and text elements.

/// `v` with `digits` decimals (no exponent notation); "—" for NaN or infinity.
///
///     fmt(3.14159, 2)   // "3.14"
package func fmt(_ v: Double, _ digits: Int = 3) -> String {
    guard v.isFinite else { return "—" }
    let scaled = (v.magnitude * pow(10, Double(digits))).rounded()
    guard scaled < 9e18 else { return String(v) }
    var s = String(Int(scaled))
    while s.count <= digits { s = "0" + s }
    if digits > 0 { s.insert(".", at: s.index(s.endIndex, offsetBy: -digits)) }
    return (v < 0 && scaled != 0 ? "-" : "") + s
}

/// `s` with XML's special characters escaped (for text and attribute values).
///
///     escape("a<b")   // "a&lt;b"
package func escape(_ s: String) -> String {
    var out = ""
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}

/// An SVG text element at `(x, y)`; `anchor` is `start`, `middle` or `end`.
///
///     svgText(10, 20, "loss", anchor: "start")
package func svgText(_ x: Double, _ y: Double, _ s: String, anchor: String, size: Int = 13) -> String {
    "<text x=\"\(fmt(x, 1))\" y=\"\(fmt(y, 1))\" text-anchor=\"\(anchor)\" font-size=\"\(size)\">\(escape(s))</text>"
}
