// The layers API: a thin layer of objects over the functional core. A layer is a final
// class holding its configuration and parameters; it is called like a function
// (`layer(x)`) and is a `Params` container, so `grad`, `update`, the optimizers, `.gpu()`
// and checkpoints take a model made of layers exactly as they take `[Tensor]`.
//
// Sizes are inferred: `Dense(out: 10)` learns its input size from the first input. Its
// parameters are created, in place in the object you hold, by the first of
// `model(x)`, `model.build(for:)` or `summary(model, inputShape:)`. They must exist before
// `grad`: `grad` differentiates a copy of the model (`mapTensors`), and parameters made
// inside that copy would never reach your model or its optimizer. So `mapTensors` — hence
// `grad`, `optimizers`, `.gpu()`, checkpoints — stops with an error naming the unbuilt
// layer instead.

/// How layers whose behaviour differs in training and inference (`Dropout`, `BatchNorm`)
/// run; set it for a whole model with `model.train()` / `model.eval()`.
///
///     model.eval()                      // dropout off, batchnorm on running statistics
///     let scores = model(xtest)
public enum LayerMode: Sendable {
    /// Knet's rule (the default): dropout drops and batchnorm normalises with the batch's
    /// statistics (updating the running ones) only while a gradient is recorded, inside
    /// `grad`; a forward pass outside `grad` is the inference one.
    case train
    /// Inference everywhere, inside `grad` too: dropout is the identity and batchnorm uses
    /// its running statistics (which stay unchanged).
    case eval
}

/// A layer: a callable object with parameters found by `mapTensors` (so it is a `Params`
/// container) and a shape rule. Conform your own final class to add a layer: implement
/// `callAsFunction`, `outputShape(for:in:)`, `mapTensors` (a copy of the layer with its
/// tensors transformed) and `description`; containers also list `sublayers`, and layers
/// with lazily sized parameters report `isBuilt`.
///
///     let model = Chain(Dense(out: 64, activation: .relu), Dense(out: 10))
///     let scores = model(x)                       // x [784, N] → [10, N]; builds the model
///     let g = grad { (m: Chain, x: Tensor, y: [Int]) in nll(m(x), y) }
///     let dm = g(model, x, y)                     // a Chain holding the gradients
public protocol Layer: AnyObject, Params, CustomStringConvertible {
    /// The layer applied to `x` (building its parameters from `x` first if needed).
    func callAsFunction(_ x: Tensor) -> Tensor

    /// The shape rule: the output shape for an input of `inputShape` (batch dim included),
    /// checked against the layer's configuration and parameters, without running any op.
    /// When `context.build` is set, lazily sized parameters are also created with its
    /// dtype and device. Containers ask `context.outputShape(of:for:)` for their children.
    func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int]

    /// The layers directly inside this one (a `Chain`'s layers, a `Residual`'s block);
    /// empty for a leaf layer (the default).
    var sublayers: [any Layer] { get }

    /// True once every parameter exists (default: every sublayer is built).
    var isBuilt: Bool { get }

    /// Switches this layer and its sublayers to `mode` (default: the sublayers only).
    func setMode(_ mode: LayerMode)
}

extension Layer {
    /// No sublayers.
    public var sublayers: [any Layer] { [] }

    /// Every sublayer is built.
    public var isBuilt: Bool { sublayers.allSatisfy { $0.isBuilt } }

    /// Passes `mode` on to the sublayers.
    public func setMode(_ mode: LayerMode) { for layer in sublayers { layer.setMode(mode) } }

    /// The output shape for `inputShape` (see `outputShape(of:for:)`); builds nothing.
    ///
    ///     Chain(Conv(5, 5, out: 20), Pool(2)).outputShape(for: [28, 28, 1, 64])   // [12, 12, 20, 64]
    public func outputShape(for inputShape: [Int]) -> [Int] {
        ShapeContext(build: nil).outputShape(of: self, for: inputShape)
    }

