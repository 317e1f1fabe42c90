// The errors of PyTorch state_dict conversion (see PyTorch.swift).

/// Why a PyTorch state_dict and a Knet model did not match. Shapes are PyTorch's
/// (row-major, as `tensor.shape` prints them in Python); each case names the tensor or
/// layer and where the state_dict came from (`source`: a file path or "state_dict").
///
///     do { w = try loadPyTorch("lenet.safetensors", into: w, layers: layers) }
///     catch let e as PyTorchInteropError { print(e) }   // names the key and both shapes
public enum PyTorchInteropError: Error, CustomStringConvertible, Equatable {
    /// The state_dict has no tensor `key`, which the model needs with PyTorch shape `expected`.
    case missingKey(source: String, key: String, expected: [Int])
    /// Strict loading: the state_dict holds tensors that no layer reads (sorted).
    case unexpectedKeys(source: String, keys: [String])
    /// The state_dict's tensor `key` has PyTorch shape `found`; the model needs `expected`.
    case shapeMismatch(source: String, key: String, expected: [Int], found: [Int])
    /// The layer list takes `layers` tensors in all but the model has `model`.
    case tensorCount(layers: Int, model: Int)
    /// The Knet tensors given to a layer do not fit its kind, or two layers use one key.
    case layerMismatch(layer: String, detail: String)
    /// The layer has no PyTorch counterpart (a conv `mode` other than 0 and 1, an RNN with `skipInput`).
    case unsupported(layer: String, detail: String)

    /// A one-line message naming the tensor or layer and the problem.
    public var description: String {
        switch self {
        case let .missingKey(source, key, expected):
            return "\(source): no tensor \"\(key)\" (the model needs one of PyTorch shape \(expected))"
        case let .unexpectedKeys(source, keys):
            return "\(source): unexpected tensors no layer reads: \(keys.map { "\"\($0)\"" }.joined(separator: ", "))"
                + " (describe their layers, or load with strict: false)"
        case let .shapeMismatch(source, key, expected, found):
            return "\(source): tensor \"\(key)\" has PyTorch shape \(found) but the model needs \(expected)"
        case let .tensorCount(layers, model):
            return "the layer list takes \(layers) tensors but the model has \(model)"
        case let .layerMismatch(layer, detail): return "layer \"\(layer)\": \(detail)"
        case let .unsupported(layer, detail): return "layer \"\(layer)\": \(detail) has no PyTorch counterpart"
        }
    }
}
