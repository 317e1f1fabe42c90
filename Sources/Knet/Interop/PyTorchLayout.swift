// Where each PyTorch tensor of a layer sits in its Knet tensors (the table in PyTorch.swift).

/// How a PyTorch tensor's values are laid out in Knet.
enum PieceLayout {
    /// The same bytes: the Knet layout is the PyTorch shape reversed.
    case same
    /// A 2-d PyTorch `[a, b]` is Knet `[a, b]`: the bytes are transposed.
    case transposed
    /// A conv kernel for Knet's mode 0: the same bytes with every spatial dim reversed.
    case flipped
}

/// One PyTorch tensor of a layer: its state_dict key, its PyTorch shape and layout. A
/// Knet tensor is one or more pieces, their values one after the other.
struct Piece {
    let key: String
    let shape: [Int]
    let layout: PieceLayout

    var count: Int { shape.reduce(1, *) }

    /// The piece's values in Knet order, flat, from `stored` (as `load` returns it: the
    /// PyTorch shape reversed, on the CPU).
    func knetValues(_ stored: Tensor) -> Tensor {
        switch layout {
        case .same: return vec(stored)
        case .transposed: return vec(transpose(stored).contiguousData())
        case .flipped: return vec(flipSpatial(stored))
        }
    }

    /// The tensor to store (the PyTorch shape reversed) from the piece's Knet values `flat`.
    func stored(_ flat: Tensor) -> Tensor {
        let reversed = Array(shape.reversed())
        switch layout {
        case .same: return copy(reshape(flat, reversed)).untracked
        case .transposed: return transpose(reshape(flat, [reversed[1], reversed[0]])).contiguousData()
        case .flipped: return flipSpatial(reshape(flat, reversed))
        }
    }

    /// The piece's Knet values read from `stateDict` (nil when absent), its shape checked.
    func read(_ stateDict: [String: Tensor], source: String) throws -> Tensor? {
        guard let stored = stateDict[key] else { return nil }
        let found = Array(stored.shape.reversed())
        guard found == shape else {
            throw PyTorchInteropError.shapeMismatch(source: source, key: key, expected: shape, found: found)
        }
        return knetValues(stored.untracked.transferred(to: .cpu))
    }
}

/// A kernel `[W1, (W2, W3,) C, O]` with every spatial dim reversed (a fresh tensor):
/// Knet's mode-0 convolution with it is the cross-correlation with `t`, and back.
func flipSpatial(_ t: Tensor) -> Tensor {
    var out = t
    for d in 0..<(t.ndims - 2) where t.shape[d] > 1 {
        var index = [TensorIndex](repeating: .colon, count: t.ndims)
        index[d] = .list(Array((0..<t.shape[d]).reversed()))
        out = out[index].untracked
    }
    return out === t ? copy(t).untracked : out
}

/// A layer's running statistics and the pieces they are stored as.
struct MomentsPlan {
    let moments: BNMoments
    let mean: Piece, variance: Piece
}

/// The PyTorch tensors of one layer: the pieces of each of its Knet tensors, its running
/// statistics, and keys it accepts and ignores.
struct LayerPlan {
    /// The layer's name, for errors.
    let layer: String
    var tensors: [[Piece]]
    var moments: MomentsPlan? = nil
    var ignored: [String] = []

    /// Every key, in order.
    var keys: [String] {
        tensors.flatMap { $0.map(\.key) } + (moments.map { [$0.mean.key, $0.variance.key] } ?? []) + ignored
    }
}

/// A layer's imported tensors, and its running statistics waiting to be written into the
/// moments (so a failure elsewhere in a model leaves the moments untouched).
struct ImportedLayer {
    var tensors: [Tensor]
    var moments: (target: BNMoments, mean: Tensor?, variance: Tensor?)?

    /// Writes the running statistics into the moments.
    func commit() {
        guard let (target, mean, variance) = moments else { return }
        if let mean { target.mean = mean }
        if let variance { target.variance = variance }
    }
}

extension LayerPlan {
    /// The layer's Knet tensors from `stateDict`, shaped like `template` (see `Layer.knetTensors`).
    func imported(from stateDict: [String: Tensor], like template: [Tensor], strict: Bool, source: String) throws -> ImportedLayer {
        var out = ImportedLayer(tensors: [])
        for (pieces, t) in zip(tensors, template) {
            var parts: [Tensor] = [], offset = 0
            var current: Tensor?                     // the template's values, read only if needed
            for p in pieces {
                if let v = try p.read(stateDict, source: source) {
                    parts.append(convert(v, to: t.dtype).untracked)
                } else if strict {
                    throw PyTorchInteropError.missingKey(source: source, key: p.key, expected: p.shape)
                } else {
                    if current == nil { current = vec(t.untracked.transferred(to: .cpu)) }
                    parts.append(current![offset..<(offset + p.count)])
                }
                offset += p.count
            }
            let value = reshape(parts.count == 1 ? copy(parts[0]) : vcat(parts), t.shape).untracked.transferred(to: t.device)
            out.tensors.append(t.isParam ? Param(value) : value)
        }
        if let m = moments {
            let like = m.moments.mean ?? template[0]
            func statistic(_ p: Piece, _ old: Tensor?) throws -> Tensor? {
                guard let v = try p.read(stateDict, source: source) else {
                    if strict { throw PyTorchInteropError.missingKey(source: source, key: p.key, expected: p.shape) }
                    return nil
                }
                let shape = old.map { $0.count == p.count ? $0.shape : [p.count] } ?? [p.count]
                return reshape(copy(convert(v, to: like.dtype)), shape).untracked.transferred(to: like.device)
            }
            out.moments = (m.moments, try statistic(m.mean, m.moments.mean), try statistic(m.variance, m.moments.variance))
        }
        return out
    }

    /// The layer's state_dict entries from its Knet tensors (see `Layer.stateDict`).
    func exported(_ values: [Tensor]) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        func add(_ pieces: [Piece], _ t: Tensor) {
            let flat = vec(t.untracked.transferred(to: .cpu))
            var offset = 0
            for p in pieces {
                out[p.key] = p.stored(flat[offset..<(offset + p.count)])
                offset += p.count
            }
        }
        for (pieces, t) in zip(tensors, values) { add(pieces, t) }
        if let m = moments {
            let like = values[0], c = m.mean.count
            for (name, t) in [("mean", m.moments.mean), ("variance", m.moments.variance)] {
                guard let t, t.count != c else { continue }
                throw PyTorchInteropError.layerMismatch(layer: layer, detail: "running \(name) of shape \(t.shape) does not hold \(c) values")
            }
            add([m.mean], m.moments.mean ?? m.moments.meaninit([c], like.dtype))
            add([m.variance], m.moments.variance ?? m.moments.varinit([c], like.dtype))
        }
        return out
    }
}