    /// Creates every lazily sized parameter for inputs of `inputShape` (the batch size
    /// does not matter), with `dtype` on `device`, and returns the layer. Parameters that
    /// exist are kept (and checked against the shape).
    ///
    ///     let model = Chain(Conv(3, 3, out: 8), Flatten(), Dense(out: 10)).build(for: [28, 28, 1, 1])
    @discardableResult
    public func build(for inputShape: [Int], dtype: DType = .float32, device: Device = .current) -> Self {
        _ = ShapeContext(build: (dtype, device)).outputShape(of: self, for: inputShape)
        return self
    }

    /// Switches every `Dropout` and `BatchNorm` inside to training (Knet's rule, the
    /// default; see `LayerMode.train`) and returns the layer.
    @discardableResult
    public func train() -> Self { setMode(.train); return self }

    /// Switches every `Dropout` and `BatchNorm` inside to inference (`LayerMode.eval`) and
    /// returns the layer.
    ///
    ///     let accuracy = accuracy(model.eval()(xtst), ytst)
    @discardableResult
    public func eval() -> Self { setMode(.eval); return self }

    /// Builds the layer for `x` (its shape, dtype and device) if needed and checks `x`
    /// against the shape rule: the first thing a leaf layer's `callAsFunction` does.
    func prepare(_ x: Tensor) {
        _ = outputShape(for: x.shape, in: ShapeContext(build: (x.dtype, x.device)))
    }

    /// Stops unless the layer is built: `mapTensors` of a lazily sized layer calls it.
    func requireBuilt() {
        knetCheck(isBuilt, "\(self): its parameters are not built yet (their sizes come from the input). "
                  + "Call model(x), model.build(for: inputShape) or summary(model, inputShape:) once before grad, "
                  + "optimizers, device moves or checkpoints: they work on copies of the model, and parameters "
                  + "made in a copy would never reach your model")
    }

    /// Stops unless `parameter` has `x`'s dtype and device, naming the layer.
    func checkParameter(_ parameter: Tensor, matches x: Tensor) {
        knetCheck(parameter.device == x.device && parameter.dtype == x.dtype,
                  "\(self): parameters are \(parameter.dtype) on \(parameter.device) but the input \(x.shape) is "
                  + "\(x.dtype) on \(x.device); move the model (model.to(\(x.device))) or convert the input")
    }
}

/// What a shape rule is asked to do: compute shapes only (`build == nil`), or also create
/// missing parameters with `build`'s dtype and device. Containers pass it to their
/// children through `outputShape(of:for:)`, which also records the rows of `summary`.
///
///     func outputShape(for s: [Int], in context: ShapeContext) -> [Int] {
///         layers.reduce(s) { context.outputShape(of: $1, for: $0) }      // a Chain's rule
///     }
public final class ShapeContext {
    /// The dtype and device of parameters to create, or nil to create none.
    public let build: (dtype: DType, device: Device)?
    /// The layers met so far with their nesting depth and output shape (summary only).
    var trace: [(layer: any Layer, depth: Int, output: [Int])]?
    private var depth = 0

    /// A context that builds with `build`'s dtype and device (nil: shapes only).
    public init(build: (dtype: DType, device: Device)?) { self.build = build }

    /// The output shape of `layer` for `inputShape` under this context.
    public func outputShape(of layer: any Layer, for inputShape: [Int]) -> [Int] {
        let row = trace?.count
        trace?.append((layer, depth, []))
        depth += 1
        defer { depth -= 1 }
        let output = layer.outputShape(for: inputShape, in: self)
        if let row { trace![row].output = output }
        return output
    }
}

/// The output shape of `model` for an input of `inputShape` (batch dim included),
/// computed from each layer's shape rule without running the model and without building
/// it: parameters are created only by `model(x)`, `build(for:)` and `summary`. A shape
/// the model cannot take stops with an error naming the layer and the shapes.
///
///     let model = Chain(Conv(5, 5, out: 20), Pool(2), Conv(5, 5, out: 50), Pool(2), Dense(out: 10))
///     outputShape(of: model, for: [28, 28, 1, 100])    // [10, 100]
public func outputShape(of model: any Layer, for inputShape: [Int]) -> [Int] {
    model.outputShape(for: inputShape)
}
