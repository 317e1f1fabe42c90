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
    if let t = value as? Tensor {
        if found[ObjectIdentifier(t)] == nil { found[ObjectIdentifier(t)] = path }
        return
    }
    guard depth < 64 else { return }
    let mirror = Mirror(reflecting: value)
    switch mirror.displayStyle {
    case .optional:
        if let child = mirror.children.first {
            collectTensorPaths(child.value, path: path, depth: depth + 1, into: &found, visited: &visited)
        }
    case .dictionary:
        guard value is any Params else { return }
        for entry in mirror.children {
            let pair = Array(Mirror(reflecting: entry.value).children)
            guard pair.count == 2 else { continue }
            collectTensorPaths(pair[1].value, path: joinPath(path, String(describing: pair[0].value)),
                               depth: depth + 1, into: &found, visited: &visited)
        }
    case .collection, .set:
        guard value is any Params else { return }
        for (i, child) in mirror.children.enumerated() {
            collectTensorPaths(child.value, path: joinPath(path, String(i)), depth: depth + 1,
                               into: &found, visited: &visited)
        }
    default:
        if mirror.displayStyle == .class, !visited.insert(ObjectIdentifier(value as AnyObject)).inserted { return }
        var level: Mirror? = mirror
        while let m = level {
            for (i, child) in m.children.enumerated() {
                var label = child.label ?? String(i)
                if label.hasPrefix(".") { label.removeFirst() }   // tuple elements are ".0", ".1"
                collectTensorPaths(child.value, path: joinPath(path, label), depth: depth + 1,
                                   into: &found, visited: &visited)
            }
            level = m.superclassMirror
        }
    }
}

