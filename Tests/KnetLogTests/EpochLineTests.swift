import XCTest
import KnetLog

/// The one epoch-line format every `knet` model prints.
final class EpochLineTests: XCTestCase {
    func testFormat() {
        let metrics = [EpochMetric("loss", tag: "loss/epoch", 0.12344), EpochMetric("trn", tag: "accuracy/trn", 0.9812),
                       EpochMetric("tst", tag: "accuracy/tst", 0.979)]
        XCTAssertEqual(epochLine(3, metrics, seconds: 2.14), "epoch 3  loss 0.1234  trn 0.9812  tst 0.9790  (2.1 s)")
        XCTAssertEqual(epochLine(0, Array(metrics.dropFirst()), seconds: nil), "epoch 0  trn 0.9812  tst 0.9790")
        XCTAssertEqual(epochLine(12, [EpochMetric("loss", tag: "loss/epoch", .nan)], seconds: 0.04), "epoch 12  loss nan  (0.0 s)")
        XCTAssertEqual(epochLine(1, [EpochMetric("tstppl", tag: "perplexity/tst", 1234.5)], seconds: 61), "epoch 1  tstppl 1234.5000  (61.0 s)")
    }
}
