import KnetSVG

/// One number of an epoch's report: the short name printed on the epoch line, the tag
/// it is logged under, and the value.
///
///     EpochMetric("tst", tag: "accuracy/tst", 0.9790)
public struct EpochMetric: Sendable, Equatable {
    /// The name on the epoch line (`loss`, `trn`, `tst`...).
    public var name: String
    /// The tag in the training log (`loss/epoch`, `accuracy/trn`...).
    public var tag: String
    /// The value.
    public var value: Double

    /// A metric printed as `name` and logged as `tag`.
    public init(_ name: String, tag: String, _ value: Double) {
        self.name = name; self.tag = tag; self.value = value
    }
}

/// The one line format every training reports an epoch in: the epoch number, each metric
/// with 4 decimals (`nan`/`inf` when not finite), then the epoch's training time, when
/// given, with one decimal. Fields are separated by two spaces.
///
///     epochLine(3, [EpochMetric("loss", tag: "loss/epoch", 0.1234), EpochMetric("trn", tag: "accuracy/trn", 0.9812),
///                   EpochMetric("tst", tag: "accuracy/tst", 0.979)], seconds: 2.14)
///     // "epoch 3  loss 0.1234  trn 0.9812  tst 0.9790  (2.1 s)"
public func epochLine(_ epoch: Int, _ metrics: [EpochMetric], seconds: Double?) -> String {
    let fields = ["epoch \(epoch)"] + metrics.map { "\($0.name) \($0.value.isFinite ? fmt($0.value, 4) : "\($0.value)")" }
        + (seconds.map { ["(\(fmt($0, 1)) s)"] } ?? [])
    return fields.joined(separator: "  ")
}
