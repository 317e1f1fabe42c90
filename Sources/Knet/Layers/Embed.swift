/// An embedding layer: column `i` of `weight [dim, vocab]` for each index `i`, the gather
/// `weight[.all, indices]` (its gradient scatters and adds). The input is a tensor of
/// 0-based integer indices of any shape S (as PyTorch's `LongTensor`); the output is
/// `[dim] + S`, e.g. `[B, T]` token ids → `[dim, B, T]` for a recurrent layer. Sizes are
/// given (the vocabulary cannot be inferred from a shape), so it is built at once.
///
///     let embed = Embed(vocab: 30_000, dim: 125)
///     let e = embed(Tensor([3, 0, 7, 7], shape: [2, 2]))   // [125, 2, 2]
public final class Embed: Layer {
    /// `[dim, vocab]`.
    public var weight: Tensor

    /// An embedding of `vocab` entries of size `dim` (xavier as Knet, or PyTorch's
    /// standard normal), made with `dtype` on `device`.
    public init(vocab: Int, dim: Int, initialization: Initialization = .knet,
                dtype: DType = .float32, device: Device = .current) {
        knetCheck(vocab > 0 && dim > 0, "Embed: vocab (\(vocab)) and dim (\(dim)) must be positive")
        switch initialization {
        case .knet: weight = Tensor.xavier(shape: [dim, vocab], dtype: dtype, device: device)
        case .pytorch: weight = Tensor.randn(shape: [dim, vocab], dtype: dtype, device: device)
        }
    }

    private init(weight: Tensor) { self.weight = weight }

    /// The size of each embedding vector.
    public var dim: Int { weight.shape[0] }
    /// The vocabulary size.
    public var vocab: Int { weight.shape[1] }

    /// `weight[.all, indices]` reshaped to `[dim] + x.shape`; `x` holds integers in `0..<vocab`
    /// (read to the host to gather, so a GPU input waits for the GPU).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        reshape(self(indices: [Double](x).map { v in
            knetCheck(v == v.rounded() && Swift.abs(v) < 1e15, "\(self): indices must be integers, got \(v) in input \(x.shape)")
            return Int(v)
        }), [dim] + x.shape)
    }

    /// `weight[.all, indices]`: `[dim, indices.count]`.
    ///
    ///     let e = embed(indices: [1, 4, 1])      // [dim, 3]
    public func callAsFunction(indices: [Int]) -> Tensor {
        if let bad = indices.first(where: { $0 < 0 || $0 >= vocab }) {
            knetFail("\(self): index \(bad) is out of range 0..<\(vocab)")
        }
        return weight[.all, indices]
    }

    /// `[dim] + inputShape`.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] { [dim] + inputShape }

    /// A copy with the weight transformed.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Embed { Embed(weight: try transform(weight)) }

    /// E.g. "Embed(30000 => 125)".
    public var description: String { "Embed(\(vocab) => \(dim))" }
}
