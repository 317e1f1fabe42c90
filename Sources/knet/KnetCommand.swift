// knet: the tutorial's models from the command line.
//
//     knet                      # linear regression on the bundled Housing data
//     knet linreg --epochs 20
//     knet info
import ArgumentParser
import Knet

/// The `knet` program.
@main
struct KnetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knet",
        abstract: "Train the Knet tutorial's models (linear regression, softmax, MLP, LeNet, char-LSTM) on the CPU or a GPU.",
        subcommands: [LinRegCommand.self, SoftmaxCommand.self, MLPCommand.self, LeNetCommand.self, CharLMCommand.self, InfoCommand.self],
        defaultSubcommand: LinRegCommand.self
    )
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
