// knet-bench: the core benchmark of issue "The core": the tutorial MLP's forward,
// recorded forward and forward+backward (Knet.jl's table), GEMM GFLOP/s for BLAS and
// the Swift kernel, and the per-op overhead of a small `.+` with and without recording.
// Usage: knet-bench [--runs N] [--batches N] [--only mlp,gemm,overhead,elementwise,lenet,charlm] [--vs torch,jax] [--peers DIR]
import Knet
#if canImport(Glibc)
import Glibc
#endif

var runs = 5, batches = 600
var only: Set<String> = ["mlp", "gemm", "overhead", "elementwise", "lenet", "charlm"]
var peers = "../shared/peers", versus: Set<String> = []
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let a = arguments.next() {
    switch a {
    case "--runs": runs = Int(arguments.next() ?? "") ?? runs
    case "--batches": batches = Int(arguments.next() ?? "") ?? batches
    case "--only": only = Set((arguments.next() ?? "").split(separator: ",").map(String.init))
    case "--vs": versus = Set((arguments.next() ?? "").split(separator: ",").map(String.init))
    case "--peers": peers = arguments.next() ?? peers
    default:
        fputs("usage: knet-bench [--runs N] [--batches N] [--only mlp,gemm,overhead,elementwise,lenet,charlm] [--vs torch,jax] [--peers DIR]\n", stderr)
        exit(2)
    }
}
guard runs > 0, batches > 0 else { fputs("knet-bench: --runs and --batches must be positive\n", stderr); exit(2) }

setseed(1)
print("Knet for Swift core benchmark — GEMM backend: \(CPUBLAS.backend.rawValue) (\(CPUBLAS.library ?? "no system BLAS")), median of \(runs) runs")

// MARK: MLP 784→64→10, batch 100, quadratic loss
func predict(_ w: [Tensor], _ x: Tensor) -> Tensor {
    var x = mat(x)
    for i in stride(from: 0, to: w.count - 2, by: 2) { x = relu(w[i] * x .+ w[i + 1]) }
    return w[w.count - 2] * x .+ w[w.count - 1]
}
func quadloss(_ w: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
    sum(abs2(y .- predict(w, x))) ./ Double(y.shape[1])
}
let w = [Tensor.randn(64, 784) * 0.1, Tensor.zeros(64, 1), Tensor.randn(10, 64) * 0.1, Tensor.zeros(10, 1)]
let xs = (0..<10).map { _ in Tensor.rand(784, 100) }
let ys = (0..<10).map { _ in Tensor.rand(10, 100) }
let lossgradient = grad(quadloss)

if only.contains("mlp") {
let forward = median(runs: runs) { for i in 0..<batches { _ = quadloss(w, xs[i % 10], ys[i % 10]) } }
let recorded = median(runs: runs) { for i in 0..<batches { _ = forwardRecorded(quadloss, w, xs[i % 10], ys[i % 10]) } }
let backward = median(runs: runs) { for i in 0..<batches { _ = lossgradient(w, xs[i % 10], ys[i % 10]) } }
print("\nMLP 784-64-10, batch 100, \(batches) minibatches   seconds   ratio to forward")
print("  forward                                    \(fmt(forward))     1.00")
print("  forward with recording                     \(fmt(recorded))     \(fmt(recorded / forward, 2))  (goal ≤ 1.10)")
print("  forward + backward                         \(fmt(backward))     \(fmt(backward / forward, 2))  (goal ≤ 2.50)")

}

// MARK: GEMM
func gflops(_ backend: GEMMBackend, m: Int, n: Int, k: Int, transB: Bool = false) -> Double {
    let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
    var c = [Float](repeating: 0, count: m * n)
    let reps = Swift.max(1, Int(2e9 / Double(2 * m * n * k)))
    let t = median(runs: runs) {
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            for _ in 0..<reps {
                CPUBLAS.gemm(using: backend, transA: false, transB: transB, m: m, n: n, k: k, alpha: Float(1),
                             a: pa.baseAddress!, lda: m, b: pb.baseAddress!, ldb: transB ? n : k, beta: Float(0),
                             c: pc.baseAddress!, ldc: m)
            }
        } } }
    }
    return 2 * Double(m * n * k) * Double(reps) / t / 1e9
}
if only.contains("gemm") {
print("\nSGEMM GFLOP/s                    BLAS      Swift   Swift/BLAS")
for (name, m, n, k, t) in [("(64×784)·(784×100)", 64, 100, 784, false),
                           ("(64×100)·(784×100)ᵀ (MLP dW)", 64, 784, 100, true),
                           ("1024×1024×1024", 1024, 1024, 1024, false)] {
    let swift = gflops(.swift, m: m, n: n, k: k, transB: t)
    if CPUBLAS.library != nil {
        let blas = gflops(.blas, m: m, n: n, k: k, transB: t)
        print("  \(name.rightPad(32))\(fmt(blas, 1).leftPad(8))  \(fmt(swift, 1).leftPad(8))   \(fmt(swift / blas, 2))")
    } else {
        print("  \(name.rightPad(32))       —  \(fmt(swift, 1).leftPad(8))   (no system BLAS)")
    }
}

}

// MARK: per-op overhead
if only.contains("overhead") {
let a = Tensor.rand(10), b = Tensor.rand(10)
let n = 100_000
let plain = median(runs: runs) { for _ in 0..<n { _ = a .+ b } } / Double(n)
let recordedOp = median(runs: runs) {
    _ = forwardRecorded({ (p: Tensor, q: Tensor) -> Tensor in
        var r = p
        for _ in 0..<n { r = p .+ q }
        return sum(r)
    }, a, b)
} / Double(n)
print("\nPer-op overhead of a 10-element .+          µs")
print("  not recorded                               \(fmt(plain * 1e6, 2))")
print("  recorded                                   \(fmt(recordedOp * 1e6, 2))  (goal < 2)")

}

