import Knet
import KnetSVG
#if canImport(Glibc)
import Glibc
#endif

// The data-parallel rows: the table's MLP and LeNet trained by one process of two threads
// and by `mpirun -np 2` processes of one thread each (with the gradient all-reduce
// overlapping the backward pass, and without), next to PyTorch DDP (gloo) with the same
// split (Benchmarks/peers/torch_ddp_bench.py). Each configuration is a process (or job)
// of its own: knet-bench runs itself in worker mode (`--dp-worker`).

/// One configuration of the data-parallel comparison.
public struct DataParallelSetup: Sendable, Equatable {
    /// Processes.
    public var processes: Int
    /// Threads per process (`KNET_THREADS`, torch's `set_num_threads`).
    public var threads: Int
    /// Whether the all-reduce overlaps the backward pass (ours, several processes).
    public var overlap: Bool

    /// The row suffix: "1x2", "2x1", "2x1-no-overlap".
    public var name: String { "\(processes)x\(threads)" + (processes > 1 && !overlap ? "-no-overlap" : "") }
}

/// What the comparison runs: ours in three configurations and, with `torch`, DDP in two.
public struct DataParallelOptions: Sendable {
    /// "mlp", "lenet".
    public var models: [String] = ["mlp", "lenet"]
    /// Rounds; each configuration runs once a round, in turn.
    public var runs = 3
    /// Also run PyTorch DDP.
    public var torch = false
    /// The data.
    public var source: DataSource
    /// Full or smoke sizes.
    public var scale: BenchmarkScale
    /// The folder of the shared peer scripts (bench_data.py, torch_bench.py).
    public var peers = "../shared/peers"
    /// The DDP script (found next to the shared ones when absent here, as in the device bundle).
    public var ddpScript = "Benchmarks/peers/torch_ddp_bench.py"

    /// Ours: one process of two threads, two of one with and without overlap; torch: the first two.
    public static let ours = [DataParallelSetup(processes: 1, threads: 2, overlap: true),
                              DataParallelSetup(processes: 2, threads: 1, overlap: true),
                              DataParallelSetup(processes: 2, threads: 1, overlap: false)]

    /// Options for `source` at `scale`.
    ///
    ///     var o = DataParallelOptions(source: .synthetic, scale: .smoke)
    public init(source: DataSource, scale: BenchmarkScale) {
        self.source = source
        self.scale = scale
    }
}

/// One model's measurements: per configuration name ("1x2"…), ours and torch's runs.
public struct DataParallelRow: Sendable {
    /// "mlp" or "lenet".
    public var model: String
    /// Our runs by configuration.
    public var ours: [String: [RunResult]] = [:]
    /// Torch's runs by configuration, and why there are none.
    public var torch: [String: PeerRow] = [:]

    /// Our median seconds for `setup` (NaN without runs).
    public func seconds(_ setup: String) -> Double { median(ours[setup, default: []].map(\.seconds)) }
    /// Torch's median seconds for `setup`.
    public func torchSeconds(_ setup: String) -> Double { torch[setup]?.seconds ?? .nan }
}

