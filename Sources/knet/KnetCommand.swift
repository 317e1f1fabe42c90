// knet: the tutorial's models from the command line.
//
//     knet                      # linear regression on the bundled Housing data
//     knet linreg --epochs 20
//     knet mlp --data ../shared/data --logdir runs/mlp --plot mlp.svg
//     knet info
import ArgumentParser
import Foundation
import Knet

/// The `knet` program.
@main
struct KnetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knet",
        abstract: "Train the Knet tutorial's models (linear regression, softmax, MLP, LeNet, char-LSTM) and the wider tables' (CIFAR CNN, IMDB GRU, ResNet-50, DyNet's) on the CPU or a GPU.",
        subcommands: [LinRegCommand.self, SoftmaxCommand.self, MLPCommand.self, LeNetCommand.self, CharLMCommand.self, CIFARCommand.self,
                      IMDBCommand.self, ResNet50Command.self, RNNLMCommand.self, TaggerCommand.self, TreennCommand.self, InfoCommand.self],
        defaultSubcommand: LinRegCommand.self
    )

    /// ArgumentParser's `main` with three changes: stdout is line-buffered (epoch lines
    /// reach a pipe as they are printed) and flushed before any error goes to stderr; a
    /// first argument that is no subcommand is an error listing the subcommands (rather
    /// than an argument of the default subcommand); and a `ValidationError` found while a
    /// subcommand runs (a batch larger than the data, say) shows that subcommand's usage.
    /// Under `mpirun -np N` the processes join one data-parallel job and only rank 0's
    /// stdout is kept (the progress is printed once; every rank's errors still reach
    /// stderr, and a failing rank ends the job naming itself).
    static func main() {
        if Distributed.isLaunchedByMPI {
            _ = Distributed.initialize()
            if !Distributed.isPrimary { _ = freopen("/dev/null", "w", stdout) }
        }
        setvbuf(stdout, nil, _IOLBF, 0)
        let arguments = Array(CommandLine.arguments.dropFirst())
        let names = configuration.subcommands.map { $0._commandName } + ["help"]
        var command: ParsableCommand
        do {
            if let first = arguments.first, !first.hasPrefix("-"), !names.contains(first) {
                throw ValidationError("unknown subcommand '\(first)'; the subcommands are \(names.dropLast().joined(separator: ", "))")
            }
            command = try parseAsRoot(arguments)
        } catch {
            fflush(stdout)
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let error as ValidationError {
            usageError(error.message, of: type(of: command))
        } catch {
            fflush(stdout)
            exit(withError: error)
        }
    }

    /// Prints `message` and the usage of `subcommand` as ArgumentParser does for its own
    /// validation errors, and exits with status 64 (EX_USAGE).
    static func usageError(_ message: String, of subcommand: ParsableCommand.Type) -> Never {
        fflush(stdout)
        let name = subcommand == Self.self ? "knet" : "knet \(subcommand._commandName)"
        FileHandle.standardError.write(Data(("Error: \(message)\nUsage: \(usageString(for: subcommand))\n"
                                             + "  See '\(name) --help' for more information.\n").utf8))
        Foundation.exit(64)
    }
}

/// `knet info`: what this build found at run time.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the backends this build found.")

    @Flag(help: "Print the CUDA C source of the GPU kernels (generated from the op tables) instead.")
    var kernelSource = false

    func run() {
        if kernelSource {
            for module in CUDAKernelSource.modules { print(module.source) }
            return
        }
        print("Knet for Swift")
        print("  CPU GEMM: \(CPUBLAS.backend.rawValue)\(CPUBLAS.library.map { " (\($0))" } ?? ""), \(CPUBLAS.threads) threads")
        print("  CPU kernels: \(CPUBLAS.kernels)")
        print("  memory: \(memoryStats())")
        for line in GPUInfo.current.summary { print("  \(line)") }
        print("  active GPU: \(gpu()) (`--device gpu` trains on it; `knet-bench --gpu-check` checks its kernels)")
    }
}
