/// Saves parameters, the state of their optimizers (one per tensor, as `optimizers`
/// builds them: tensors named `opt.<i>.<name>`), the running statistics of every
/// `BNMoments` the parameters' container holds (a `BatchNorm` layer's, or your struct's:
/// `<path>.mean` and `<path>.variance`, e.g. "1.moments.mean") and string metadata in one
/// safetensors file, atomically.
///
/// In a job of several processes (`Distributed`) every process calls it and rank 0 alone
/// writes (the processes hold the same values); the others return once the file is
/// complete, or throw `DistributedError.checkpointNotWritten` when rank 0 failed (rank 0
/// throws its own error).
///
///     try saveCheckpoint("mlp.safetensors", params: w, optimizers: opt, metadata: ["epoch": "3"])
public func saveCheckpoint<P: Params>(_ path: String, params: P, optimizers: [any Optimizer],
                                      metadata: [String: String] = [:]) throws {
    func write() throws {
        var extra: [String: Tensor] = [:]
        for (i, o) in optimizers.enumerated() {
            for (name, t) in o.state { extra["opt.\(i).\(name)"] = t }
        }
        for (name, m) in runningMoments(params) {
            for (field, t) in [("mean", m.mean), ("variance", m.variance)] {
                if let t { extra[name + field] = t }
            }
        }
        try save(path, params: params, extra: extra, metadata: metadata)
    }
    guard let world = Distributed.activeWorld, world.size > 1 else { return try write() }
    var failure: Error?
    if world.rank == 0 {
        do { try write() } catch { failure = error }
    }
    var status: [Int64] = [failure == nil ? 0 : 1]
    world.host.broadcast(&status, root: 0)               // the others wait here for the file
    if let failure { throw failure }
    if status[0] != 0 { throw DistributedError.checkpointNotWritten(path: path, message: "see rank 0's error") }
}

/// Every `BNMoments` reachable through the stored properties of `params`, with the
/// prefix of its tensors' names ("1.moments." — empty path components dropped).
private func runningMoments<P: Params>(_ params: P) -> [(prefix: String, moments: BNMoments)] {
    var found: [(String, BNMoments)] = []
    var visited = Set<ObjectIdentifier>()
    walkStoredValues(params, path: "", onlyParamsCollections: false, visited: &visited) { value, path in
        guard let m = value as? BNMoments else { return !(value is Tensor) }
        found.append((path.isEmpty ? "" : path + ".", m))
        return false
    }
    return found
}

/// Restores the running statistics `saveCheckpoint` wrote into the `BNMoments` of
/// `params` (those missing from the file are left as they are), converted to the dtype
/// and device of the statistics they replace (their shape must match).
private func restoreRunningMoments<P: Params>(_ params: P, from tensors: [String: Tensor], source: String) throws {
    for (prefix, m) in runningMoments(params) {
        for (field, current) in [("mean", m.mean), ("variance", m.variance)] {
            guard let saved = tensors[prefix + field] else { continue }
            var value = saved
            if let current {
                guard saved.shape == current.shape else {
                    throw SafeTensorsError.shapeMismatch(path: source, name: prefix + field, expected: current.shape,
                                                         found: saved.shape)
                }
                value = convert(saved, to: current.dtype).untracked.transferred(to: current.device)
            }
            if field == "mean" { m.mean = value } else { m.variance = value }
        }
    }
}

/// Reads a file written by `saveCheckpoint`: returns a copy of `template` with the saved
/// parameters (shapes must match) and restores each optimizer's state in place (an
/// optimizer with nothing saved starts fresh; state of another shape throws
/// `SafeTensorsError.shapeMismatch`, and is converted to the parameter's dtype). Saved
/// running statistics go into the copy's `BNMoments` (a `BatchNorm` layer's copy has its
/// own; a plain struct's copy shares the template's objects, which then change too).
/// Also returns the metadata.
///
///     let (w2, meta) = try loadCheckpoint("mlp.safetensors", into: w, optimizers: opt)
public func loadCheckpoint<P: Params>(_ path: String, into template: P, optimizers: [any Optimizer])
    throws -> (params: P, metadata: [String: String]) {
    let file = try load(path)
    let params = try fillParams(template, from: file.tensors, source: path)
    try restoreRunningMoments(params, from: file.tensors, source: path)
    var states = [[String: Tensor]](repeating: [:], count: optimizers.count)
    for (key, t) in file.tensors where key.hasPrefix("opt.") {
        let parts = key.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, let i = Int(parts[1]), states.indices.contains(i) else { continue }
        states[i][String(parts[2])] = t
    }
    let tensors = params.tensors
    for (i, (o, saved)) in zip(optimizers, states).enumerated() {
        var state: [String: Tensor] = [:]
        for (name, t) in saved {
            let key = "opt.\(i).\(name)"
            if name == "t" {                     // a step counter: one whole, finite, non-negative number
                let v = t.count == 1 ? t[flat: 0] : -1
                guard v >= 0, v <= Double(Int32.max), v == v.rounded() else {
                    throw SafeTensorsError.invalidShape(path: path, name: key, shape: "\(t.shape) holding a step count \(v)")
                }
                state[name] = t
            } else {
                guard i < tensors.count, t.shape == tensors[i].shape else {
                    throw SafeTensorsError.shapeMismatch(path: path, name: key, expected: i < tensors.count ? tensors[i].shape : [],
                                                         found: t.shape)
                }
                state[name] = convert(t, to: tensors[i].dtype).untracked.transferred(to: tensors[i].device)
            }
        }
        o.state = state
    }
    return (params, file.metadata)
}
