import ArgumentParser
import Foundation
import Knet
import KnetLog

/// `knet linreg` (the default): the tutorial's linear regression on the Housing data
/// bundled with the program, trained by plain gradient steps as in the tutorial:
///
///     predict(w, x) = w[0] * x .+ w[1]
///     loss(w, x, y) = mean(abs2(y .- predict(w, x)))
struct LinRegCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linreg",
        abstract: "Linear regression on the Housing data (506 houses, 13 features), one full batch per epoch.")

    @Option(parsing: .unconditional, help: "Number of epochs (full-batch gradient steps).")
    var epochs = 10
    @Option(parsing: .unconditional, help: "Learning rate.")
    var lr = 0.1
    @Option(parsing: .unconditional, help: "Random seed for the initial weights.")
    var seed = 1
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var device: DeviceOption

    func validate() throws {
        guard epochs >= 0 else { throw ValidationError("--epochs must be 0 or more, got \(epochs)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
    }

    func run() throws {
        device.apply()
        setseed(seed)
        let (x, y) = try BundledHousing.load()               // features normalised as housing() does
        let n = Double(x.shape[1])
        let predict = TutorialModel.linreg.predict
        let w = TutorialModel.linreg.parameters()
        func loss(_ w: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor { mean(abs2(y .- predict(w, x))) }
        let trainer = Trainer(w, Sgd(lr: lr))
        let reporter = try logging.reporter()
        print("Linear regression on Housing (\(Int(n)) houses, 13 features), lr \(lr)")
        try reporter.epoch(0, [EpochMetric("loss", tag: "loss/epoch", loss(w, x, y).scalar)], seconds: nil)
        for epoch in stride(from: 1, through: epochs, by: 1) {
            let (_, seconds) = try timed {
                for before in trainer.minimize(loss, [(x, y)]) { try reporter.trained(loss: before) }
            }
            try reporter.epoch(epoch, [EpochMetric("loss", tag: "loss/epoch", loss(w, x, y).scalar)], seconds: seconds)
        }
        try reporter.finish()
    }
}

/// The Housing table bundled with the program (scikit-learn's copy of UCI's file).
enum BundledHousing {
    /// A build without the bundled file.
    struct Missing: Error, CustomStringConvertible {
        var description: String { "the bundled boston_house_prices.csv is missing from this build" }
    }

    /// Features `[13, 506]` (normalised) and prices `[1, 506]`, as `housing()` gives them.
    static func load() throws -> (x: Tensor, y: Tensor) {
        guard let url = Bundle.module.url(forResource: "boston_house_prices", withExtension: "csv") else { throw Missing() }
        return try housing(file: url.path)
    }
}
