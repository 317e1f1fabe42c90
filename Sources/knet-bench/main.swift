// knet-bench: Knet's benchmark table (linreg, softmax, mlp, lenet, charlm, mlp-record)
// and micro-benchmarks, optionally side by side with the PyTorch and JAX scripts of
// ../shared/peers, writing BENCHMARKS.md, its SVG chart and JSON. See `--help`.
import Knet
import KnetBenchmarks
import KnetSVG
#if canImport(Glibc)
import Glibc
#endif

let usage = """
usage: knet-bench [--only NAMES] [--runs N] [--vs torch,jax] [--peers DIR] [--data DIR | --synthetic]
                  [--smoke] [--device cpu|gpu] [--json FILE] [--report FILE.md]
       knet-bench --wide [--only NAMES] [--runs N] [--vs torch] [--data DIR | --synthetic] [--smoke] [--report FILE.md]
       knet-bench --data-parallel [--runs N] [--vs torch] [--data DIR | --synthetic] [--smoke] [--report FILE.md]
       knet-bench --gpu-check
       knet-bench --nccl-check
       knet-bench --memory [--data DIR | --synthetic] [--smoke]

  --only NAMES     comma-separated: \((TableCase.all.map(\.name) + ["micro"]).joined(separator: ",")) (default: all);
                   with --wide: \(TableCase.wide.map(\.name).joined(separator: ","))
  --wide           the seeds' wider table instead (CIFAR-10 CNN, IMDB GRU, ResNet-50, DyNet models) against
                   the PyTorch scripts of Benchmarks/peers (run from the package folder); data of the real
                   shapes unless --data holds the real sets; --report writes its own section
  --runs N         timed runs per row, ours and each peer's alternating; medians reported (default 3)
  --vs PEERS       also run these peer scripts (torch, jax, torch_cuda) in the same invocation and print ratios
  --peers DIR      where the peer scripts are (default ../shared/peers)
  --data DIR       folder with mnist/, housing/, hiawatha/ (default ../shared/data when it exists)
  --synthetic      random data of the real shapes instead of the files (only times mean anything)
  --smoke          tiny sizes and one run: checks that every case works (CI)
  --device DEVICE  cpu (default), gpu or gpu<n>: data, parameters and every op live there
  --json FILE      write every measurement as JSON (- for stdout)
  --report FILE    write this GEMM backend's section of the Markdown report (BENCHMARKS.md), keeping the
                   other backends' sections, and its chart beside it (FILE-swift.svg, FILE-blas.svg)
  --memory         not timed: train the MLP 10,000 steps and the CharLM 1,000 (--smoke: 300 and 200 on tiny
                   sizes), print the RSS and the host allocator's counters every 100 steps, the RSS growth after
                   the warm-up (goal < 1%) and the new system allocations per step (goal 0); exit 1 if a goal is missed
  --gpu-check      run every generated elementwise kernel on each GPU (through the GPU backend) against
                   the CPU formulas and measure x .+ y's bandwidth on 100M floats (exit 1 on a
                   mismatch or without a GPU)
  --data-parallel  instead of the table: the MLP and LeNet rows trained by 1 process × 2 threads and by
                   `mpirun -np 2` × 1 thread (all-reduce overlapping the backward pass, and not); with
                   --vs torch also PyTorch DDP (gloo, Benchmarks/peers/torch_ddp_bench.py) in both splits;
                   --report writes its section of the report
  --nccl-check     run NCCL's collectives as a job of one rank on GPU 0 (libnccl.so.2 or $KNET_LIBNCCL),
                   compare each result and time a 64M-float all-reduce (exit 1 on a mismatch, without
                   a GPU or without NCCL)

The report of the repository is made by (the second run needs a system BLAS):
  swift build -c release --product knet-bench
  KNET_GEMM=swift .build/release/knet-bench --vs torch,jax --report BENCHMARKS.md
  KNET_GEMM=blas .build/release/knet-bench --vs torch,jax --report BENCHMARKS.md

"""

func fail(_ message: String) -> Never {
    fputs("knet-bench: \(message)\n\n\(usage)", stderr)
    exit(2)
}

