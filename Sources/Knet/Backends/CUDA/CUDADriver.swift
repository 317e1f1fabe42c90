#if canImport(Glibc)
import Glibc
#endif
import Synchronization

// The CUDA driver API (libcuda.so.1, installed with the NVIDIA driver), bound by dlopen:
// device discovery, primary contexts, memory and copies, modules and kernel launches.

/// A CUDA driver API status code (`CUresult`); 0 is success.
typealias CUresult = Int32

/// The CUDA driver, or nil where `libcuda.so.1` (or `$KNET_LIBCUDA`) is absent, lacks
/// the entry points, or `cuInit` fails (no device, no permission): then everything runs
/// on the CPU and nothing is printed.
final class CUDADriver: @unchecked Sendable {
    /// The driver of this machine, opened at first use.
    static let shared: CUDADriver? = DynamicLibrary.firstBinding(libraryCandidates("libcuda", versions: ["1"], override: "KNET_LIBCUDA"),
                                                                  CUDADriver.init)

    /// A kernel: a function of a loaded module (`CUfunction`).
    struct Function { let handle: OpaquePointer }

    /// The library it was opened from.
    let library: String
    /// The driver's CUDA version as `major * 1000 + minor * 10` (12040 for 12.4).
    let version: Int
    /// The devices, by ordinal.
    let devices: [GPUDevice]
    /// True for the tests' host emulation (it exports `knet_emulator_version`): its kernels
    /// are built in, so modules need no NVRTC image: a module's NUL-terminated name as the
    /// image loads its kernels (any other image, every kernel).
    ///
    ///     let image = driver.isEmulated ? Array("elementwise\0".utf8) : cubin
    let isEmulated: Bool

    /// A stream (`CUstream`): work queued on it runs in order; a nil handle is the
    /// default stream.
    ///
    ///     let s = try driver.createStream(); defer { try? driver.destroy(s) }
    struct Stream { let handle: OpaquePointer? }
    /// An event (`CUevent`) recorded on a stream, for timing.
    ///
    ///     let e = try driver.createEvent(); try driver.record(e, on: s)
    struct Event { let handle: OpaquePointer? }

