#if canImport(Glibc)
import Glibc
#endif

// Training as lazy sequences, in the style of Knet.jl 1.x: `minimize` maps a stream of
// minibatches to a stream of losses, updating the parameters at each step; `converge`
// and `progress` wrap any such stream. Knet.jl finds the parameters implicitly (`Param`s
// on the tape); here they are explicit: a `Trainer` holds them together with one
// optimizer per tensor, so the optimisation state lives as long as the trainer.

/// Parameters, one optimizer per tensor and the training options: the state that
/// persists across `minimize` calls (epochs). The tensors of `w` are updated in place,
/// so the caller's own `w` (and any copy of it) sees the trained values.
///
///     let trainer = Trainer(w, Adam(lr: 0.01), gclip: 5)
///     for epoch in 0..<10 { for loss in trainer.minimize(loss, data) { print(loss) } }
public final class Trainer<P: Params> {
    /// The parameters (their tensors change in place at every step).
    public let w: P
    /// One optimizer per tensor of `w`, in `w.tensors` order.
    public let optimizers: [any Optimizer]
    /// Global-norm gradient clipping threshold (0: none); see `update`.
    public var gclip: Double
    /// L1 regularisation: adds `l1reg·sign(w)` to each gradient.
    public var l1reg: Double
    /// L2 regularisation: adds `l2reg·w` to each gradient.
    public var l2reg: Double
    /// Data-parallel training across the processes of `Distributed`, or nil (this process alone).
    public let dataParallel: DataParallel?

    /// A trainer for `w` with a clone of `prototype` for every tensor.
    ///
    ///     let trainer = Trainer(w, Sgd(lr: 0.1), l2reg: 1e-4)
    ///
    /// With `dataParallel`, every process of the job (`mpirun -np N`) starts from rank 0's
    /// parameters (broadcast here, in place) and each step averages the gradients over
    /// the job (see `DataParallel`), so the processes stay identical; give each its shard
    /// of the data (`try dataParallel.shard(batches)`) and print on `Distributed.isPrimary`.
    ///
    ///     let trainer = Trainer(w, Adam(), dataParallel: DataParallel())
    ///     for _ in trainer.minimize(loss, try trainer.dataParallel!.shard(dtrn)) {}
    public convenience init(_ w: P, _ prototype: any Optimizer = Adam(), gclip: Double = 0, l1reg: Double = 0,
                            l2reg: Double = 0, dataParallel: DataParallel? = nil) {
        self.init(w, optimizers: Knet.optimizers(w, prototype), gclip: gclip, l1reg: l1reg, l2reg: l2reg,
                  dataParallel: dataParallel)
    }

    /// A trainer for `w` that goes on with existing optimizers (their state kept), one per
    /// tensor of `w` as `optimizers(w, …)` makes them; options and `dataParallel` as above.
    ///
    ///     var opt = optimizers(w, Adam())
    ///     for _ in Trainer(w, optimizers: opt, gclip: 5).minimize(loss, data) {}
    public init(_ w: P, optimizers: [any Optimizer], gclip: Double = 0, l1reg: Double = 0, l2reg: Double = 0,
                dataParallel: DataParallel? = nil) {
        knetCheck(optimizers.count == w.tensors.count,
                  "Trainer: \(optimizers.count) optimizers for \(w.tensors.count) parameters; build them with optimizers(w, ...)")
        self.w = w
        self.optimizers = optimizers
        self.gclip = gclip; self.l1reg = l1reg; self.l2reg = l2reg
        self.dataParallel = dataParallel
        dataParallel?.broadcastParameters(w)
    }

    /// Applies one update with the gradient `g` (same structure as `w`).
    ///
    ///     trainer.update(lossgradient(trainer.w, x, y))
    public func update(_ g: P) {
        applyUpdates(w.tensors, g.tensors, optimizers, UpdateOptions(gclip: gclip, l1reg: l1reg, l2reg: l2reg))
    }

