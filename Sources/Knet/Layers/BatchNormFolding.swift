// Inference-time folding of a batch normalization into the convolution before it.

/// A copy of `model` for inference in which every `Conv` (without activation) directly
/// followed by a `BatchNorm` inside a `Chain` (also inside `Residual` blocks) is replaced
/// by one `Conv` with a bias that computes both: with `s = scale ./ sqrt(var .+ eps)` per
/// output channel, `w' = w .* s` and `b' = shift .- mean .* s (+ b .* s)`. The result
/// equals the model's inference mode (`eval()`: running statistics) up to rounding, and
/// saves the batchnorm's passes over the feature map. Other layers are shared with
/// `model`, not copied; layers of other container types are kept as they are. The copy
/// is for inference only: training it would train `w'`, `b'` and leave no batchnorm.
///
///     let fast = foldBatchNorm(Chain(Conv(3, 3, out: 8, bias: false), BatchNorm(), .relu).build(for: [32, 32, 3, 1]))
///     // Chain(Conv(3×3, 3 => 8), relu)
public func foldBatchNorm(_ model: any Layer) -> any Layer {
    switch model {
    case let chain as Chain:
        var layers: [any Layer] = []
        for layer in chain.layers {
            if let bn = layer as? BatchNorm, let conv = layers.last as? Conv, let folded = conv.folded(with: bn) {
                layers[layers.count - 1] = folded
            } else {
                layers.append(foldBatchNorm(layer))
            }
        }
        return Chain(layers)
    case let residual as Residual:
        return Residual(foldBatchNorm(residual.block), projection: residual.projection.map(foldBatchNorm))
    default:
        return model
    }
}

extension Conv {
    /// This convolution followed by `bn` in inference mode as one convolution with a
    /// bias, or nil when it cannot be folded (an activation between them, either layer
    /// unbuilt, or a channel count that differs).
    func folded(with bn: BatchNorm) -> Conv? {
        guard options.activation == nil, let weight, let params = bn.params,
              let mean = bn.moments.mean, let variance = bn.moments.variance else { return nil }
        let c = options.outputs, k = options.kernel.count
        guard params.count == 2 * c, mean.count == c, variance.count == c else { return nil }
        let p = vec(params.untracked)
        let s = p[0..<c] ./ sqrt(vec(variance.untracked) .+ bn.eps)
        let w = weight.untracked .* reshape(s, Array(repeating: 1, count: weight.ndims - 1) + [c])
        var b = p[c..<(2 * c)] .- vec(mean.untracked) .* s
        if let bias { b = b .+ vec(bias.untracked) .* s }
        let o = options
        let withBias = ConvolutionOptions("Conv", kernel: o.kernel, outputs: c, padding: o.padding, stride: o.stride,
                                          dilation: o.dilation, groups: o.groups, mode: o.mode, activation: nil,
                                          hasBias: true, initialization: o.initialization)
        return Conv(options: withBias, weight: w, bias: reshape(b, Array(repeating: 1, count: k) + [c, 1]))
    }
}
