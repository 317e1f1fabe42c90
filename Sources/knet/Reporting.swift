import ArgumentParser
import Foundation
import Knet
import KnetLog

/// `--logdir`, `--plot` and `--log-every`, shared by every training command.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Write TensorBoard event files into this folder, created if missing (view with: tensorboard --logdir DIR).")
    var logdir: String?
    @Option(help: "Write the training curves as an SVG chart to this file, after every epoch.")
    var plot: String?
    @Option(parsing: .unconditional, help: "Log the training loss to --logdir and --plot every N steps.")
    var logEvery = 10

    func validate() throws {
        guard logEvery > 0 else { throw ValidationError("--log-every must be positive, got \(logEvery)") }
        if let plot { try checkWritable(plot, flag: "--plot") }
    }

    /// The reporter of a run: opens the training log (creating `--logdir` and its event
    /// file) — call it after the checks of the data and before training. In a
    /// data-parallel job only rank 0 writes the log.
    func reporter() throws -> Reporter {
        guard logdir != nil || plot != nil, Distributed.isPrimary else { return Reporter(log: nil, every: logEvery) }
        do {
            return Reporter(log: try TrainingLog(logdir: logdir, plot: plot), every: logEvery)
        } catch let e as TrainingLogError {
            switch e {
            case let .logdir(path, reason): throw ValidationError("--logdir \(path): \(reason)")
            case let .plot(path, reason): throw ValidationError("--plot \(path): \(reason)")
            case .notAnEventFile: throw e
            }
        }
    }
}

/// Prints every model's epoch lines in the one format of `epochLine` and feeds the same
/// numbers to the training log: the loss of every `every`-th step as `loss/step`, each
/// epoch's metrics at the step count reached (the plot is rewritten after each epoch).
///
///     let reporter = try options.logging.reporter()
///     for loss in trainer.minimize(loss, data) { try reporter.trained(loss: loss) }
///     try reporter.epoch(1, [EpochMetric("loss", tag: "loss/epoch", mean)], seconds: 2.1)
final class Reporter {
    private let log: TrainingLog?
    private let every: Int
    /// Training steps counted so far.
    private(set) var step = 0

    init(log: TrainingLog?, every: Int) { self.log = log; self.every = every }

    /// Counts one training step whose loss (computed by the step itself) was `loss`.
    func trained(loss: Double) throws {
        step += 1
        if step % every == 0 { try log?.add("loss/step", loss, step: step) }
    }

    /// Trains one epoch by iterating `steps` (a `Trainer.minimize` sequence over `count`
    /// batches) behind a progress bar, counting every step; returns the mean step loss
    /// and the epoch's seconds.
    ///
    ///     let (mean, seconds) = try reporter.trainEpoch(trainer.minimize(loss, data), count: data.count)
    func trainEpoch<S: Sequence>(_ steps: S, count: Int) throws -> (mean: Double, seconds: Double) where S.Element == Double {
        let (total, seconds) = try timed {
            var total = 0.0
            for loss in progress(steps, total: count) {
                total += loss
                try trained(loss: loss)
            }
            return total
        }
        return (total / Double(count), seconds)
    }

    /// Prints the line of epoch `epoch` and records its metrics; `seconds` is the
    /// epoch's training time (nil for the evaluation before training).
    func epoch(_ epoch: Int, _ metrics: [EpochMetric], seconds: Double?) throws {
        print(epochLine(epoch, metrics, seconds: seconds))
        try log?.add(metrics.map { ($0.tag, $0.value) }, step: step)
        try log?.writePlot()
    }

    /// Closes the log: the event file is flushed to disk, the plot written a last time.
    func finish() throws {
        try log?.close()
        if let file = log?.eventFile { print("TensorBoard events in \(file)") }
        if let file = log?.plotFile { print("training curves in \(file)") }
    }
}

/// Seconds `body` takes, and what it returns.
///
///     let (mean, seconds) = try timed { try trainOneEpoch() }
func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = Date()
    let result = try body()
    return (result, Date().timeIntervalSince(start))
}