    /// A lazy sequence that, for each `(x, y)` of `data`, computes `f(w, x, y)` and its
    /// gradient (averaged over the job with `dataParallel`), updates `w`, and yields the
    /// loss as a `Double` (this process's). Nothing happens until it is iterated; iterate
    /// it again for another epoch (with a re-iterable `data`).
    ///
    ///     let losses = Array(trainer.minimize(loss, zip(xs, ys)))
    @inlinable
    public func minimize<D: Sequence, X, Y>(_ f: @escaping (P, X, Y) -> Tensor, _ data: D) -> Minimize<P, D, X, Y>
    where D.Element == (X, Y) {
        Minimize(trainer: self, data: data, gradient: dataParallel?.gradloss(f) ?? gradloss(f))
    }
}

/// The losses of training on a sequence of minibatches (see `Trainer.minimize` and
/// `minimize`): each element is one step's loss, computed before that step's update.
///
///     for loss in progress(minimize(loss, data, w)) { }
public struct Minimize<P: Params, D: Sequence, X, Y>: Sequence where D.Element == (X, Y) {
    /// The trainer whose parameters and optimizers this sequence updates.
    public let trainer: Trainer<P>
    @usableFromInline let data: D
    @usableFromInline let gradient: (P, X, Y) -> (P, Tensor)

    @inlinable init(trainer: Trainer<P>, data: D, gradient: @escaping (P, X, Y) -> (P, Tensor)) {
        self.trainer = trainer; self.data = data; self.gradient = gradient
    }

    /// The data's `underestimatedCount` (its length for an array or other collection).
    public var underestimatedCount: Int { data.underestimatedCount }

    /// Starts a pass over the data.
    @inlinable public func makeIterator() -> Iterator { Iterator(trainer: trainer, data: data.makeIterator(), gradient: gradient) }

    /// Runs one training step per `next()`.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let trainer: Trainer<P>
        @usableFromInline var data: D.Iterator
        @usableFromInline let gradient: (P, X, Y) -> (P, Tensor)

        @inlinable init(trainer: Trainer<P>, data: D.Iterator, gradient: @escaping (P, X, Y) -> (P, Tensor)) {
            self.trainer = trainer; self.data = data; self.gradient = gradient
        }

        /// Trains on the next minibatch and returns its loss; nil when the data ends.
        @inlinable public mutating func next() -> Double? {
            guard let (x, y) = data.next() else { return nil }
            let (g, loss) = gradient(trainer.w, x, y)
            trainer.update(g)
            return loss.scalar
        }
    }
}

/// Trains `w` with a clone of `prototype` per tensor over `data` (pairs `(x, y)`),
/// lazily: Knet.jl's `minimize(f, data, opt)` with the parameters given explicitly.
/// Each call starts fresh optimizer state; keep a `Trainer` to carry it across epochs.
///
///     for loss in minimize(loss, data, w, Adam(lr: 0.01), gclip: 1) { print(loss) }
public func minimize<P: Params, D: Sequence, X, Y>(
    _ f: @escaping (P, X, Y) -> Tensor, _ data: D, _ w: P, _ prototype: any Optimizer = Adam(),
    gclip: Double = 0, l1reg: Double = 0, l2reg: Double = 0
) -> Minimize<P, D, X, Y> where D.Element == (X, Y) {
    Trainer(w, prototype, gclip: gclip, l1reg: l1reg, l2reg: l2reg).minimize(f, data)
}

/// `minimize` with `Sgd` (Knet.jl's `sgd(f, data; lr=0.1, gclip=0)`).
///
///     for _ in sgd(loss, data, w, lr: 0.05) { }
public func sgd<P: Params, D: Sequence, X, Y>(_ f: @escaping (P, X, Y) -> Tensor, _ data: D, _ w: P,
                                              lr: Double = 0.1, gclip: Double = 0) -> Minimize<P, D, X, Y>
