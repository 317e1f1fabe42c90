import Knet
#if canImport(Glibc)
import Glibc
#endif

/// What the benchmarks ran on: the CPU, the kernel, the core count and Knet's compute
/// set-up, as the report prints them.
public struct MachineDescription: Sendable {
    /// The CPU's model name (from /proc/cpuinfo), or "unknown".
    public var cpu: String
    /// Online cores.
    public var cores: Int
    /// Kernel name and release (uname).
    public var kernel: String
    /// Knet's GEMM backend and the system BLAS it found, if any.
    public var gemm: String
    /// Which CPU kernels ran (`CPUBLAS.kernels`: AVX2+FMA or portable, and AVX-512).
    public var kernels: String
    /// The Swift compiler and build configuration of this binary ("Swift 6.3, release build").
    public var swift: String

    /// The machine this process runs on.
    ///
    ///     print(MachineDescription.current.cpu)
    public static var current: MachineDescription {
        var cpu = "unknown"
        if let text = readSmallFile("/proc/cpuinfo"),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            cpu = line[line.index(after: colon)...].trimmingSpaces()
        }
        var names = utsname()
        uname(&names)
        func field<T>(_ value: inout T) -> String {
            withUnsafeBytes(of: &value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        let kernel = "\(field(&names.sysname)) \(field(&names.release)) \(field(&names.machine))"
        return MachineDescription(cpu: cpu, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), kernel: kernel,
                                  gemm: "\(CPUBLAS.backend.rawValue) (\(CPUBLAS.library ?? "no system BLAS"))",
                                  kernels: CPUBLAS.kernels,
                                  swift: swiftCompilerVersion + ", " + buildConfiguration)
    }
}

/// The compiler version, as far as `#if compiler` can tell.
private var swiftCompilerVersion: String {
    #if compiler(>=6.4)
    return "Swift ≥ 6.4"
    #elseif compiler(>=6.3)
    return "Swift 6.3"
    #elseif compiler(>=6.2)
    return "Swift 6.2"
    #else
    return "Swift < 6.2"
    #endif
}

/// "debug build" or "release build": debug timings are not meaningful.
private var buildConfiguration: String {
    #if DEBUG
    return "debug build"
    #else
    return "release build"
    #endif
}

/// The whole of a small text file (at most 1 MiB), or nil when it cannot be read.
func readSmallFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 20 {
        let n = fread(&buffer, 1, buffer.count, f)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

/// How busy the rest of the machine was while something ran, as the peers' `CpuMonitor`
/// measures it: cores used by other processes (from /proc/stat minus this process's CPU
/// time). On a 2-core machine more than ~0.1 other cores means the timing was disturbed.
struct LoadMonitor {
    private let start: Double
    private let systemBusy: Double?
    private let own: Double

    /// Starts watching now.
    init() {
        start = monotonicSeconds()
        systemBusy = LoadMonitor.systemBusySeconds()
        own = LoadMonitor.ownCPUSeconds()
    }

    /// Other processes' average core use since `init`; nil where /proc/stat is unreadable.
    func otherCores() -> Double? {
        let wall = monotonicSeconds() - start
        let ownUsed = LoadMonitor.ownCPUSeconds() - own
        guard wall > 0, let s0 = systemBusy, let s1 = LoadMonitor.systemBusySeconds() else { return nil }
        return Swift.max(0, (s1 - s0 - ownUsed) / wall)
    }

    /// Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat.
    static func systemBusySeconds() -> Double? {
        guard let text = readSmallFile("/proc/stat"), let line = text.split(separator: "\n").first,
              line.hasPrefix("cpu ") else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 4 else { return nil }
        let idle = ticks[3] + (ticks.count > 4 ? ticks[4] : 0)
        return (ticks.prefix(8).reduce(0, +) - idle) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds (user + system) this process has used.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
