import Knet
import KnetSVG
#if canImport(Glibc)
import Glibc
#endif

/// One recorded value: a tag such as `"loss/step"`, the training step, the value and the
/// wall time (seconds since the Unix epoch) when it was recorded.
///
///     ScalarRecord(tag: "accuracy/tst", step: 600, value: 0.9712, wallTime: 1.7e9)
public struct ScalarRecord: Sendable, Equatable {
    /// The series the value belongs to; the part before the first `/` groups series
    /// into one chart (as TensorBoard groups them into one section).
    public var tag: String
    /// The training step (the x coordinate).
    public var step: Int
    /// The value.
    public var value: Double
    /// Seconds since the Unix epoch.
    public var wallTime: Double

    /// A record of `value` for `tag` at `step`.
    public init(tag: String, step: Int, value: Double, wallTime: Double) {
        self.tag = tag; self.step = step; self.value = value; self.wallTime = wallTime
    }
}

/// What went wrong opening a training log's files or reading an event file back.
///
///     do { _ = try TrainingLog(logdir: "/proc/runs") } catch { print(error) }
///     // "cannot create the log folder /proc/runs: create directory /proc/runs: No such file or directory"
public enum TrainingLogError: Error, Equatable, CustomStringConvertible {
    /// The log folder could not be made, or no event file could be created in it.
    case logdir(path: String, reason: String)
    /// The plot file cannot be written (checked before any training).
    case plot(path: String, reason: String)
    /// The file's first record is not an Event with a `brain.Event:` file version.
    case notAnEventFile(path: String)

    /// A one-line message naming the file.
    public var description: String {
        switch self {
        case let .logdir(path, reason): return "cannot create the log folder \(path): \(reason)"
        case let .plot(path, reason): return "cannot write the plot \(path): \(reason)"
        case let .notAnEventFile(path): return "\(path) is not a TensorBoard event file (no brain.Event file version first)"
        }
    }
}

/// Scalars of a training run, `(tag, step, value, wall time)`, recorded as they come into
/// a TensorBoard event file in `logdir` (each record written at once) and kept for an SVG
/// training curve at `plot` (rewritten atomically by `writePlot`). Both are optional; with
/// neither, the log only keeps `records`.
///
///     let log = try TrainingLog(logdir: "runs/mlp", plot: "mlp.svg")
///     try log.add("loss/step", 0.41, step: 10)
///     try log.add([("accuracy/trn", 0.93), ("accuracy/tst", 0.92)], step: 600)
///     try log.close()                       // fsyncs the events, writes mlp.svg
///     // tensorboard --logdir runs
public final class TrainingLog {
    /// The event file being written (`<logdir>/events.out.tfevents.<unix time>.<hostname>`).
    public var eventFile: String? { events?.path }
    /// Where `writePlot` writes the SVG curve.
    public let plotFile: String?
    /// Every value added so far, in order.
    public private(set) var records: [ScalarRecord] = []
    private let events: EventFileWriter?
    private let clock: () -> Double

    /// Opens a log: checks that `plot` can be written (without writing it), creates
    /// `logdir` (and its parents) and a new event file in it. `clock` gives wall times
    /// (the system clock unless a test replaces it). Throws `TrainingLogError`.
    ///
    ///     let log = try TrainingLog(logdir: "runs/lenet")
    public init(logdir: String? = nil, plot: String? = nil, clock: @escaping () -> Double = unixTime) throws {
        self.clock = clock
        plotFile = plot
        if let plot {
            do { try checkAtomicWrite(to: plot) } catch { throw TrainingLogError.plot(path: plot, reason: "\(error)") }
        }
        if let logdir {
            do {
                try makeDirectories(logdir)
                events = try EventFileWriter(logdir: logdir, wallTime: clock())
            } catch {
                throw TrainingLogError.logdir(path: logdir, reason: "\(error)")
            }
        } else {
            events = nil
        }
    }

    /// Records `scalars` at `step` with one wall time: kept in `records` and written to
    /// the event file as one Event whose Summary holds a `simple_value` (Float32) per
    /// tag. Throws `FileIOError` when the write fails.
    ///
    ///     try log.add([("loss/epoch", 0.31), ("accuracy/tst", 0.91)], step: 1200)
    public func add(_ scalars: [(tag: String, value: Double)], step: Int) throws {
        guard !scalars.isEmpty else { return }
        let now = clock()
        records += scalars.map { ScalarRecord(tag: $0.tag, step: step, value: $0.value, wallTime: now) }
        guard let events else { return }
        var event = Tensorboard_Event()
        event.wallTime = now
        event.step = Int64(step)
        event.summary.value = scalars.map { scalar in
            var v = Tensorboard_Summary.Value()
            v.tag = scalar.tag
            v.simpleValue = Float(scalar.value)
            return v
        }
        try events.write(event)
    }

    /// Records one value (see `add(_:step:)`).
    ///
    ///     try log.add("loss/step", loss, step: 42)
    public func add(_ tag: String, _ value: Double, step: Int) throws {
        try add([(tag, value)], step: step)
    }

    /// The records as charts: one per tag group (the tag up to its first `/`, or the
    /// whole tag), in order of first appearance, with one series per tag named by the
    /// rest of the tag; the step on x.
    ///
    ///     log.charts.map(\.title)   // ["loss", "accuracy"]
    public var charts: [LineChart] {
        var order: [String] = [], series: [String: [String]] = [:], points: [String: [ChartPoint]] = [:]
        for r in records {
            let group = r.tag.firstIndex(of: "/").map { String(r.tag[..<$0]) } ?? r.tag
            if series[group] == nil { order.append(group); series[group] = [] }
            if points[r.tag] == nil { series[group]!.append(r.tag); points[r.tag] = [] }
            points[r.tag]!.append(ChartPoint(x: Double(r.step), y: r.value))
        }
        return order.map { group in
            LineChart(title: group, series: series[group]!.map { tag in
                let name = tag.firstIndex(of: "/").map { String(tag[tag.index(after: $0)...]) } ?? tag
                return LineSeries(name: name, points: points[tag]!)
            })
        }
    }

    /// Writes the SVG of `charts` to `plotFile` atomically (nothing without one).
    ///
    ///     try log.writePlot()    // after every epoch: the curve so far
    public func writePlot() throws {
        guard let plotFile else { return }
        try writeFileAtomically(Array(LineChart.svg(charts).utf8), to: plotFile)
    }

    /// Writes the plot and flushes and closes the event file; later `add`s still go to
    /// `records` but throw for the closed file.
    ///
    ///     try log.close()
    public func close() throws {
        try writePlot()
        try events?.close()
    }
}

/// Seconds since the Unix epoch, with sub-second precision.
///
///     let t = unixTime()   // 1.7e9
public func unixTime() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}