/// Runs the comparison (see `DataParallelOptions`), logging a line per round.
///
///     let rows = try runDataParallel(DataParallelOptions(source: .synthetic, scale: .smoke)) { print($0) }
public func runDataParallel(_ options: DataParallelOptions, log: (String) -> Void = { _ in }) throws -> [DataParallelRow] {
    let me = try selfExecutable()
    var rows: [DataParallelRow] = []
    for model in options.models {
        var row = DataParallelRow(model: model)
        for round in 1...max(1, options.runs) {
            var line = "\(model) run \(round)/\(options.runs):"
            for setup in DataParallelOptions.ours {
                let output = try runProcess(command(ours: setup, me, model, options), collectOutput: true)
                guard output.status == 0, let r = parsePeerOutput(output.stdout).rows["\(model)-\(setup.name)"] else {
                    throw PeerFailure.failed(status: output.status, tail: String(output.stderr.suffix(400)))
                }
                row.ours[setup.name, default: []].append(r)
                line += " ours \(setup.name) \(fmt(r.seconds, 2)) s;"
            }
            for setup in DataParallelOptions.ours.prefix(2) where options.torch {
                let name = "\(model)-\(setup.name)"
                let output = try? runProcess(command(torch: setup, model, options), collectOutput: true)
                if let output, output.status == 0, let r = parsePeerOutput(output.stdout).rows[name] {
                    row.torch[setup.name, default: PeerRow()].runs.append(r)
                    line += " torch \(setup.name) \(fmt(r.seconds, 2)) s;"
                } else {
                    let tail = output.map { String($0.stderr.split(separator: "\n").suffix(2).joined(separator: " / ")) } ?? "cannot run python3"
                    row.torch[setup.name, default: PeerRow()].failure = tail
                    line += " torch \(setup.name) failed;"
                }
            }
            log(line)
        }
        rows.append(row)
    }
    return rows
}

/// The data and scale arguments both workers take.
private func dataArguments(_ options: DataParallelOptions, torch: Bool) -> [String] {
    var args: [String] = []
    switch options.source {
    case .files(let folder): args += ["--data", folder]
    case .synthetic: args.append("--synthetic")
    }
    if options.scale == .smoke { args += torch ? ["--max-batches", "2"] : ["--smoke"] }
    return args
}

/// `mpirun` for several processes (as root here, more processes than cores allowed, no
/// binding, no single-copy shared memory, which containers often forbid).
private func launcher(_ processes: Int, environment: [String]) -> [String] {
    guard processes > 1 else { return ["env"] + environment }
    return ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
            "--mca", "btl_vader_single_copy_mechanism", "none", "-np", "\(processes)"] + environment.flatMap { ["-x", $0] }
}

private func command(ours setup: DataParallelSetup, _ me: String, _ model: String, _ options: DataParallelOptions) -> [String] {
    launcher(setup.processes, environment: ["KNET_THREADS=\(setup.threads)"])
        + [me, "--dp-worker", model, "--overlap", setup.overlap ? "on" : "off"] + dataArguments(options, torch: false)
}

private func command(torch setup: DataParallelSetup, _ model: String, _ options: DataParallelOptions) -> [String] {
    let script = access(options.ddpScript, R_OK) == 0 ? options.ddpScript : options.peers + "/torch_ddp_bench.py"
    return ["env", "KNET_PEERS=\(options.peers)", "python3", script, "--only", model, "--procs", "\(setup.processes)",
            "--threads", "\(setup.threads)"] + dataArguments(options, torch: true)
}

