extension Tensor: CustomStringConvertible {
    /// Julia-style display: the shape and dtype, then the values (a matrix as rows, at
    /// most 10 rows × 10 columns; higher ranks as their first values).
    ///
    ///     print(Tensor([1, 2, 3, 4], shape: [2, 2]))
    ///     // 2×2 Tensor{Float32}:
    ///     //  1.0  3.0
    ///     //  2.0  4.0
    public var description: String {
        let dims = shape.isEmpty ? "0-dimensional" : shape.map(String.init).joined(separator: "×")
        let header = "\(dims) Tensor{\(dtype)}\(device == .cpu ? "" : " on \(device)"):"
        func fmt(_ v: Double) -> String {
            let s = dtype == .float32 ? String(Float(v)) : String(v)
            return String(repeating: " ", count: Swift.max(0, 10 - s.count)) + s
        }
        switch ndims {
        case 0: return header + "\n" + fmt(self[flat: 0])
        case 1, 2:
            let rows = shape[0], cols = ndims == 2 ? shape[1] : 1
            var lines: [String] = []
            for r in 0..<Swift.min(rows, 10) {
                var line = (0..<Swift.min(cols, 10)).map { fmt(self[flat: r + rows * $0]) }.joined(separator: " ")
                if cols > 10 { line += "  …" }
                lines.append(line)
            }
            if rows > 10 { lines.append("   ⋮") }
            return ([header] + lines).joined(separator: "\n")
        default:
            let shown = (0..<Swift.min(count, 10)).map { fmt(self[flat: $0]) }.joined(separator: " ")
            return header + "\n" + shown + (count > 10 ? "  …" : "")
        }
    }
}
