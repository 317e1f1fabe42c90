// Whole models: a layer list over a `Params` container's tensors, in memory and as files.

extension PyTorch {
    /// Each layer's plan and its Knet tensors, cut from `tensors` in order; the layers
    /// must take them all and use every key once.
    private static func plans(_ layers: [Layer], _ tensors: [Tensor]) throws -> [(plan: LayerPlan, tensors: [Tensor])] {
        let total = layers.reduce(0) { $0 + $1.tensorCount }
        guard total == tensors.count else { throw PyTorchInteropError.tensorCount(layers: total, model: tensors.count) }
        var start = 0, owner: [String: String] = [:]
        return try layers.map { layer in
            let part = Array(tensors[start..<(start + layer.tensorCount)])
            start += layer.tensorCount
            let plan = try layer.plan(part.map(\.shape))
            for key in plan.keys {
                if let other = owner[key] {
                    throw PyTorchInteropError.layerMismatch(layer: layer.name, detail: "uses the key \"\(key)\" of layer \"\(other)\" too")
                }
                owner[key] = layer.name
            }
            return (plan, part)
        }
    }

    /// The PyTorch state_dict of `model`, whose tensors (in `mapTensors` order) the
    /// `layers` describe: fresh CPU tensors keyed "conv1.weight", …, in the form `save`
    /// writes (see `savePyTorch`). Throws `PyTorchInteropError` when the layers do not
    /// fit the model.
    ///
    ///     let sd = try PyTorch.stateDict(w, layers: [.dense("fc1"), .dense("fc2")])
    public static func stateDict<P: Params>(_ model: P, layers: [Layer]) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (plan, tensors) in try plans(layers, model.tensors) {
            out.merge(try plan.exported(tensors)) { first, _ in first }   // keys are distinct (plans)
        }
        return out
    }

    /// A copy of `model` with its tensors read from `stateDict` (as `load` returns it)
    /// through `layers` (in `mapTensors` order), each converted to the model tensor's
    /// shape, dtype and device (`Param`s stay `Param`s); the running statistics of
    /// `batchNorm` layers go into their moments once everything has loaded. With
    /// `strict` (as PyTorch's `load_state_dict`) every tensor must be present and every
    /// key read; with `strict: false` missing ones keep the model's values and others are
    /// ignored. Errors name the key and both PyTorch shapes; `source` names the state_dict.
    ///
    ///     let w2 = try PyTorch.filled(w, from: try load("mlp.safetensors").tensors,
    ///                                 layers: [.dense("fc1"), .dense("fc2")])
    public static func filled<P: Params>(_ model: P, from stateDict: [String: Tensor], layers: [Layer], strict: Bool = true,
                                         source: String = "state_dict") throws -> P {
        var imported: [ImportedLayer] = [], read = Set<String>()
        for (plan, tensors) in try plans(layers, model.tensors) {
            imported.append(try plan.imported(from: stateDict, like: tensors, strict: strict, source: source))
            read.formUnion(plan.keys)
        }
        let unexpected = stateDict.keys.filter { !read.contains($0) }.sorted()
        if strict && !unexpected.isEmpty { throw PyTorchInteropError.unexpectedKeys(source: source, keys: unexpected) }
        for layer in imported { layer.commit() }
        var values = imported.flatMap(\.tensors)[...]
        return model.mapTensors { _ in values.removeFirst() }
    }
}

/// Loads a PyTorch state_dict from a safetensors file (as
/// `safetensors.torch.save_file(model.state_dict(), path)` writes it) into a copy of
/// `model`, whose tensors (in `mapTensors` order) `layers` describe: see
/// `PyTorch.filled` for the conversion and `strict`. Throws `FileIOError` or
/// `SafeTensorsError` for the file and `PyTorchInteropError` for a missing, unexpected or
/// mis-shaped tensor.
///
///     let m = bnmoments()
///     var w = [Tensor.zeros(5, 5, 1, 20), .zeros(1, 1, 20, 1), bnparams(20), .zeros(10, 2880), .zeros(10, 1)]
///     w = try loadPyTorch("cnn.safetensors", into: w,
///                         layers: [.conv("conv1"), .batchNorm("bn1", moments: m), .dense("fc")])
public func loadPyTorch<P: Params>(_ path: String, into model: P, layers: [PyTorch.Layer], strict: Bool = true) throws -> P {
    try PyTorch.filled(model, from: try load(path).tensors, layers: layers, strict: strict, source: path)
}

/// Saves `model`'s tensors as a PyTorch state_dict in a safetensors file, named by
/// `layers` ("conv1.weight", "bn1.running_mean", …) in PyTorch's shapes, plus string
/// `metadata`: `model.load_state_dict(safetensors.torch.load_file(path))` reads it, and
/// `loadPyTorch` reads it back exactly — a `[Tensor]` model saved with layer names.
///
///     try savePyTorch("mlp.safetensors", w, layers: [.dense("fc1"), .dense("fc2")])
public func savePyTorch<P: Params>(_ path: String, _ model: P, layers: [PyTorch.Layer],
                                   metadata: [String: String] = [:]) throws {
    try save(path, try PyTorch.stateDict(model, layers: layers), metadata: metadata)
}