/// The path of this program (to start it again as a worker).
private func selfExecutable() throws -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { throw FileIOError("readlink", "/proc/self/exe") }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// One worker of the comparison, in this process (started alone or by mpirun): trains
/// `model` as the table does — batches of 100 in all, each process its shard, SGD — after
/// a 2-batch warm-up, times the loop between two barriers, and returns rank 0's result
/// line `NAME-PxT[-no-overlap] seconds=S final_loss=L train_acc=A test_acc=A buckets=B
/// overlapped=O` (nil on the other ranks).
///
///     if let line = try dataParallelWorker(model: "lenet", overlap: true, source: .synthetic, scale: .smoke) { print(line) }
public func dataParallelWorker(model name: String, overlap: Bool, source: DataSource, scale: BenchmarkScale) throws -> String? {
    guard let model = ["mlp": Classifier.mlp, "lenet": .lenet][name] else { throw PeerFailure.missing(path: "model \(name)") }
    Distributed.initialize()
    let mnist = try Workloads(source: source, scale: scale).mnist()
    let dp = Distributed.size > 1 ? DataParallel(overlap: overlap) : nil
    let whole = minibatch(mnist.xtrn, mnist.ytrn, 100)
    let batches = Array(try dp.map { try $0.shard(whole) } ?? whole)
    let f = { (w: [Tensor], x: Tensor, y: [Int]) in nll(model.predict(w, x), y) }
    let lossgradient = dp?.gradloss(f) ?? gradloss(f)
    func train(_ w: inout [Tensor], _ batches: ArraySlice<(Tensor, [Int])>, epochs: Int) {
        var opt = optimizers(w, Sgd(lr: model.lr))
        for _ in 0..<epochs {
            for (x, y) in batches { update(&w, lossgradient(w, x, y).0, &opt) }
        }
    }
    setseed(1 + Distributed.rank)                       // different until the broadcast
    var warm = model.parameters()
    dp?.broadcastParameters(warm)
    train(&warm, batches.prefix(2), epochs: 1)
    var w = model.parameters()
    dp?.broadcastParameters(w)
    Distributed.barrier()
    let run = timedRun {
        train(&w, batches[...], epochs: model.epochs)
        Distributed.barrier()
    }
    guard Distributed.isPrimary else { return nil }
    let trn = evaluate(model, w, mnist.xtrn, mnist.ytrn), tst = evaluate(model, w, mnist.xtst, mnist.ytst)
    let threads = getenv("KNET_THREADS").flatMap { Int(String(cString: $0)) } ?? 0
    let setup = DataParallelSetup(processes: Distributed.size, threads: threads, overlap: overlap)
    return "\(name)-\(setup.name) seconds=\(run.seconds) final_loss=\(trn.loss) train_acc=\(trn.accuracy) test_acc=\(tst.accuracy)"
        + " buckets=\(dp?.lastStep.buckets ?? 0) overlapped=\(dp?.lastStep.startedDuringBackward ?? 0)"
        + (run.otherCores.map { " other_cores=\(fmt($0, 2))" } ?? "")
}

/// The comparison as Markdown: per model our three times and torch's two, the speed-up of
/// two processes over one (`1x2 / 2x1`, above 1 when data parallel pays) and what the
/// overlap saves (`no-overlap / overlap`).
///
///     print(dataParallelMarkdown(rows, machine: "2-core EPYC"))
public func dataParallelMarkdown(_ rows: [DataParallelRow], note: String) -> String {
    var s = """
        ## Data parallel: one process of 2 threads vs 2 processes of 1 thread

        \(note)

        | model | ours 1×2 s | ours 2×1 s | ours 2×1 no overlap s | ours speed-up 1×2/2×1 | overlap gain | torch 1×2 s | torch DDP 2×1 s | torch speed-up | ours / torch (2×1) |
        |---|---|---|---|---|---|---|---|---|---|

        """
    for r in rows {
        let (one, two, flat) = (r.seconds("1x2"), r.seconds("2x1"), r.seconds("2x1-no-overlap"))
        let (tone, ttwo) = (r.torchSeconds("1x2"), r.torchSeconds("2x1"))
        s += "| \(r.model) | \(fmt(one, 3)) | \(fmt(two, 3)) | \(fmt(flat, 3)) | ×\(fmt(one / two, 2)) | ×\(fmt(flat / two, 3)) "
            + "| \(fmt(tone, 3)) | \(fmt(ttwo, 3)) | ×\(fmt(tone / ttwo, 2)) | ×\(fmt(two / ttwo, 2)) |\n"
    }
    s += "\nMedians of the runs; each configuration is its own process or `mpirun -np 2` job. "
        + "Speed-up above ×1: two processes beat one process of two threads. Overlap gain above ×1: starting each "
        + "bucket's all-reduce during the backward pass beats all-reducing after it.\n"
    let failures = rows.flatMap { r in r.torch.compactMap { k, v in v.failure.map { "- torch \(r.model) \(k): \($0)" } } }
    if !failures.isEmpty { s += "\n" + failures.joined(separator: "\n") + "\n" }
    return s
}