var options = SuiteOptions(source: .synthetic, scale: .full)
var dataParallel = false, workerModel: String?, overlap = true
var dataFolder: String?, synthetic = false, runsGiven = false
var jsonPath: String?, reportPath: String?, memory = false
var only: Set<String>? = nil
var arguments = CommandLine.arguments.dropFirst().makeIterator()
func value(_ flag: String) -> String {
    guard let v = arguments.next(), !v.hasPrefix("--") else { fail("\(flag) needs a value") }
    return v
}
/// `--gpu-check`: each GPU's kernel report; exits.
func gpuCheck() -> Never {
    let devices = GPUInfo.current.devices
    for line in GPUInfo.current.summary { print(line) }
    guard !devices.isEmpty else {
        fputs("knet-bench: no GPU here, nothing to check\n", stderr)
        exit(1)
    }
    var ok = true
    for device in devices {
        do {
            let report = try checkGPUKernels(device: device.ordinal)
            let bandwidth = report.bandwidth.map {
                " add_32_ss on \(report.bandwidthElements) floats: \($0.isFinite ? "\(Int($0))" : "\($0)") GB/s"
            } ?? ""
            print("\(report.device): \(report.kernels) kernels, \(report.mismatches.count) disagree with the CPU.\(bandwidth)")
            for line in report.mismatches { print("  " + line) }
            ok = ok && report.mismatches.isEmpty
        } catch {
            print("gpu\(device.ordinal): \(error)")
            ok = false
        }
    }
    exit(ok ? 0 : 1)
}

/// `--nccl-check`: the one-rank NCCL report of GPU 0; exits.
func ncclCheck() -> Never {
    do {
        let r = try checkNCCL()
        print("\(r.transport): \(r.mismatches.count) collectives disagree with their input; "
              + "all-reduce of \(r.elements) floats \(fmt(r.seconds * 1e3, 2)) ms, \(fmt(r.bandwidth, 1)) GB/s")
        for line in r.mismatches { print("  " + line) }
        exit(r.mismatches.isEmpty ? 0 : 1)
    } catch {
        print("NCCL check: \(error)")
        exit(1)
    }
}

while let a = arguments.next() {
    switch a {
    case "--gpu-check": gpuCheck()
    case "--nccl-check": ncclCheck()
    case "--data-parallel": dataParallel = true
    case "--dp-worker": workerModel = value(a)
    case "--overlap":
        let v = value(a)
        guard v == "on" || v == "off" else { fail("--overlap takes on or off, got \(v)") }
        overlap = v == "on"
    case "--memory": memory = true
    case "--wide": options.wide = true
    case "--only": only = Set(value(a).split(separator: ",").map(String.init))
    case "--runs":
        let v = value(a)
        guard let n = Int(v), n > 0 else { fail("--runs must be a positive integer, got \(v)") }
        options.runs = n
        runsGiven = true
    case "--vs":
        options.peers = value(a).split(separator: ",").map(String.init)
        if let bad = options.peers.first(where: { !["torch", "jax", "torch_cuda"].contains($0) }) {
            fail("unknown peer \"\(bad)\" (torch, jax, torch_cuda)")
        }
    case "--peers": options.runner.directory = value(a)
    case "--data": dataFolder = value(a)
    case "--synthetic": synthetic = true
    case "--smoke": options.scale = .smoke
    case "--device":
        let v = value(a)
        guard let device = Device(v), device.isAvailable else { fail("--device \(v): not a device here (cpu, gpu, gpu<n>)") }
        setDefaultDevice(device)
    case "--json": jsonPath = value(a)
    case "--report": reportPath = value(a)
    case "--help", "-h":
        print(usage, terminator: "")
        exit(0)
    default: fail("unknown option \(a)")
    }
}
if options.scale == .smoke && !runsGiven { options.runs = 1 }
let table = options.wide ? TableCase.wide : TableCase.all
let known = Set(table.map(\.name) + (options.wide ? [] : ["micro"]))
if let bad = only?.first(where: { !known.contains($0) }) {
    fail("unknown benchmark \"\(bad)\"\(options.wide ? " in the wider table" : "")")
}
options.cases = table.filter { only?.contains($0.name) ?? true }
options.micro = !options.wide && (only?.contains("micro") ?? true)
if synthetic {
    guard dataFolder == nil else { fail("--data and --synthetic exclude each other") }
} else if let folder = dataFolder {
    options.source = .files(folder)
} else if access("../shared/data/mnist", R_OK) == 0 {
    options.source = .files("../shared/data")
} else {
    fputs("knet-bench: ../shared/data not found; using synthetic data (give --data DIR for the real files)\n", stderr)
}

