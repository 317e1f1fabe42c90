import XCTest
@testable import Knet
#if canImport(Glibc)
import Glibc
#endif

/// Knet.jl's test function (test/update.jl): minimum 0 at (1, ..., 1).
private func rosenbrock(_ x: Tensor) -> Tensor {
    let n = x.count, head = x[0..<(n - 1)], tail = x[1..<n]
    return sum(abs2(1 .- head) .+ 100 .* abs2(tail .- abs2(head)))
}

private func linear(_ w: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
    mean(abs2(w[0] * x .+ w[1] .- y))
}

/// A small linear regression problem: `batches` minibatches of `size` noisy samples of y = [2 -1 0.5]x + 0.3.
private func regressionData(batches: Int, size: Int = 16, noise: Double = 0.01) -> [(Tensor, Tensor)] {
    let wTrue = Tensor([2, -1, 0.5], shape: [1, 3], dtype: .float64)
    return (0..<batches).map { _ in
        let x = Tensor.randn(shape: [3, size], dtype: .float64)
        return (x, wTrue * x .+ 0.3 .+ noise .* Tensor.randn(shape: [1, size], dtype: .float64))
    }
}

private struct Linear: TensorStruct {
    var w: Tensor, b: Tensor
    static let tensorKeyPaths = [\Linear.w, \Linear.b]
}

final class OptimizerTests: DeviceTestCase {

    override func setUp() { setseed(7) }

    private func t64(_ v: [Double]) -> Tensor { Tensor(v, dtype: .float64) }

    // MARK: defaults

    func testDefaultsFollowKnet() {
        // Knet.jl 1.x (src/train20/update.jl) defaults.
        XCTAssertEqual(Sgd().description, "Sgd(lr: 0.1)")
        XCTAssertEqual(Momentum().description, "Momentum(lr: 0.05, gamma: 0.95)")
        XCTAssertEqual(Nesterov().description, "Nesterov(lr: 0.05, gamma: 0.95)")
        XCTAssertEqual(Adagrad().description, "Adagrad(lr: 0.05, eps: 1e-06)")
        XCTAssertEqual(Rmsprop().description, "Rmsprop(lr: 0.01, rho: 0.9, eps: 1e-06)")
        XCTAssertEqual(Adadelta().description, "Adadelta(lr: 1.0, rho: 0.9, eps: 1e-06)")
        XCTAssertEqual(Adam().description, "Adam(lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-08)")
        // The lowercase iterators use the same defaults.
        let w = [Tensor.zeros(1, 3, dtype: .float64), .zeros(1, 1, dtype: .float64)]
        let data = regressionData(batches: 1)
        let pairs: [(String, String)] = [
            (sgd(linear, data, w).trainer.optimizers[0].description, Sgd().description),
            (momentum(linear, data, w).trainer.optimizers[0].description, Momentum().description),
            (nesterov(linear, data, w).trainer.optimizers[0].description, Nesterov().description),
            (adagrad(linear, data, w).trainer.optimizers[0].description, Adagrad().description),
            (rmsprop(linear, data, w).trainer.optimizers[0].description, Rmsprop().description),
            (adadelta(linear, data, w).trainer.optimizers[0].description, Adadelta().description),
            (adam(linear, data, w).trainer.optimizers[0].description, Adam().description),
            (minimize(linear, data, w).trainer.optimizers[1].description, Adam().description),
        ]
        for (got, want) in pairs { XCTAssertEqual(got, want) }
    }

    // MARK: one or two steps against the formulas

    private let w0: [Double] = [1.0, -2.0, 0.5, 0.0]
    private let g1: [Double] = [0.3, -0.1, 2.0, -1.5]
    private let g2: [Double] = [-0.2, 0.4, 1.0, 0.5]

    /// Runs `opt` for one step per gradient on a Float64 copy of `w0`; returns the weights after each step.
    private func run(_ opt: any Optimizer, _ grads: [[Double]]) -> [[Double]] {
        var w = t64(w0)
        return grads.map { g in update(&w, t64(g), opt); return [Double](w) }
    }

    private func assertSteps(_ got: [[Double]], _ want: [[Double]], file: StaticString = #filePath, line: UInt = #line) {
        for (a, b) in zip(got, want) {
            for i in a.indices { XCTAssertEqual(a[i], b[i], accuracy: 1e-12, "element \(i)", file: file, line: line) }
        }
    }

