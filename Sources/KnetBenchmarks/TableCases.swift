import Knet
import KnetSVG

// The cases of Knet's benchmark table, defined as the peers define them
// (../shared/peers/README.md): float32, plain SGD, no shuffling, the partial last
// minibatch dropped, a short untimed warm-up on throw-away parameters, then the timed
// training loop, then the trained model's training loss (and MNIST accuracies).

/// One case of the benchmark table: the name the peer scripts use, the rows it yields
/// (mlp-record yields three) and how Knet for Swift runs it.
public struct TableCase: Sendable {
    /// The peers' benchmark name (`--only` argument).
    public let name: String
    /// The rows one run yields, in order.
    public let rows: [String]
    /// What is trained, for the report.
    public let summary: String
    /// The peer scripts of a case outside Knet's own table, by peer (paths relative to the
    /// working directory, e.g. `["torch": "Benchmarks/peers/torch_cifar.py"]`); empty: the
    /// shared `<peers>/<peer>_bench.py` of Knet's table.
    public let peerScripts: [String: String]
    /// How the report states the row's speed besides seconds (nil: seconds only).
    public let rate: Rate?
    /// Runs the case once (warm-up included) and measures each row.
    let run: @Sendable (Workloads) throws -> [String: RunResult]

    /// A case; `run` returns a measurement per row (with `items` when `rate` is set).
    init(name: String, rows: [String], summary: String, peerScripts: [String: String] = [:], rate: Rate? = nil,
         run: @escaping @Sendable (Workloads) throws -> [String: RunResult]) {
        self.name = name; self.rows = rows; self.summary = summary
        self.peerScripts = peerScripts; self.rate = rate; self.run = run
    }

    /// A row's speed as the seeds' tables state it, from a run's `items` and seconds.
    public enum Rate: Sendable, Equatable {
        /// Units per second, e.g. `.perSecond("words")`: "12,345 words/s".
        case perSecond(String)
        /// Seconds per `count` units, e.g. `.secondsPer(1000, "images")`: "3.21 s/1000 images".
        case secondsPer(Int, String)

        /// The rate of `items` units in `seconds`, formatted ("—" when unknown).
        ///
        ///     TableCase.Rate.perSecond("words").text(items: 5000, seconds: 2)   // "2500 words/s"
        public func text(items: Double?, seconds: Double) -> String {
            guard let items, items > 0, seconds.isFinite, seconds > 0 else { return "—" }
            switch self {
            case .perSecond(let unit): return fmt(items / seconds, items / seconds >= 100 ? 0 : 2) + " \(unit)/s"
            case .secondsPer(let count, let unit): return fmt(seconds / items * Double(count), 3) + " s/\(count) \(unit)"
            }
        }
    }

    /// Every case, in Knet's table order.
    ///
    ///     for c in TableCase.all { print(c.name, c.rows) }
    public static let all: [TableCase] = [
        TableCase(name: "linreg", rows: ["linreg"], summary: "Housing 506×13, 10,000 epochs of one full batch, SGD lr 0.1",
                  run: { ["linreg": try linregCase($0)] }),
        TableCase(name: "softmax", rows: ["softmax"], summary: "MNIST 784→10, 10 epochs, batch 100, SGD lr 0.5",
                  run: { ["softmax": try classifierCase($0, .softmax)] }),
        TableCase(name: "mlp", rows: ["mlp"], summary: "MNIST 784→64→10 relu, 10 epochs, batch 100, SGD lr 0.5",
                  run: { ["mlp": try classifierCase($0, .mlp)] }),
        TableCase(name: "lenet", rows: ["lenet"], summary: "MNIST LeNet (conv 20, conv 50, dense 500), 1 epoch, batch 100, SGD lr 0.1",
                  run: { ["lenet": try classifierCase($0, .lenet)] }),
        TableCase(name: "charlm", rows: ["charlm"], summary: "Hiawatha, 1 epoch of 16 blocks 128×100, embedding 256, LSTM 256, SGD lr 1 + clip 5",
                  run: { ["charlm": try charlmCase($0)] }),
        TableCase(name: "mlp-record", rows: ["mlp-record-fwd", "mlp-record-rec", "mlp-record-fwdbwd"],
                  summary: "MNIST 784→64→10 quadratic loss, 6000 minibatches: forward, recorded forward, forward+backward",
                  run: { try mlpRecordCase($0) }),
    ]
}

