#if canImport(Glibc)
import Glibc
#endif

/// A shared library opened with `dlopen` at run time, so that nothing of it is needed to
/// build or to run without it (DESIGN.md principle 4).
///
///     if let lib = DynamicLibrary.open(["libcuda.so.1"]) { print(lib.name) }
struct DynamicLibrary: @unchecked Sendable {
    /// The name (or path) it was opened by.
    let name: String
    private let handle: UnsafeMutableRawPointer

    /// The first of `candidates` that opens, or nil.
    static func open(_ candidates: [String]) -> DynamicLibrary? {
        for name in candidates {
            if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) { return DynamicLibrary(name: name, handle: handle) }
        }
        return nil
    }

    /// The C function `symbol` as type `F` (a `@convention(c)` function type), or nil.
    func function<F>(_ symbol: String, as _: F.Type) -> F? {
        guard let p = dlsym(handle, symbol) else { return nil }
        return unsafeBitCast(p, to: F.self)
    }
}

/// The library names to try for `base` (e.g. "libcublas"): an override path from the
/// environment variable `override`, then `base.so.N` for each version, then `base.so`.
func libraryCandidates(_ base: String, versions: [String], override: String) -> [String] {
    var names: [String] = []
    if let v = getenv(override), v.pointee != 0 { names.append(String(cString: v)) }
    return names + versions.map { "\(base).so.\($0)" } + ["\(base).so"]
}