    func testSgdStep() {
        let want = w0.indices.map { w0[$0] - 0.1 * g1[$0] }
        assertSteps(run(Sgd(lr: 0.1), [g1]), [want])
    }

    func testMomentumTwoSteps() {
        let lr = 0.1, gamma = 0.9
        var v = [Double](repeating: 0, count: 4), w = w0, want: [[Double]] = []
        for g in [g1, g2] {
            for i in w.indices { v[i] = gamma * v[i] - lr * g[i]; w[i] += v[i] }
            want.append(w)
        }
        assertSteps(run(Momentum(lr: lr, gamma: gamma), [g1, g2]), want)
        // The second step by hand: v1 = -lr g1, v2 = gamma v1 - lr g2.
        XCTAssertEqual(want[1][0], 1.0 - 0.03 + (0.9 * -0.03 + 0.02), accuracy: 1e-15)
    }

    func testNesterovTwoSteps() {
        let lr = 0.1, gamma = 0.9
        var v = [Double](repeating: 0, count: 4), w = w0, want: [[Double]] = []
        for g in [g1, g2] {
            for i in w.indices {
                let old = v[i]
                v[i] = gamma * old - lr * g[i]
                w[i] = w[i] - gamma * old + (1 + gamma) * v[i]
            }
            want.append(w)
        }
        assertSteps(run(Nesterov(lr: lr, gamma: gamma), [g1, g2]), want)
        XCTAssertEqual(want[0][0], 1.0 - 1.9 * 0.03, accuracy: 1e-15)
    }

    func testAdagradTwoSteps() {
        let lr = 0.5, eps = 1e-6
        var G = [Double](repeating: 0, count: 4), w = w0, want: [[Double]] = []
        for g in [g1, g2] {
            for i in w.indices { G[i] += g[i] * g[i]; w[i] -= lr * g[i] / (G[i] + eps).squareRoot() }
            want.append(w)
        }
        assertSteps(run(Adagrad(lr: lr, eps: eps), [g1, g2]), want)
    }

    func testRmspropTwoSteps() {
        let lr = 0.01, rho = 0.9, eps = 1e-6
        var G = [Double](repeating: 0, count: 4), w = w0, want: [[Double]] = []
        for g in [g1, g2] {
            for i in w.indices {
                G[i] = rho * G[i] + (1 - rho) * g[i] * g[i]
                w[i] -= lr * g[i] / (G[i] + eps).squareRoot()
            }
            want.append(w)
        }
        assertSteps(run(Rmsprop(lr: lr, rho: rho, eps: eps), [g1, g2]), want)
    }

    func testAdadeltaTwoSteps() {
        let lr = 1.0, rho = 0.9, eps = 1e-6
        var G = [Double](repeating: 0, count: 4), delta = G, w = w0, want: [[Double]] = []
        for g in [g1, g2] {
            for i in w.indices {
                G[i] = rho * G[i] + (1 - rho) * g[i] * g[i]
                let u = g[i] * (delta[i] + eps).squareRoot() / (G[i] + eps).squareRoot()
                w[i] -= lr * u
                delta[i] = rho * delta[i] + (1 - rho) * u * u
            }
            want.append(w)
        }
        assertSteps(run(Adadelta(lr: lr, rho: rho, eps: eps), [g1, g2]), want)
    }

    func testAdamTwoStepsWithBiasCorrection() {
        let lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8
        var m = [Double](repeating: 0, count: 4), v = m, w = w0, want: [[Double]] = []
        for (t, g) in [g1, g2].enumerated() {
            for i in w.indices {
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                let mhat = m[i] / (1 - pow(b1, Double(t + 1))), vhat = v[i] / (1 - pow(b2, Double(t + 1)))
                w[i] -= lr * mhat / (vhat.squareRoot() + eps)
            }
            want.append(w)
        }
        let opt = Adam(lr: lr, beta1: b1, beta2: b2, eps: eps)
        assertSteps(run(opt, [g1, g2]), want)
        XCTAssertEqual(opt.t, 2)
        // With bias correction the first step moves every nonzero-gradient weight by ~lr.
        XCTAssertEqual(want[0][0], 1.0 - 0.01, accuracy: 1e-9)
    }

    func testFloat32MatchesFloat64() {
        let w32 = Tensor(w0), w64 = t64(w0)
        let o32 = Adam(lr: 0.01), o64 = Adam(lr: 0.01)
        for g in [g1, g2] {
            var a = w32, b = w64
            update(&a, Tensor(g), o32)
            update(&b, t64(g), o64)
        }
        XCTAssertEqual(w32.dtype, .float32)
        assertClose(w32, w64, rtol: 1e-5, atol: 1e-6)
    }

