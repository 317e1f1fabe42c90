/// Saves parameters, the state of their optimizers (one per tensor, as `optimizers`
/// builds them: tensors named `opt.<i>.<name>`) and string metadata in one safetensors
/// file, atomically.
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

/// Reads a file written by `saveCheckpoint`: returns a copy of `template` with the saved
/// parameters (shapes must match) and restores each optimizer's state in place (an
/// optimizer with nothing saved starts fresh; state of another shape throws
/// `SafeTensorsError.shapeMismatch`, and is converted to the parameter's dtype). Also
/// returns the metadata.
///
///     let (w2, meta) = try loadCheckpoint("mlp.safetensors", into: w, optimizers: opt)
public func loadCheckpoint<P: Params>(_ path: String, into template: P, optimizers: [any Optimizer])
    throws -> (params: P, metadata: [String: String]) {
    let file = try load(path)
    let params = try fillParams(template, from: file.tensors, source: path)
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