where D.Element == (X, Y) { minimize(f, data, w, Sgd(lr: lr), gclip: gclip) }

/// `minimize` with `Momentum` (Knet.jl's `momentum`).
///
///     for _ in momentum(loss, data, w, lr: 0.01) { }
public func momentum<P: Params, D: Sequence, X, Y>(_ f: @escaping (P, X, Y) -> Tensor, _ data: D, _ w: P,
                                                   lr: Double = 0.05, gamma: Double = 0.95,
                                                   gclip: Double = 0) -> Minimize<P, D, X, Y>
where D.Element == (X, Y) { minimize(f, data, w, Momentum(lr: lr, gamma: gamma), gclip: gclip) }

/// `minimize` with `Nesterov` (Knet.jl's `nesterov`).
///
///     for _ in nesterov(loss, data, w, lr: 0.01) { }
public func nesterov<P: Params, D: Sequence, X, Y>(_ f: @escaping (P, X, Y) -> Tensor, _ data: D, _ w: P,
                                                   lr: Double = 0.05, gamma: Double = 0.95,
                                                   gclip: Double = 0) -> Minimize<P, D, X, Y>
where D.Element == (X, Y) { minimize(f, data, w, Nesterov(lr: lr, gamma: gamma), gclip: gclip) }

/// `minimize` with `Adagrad` (Knet.jl's `adagrad`).
///
///     for _ in adagrad(loss, data, w) { }
public func adagrad<P: Params, D: Sequence, X, Y>(_ f: @escaping (P, X, Y) -> Tensor, _ data: D, _ w: P,
                                                  lr: Double = 0.05, eps: Double = 1e-6,
                                                  gclip: Double = 0) -> Minimize<P, D, X, Y>
where D.Element == (X, Y) { minimize(f, data, w, Adagrad(lr: lr, eps: eps), gclip: gclip) }

/// `minimize` with `Rmsprop` (Knet.jl's `rmsprop`).
///
///     for _ in rmsprop(loss, data, w, lr: 0.001) { }
public func rmsprop<P: Params, D: Sequence, X, Y>(_ f: @escaping (P, X, Y) -> Tensor, _ data: D, _ w: P,
                                                  lr: Double = 0.01, rho: Double = 0.9, eps: Double = 1e-6,
                                                  gclip: Double = 0) -> Minimize<P, D, X, Y>
where D.Element == (X, Y) { minimize(f, data, w, Rmsprop(lr: lr, rho: rho, eps: eps), gclip: gclip) }

/// `minimize` with `Adadelta` (Knet.jl's `adadelta`).
///
///     for _ in adadelta(loss, data, w) { }
public func adadelta<P: Params, D: Sequence, X, Y>(_ f: @escaping (P, X, Y) -> Tensor, _ data: D, _ w: P,
                                                   lr: Double = 1.0, rho: Double = 0.9, eps: Double = 1e-6,
                                                   gclip: Double = 0) -> Minimize<P, D, X, Y>
where D.Element == (X, Y) { minimize(f, data, w, Adadelta(lr: lr, rho: rho, eps: eps), gclip: gclip) }

/// `minimize` with `Adam` (Knet.jl's `adam`).
///
///     let losses = Array(adam(loss, data, w, lr: 0.01))
public func adam<P: Params, D: Sequence, X, Y>(_ f: @escaping (P, X, Y) -> Tensor, _ data: D, _ w: P,
                                               lr: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999,
                                               eps: Double = 1e-8, gclip: Double = 0) -> Minimize<P, D, X, Y>
where D.Element == (X, Y) { minimize(f, data, w, Adam(lr: lr, beta1: beta1, beta2: beta2, eps: eps), gclip: gclip) }

// MARK: - converge