    // MARK: Rosenbrock (Knet's test/update.jl learning rates, classic start (-1.2, 1))

    private func rosenbrockSteps(_ opt: any Optimizer) -> (steps: Int, loss: Double) {
        var w = t64([-1.2, 1.0])
        let gl = gradloss(rosenbrock)
        for step in 0..<10_000 {
            let (g, loss) = gl(w)
            if loss.scalar < 0.1 { return (step, loss.scalar) }
            update(&w, g, opt)
        }
        return (10_000, rosenbrock(w).scalar)
    }

    func testRosenbrockEveryOptimizer() {
        let cases: [any Optimizer] = [
            Sgd(lr: 0.0005), Momentum(lr: 0.00025, gamma: 0.95), Nesterov(lr: 0.00025, gamma: 0.95),
            Adam(lr: 0.005, beta1: 0.9, beta2: 0.95, eps: 1e-8), Adagrad(lr: 0.35, eps: 1e-6),
            Adadelta(lr: 0.01, rho: 0.5, eps: 1e-6), Rmsprop(lr: 0.0005, rho: 0.9, eps: 1e-6),
        ]
        for opt in cases {
            let (steps, loss) = rosenbrockSteps(opt)
            XCTAssertLessThan(loss, 0.1, "\(opt) after \(steps) steps")
            XCTAssertLessThan(steps, 10_000, "\(opt)")
        }
    }

    // MARK: containers update in place

    func testArrayUpdatesCallersTensorsAndViews() {
        let a = t64([1, 2, 3, 4]), b = t64([5])
        let alias = reshape(a, 2, 2)          // a view of a's storage
        var w = [a, b]
        var opt = optimizers(w, Sgd(lr: 0.5))
        XCTAssertEqual(opt.count, 2)
        XCTAssertFalse(opt[0] === opt[1], "each parameter gets its own optimizer")
        update(&w, [t64([1, 1, 1, 1]), t64([2])], &opt)
        assertValues(a, [0.5, 1.5, 2.5, 3.5])
        assertValues(b, [4])
        assertValues(alias, [0.5, 1.5, 2.5, 3.5], shape: [2, 2])
        XCTAssertTrue(w[0] === a)
    }

    func testDictionaryMatchesByKey() {
        let a = t64([1, 2]), b = t64([3])
        var w = ["a": a, "b": b]
        var opt = optimizers(w, Momentum(lr: 0.1, gamma: 0.5))
        XCTAssertEqual(Set(opt.keys), ["a", "b"])
        update(&w, ["b": t64([1]), "a": t64([10, 20])], &opt)
        assertValues(a, [0, 0])
        assertValues(b, [2.9])
        update(&w, ["b": t64([1])], &opt)      // fewer keys: "a" stays
        assertValues(a, [0, 0])
        assertValues(b, [2.9 - 0.05 - 0.1])
        assertKnetError("key c", "not a parameter") {
            var w2 = ["a": Tensor([1])], o2 = optimizers(w2, Sgd())
            update(&w2, ["c": Tensor([1])], &o2)
        }
    }

    func testTensorStructAndGrad() {
        let p = Linear(w: Tensor.zeros(1, 3, dtype: .float64), b: Tensor.zeros(1, 1, dtype: .float64))
        var model = p
        var opt = optimizers(model, Adam(lr: 0.1))
        let f = { (m: Linear, x: Tensor, y: Tensor) in mean(abs2(m.w * x .+ m.b .- y)) }
        let lossgradient = grad(f)
        let (x, y) = regressionData(batches: 1)[0]
        let before = f(model, x, y).scalar
        for _ in 0..<20 { update(&model, lossgradient(model, x, y), &opt) }
        XCTAssertLessThan(f(p, x, y).scalar, before / 2, "the original struct's tensors were trained")
        XCTAssertEqual((opt[0] as! Adam).t, 20)
    }

    func testTwoArgumentSgd() {
        let a = t64([1, 2])
        var w = [a]
        update(&w, [t64([1, -1])], lr: 0.5)
        assertValues(a, [0.5, 2.5])
    }

    // MARK: gclip, l1reg, l2reg

