// Knet's compound operators (its "Table 2"), as plain functions of their parameters,
// with initialisers that match Knet: `xavier` weights and zero biases. The tutorial's
// LeNet is written with them once, as `TutorialModel.lenet` (Sources/Knet/Models).

/// `f(w * x .+ b)`: an affine layer and its activation (Knet's `wbf`). `x` is reshaped
/// with `mat` first, so image batches can be fed directly.
///
///     let h = wbf(w[0], w[1], x)                 // relu(w*x .+ b)
///     let p = wbf(w[2], w[3], h, f: { $0 })      // a linear output layer
public func wbf(_ w: Tensor, _ b: Tensor, _ x: Tensor, f: (Tensor) -> Tensor = relu) -> Tensor {
    f(w * mat(x) .+ b)
}

/// `f(a * x .+ b * y .+ c)`: an affine function of two inputs and its activation (Knet's
/// `wbf2`, the building block of its LSTM gates; sigmoid by default).
public func wbf2(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ x: Tensor, _ y: Tensor,
                 f: (Tensor) -> Tensor = sigm) -> Tensor {
    f(a * mat(x) .+ b * mat(y) .+ c)
}

/// Convolution, bias, activation and pooling (Knet's `cbfp`):
/// `pool(f(conv4(w, x, padding:, stride:) .+ b), window: poolWindow)`.
///
///     let a = cbfp(w[0], w[1], x)   // x [28,28,1,N], w [5,5,1,20], b [1,1,20,1] → [12,12,20,N]
public func cbfp(_ w: Tensor, _ b: Tensor, _ x: Tensor, f: (Tensor) -> Tensor = relu,
                 padding: ConvSize = 0, stride: ConvSize = 1, poolWindow: PoolSize = 2) -> Tensor {
    pool(f(conv4(w, x, padding: padding, stride: stride) .+ b), window: poolWindow)
}

/// Dropout as Knet's `drop` layer: replaces a `pdrop` fraction of `x` with zeros and
/// scales the rest by 1/(1-pdrop), only while training (see `dropout`).
public func drop(_ x: Tensor, pdrop: Double) -> Tensor { dropout(x, pdrop) }

/// Parameters of a `wbf` layer: `[xavier(outputs, inputs), zeros(outputs, 1)]`.
///
///     let w = wbfParams(inputs: 784, outputs: 64)
public func wbfParams(inputs: Int, outputs: Int, dtype: DType = .float32) -> [Tensor] {
    [Tensor.xavier(shape: [outputs, inputs], dtype: dtype), Tensor.zeros(shape: [outputs, 1], dtype: dtype)]
}

/// Parameters of a 2-D `cbfp` layer: `[xavier(window, window, inputs, outputs),
/// zeros(1, 1, outputs, 1)]`.
///
///     let w = cbfpParams(window: 5, inputs: 1, outputs: 20)
public func cbfpParams(window: Int, inputs: Int, outputs: Int, dtype: DType = .float32) -> [Tensor] {
    [Tensor.xavier(shape: [window, window, inputs, outputs], dtype: dtype),
     Tensor.zeros(shape: [1, 1, outputs, 1], dtype: dtype)]
}