/// Acts as `base` but ends when its values stop decreasing, by Knet.jl's rule: with
/// `p = x − avgx`, `avgx = α·x + (1−α)·avgx`, `avgp = α·p + (1−α)·avgp`, it stops (without
/// yielding `x`) once `avgp > 0`. Meant for noisy losses over endlessly cycled data.
///
///     for loss in converge(trainer.minimize(loss, endlessBatches)) { }
public func converge<S: Sequence>(_ base: S, alpha: Double = 0.1) -> Converge<S> where S.Element: BinaryFloatingPoint {
    knetCheck(alpha > 0 && alpha <= 1, "converge: alpha must be in (0, 1], got \(alpha)")
    return Converge(base: base, alpha: alpha)
}

/// The sequence `converge` returns (`Sendable` when its base is).
public struct Converge<Base: Sequence>: Sequence where Base.Element: BinaryFloatingPoint {
    let base: Base
    let alpha: Double

    /// Starts iterating `base`.
    public func makeIterator() -> Iterator { Iterator(base: base.makeIterator(), alpha: alpha) }

    /// Tracks the smoothed value and its smoothed change.
    public struct Iterator: IteratorProtocol {
        var base: Base.Iterator
        let alpha: Double
        var averageValue = Double.infinity, averageChange = 0.0, finished = false

        /// The next value of `base`, or nil once it ends or stops decreasing.
        public mutating func next() -> Base.Element? {
            guard !finished, let item = base.next() else { finished = true; return nil }
            let x = Double(item)
            if averageValue == .infinity { averageValue = x }
            let change = x - averageValue
            averageValue = alpha * x + (1 - alpha) * averageValue
            averageChange = alpha * change + (1 - alpha) * averageChange
            if averageChange > 0 { finished = true; return nil }
            return item
        }
    }
}

extension Converge: Sendable where Base: Sendable {}

// MARK: - progress

/// Acts as `base` and draws a progress bar on stderr while it is iterated — only when
/// stderr is a terminal, so logs and pipes stay clean. The bar shows the step count,
/// elapsed time, items per second and, for numeric elements (losses), their running
/// average; with a known length (`total`, else the sequence's `underestimatedCount` when
/// positive, e.g. an array or `minimize` over one) also a bar, the percentage and the
/// estimated total time (Knet.jl's `progress`). Redrawn at most every `seconds`, and at
/// the first and last step. Put it outermost (`progress(converge(...))`) so that it sees
/// the end of the iteration and finishes its line.
///
///     for loss in progress(trainer.minimize(loss, data)) { }
///     // ┣████████▍           ┫ [42.00%, 42/100, 00:03/00:07, 14.02i/s] loss 0.4213
public func progress<S: Sequence>(_ base: S, total: Int? = nil, seconds: Double = 1) -> Progress<S> {
    Progress(base: base, total: total ?? (base.underestimatedCount > 0 ? base.underestimatedCount : nil),
             seconds: seconds, fd: STDERR_FILENO)
}

/// The sequence `progress` returns (`Sendable` when its base is).
public struct Progress<Base: Sequence>: Sequence {
    let base: Base
    let total: Int?
    let seconds: Double
    /// Where the bar goes (stderr; a test passes a pipe or a pseudo-terminal).
    let fd: Int32

    /// The base's `underestimatedCount`.
    public var underestimatedCount: Int { base.underestimatedCount }

    /// Starts iterating `base`; the clock starts now.
    public func makeIterator() -> Iterator {
        Iterator(base: base.makeIterator(), bar: isatty(fd) == 1 ? ProgressBar(fd: fd, total: total, seconds: seconds) : nil)
    }

    /// Passes elements through, updating the bar.
    public struct Iterator: IteratorProtocol {
        var base: Base.Iterator
        var bar: ProgressBar?

        /// The next element of `base`.
        public mutating func next() -> Base.Element? {
            let item = base.next()
            if bar != nil {
                if let item { bar!.record(numericValue(item)) } else { bar!.finish() }
            }
            return item
        }
    }
}

extension Progress: Sendable where Base: Sendable {}