    func testGclipScalesToGlobalNorm() {
        let a = t64([0, 0]), b = t64([0])
        var w = [a, b]
        var opt = optimizers(w, Sgd(lr: 1))
        let g = [t64([3, 0]), t64([4])]                 // global norm 5
        update(&w, g, &opt, gclip: 1)
        assertValues(a, [-0.6, 0])
        assertValues(b, [-0.8])
        let step = [Double](a) + [Double](b)
        XCTAssertEqual(step.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1, accuracy: 1e-12)
        assertValues(g[0], [3, 0])                      // the gradient itself is untouched
        update(&w, g, &opt, gclip: 10)                  // under the threshold: no scaling
        assertValues(a, [-3.6, 0])
        assertValues(b, [-4.8])
    }

    func testL1AndL2Regularisation() {
        let a = t64([2, -3, 0])
        var w = [a]
        var opt = optimizers(w, Sgd(lr: 1))
        update(&w, [t64([0.5, 0.5, 0.5])], &opt, l1reg: 0.1)
        assertValues(a, [2 - 0.6, -3 - 0.4, -0.5])      // sign(0) = 0
        let b = t64([2, -4])
        var v = [b]
        var opt2 = optimizers(v, Sgd(lr: 1))
        update(&v, [t64([0, 1])], &opt2, l2reg: 0.5)
        assertValues(b, [2 - 1, -4 - (1 - 2)])
    }

    // MARK: allocations

    func testAdamAndSgdAllocateNothingInSteadyState() {
        for proto in [Adam() as any Optimizer, Sgd()] {
            var w = [Tensor.randn(512, 300), Tensor.randn(512)]   // the first is split over the cores
            let g = [Tensor.randn(512, 300), Tensor.randn(512)]
            var opt = optimizers(w, proto)
            update(&w, g, &opt, gclip: 1)                         // first step creates the state
            let before = currentMemoryStats()
            for _ in 0..<5 { update(&w, g, &opt, gclip: 1, l2reg: 1e-4) }
            let after = currentMemoryStats()
            XCTAssertEqual(after.systemAllocations, before.systemAllocations, "\(proto)")
            XCTAssertEqual(after.poolHits, before.poolHits, "\(proto): no tensor was created")
        }
    }

    // MARK: errors

    func testMismatchedOptimizersStopWithMessage() {
        assertKnetError("2 parameters", "1 optimizers") {
            var w = [Tensor.zeros(2), .zeros(3)]
            var opt = optimizers([Tensor.zeros(2)], Sgd())
            update(&w, w, &opt)
        }
        assertKnetError("Adam", "optimizers(w") {
            let opt = Adam()
            var a = Tensor.zeros(2), b = Tensor.zeros(3)
            update(&a, a, opt)
            update(&b, b, opt)                                      // state belongs to a
        }
        assertKnetError("gradient shape [3]", "parameter shape [2]") {
            var a = Tensor.zeros(2)
            update(&a, Tensor.zeros(3), Sgd())
        }
    }

    // MARK: minimize / converge / progress

    func testMinimizeReducesLinearRegressionLoss() {
        let data = regressionData(batches: 8)
        let w = [Tensor.zeros(1, 3, dtype: .float64), Tensor.zeros(1, 1, dtype: .float64)]
        let trainer = Trainer(w, Adam(lr: 0.1))
        let epoch1 = Array(trainer.minimize(linear, data))
        XCTAssertEqual(epoch1.count, 8)
        var last = epoch1
        for _ in 0..<4 { last = Array(trainer.minimize(linear, data)) }
        XCTAssertLessThan(last.reduce(0, +), epoch1.reduce(0, +) / 10)
        XCTAssertEqual((trainer.optimizers[0] as! Adam).t, 40, "state persists across epochs")
        XCTAssertEqual([Double](w[0])[0], 2, accuracy: 0.3, "the caller's tensors were trained")
        // The free function and a convenience iterator train too, lazily.
        let v = [Tensor.zeros(1, 3, dtype: .float64), Tensor.zeros(1, 1, dtype: .float64)]
        let lazy = sgd(linear, data, v, lr: 0.1)
        XCTAssertEqual([Double](v[0]), [0, 0, 0], "nothing runs before iteration")
        let losses = Array(lazy)
        XCTAssertLessThan(losses.last!, losses.first!)
        XCTAssertEqual(lazy.underestimatedCount, 8)
    }