// MARK: - linreg

private func linregCase(_ data: Workloads) throws -> RunResult {
    let (x, y) = try data.housing()
    let epochs = data.scale == .full ? 10_000 : 20
    let predict = TutorialModel.linreg.predict
    func loss(_ w: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor { mean(abs2(y .- predict(w, x))) }
    func train(_ w: [Tensor], epochs: Int) {
        for _ in Trainer(w, Sgd(lr: 0.1)).minimize(loss, repeatElement((x, y), count: epochs)) {}
    }
    setseed(1)
    train(TutorialModel.linreg.parameters(), epochs: 2)
    let w = TutorialModel.linreg.parameters()
    var run = timedRun { train(w, epochs: epochs) }
    run.loss = loss(w, x, y).scalar
    return run
}

// MARK: - softmax, mlp, lenet

/// The three MNIST classifiers of the table: the tutorial models (Sources/Knet/Models)
/// with the peers' training settings (the memory check trains `mlp` too).
enum Classifier {
    case softmax, mlp, lenet

    var epochs: Int { self == .lenet ? 1 : 10 }
    var lr: Double { self == .lenet ? 0.1 : 0.5 }

    /// The model: 0.1·randn matrices and zero biases (softmax, mlp), Knet's `xavier` (lenet).
    var model: TutorialModel {
        switch self {
        case .softmax: return .softmax
        case .mlp: return .mlp(hidden: [64])
        case .lenet: return .lenet
        }
    }

    /// Fresh weights.
    func parameters() -> [Tensor] { model.parameters() }

    /// Class scores `[10, B]` of the images `x` (columns `[784, B]`).
    func predict(_ w: [Tensor], _ x: Tensor) -> Tensor { model.predict(w, x) }
}

private func classifierCase(_ data: Workloads, _ model: Classifier) throws -> RunResult {
    let mnist = try data.mnist()
    let batches = Array(minibatch(mnist.xtrn, mnist.ytrn, 100))
    func train(_ w: [Tensor], _ batches: ArraySlice<(Tensor, [Int])>, epochs: Int) {
        let trainer = Trainer(w, Sgd(lr: model.lr))
        for _ in 0..<epochs {
            for _ in trainer.minimize({ w, x, y in nll(model.predict(w, x), y) }, batches) {}
        }
    }
    setseed(1)
    train(model.parameters(), batches.prefix(2), epochs: 1)
    let w = model.parameters()
    var run = timedRun { train(w, batches[...], epochs: model.epochs) }
    let trn = evaluate(model, w, mnist.xtrn, mnist.ytrn), tst = evaluate(model, w, mnist.xtst, mnist.ytst)
    (run.loss, run.trainAccuracy, run.testAccuracy) = (trn.loss, trn.accuracy, tst.accuracy)
    return run
}

/// Mean loss and accuracy of `model` over all of `x`, in chunks of 1000 images.
func evaluate(_ model: Classifier, _ w: [Tensor], _ x: Tensor, _ y: [Int]) -> (loss: Double, accuracy: Double) {
    var loss = 0.0, correct = 0.0
    for (xb, yb) in minibatch(x, y, 1000, partial: true) {
        let scores = model.predict(w, xb)
        loss += nll(scores, yb, average: false).scalar
        correct += accuracy(scores, yb) * Double(yb.count)
    }
    return (loss / Double(y.count), correct / Double(y.count))
}

// MARK: - charlm

/// The table's CharLM: Hiawatha's blocks (128×100; 4×8 at smoke scale), an
/// `RNNCharLM` with embedding and LSTM 256 (16), and the peers' initialisation.
struct CharLMSetup {
    let blocks: [CharBlock]
    let model: RNNCharLM

    init(_ data: Workloads) throws {
        let (codes, vocab) = try data.text()
        let (batch, seqlen, embed, hidden) = data.scale == .full ? (128, 100, 256, 256) : (4, 8, 16, 16)
        blocks = minibatchText(codes, batchsize: batch, seqlen: seqlen)
        model = RNNCharLM(vocab: vocab, embed: embed, hidden: hidden)
    }

    /// The peers' initialisation: 0.3·randn matrices, zero biases but the forget gate's input bias 1.
    func parameters() -> [Tensor] {
        let r = model.rnn
        let w = Tensor.randn(r.paramCount) * 0.3
        for id in 0..<(2 * r.rnnType.gates) { rnnparam(r, w, layer: 0, id: id, .bias)!.assign(id == 1 ? 1 : 0) }
        return [Tensor.randn(r.inputSize, model.vocab) * 0.3, w, Tensor.randn(model.vocab, r.hiddenSize) * 0.3, Tensor.zeros(model.vocab, 1)]
    }

    /// One step per block of `blocks` (the table's SGD lr 1, gradient clip 5).
    func train(_ w: inout [Tensor], _ opt: inout [any Optimizer], _ blocks: [CharBlock]) {
        _ = charlmTrain(model, &w, blocks, &opt, gclip: 5)
    }
}

private func charlmCase(_ data: Workloads) throws -> RunResult {
    let setup = try CharLMSetup(data)
    func train(_ w: inout [Tensor], _ blocks: [CharBlock]) {
        var opt = optimizers(w, Sgd(lr: 1.0))
        setup.train(&w, &opt, blocks)
    }
    setseed(1)
    var warm = setup.parameters()
    train(&warm, Array(setup.blocks.prefix(1)))
    var w = setup.parameters()
    var run = timedRun { train(&w, setup.blocks) }
    run.loss = charlmTest(setup.model, w, setup.blocks)
    return run
}

// MARK: - mlp-record

/// Knet's table of recording overhead: the MLP's forward with a quadratic loss
/// (`a1=w1*x, a2=a1+b1, a3=relu(a2), a4=w2*a3, a5=a4+b2, a6=a5-y, sum(a6.^2)`), run
/// plain, recorded on a tape (then dropped) and with the backward pass; no update.
private func mlpRecordCase(_ data: Workloads) throws -> [String: RunResult] {
    let mnist = try data.mnist()
    let n = mnist.ytrn.count
    var onehot = [Float](repeating: 0, count: 10 * n)
    for (i, label) in mnist.ytrn.enumerated() { onehot[10 * i + label] = 1 }
    let batches = Array(minibatch(mnist.xtrn, Tensor(onehot, shape: [10, n]), 100))
    let epochs = data.scale == .full ? 10 : 1
    setseed(1)
    let w = [Tensor.randn(64, 784) * 0.1, Tensor.zeros(64, 1), Tensor.randn(10, 64) * 0.1, Tensor.zeros(10, 1)]
    func loss(_ w: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
        sum(abs2(w[2] * relu(w[0] * x .+ w[1]) .+ w[3] .- y))
    }
    let gradient = gradloss(loss)
    // Each variant returns the loss it computed; the last minibatch's is reported.
    let variants: [(String, ([Tensor], Tensor, Tensor) -> Double)] = [
        ("mlp-record-fwd", { w, x, y in loss(w, x, y).scalar }),
        ("mlp-record-rec", { w, x, y in forwardRecorded(loss, w, x, y).scalar }),
        ("mlp-record-fwdbwd", { w, x, y in gradient(w, x, y).1.scalar }),
    ]
    var result: [String: RunResult] = [:]
    for (name, step) in variants {
        for (x, y) in batches.prefix(2) { _ = step(w, x, y) }          // warm-up
        var last = Double.nan
        var run = timedRun {
            for _ in 0..<epochs {
                for (x, y) in batches { last = step(w, x, y) }
            }
        }
        run.loss = last
        result[name] = run
    }
    return result
}