/// The element as a Double when it is a floating-point number (a loss), else nil.
private func numericValue<E>(_ item: E) -> Double? {
    func convert<F: BinaryFloatingPoint>(_ x: F) -> Double { Double(x) }
    guard let x = item as? any BinaryFloatingPoint else { return nil }
    return convert(x)
}

/// The state and drawing of one progress bar.
struct ProgressBar {
    let fd: Int32, total: Int?, seconds: Double
    let start = ContinuousClock.now
    var lastDraw: ContinuousClock.Instant? = nil
    var count = 0, valueSum = 0.0, valueCount = 0, done = false

    init(fd: Int32, total: Int?, seconds: Double) { self.fd = fd; self.total = total; self.seconds = seconds }

    /// Counts one element (with its value, if numeric) and redraws when it is due.
    mutating func record(_ value: Double?) {
        count += 1
        if let value { valueSum += value; valueCount += 1 }
        let now = ContinuousClock.now
        if lastDraw.map({ Self.seconds(now - $0) >= seconds }) ?? true { draw(now, final: false) }
    }

    /// Draws the final line and ends it (once; nothing when no element was seen).
    mutating func finish() {
        if done || count == 0 { return }
        done = true
        draw(ContinuousClock.now, final: true)
    }

    private mutating func draw(_ now: ContinuousClock.Instant, final: Bool) {
        lastDraw = now
        let text = Self.line(count: count, total: total, elapsed: Self.seconds(now - start),
                             average: valueCount > 0 ? valueSum / Double(valueCount) : nil)
        var out = "\r" + text + "\u{1B}[K" + (final ? "\n" : "")
        out.withUTF8 { bytes in _ = write(fd, bytes.baseAddress, bytes.count) }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// One line of the bar, e.g. `┣██████████          ┫ [50.00%, 5/10, 00:02/00:04, 2.50i/s] loss 0.25`
    /// (without a known total: `[5, 00:02, 2.50i/s] loss 0.25`).
    static func line(count: Int, total: Int?, elapsed: Double, average: Double?) -> String {
        let speed = elapsed > 0 ? Double(count) / elapsed : 0
        let rate = speed >= 1 || speed == 0 ? format("%.2fi/s", speed) : format("%.2fs/i", 1 / speed)
        var text: String
        if let total, total > 0 {
            let eta = speed > 0 ? Double(Swift.max(total - count, 0)) / speed : 0
            text = bar(Double(count) / Double(total)) + " "
                + "[\(format("%.2f%%", 100 * Double(count) / Double(total))), \(count)/\(total), "
                + "\(clock(elapsed))/\(clock(elapsed + eta)), \(rate)]"
        } else {
            text = "[\(count), \(clock(elapsed)), \(rate)]"
        }
        if let average { text += " loss " + format("%.6g", average) }
        return text
    }

    /// A 20-cell bar with eighth-cell resolution for `fraction` in [0, 1].
    static func bar(_ fraction: Double) -> String {
        let width = 20, eighths = Int((Swift.min(Swift.max(fraction, 0), 1) * Double(width * 8)).rounded(.down))
        let full = eighths / 8, partial = eighths % 8
        var s = "┣" + String(repeating: "█", count: full)
        if full < width {
            s += partial == 0 ? " " : String(Array("▏▎▍▌▋▊▉")[partial - 1])
            s += String(repeating: " ", count: width - full - 1)
        }
        return s + "┫"
    }

    /// `mm:ss`, or `hh:mm:ss` from an hour.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let total = Int(seconds.rounded()), h = total / 3600, m = total / 60 % 60, s = total % 60
        return h > 0 ? format("%02d:%02d:%02d", h, m, s) : format("%02d:%02d", m, s)
    }

    /// C `printf` formatting (no Foundation in the library).
    static func format(_ spec: String, _ args: CVarArg...) -> String {
        withVaList(args) { list in
            var buffer = [CChar](repeating: 0, count: 64)
            _ = vsnprintf(&buffer, buffer.count, spec, list)
            return String(cString: buffer)
        }
    }
}
