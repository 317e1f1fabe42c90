/// A table of `model`'s layers for inputs of `inputShape`: each layer (nested ones
/// indented) with its output shape and parameter count, then the total. It builds the
/// model first if needed, as `build(for:dtype:device:)` does (so the counts are those of
/// real tensors); the running statistics of `BatchNorm` are state, not parameters, and
/// are not counted.
///
///     print(summary(lenet, inputShape: [28, 28, 1, 1]))
///     // layer                  output shape     parameters
///     // Chain                  [10, 1]             431,080
///     //   Conv(5×5, 1 => 20)   [24, 24, 20, 1]         520
///     //   ...
///     // total                                      431,080
public func summary(_ model: any Layer, inputShape: [Int], dtype: DType = .float32, device: Device = .current) -> String {
    let context = ShapeContext(build: (dtype, device))
    context.trace = []
    _ = context.outputShape(of: model, for: inputShape)
    let rows = context.trace!.map { row in
        (String(repeating: "  ", count: row.depth) + "\(row.layer)", "\(row.output)",
         groupedDigits(parameterCount(row.layer)))
    }
    let header = ("layer", "output shape", "parameters")
    let total = ("total", "", groupedDigits(parameterCount(model)))
    let all = [header] + rows + [total]
    let w0 = all.map(\.0.count).max()!, w1 = all.map(\.1.count).max()!, w2 = all.map(\.2.count).max()!
    func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: w - s.count) }
    func padLeft(_ s: String, _ w: Int) -> String { String(repeating: " ", count: w - s.count) + s }
    return all.map { pad($0.0, w0) + "   " + pad($0.1, w1) + "   " + padLeft($0.2, w2) }.joined(separator: "\n")
}

extension Layer {
    /// `summary(self, inputShape:dtype:device:)`.
    ///
    ///     print(model.summary(for: [32, 32, 3, 1]))
    public func summary(for inputShape: [Int], dtype: DType = .float32, device: Device = .current) -> String {
        Knet.summary(self, inputShape: inputShape, dtype: dtype, device: device)
    }

    /// The number of parameter elements (a built layer's; 0 before it is built).
    ///
    ///     Dense(in: 800, out: 500).parameterCount    // 400,500
    public var parameterCount: Int { Knet.parameterCount(self) }
}

/// The number of elements of `layer`'s parameters (0 before it is built).
private func parameterCount(_ layer: any Layer) -> Int {
    layer.isBuilt ? layer.tensors.reduce(0) { $0 + $1.count } : 0
}

/// `n` with commas between groups of three digits: 431080 → "431,080".
private func groupedDigits(_ n: Int) -> String {
    var digits = String(n.magnitude), out = ""
    while digits.count > 3 { out = "," + digits.suffix(3) + out; digits.removeLast(3) }
    return (n < 0 ? "-" : "") + digits + out
}