if let model = workerModel {               // one process of a --data-parallel configuration
    do {
        if let line = try dataParallelWorker(model: model, overlap: overlap, source: options.source, scale: options.scale) { print(line) }
        exit(0)
    } catch {
        fputs("knet-bench --dp-worker: \(error)\n", stderr)
        exit(1)
    }
}

if memory {
    let (mlp, charlm) = options.scale == .smoke ? (300, 200) : (10_000, 1_000)
    do {
        let series = try runMemoryCheck(source: options.source, scale: options.scale, mlpSteps: mlp, charlmSteps: charlm)
        print(series.map(\.text).joined(separator: "\n\n"))
        exit(series.allSatisfy(\.isSteady) ? 0 : 1)
    } catch {
        fputs("knet-bench: \(error)\n", stderr)
        exit(1)
    }
}

/// The text of the report at `path` (its other sections are kept), nil when there is none.
func existingReport(_ path: String) throws -> String? {
    guard access(path, F_OK) == 0 else { return nil }
    let bytes = try ReadOnlyFile(path) { _, _ in FileIOError("read", path, code: EIO) }.readAll()
    return String(decoding: bytes, as: UTF8.self)
}

if dataParallel {
    var o = DataParallelOptions(source: options.source, scale: options.scale)
    o.runs = options.runs
    o.torch = options.peers.contains("torch")
    o.peers = options.runner.directory
    /// The 1-minute load average (other work on the machine disturbs these rows).
    func load() -> String {
        guard let file = fopen("/proc/loadavg", "r") else { return "?" }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return "?" }
        return String(String(cString: buffer).split(separator: " ").first ?? "?")
    }
    do {
        let before = load()
        let rows = try runDataParallel(o) { fputs($0 + "\n", stderr) }
        let machine = MachineDescription.current
        let note = "Measured \(utcNow()) on \(machine.cpu), \(machine.cores) cores (load average \(before) before, \(load()) after), with `knet-bench "
            + CommandLine.arguments.dropFirst().joined(separator: " ") + "`; the MLP is the table's 10 epochs, LeNet its 1 epoch, "
            + "batches of 100 in all (50 per process with 2), fixed order, SGD; release build, Knet's own GEMM unless KNET_GEMM says otherwise."
        let text = dataParallelMarkdown(rows, note: note)
        print(text)
        if let path = reportPath {
            try writeFileAtomically(Array(mergeReport(try existingReport(path), key: "data-parallel", section: text).utf8), to: path)
            fputs("knet-bench: wrote \(path)\n", stderr)
        }
        exit(0)
    } catch {
        fputs("knet-bench: \(error)\n", stderr)
        exit(1)
    }
}

let result: SuiteResult
do {
    result = try runSuite(options) { fputs($0 + "\n", stderr) }
} catch {
    fputs("knet-bench: \(error)\n", stderr)
    exit(1)
}
// With the JSON on stdout, the tables go to stderr so that stdout stays parseable.
if jsonPath == "-" { fputs(result.text + "\n", stderr) } else { print(result.text) }

do {
    if let path = jsonPath {
        if path == "-" { print(result.json, terminator: "") } else { try writeFileAtomically(Array(result.json.utf8), to: path) }
    }
    if let path = reportPath {
        let chartPath = (path.hasSuffix(".md") ? String(path.dropLast(3)) : path) + "-\(result.reportKey).svg"
        let chart = result.ratioChart
        if let chart { try writeFileAtomically(Array(chart.utf8), to: chartPath) }
        let chartName = chartPath.split(separator: "/").last.map(String.init)
        let command = "swift build -c release --product knet-bench && KNET_GEMM=\(result.gemmKey) .build/release/knet-bench " +
            CommandLine.arguments.dropFirst().joined(separator: " ")
        let section = result.markdown(command: command, chartFile: chart == nil ? nil : chartName)
        let existing = try existingReport(path)
        try writeFileAtomically(Array(mergeReport(existing, key: result.reportKey, section: section).utf8), to: path)
        fputs("knet-bench: wrote \(path)\(chart == nil ? "" : " and \(chartPath)")\n", stderr)
    }
} catch {
    fputs("knet-bench: \(error)\n", stderr)
    exit(1)
}