    private let memAlloc: @convention(c) (UnsafeMutablePointer<UInt64>, Int) -> CUresult
    private let memFree: @convention(c) (UInt64) -> CUresult
    private let primaryContextRetain: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, Int32) -> CUresult
    private let setCurrentContext: @convention(c) (OpaquePointer?) -> CUresult
    private let errorString: @convention(c) (CUresult, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> CUresult
    private let memcpyHtoD: @convention(c) (UInt64, UnsafeRawPointer, Int) -> CUresult
    private let memcpyDtoH: @convention(c) (UnsafeMutableRawPointer, UInt64, Int) -> CUresult
    private let moduleLoadData: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafeRawPointer) -> CUresult
    private let moduleUnload: @convention(c) (OpaquePointer?) -> CUresult
    private let moduleGetFunction: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, OpaquePointer?, UnsafePointer<CChar>) -> CUresult
    private let launchKernel: @convention(c) (OpaquePointer?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, OpaquePointer?,
                                              UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                              UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> CUresult
    private let ctxSynchronize: @convention(c) () -> CUresult
    private let streamCreate: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UInt32) -> CUresult
    private let streamDestroy: @convention(c) (OpaquePointer?) -> CUresult
    private let streamSynchronize: @convention(c) (OpaquePointer?) -> CUresult
    private let memcpyHtoDAsync: @convention(c) (UInt64, UnsafeRawPointer, Int, OpaquePointer?) -> CUresult
    private let memcpyDtoHAsync: @convention(c) (UnsafeMutableRawPointer, UInt64, Int, OpaquePointer?) -> CUresult
    private let memcpyDtoDAsync: @convention(c) (UInt64, UInt64, Int, OpaquePointer?) -> CUresult
    private let eventCreate: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UInt32) -> CUresult
    private let eventRecord: @convention(c) (OpaquePointer?, OpaquePointer?) -> CUresult
    private let eventSynchronize: @convention(c) (OpaquePointer?) -> CUresult
    private let eventElapsed: @convention(c) (UnsafeMutablePointer<Float>, OpaquePointer?, OpaquePointer?) -> CUresult
    private let eventDestroy: @convention(c) (OpaquePointer?) -> CUresult
    private let memGetInfo: @convention(c) (UnsafeMutablePointer<Int>, UnsafeMutablePointer<Int>) -> CUresult

    /// Binds the driver API of `lib` and initialises it; nil when an entry point is
    /// missing or the driver reports no usable device.
    init?(_ lib: DynamicLibrary) {
        typealias IntOut = @convention(c) (UnsafeMutablePointer<Int32>) -> CUresult
        guard let cuInit = lib.function("cuInit", as: (@convention(c) (UInt32) -> CUresult).self),
              let driverVersion = lib.function("cuDriverGetVersion", as: IntOut.self),
              let deviceCount = lib.function("cuDeviceGetCount", as: IntOut.self),
              let deviceGet = lib.function("cuDeviceGet", as: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> CUresult).self),
              let deviceName = lib.function("cuDeviceGetName",
                                            as: (@convention(c) (UnsafeMutablePointer<CChar>, Int32, Int32) -> CUresult).self),
              let attribute = lib.function("cuDeviceGetAttribute",
                                           as: (@convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> CUresult).self),
              let totalMemory = lib.function("cuDeviceTotalMem_v2", as: (@convention(c) (UnsafeMutablePointer<Int>, Int32) -> CUresult).self),
              let memAlloc = lib.function("cuMemAlloc_v2", as: (@convention(c) (UnsafeMutablePointer<UInt64>, Int) -> CUresult).self),
              let memFree = lib.function("cuMemFree_v2", as: (@convention(c) (UInt64) -> CUresult).self),
              let retain = lib.function("cuDevicePrimaryCtxRetain",
                                        as: (@convention(c) (UnsafeMutablePointer<OpaquePointer?>, Int32) -> CUresult).self),
              let setCurrent = lib.function("cuCtxSetCurrent", as: (@convention(c) (OpaquePointer?) -> CUresult).self),
              let errorString = lib.function("cuGetErrorString",
                                             as: (@convention(c) (CUresult, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> CUresult).self),
              let memcpyHtoD = lib.function("cuMemcpyHtoD_v2", as: (@convention(c) (UInt64, UnsafeRawPointer, Int) -> CUresult).self),
              let memcpyDtoH = lib.function("cuMemcpyDtoH_v2",
                                            as: (@convention(c) (UnsafeMutableRawPointer, UInt64, Int) -> CUresult).self),
              let moduleLoadData = lib.function("cuModuleLoadData",
                                                as: (@convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafeRawPointer) -> CUresult).self),
              let moduleUnload = lib.function("cuModuleUnload", as: (@convention(c) (OpaquePointer?) -> CUresult).self),
              let moduleGetFunction = lib.function("cuModuleGetFunction", as: type(of: self.moduleGetFunction).self),
              let launchKernel = lib.function("cuLaunchKernel", as: type(of: self.launchKernel).self),
              let ctxSynchronize = lib.function("cuCtxSynchronize", as: (@convention(c) () -> CUresult).self),
              let streamCreate = lib.function("cuStreamCreate", as: type(of: self.streamCreate).self),
              let streamDestroy = lib.function("cuStreamDestroy_v2", as: type(of: self.streamDestroy).self),
              let streamSynchronize = lib.function("cuStreamSynchronize", as: type(of: self.streamSynchronize).self),
              let memcpyHtoDAsync = lib.function("cuMemcpyHtoDAsync_v2", as: type(of: self.memcpyHtoDAsync).self),
              let memcpyDtoHAsync = lib.function("cuMemcpyDtoHAsync_v2", as: type(of: self.memcpyDtoHAsync).self),
              let memcpyDtoDAsync = lib.function("cuMemcpyDtoDAsync_v2", as: type(of: self.memcpyDtoDAsync).self),
              let eventCreate = lib.function("cuEventCreate", as: type(of: self.eventCreate).self),
              let eventRecord = lib.function("cuEventRecord", as: type(of: self.eventRecord).self),
              let eventSynchronize = lib.function("cuEventSynchronize", as: type(of: self.eventSynchronize).self),
              let eventElapsed = lib.function("cuEventElapsedTime", as: type(of: self.eventElapsed).self),
              let eventDestroy = lib.function("cuEventDestroy_v2", as: type(of: self.eventDestroy).self),
              let memGetInfo = lib.function("cuMemGetInfo_v2", as: type(of: self.memGetInfo).self),
              cuInit(0) == 0 else { return nil }
        var v: Int32 = 0, count: Int32 = 0
        guard driverVersion(&v) == 0, deviceCount(&count) == 0 else { return nil }
        var devices: [GPUDevice] = []
        for ordinal in 0..<count {
            var handle: Int32 = 0, major: Int32 = 0, minor: Int32 = 0, bytes = 0
            var name = [CChar](repeating: 0, count: 256)
            // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, _MINOR = 76.
            guard deviceGet(&handle, ordinal) == 0, deviceName(&name, 255, handle) == 0,
                  attribute(&major, 75, handle) == 0, attribute(&minor, 76, handle) == 0,
                  totalMemory(&bytes, handle) == 0 else { return nil }   // positions must stay the ordinals
            let nameBytes = name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            devices.append(GPUDevice(ordinal: Int(ordinal), handle: handle, name: String(decoding: nameBytes, as: UTF8.self),
                                     computeCapability: (Int(major), Int(minor)), memory: bytes))
        }
        library = lib.name
        version = Int(v)
        self.devices = devices
        self.memAlloc = memAlloc
        self.memFree = memFree
        primaryContextRetain = retain
        setCurrentContext = setCurrent
        self.errorString = errorString
        self.memcpyHtoD = memcpyHtoD
        self.memcpyDtoH = memcpyDtoH
        self.moduleLoadData = moduleLoadData
        self.moduleUnload = moduleUnload
        self.moduleGetFunction = moduleGetFunction
        self.launchKernel = launchKernel
        self.ctxSynchronize = ctxSynchronize
        self.streamCreate = streamCreate
        self.streamDestroy = streamDestroy
        self.streamSynchronize = streamSynchronize
        self.memcpyHtoDAsync = memcpyHtoDAsync
        self.memcpyDtoHAsync = memcpyDtoHAsync
        self.memcpyDtoDAsync = memcpyDtoDAsync
        self.eventCreate = eventCreate
        self.eventRecord = eventRecord
        self.eventSynchronize = eventSynchronize
        self.eventElapsed = eventElapsed
        self.eventDestroy = eventDestroy
        self.memGetInfo = memGetInfo
        isEmulated = lib.function("knet_emulator_version", as: (@convention(c) () -> Int).self) != nil
    }

    /// A new stream in the current context that does not wait for the default stream
    /// (`cuStreamCreate`, flag 1 = CU_STREAM_NON_BLOCKING).
    ///
    ///     let s = try driver.createStream()
    func createStream() throws -> Stream {
        var s: OpaquePointer?
        try check(streamCreate(&s, 1), "cuStreamCreate")
        return Stream(handle: s)
    }

    /// Destroys `stream` once its work is done (`cuStreamDestroy_v2`).
    ///
    ///     try driver.destroy(s)
    func destroy(_ stream: Stream) throws { try check(streamDestroy(stream.handle), "cuStreamDestroy") }

    /// Waits for `stream`'s work to finish and reports its errors (`cuStreamSynchronize`).
    ///
    ///     try driver.synchronize(s)
    func synchronize(_ stream: Stream) throws { try check(streamSynchronize(stream.handle), "cuStreamSynchronize") }

    /// Queues a copy of `bytes` from host memory to device address `device` on `stream`
    /// (`cuMemcpyHtoDAsync_v2`; pageable host memory is read before the call returns).
    ///
    ///     try values.withUnsafeBytes { try driver.copy(toDevice: d, from: $0.baseAddress!, bytes: $0.count, stream: s) }
    func copy(toDevice device: UInt64, from host: UnsafeRawPointer, bytes: Int, stream: Stream) throws {
        try check(memcpyHtoDAsync(device, host, bytes, stream.handle), "cuMemcpyHtoDAsync")
    }

    /// Queues a copy of `bytes` from device address `device` to host memory on `stream`;
    /// synchronize the stream before reading `host` (`cuMemcpyDtoHAsync_v2`).
    ///
    ///     try out.withUnsafeMutableBytes { try driver.copy(toHost: $0.baseAddress!, from: d, bytes: $0.count, stream: s) }
    func copy(toHost host: UnsafeMutableRawPointer, from device: UInt64, bytes: Int, stream: Stream) throws {
        try check(memcpyDtoHAsync(host, device, bytes, stream.handle), "cuMemcpyDtoHAsync")
    }

    /// Queues a copy of `bytes` from device address `source` to device address
    /// `destination` on `stream` (`cuMemcpyDtoDAsync_v2`).
    ///
    ///     try driver.copy(deviceToDevice: y, from: x, bytes: 4 * n, stream: s)
    func copy(deviceToDevice destination: UInt64, from source: UInt64, bytes: Int, stream: Stream) throws {
        try check(memcpyDtoDAsync(destination, source, bytes, stream.handle), "cuMemcpyDtoDAsync")
    }

    /// A new event in the current context (`cuEventCreate`, default flags: timing on).
    ///
    ///     let start = try driver.createEvent()
    func createEvent() throws -> Event {
        var e: OpaquePointer?
        try check(eventCreate(&e, 0), "cuEventCreate")
        return Event(handle: e)
    }

    /// Records `event` at the current end of `stream`'s queue (nil: the default stream;
    /// `cuEventRecord`).
    ///
    ///     try driver.record(start, on: s)
    func record(_ event: Event, on stream: Stream?) throws { try check(eventRecord(event.handle, stream?.handle), "cuEventRecord") }

    /// Waits until `event` has happened (`cuEventSynchronize`).
    ///
    ///     try driver.synchronize(end)
    func synchronize(_ event: Event) throws { try check(eventSynchronize(event.handle), "cuEventSynchronize") }

    /// Milliseconds between two recorded events (`cuEventElapsedTime`; synchronize `end`
    /// first).
    ///
    ///     let ms = try driver.elapsedMilliseconds(from: start, to: end)
    func elapsedMilliseconds(from start: Event, to end: Event) throws -> Double {
        var ms: Float = 0
        try check(eventElapsed(&ms, start.handle, end.handle), "cuEventElapsedTime")
        return Double(ms)
    }

    /// Destroys `event` (`cuEventDestroy_v2`).
    ///
    ///     try driver.destroy(start)
    func destroy(_ event: Event) throws { try check(eventDestroy(event.handle), "cuEventDestroy") }

    /// Free and total memory of the current context's device, in bytes (`cuMemGetInfo_v2`).
    ///
    ///     let (free, total) = try driver.memoryInfo()
    func memoryInfo() throws -> (free: Int, total: Int) {
        var free = 0, total = 0
        try check(memGetInfo(&free, &total), "cuMemGetInfo")
        return (free, total)
    }

    /// Throws `GPUError.driver` naming `call` unless `status` is success.
    private func check(_ status: CUresult, _ call: String) throws {
        guard status == 0 else { throw GPUError.driver(call: call, message: message(status)) }
    }

    /// Copies `bytes` from host memory to device address `device` (current context).
    func copy(toDevice device: UInt64, from host: UnsafeRawPointer, bytes: Int) throws {
        try check(memcpyHtoD(device, host, bytes), "cuMemcpyHtoD")
    }

    /// Copies `bytes` from device address `device` to host memory (current context).
    func copy(toHost host: UnsafeMutableRawPointer, from device: UInt64, bytes: Int) throws {
        try check(memcpyDtoH(host, device, bytes), "cuMemcpyDtoH")
    }

    /// A loaded module and the functions looked up in it.
    struct Module { let handle: OpaquePointer?; let functions: [String: Function] }

    /// Loads a module from `image` (a CUBIN, or PTX text with its NUL) into the current
    /// context and looks up its functions named `names` (each must exist). Release it
    /// with `unload` when done.
    func loadModule(_ image: [UInt8], functions names: [String]) throws -> Module {
        var module: OpaquePointer?
        try image.withUnsafeBytes { try check(moduleLoadData(&module, $0.baseAddress!), "cuModuleLoadData") }
        var functions: [String: Function] = [:]
        do {
            for name in names {
                var f: OpaquePointer?
                try check(moduleGetFunction(&f, module, name), "cuModuleGetFunction(\(name))")
                guard let f else { throw GPUError.driver(call: "cuModuleGetFunction(\(name))", message: "no function") }
                functions[name] = Function(handle: f)
            }
        } catch {
            _ = moduleUnload(module)
            throw error
        }
        return Module(handle: module, functions: functions)
    }

    /// Unloads `module` from the current context.
    func unload(_ module: Module) throws { try check(moduleUnload(module.handle), "cuModuleUnload") }

    /// Launches `function` on `blocks` blocks of `threads` threads (one-dimensional) on
    /// `stream` (nil: the default stream) with `arguments`: one pointer per kernel
    /// parameter, to its value.
    func launch(_ function: Function, blocks: Int, threads: Int, arguments: [UnsafeMutableRawPointer?],
                stream: Stream? = nil) throws {
        guard (1...Int(Int32.max)).contains(blocks), (1...1024).contains(threads) else {
            throw GPUError.driver(call: "cuLaunchKernel", message: "\(blocks) blocks of \(threads) threads is outside 1...2^31-1 × 1...1024")
        }
        var parameters = arguments
        let status = parameters.withUnsafeMutableBufferPointer {
            launchKernel(function.handle, UInt32(blocks), 1, 1, UInt32(threads), 1, 1, 0, stream?.handle, $0.baseAddress, nil)
        }
        try check(status, "cuLaunchKernel")
    }

    /// Waits for the current context's work to finish (and reports its errors).
    func synchronize() throws { try check(ctxSynchronize(), "cuCtxSynchronize") }

    /// The driver's text for a status code.
    func message(_ status: CUresult) -> String {
        var text: UnsafePointer<CChar>?
        guard errorString(status, &text) == 0, let text else { return "CUDA error \(status)" }
        return String(cString: text)
    }

    /// Makes `device`'s primary context current on this thread (needed before memory
    /// calls); the context is retained once per device, at first use.
    func activate(_ device: GPUDevice) throws {
        let context = try contexts.withLock { retained -> OpaquePointer? in
            if let c = retained[device.ordinal] { return c }
            var c: OpaquePointer?
            try check(primaryContextRetain(&c, device.handle), "cuDevicePrimaryCtxRetain")
            retained[device.ordinal] = c
            return c
        }
        try check(setCurrentContext(context), "cuCtxSetCurrent")
    }

    private let contexts = Mutex<[Int: OpaquePointer?]>([:])

    /// Device memory of `bytes` on the current context; nil when the device is out of memory.
    func allocate(_ bytes: Int) throws -> UInt64? {
        var address: UInt64 = 0
        let status = memAlloc(&address, bytes)
        if status == 2 { return nil }           // CUDA_ERROR_OUT_OF_MEMORY
        try check(status, "cuMemAlloc")
        return address
    }

    /// Frees memory from `allocate` on the current context.
    func free(_ address: UInt64) throws { try check(memFree(address), "cuMemFree") }
}