    /// A trainer made from existing optimizers goes on with their state: two trainers of
    /// 4 steps each over the same optimizers equal one trainer of 8 steps, bit for bit.
    func testTrainerWithExistingOptimizersKeepsTheirState() {
        let data = regressionData(batches: 8)
        func fresh() -> [Tensor] { [Tensor.zeros(1, 3, dtype: .float64), Tensor.zeros(1, 1, dtype: .float64)] }
        let whole = fresh(), halves = fresh()
        for _ in Trainer(whole, Adam(lr: 0.1)).minimize(linear, data) {}
        let opt = optimizers(halves, Adam(lr: 0.1))
        for _ in Trainer(halves, optimizers: opt).minimize(linear, data.prefix(4)) {}
        for _ in Trainer(halves, optimizers: opt).minimize(linear, data.dropFirst(4)) {}
        XCTAssertEqual((opt[0] as! Adam).t, 8)
        XCTAssertEqual([Double](halves[0]), [Double](whole[0]))
        XCTAssertEqual([Double](halves[1]), [Double](whole[1]))
        assertKnetError("Trainer: 1 optimizers for 2 parameters") { _ = Trainer(fresh(), optimizers: [Sgd()]) }
    }

    func testConvergeFollowsKnetRule() {
        // alpha 0.5 by hand: avgp = 0, -1, -1.5, -0.25, then 1.125 > 0 at x = 5: stop.
        XCTAssertEqual(Array(converge([4.0, 2, 1, 3, 5, 0, 0], alpha: 0.5)), [4, 2, 1, 3])
        XCTAssertEqual(Array(converge([3.0, 2, 1])), [3, 2, 1], "ends with its base")
        // On endlessly cycled noisy minibatches it stops by itself.
        let data = regressionData(batches: 4, size: 64, noise: 0.3)
        let endless = (0...).lazy.map { data[$0 % data.count] }
        let w = [Tensor.zeros(1, 3, dtype: .float64), Tensor.zeros(1, 1, dtype: .float64)]
        var steps = 0
        for _ in converge(minimize(linear, endless, w, Sgd(lr: 0.1))) {
            steps += 1
            if steps == 5000 { break }
        }
        XCTAssertLessThan(steps, 5000)
        XCTAssertGreaterThan(steps, 5)
        assertValues(w[0], [2, -1, 0.5], atol: 0.1)
    }

    func testProgressPrintsNothingWhenNotATerminal() {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let items = Array(Progress(base: [1.0, 2.0, 3.0], total: 3, seconds: 0, fd: fds[1]))
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 256)
        XCTAssertEqual(read(fds[0], &buffer, buffer.count), 0, "nothing written to a pipe")
        close(fds[0])
        XCTAssertEqual(items, [1, 2, 3], "elements pass through")
        // stderr under `swift test` is a pipe or file unless run from a terminal.
        if isatty(STDERR_FILENO) == 0 { XCTAssertNil(progress([1.0]).makeIterator().bar) }
    }

    func testProgressDrawsOnATerminal() throws {
        // A pseudo-terminal by hand (posix_openpt and the TIOC* macros are not imported):
        // unlock it (TIOCSPTLCK) and ask its number (TIOCGPTN), Linux's generic ioctl codes.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: Int32 = 0, number: UInt32 = 0
        guard master >= 0, ioctl(master, 0x4004_5431, &unlock) == 0,
              ioctl(master, 0x8004_5430, &number) == 0 else {
            if master >= 0 { close(master) }
            throw XCTSkip("no pseudo-terminal available")
        }
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        defer { close(slave); close(master) }
        XCTAssertEqual(isatty(slave), 1)
        XCTAssertEqual(Array(Progress(base: [0.5, 1.5], total: 2, seconds: 0, fd: slave)), [0.5, 1.5])
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(master, &buffer, buffer.count)
        let text = String(decoding: buffer.prefix(Swift.max(n, 0)), as: UTF8.self)
        XCTAssertTrue(text.contains("2/2"), text)
        XCTAssertTrue(text.contains("100.00%"), text)
        XCTAssertTrue(text.contains("loss 1"), text)        // the average of 0.5 and 1.5
    }

    func testProgressLineFormat() {
        XCTAssertEqual(ProgressBar.line(count: 5, total: 10, elapsed: 2, average: 0.25),
                       "┣██████████          ┫ [50.00%, 5/10, 00:02/00:04, 2.50i/s] loss 0.25")
        XCTAssertEqual(ProgressBar.line(count: 3, total: nil, elapsed: 6, average: nil), "[3, 00:06, 2.00s/i]")
        XCTAssertEqual(ProgressBar.bar(1.0 / 32), "┣▋                   ┫")
        XCTAssertEqual(ProgressBar.clock(3723), "01:02:03")
    }
}
