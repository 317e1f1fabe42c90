import ArgumentParser
import Knet

/// `--device cpu|gpu|gpu<n>`, shared by every model command: the chosen device becomes
/// Knet's default device, so the data, the parameters and every op of the run live there.
struct DeviceOption: ParsableArguments {
    @Option(help: "Where to compute: cpu, gpu (the active GPU) or gpu<n>.")
    var device = "cpu"

    func validate() throws {
        guard let d = Device(device) else {
            throw ValidationError(device.hasPrefix("gpu") && Device("gpu0") != nil
                                  ? "--device \(device): no GPU is active (KNET_GPU=-1?)"
                                  : "--device must be cpu, gpu or gpu<n>, got \(device)")
        }
        guard d.isAvailable else {
            throw ValidationError("--device \(device): no such GPU here (\(GPUInfo.current.summary[0]))")
        }
    }

    /// Makes the chosen device the default one.
    func apply() {
        if let d = Device(device) { setDefaultDevice(d) }
    }
}
