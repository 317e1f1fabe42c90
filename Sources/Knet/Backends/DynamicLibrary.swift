#if canImport(Glibc)
import Glibc
#endif

/// A shared library opened with `dlopen` at run time, so that nothing of it is needed to
/// build or to run without it (DESIGN.md principle 4): the system BLAS, the CUDA driver
/// and libraries.
///
///     if let lib = DynamicLibrary.open(["libcuda.so.1"]) { print(lib.name) }
struct DynamicLibrary: @unchecked Sendable {
    /// The name (or path) it was opened by.
    let name: String
    private let handle: UnsafeMutableRawPointer

    /// The first of `candidates` that opens, or nil.
    static func open(_ candidates: [String]) -> DynamicLibrary? { firstBinding(candidates) { $0 } }

    /// `bind` applied to the first of `candidates` that opens and that `bind` accepts
    /// (libraries it rejects, e.g. for missing symbols, are closed again); nil if none.
    /// `global` makes the library's symbols visible to libraries loaded after it
    /// (`RTLD_GLOBAL`), as MPI implementations that load their own plug-ins need.
    static func firstBinding<T>(_ candidates: [String], global: Bool = false, _ bind: (DynamicLibrary) -> T?) -> T? {
        for name in candidates {
            guard let handle = dlopen(name, RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL)) else { continue }
            if let bound = bind(DynamicLibrary(name: name, handle: handle)) { return bound }
            dlclose(handle)
        }
        return nil
    }

    /// The C function `symbol` as type `F` (a `@convention(c)` function type), or nil.
    func function<F>(_ symbol: String, as _: F.Type) -> F? {
        guard let p = dlsym(handle, symbol) else { return nil }
        return unsafeBitCast(p, to: F.self)
    }

    /// The address of the exported variable `symbol` (e.g. OpenMPI's `ompi_mpi_comm_world`,
    /// whose address is the `MPI_Comm` handle), or nil.
    func address(_ symbol: String) -> UnsafeMutableRawPointer? { dlsym(handle, symbol) }
}

/// The library names to try for `base` (e.g. "libcublas"): an override path from the
/// environment variable `override`, then `base.so.N` for each version, then `base.so`.
func libraryCandidates(_ base: String, versions: [String], override: String) -> [String] {
    var names: [String] = []
    if let v = getenv(override), v.pointee != 0 { names.append(String(cString: v)) }
    return names + versions.map { "\(base).so.\($0)" } + ["\(base).so"]
}
