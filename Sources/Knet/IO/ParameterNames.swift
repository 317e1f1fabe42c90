// The names a container's tensors are saved under (see `namedTensors`).

/// One name per tensor of `params`, in `mapTensors` order (see `namedTensors`).
func parameterNames<P: Params>(_ params: P, prefix: String) -> [String] {
    var found: [ObjectIdentifier: String] = [:]
    var visited = Set<ObjectIdentifier>()
    collectTensorPaths(params, path: prefix, depth: 0, into: &found, visited: &visited)
    let tensors = params.tensors
    let named = tensors.map { found[ObjectIdentifier($0)] }
    if named.allSatisfy({ $0 != nil }) {
        return named.map { $0!.isEmpty ? "0" : $0! }
    }
    return tensors.indices.map { joinPath(prefix, String($0)) }
}

private func joinPath(_ path: String, _ component: String) -> String {
    path.isEmpty ? component : path + "." + component
}

/// Walks `value`'s stored properties and records the path of every tensor found (the
/// first path wins for a tensor reachable twice).
private func collectTensorPaths(_ value: Any, path: String, depth: Int,
                                into found: inout [ObjectIdentifier: String], visited: inout Set<ObjectIdentifier>) {
    walkStoredValues(value, path: path, depth: depth, onlyParamsCollections: true, visited: &visited) { value, path in
        guard let t = value as? Tensor else { return true }
        if found[ObjectIdentifier(t)] == nil { found[ObjectIdentifier(t)] = path }
        return false
    }
}

/// Calls `visit(v, path)` for `value` and, while `visit` returns true, for everything
/// reachable through its stored properties (`Mirror`, so a `CustomReflectable` chooses
/// its children): optionals, dictionary values (by key), collection elements (by
/// position), struct, tuple and class fields (by label; a class instance once), joined
/// with "." into paths. Collections are entered when they are `Params`, and, unless
/// `onlyParamsCollections`, when their first element is a class instance (so an array of
/// numbers or strings is never walked element by element).
func walkStoredValues(_ value: Any, path: String, depth: Int = 0, onlyParamsCollections: Bool,
                      visited: inout Set<ObjectIdentifier>, _ visit: (Any, String) -> Bool) {
    guard visit(value, path), depth < 64 else { return }
    func walk(_ child: Any, _ childPath: String) {
        walkStoredValues(child, path: childPath, depth: depth + 1, onlyParamsCollections: onlyParamsCollections,
                         visited: &visited, visit)
    }
    let mirror = Mirror(reflecting: value)
    /// Whether to walk the elements (for a dictionary, the values) of this collection.
    func enters(dictionary: Bool) -> Bool {
        if value is any Params { return true }
        guard !onlyParamsCollections, let first = mirror.children.first?.value else { return false }
        let element: Any? = dictionary ? Mirror(reflecting: first).children.dropFirst().first?.value : first
        return element.map { type(of: $0) is AnyClass } ?? false
    }
    switch mirror.displayStyle {
    case .optional:
        if let child = mirror.children.first { walk(child.value, path) }
    case .dictionary:
        guard enters(dictionary: true) else { return }
        for entry in mirror.children {
            let pair = Array(Mirror(reflecting: entry.value).children)
            guard pair.count == 2 else { continue }
            walk(pair[1].value, joinPath(path, String(describing: pair[0].value)))
        }
    case .collection, .set:
        guard enters(dictionary: false) else { return }
        for (i, child) in mirror.children.enumerated() { walk(child.value, joinPath(path, String(i))) }
    default:
        if mirror.displayStyle == .class, !visited.insert(ObjectIdentifier(value as AnyObject)).inserted { return }
        var level: Mirror? = mirror
        while let m = level {
            for (i, child) in m.children.enumerated() {
                var label = child.label ?? String(i)
                if label.hasPrefix(".") { label.removeFirst() }   // tuple elements are ".0", ".1"
                walk(child.value, joinPath(path, label))
            }
            level = m.superclassMirror
        }
    }
}