/// One NVIDIA GPU as the driver describes it.
public struct GPUDevice: Sendable, Equatable {
    /// Its ordinal (`gpu(n)` picks it).
    public let ordinal: Int
    /// The driver's device handle.
    let handle: Int32
    /// The product name ("NVIDIA H100 80GB HBM3").
    public let name: String
    /// The compute capability (9, 0) for Hopper; kernels are compiled for `sm_<major><minor>`.
    public let computeCapability: (major: Int, minor: Int)
    /// Device memory in bytes.
    public let memory: Int

    /// Same ordinal, name, capability and memory.
    public static func == (a: GPUDevice, b: GPUDevice) -> Bool {
        a.ordinal == b.ordinal && a.name == b.name && a.computeCapability == b.computeCapability && a.memory == b.memory
    }
}

/// Errors of the GPU side.
public enum GPUError: Error, Equatable, CustomStringConvertible {
    /// A driver call failed.
    case driver(call: String, message: String)
    /// There is no GPU with this ordinal (-1: none is active).
    case noDevice(Int)
    /// NVRTC could not compile a kernel source; its log.
    case compilation(name: String, log: String)

    /// A readable message.
    public var description: String {
        switch self {
        case .driver(let call, let message): return "\(call) failed: \(message)"
        case .compilation(let name, let log): return "NVRTC could not compile \(name):\n\(log)"
        case .noDevice(let n):
            return n < 0 ? "no GPU is active (gpu() is -1: no CUDA device here, or gpu(-1)/KNET_GPU=-1 chose the CPU)"
                         : "there is no gpu\(n) (this machine has \(GPUInfo.current.devices.count))"
        }
    }
}