// MARK: elementwise throughput
if only.contains("elementwise") {
    let count = 10_000_000
    let u = Tensor.rand(count), v = Tensor.rand(count)
    print("\nElementwise on \(count / 1_000_000)M Float32        ms      GB/s")
    for (name, bytes, body) in [("u .+ v", 12, { _ = u .+ v }), ("relu(u)", 8, { _ = relu(u) }),
                                ("exp(u)", 8, { _ = exp(u) }), ("sum(u)", 4, { _ = sum(u) }),
                                ("sum(reshape(u, 1000, -1), dims: 0)", 4, { _ = sum(reshape(u, 1000, -1), dims: 0) })]
        as [(String, Int, () -> Void)] {
        let t = median(runs: runs, body)
        print("  \(name.rightPad(34))\(fmt(t * 1e3, 2).leftPad(7))  \(fmt(Double(bytes * count) / t / 1e9, 1).leftPad(7))")
    }
}

// MARK: LeNet
if only.contains("lenet") {
    // The peers' LeNet: conv5×5 1→20, relu, maxpool 2; conv5×5 20→50, relu, maxpool 2;
    // dense 800→500 relu; dense 500→10; softmax cross-entropy; SGD lr 0.1; batch 100.
    // MNIST-shaped random images and labels (the time does not depend on the values).
    func lenet(_ w: [Tensor], _ x: Tensor) -> Tensor {
        var a = pool(relu(conv4(w[0], x) .+ w[1]))
        a = pool(relu(conv4(w[2], a) .+ w[3]))
        a = relu(w[4] * mat(a) .+ w[5])
        return w[6] * a .+ w[7]
    }
    func lenetLoss(_ w: [Tensor], _ x: Tensor, _ y: [Int]) -> Tensor { nll(lenet(w, x), y) }
    let lenetGradient = grad(lenetLoss)
    var lw = [Tensor.xavier(5, 5, 1, 20), Tensor.zeros(1, 1, 20, 1), Tensor.xavier(5, 5, 20, 50), Tensor.zeros(1, 1, 50, 1),
              Tensor.xavier(500, 800), Tensor.zeros(500, 1), Tensor.xavier(10, 500), Tensor.zeros(10, 1)]
    let images = (0..<4).map { _ in Tensor.rand(28, 28, 1, 100) }
    let labels = (0..<4).map { _ in (0..<100).map { _ in Int.random(in: 0..<10) } }
    let steps = 20
    let perBatch = median(runs: runs) {
        for i in 0..<steps {
            let dw = lenetGradient(lw, images[i % 4], labels[i % 4])
            for j in lw.indices { lw[j] = lw[j] .- 0.1 .* dw[j] }
        }
    } / Double(steps)
    print("\nLeNet, batch 100, forward+backward+SGD     ms/minibatch")
    print("  Knet for Swift                             \(fmt(perBatch * 1e3, 2))")
    for peer in ["torch", "jax"] where versus.contains(peer) {
        guard let fields = runPeer(script: "\(peer)_bench.py", peers: peers,
                                   arguments: ["--only", "lenet", "--max-batches", "20", "--synthetic"], name: "lenet"),
              let theirs = fields["per_batch"].flatMap(Double.init) else { continue }
        print("  \(peer) (\(peers)/\(peer)_bench.py)".rightPad(45) + "\(fmt(theirs * 1e3, 2))   ours/theirs \(fmt(perBatch / theirs, 2))")
    }
}

// MARK: CharLM
if only.contains("charlm") {
    // The peers' CharLM: Hiawatha-sized text (214,325 characters, 84 symbols; random here,
    // the time does not depend on the values) in 128 streams, 16 blocks of 128×100,
    // embedding 256, one LSTM layer of 256, SGD lr 1.0 with global-norm clipping 5.
    let text = (0..<214_325).map { _ in Int.random(in: 0..<84) }
    let blocks = minibatchText(text, batchsize: 128, seqlen: 100)
    func epoch<M: CharLanguageModel>(_ model: M, _ w0: [Tensor]) -> Double {
        median(runs: runs) {
            var w = w0.map { copy($0) }
            var opt = optimizers(w, Sgd(lr: 1.0))
            _ = charlmTrain(model, &w, blocks, &opt, gclip: 5)
        }
    }
    let fused = RNNCharLM(vocab: 84, embed: 256, hidden: 256)
    let fusedTime = epoch(fused, fused.weights())
    let handTime = epoch(LSTMCharLM(), charlmWeights(vocab: 84, embed: 256, hidden: 256))
    print("\nCharLM, 1 epoch = \(blocks.count) blocks of 128×100, LSTM 256    seconds")
    print("  Knet for Swift, fused RNN layer            \(fmt(fusedTime, 2))")
    print("  Knet for Swift, hand-written lstmStep      \(fmt(handTime, 2))")
    for peer in ["torch", "jax"] where versus.contains(peer) {
        guard let fields = runPeer(script: "\(peer)_bench.py", peers: peers,
                                   arguments: ["--only", "charlm", "--synthetic"], name: "charlm"),
              let theirs = fields["seconds"].flatMap(Double.init) else { continue }
        print("  \(peer) (\(peers)/\(peer)_bench.py)".rightPad(45) + "\(fmt(theirs, 2))   fused/theirs \(fmt(fusedTime / theirs, 2))")
    }
}

extension String {
    func leftPad(_ n: Int) -> String { String(repeating: " ", count: Swift.max(0, n - count)) + self }
    func rightPad(_ n: Int) -> String { self + String(repeating: " ", count: Swift.max(0, n - count)) }
}
