// Each layer kind's PyTorch tensors, worked out from the shapes of its Knet tensors.

/// `name.key`, or `key` alone for an unnamed module.
func stateDictKey(_ name: String, _ key: String) -> String { name.isEmpty ? key : name + "." + key }

extension PyTorch.Layer {
    /// The layer's pieces for Knet tensors of `shapes`, checked against the layer's kind.
    func plan(_ shapes: [[Int]]) throws -> LayerPlan {
        func mismatch(_ detail: String) -> PyTorchInteropError { .layerMismatch(layer: name, detail: detail) }
        guard shapes.count == tensorCount else {
            throw mismatch("takes \(tensorCount) Knet tensor\(tensorCount == 1 ? "" : "s"), got \(shapes.count)")
        }
        func piece(_ key: String, _ shape: [Int], _ layout: PieceLayout = .same) -> Piece {
            Piece(key: stateDictKey(name, key), shape: shape, layout: layout)
        }
        /// The bias tensor (if the layer has one) as a `[channels]` piece.
        func bias(_ has: Bool, channels: Int) throws -> [[Piece]] {
            guard has else { return [] }
            let count = shapes[1].reduce(1, *)
            guard count == channels else { throw mismatch("bias of shape \(shapes[1]) does not hold \(channels) values") }
            return [[piece("bias", [channels])]]
        }
        let w = shapes[0]
        switch self {
        case let .dense(_, hasBias):
            guard w.count == 2 else { throw mismatch("weight of shape \(w) is not 2-d [out, in]") }
            let biases = try bias(hasBias, channels: w[0])
            return LayerPlan(layer: name, tensors: [[piece("weight", w, .transposed)]] + biases)
        case let .conv(_, mode, hasBias):
            guard mode == 0 || mode == 1 else {
                throw PyTorchInteropError.unsupported(layer: name, detail: "conv mode \(mode)")
            }
            guard (3...5).contains(w.count) else { throw mismatch("filters of shape \(w) are not [W1, (W2, W3,) C/group, O]") }
            let biases = try bias(hasBias, channels: w[w.count - 1])
            return LayerPlan(layer: name, tensors: [[piece("weight", w.reversed(), mode == 0 ? .flipped : .same)]] + biases)
        case let .batchNorm(_, moments):
            let count = w.reduce(1, *), c = count / 2
            guard count % 2 == 0 else { throw mismatch("params of shape \(w) do not hold 2C values (bnparams(C))") }
            return LayerPlan(layer: name, tensors: [[piece("weight", [c]), piece("bias", [c])]],
                             moments: moments.map { MomentsPlan(moments: $0, mean: piece("running_mean", [c]),
                                                                variance: piece("running_var", [c])) },
                             ignored: moments == nil ? [] : [stateDictKey(name, "num_batches_tracked")])
        case .embedding:
            guard w.count == 2 else { throw mismatch("weight of shape \(w) is not 2-d [dim, vocab]") }
            return LayerPlan(layer: name, tensors: [[piece("weight", w.reversed())]])
        case let .rnn(_, r):
            guard !r.skipInput else { throw PyTorchInteropError.unsupported(layer: name, detail: "an RNN with skipInput") }
            guard w == [r.paramCount] else {
                throw mismatch("weights of shape \(w), expected [\(r.paramCount)] for its RNN configuration")
            }
            return LayerPlan(layer: name, tensors: [rnnPieces(r, piece)])
        }
    }
}

/// PyTorch's LSTM/GRU/RNN tensors in the order of Knet's flat `w` (see RNN.swift): for
/// each layer-direction k (layer·dirs + direction) `weight_ih_l{layer}` `[G·H, inputDim]`
/// and `weight_hh_l{layer}` `[G·H, H]`, "_reverse" for the backward direction; then for
/// each k `bias_ih` and `bias_hh` `[G·H]`.
private func rnnPieces(_ r: RNN, _ piece: (String, [Int], PieceLayout) -> Piece) -> [Piece] {
    let gh = r.rnnType.gates * r.hiddenSize
    var matrices: [Piece] = [], biases: [Piece] = []
    for k in 0..<r.layerDirections {
        let suffix = "_l\(k / r.directions)" + (k % r.directions == 1 ? "_reverse" : "")
        matrices += [piece("weight_ih" + suffix, [gh, r.inputDim(k)], .same), piece("weight_hh" + suffix, [gh, r.hiddenSize], .same)]
        biases += [piece("bias_ih" + suffix, [gh], .same), piece("bias_hh" + suffix, [gh], .same)]
    }
    return matrices + biases
}
