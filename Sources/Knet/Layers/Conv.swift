// Convolution layers over `conv4` and `deconv4`: images `[W, H, C, N]` (or 1-D `[X, C, N]`,
// 3-D `[X, Y, Z, C, N]`), filters `[kW, kH, C/groups, O]`, biases `[1, 1, O, 1]` as
// `cbfpParams` makes them; the input channels C come from the first input.

/// The configuration shared by `Conv` and `ConvTranspose`.
public struct ConvolutionOptions {
    /// The filter size per spatial dim (1 to 3 dims), e.g. `[3, 3]`.
    public let kernel: [Int]
    /// Output channels O.
    public let outputs: Int
    /// Padding, stride and dilation: one value or one per spatial dim (as `conv4`'s).
    public let padding: ConvSize, stride: ConvSize, dilation: ConvSize
    /// Channel groups (C and O divisible by it).
    public let groups: Int
    /// 0: convolution (the kernel flipped, Knet's default); 1: cross-correlation (PyTorch's).
    public let mode: Int
    /// The activation after the bias (nil: none).
    public let activation: Activation?
    /// Whether the layer has a bias.
    public let hasBias: Bool
    /// How the parameters are initialised when built.
    public let initialization: Initialization

    /// Checks the configuration of layer `name`.
    init(_ name: String, kernel: [Int], outputs: Int, padding: ConvSize, stride: ConvSize, dilation: ConvSize,
         groups: Int, mode: Int, activation: Activation?, hasBias: Bool, initialization: Initialization) {
        knetCheck((1...3).contains(kernel.count) && kernel.allSatisfy { $0 > 0 },
                  "\(name): the kernel needs 1 to 3 positive sizes, got \(kernel)")
        knetCheck(outputs > 0 && groups > 0 && outputs % groups == 0,
                  "\(name): out (\(outputs)) must be positive and divisible by groups (\(groups))")
        knetCheck(mode == 0 || mode == 1, "\(name): mode must be 0 (convolution) or 1 (cross-correlation), got \(mode)")
        self.kernel = kernel; self.outputs = outputs
        self.padding = padding; self.stride = stride; self.dilation = dilation
        self.groups = groups; self.mode = mode
        self.activation = activation; self.hasBias = hasBias; self.initialization = initialization
    }

    /// The options of the functional op.
    var op: ConvOptions {
        ConvOptions(padding: padding, stride: stride, dilation: dilation, mode: mode, alpha: 1, group: groups)
    }

    /// The input channels of `inputShape` for `layer`, checked: rank, divisibility.
    func channels(_ layer: any Layer, _ inputShape: [Int]) -> Int {
        knetCheck(inputShape.count == kernel.count + 2,
                  "\(layer): a \(kernel.count)-D kernel takes input [\(kernel.count) spatial dims..., C, N], got shape \(inputShape)")
        let c = inputShape[kernel.count]
        knetCheck(c > 0 && c % groups == 0, "\(layer): input \(inputShape) has \(c) channels, not divisible by groups \(groups)")
        return c
    }

    /// Checks the existing `weight` against `shape`; without one, returns a new weight and
    /// bias when `context` builds (nil otherwise).
    func parameters(_ layer: any Layer, _ weight: Tensor?, shape: [Int], input: [Int],
                    _ context: ShapeContext) -> (weight: Tensor, bias: Tensor?)? {
        if let weight {
            knetCheck(weight.shape == shape, "\(layer): input \(input) needs a filter \(shape), but the layer was built "
                      + "with \(weight.shape) (channels are fixed at the first input)")
            return nil
        }
        guard let (dtype, device) = context.build else { return nil }
        let fanIn = shape.dropLast().reduce(1, *)
        let b = Array(repeating: 1, count: kernel.count) + [outputs, 1]
        return (initialization.weight(shape, fanIn: fanIn, dtype: dtype, device: device),
                hasBias ? initialization.bias(b, fanIn: fanIn, dtype: dtype, device: device) : nil)
    }

    /// `activation(y .+ bias)`.
    func finish(_ y: Tensor, _ bias: Tensor?) -> Tensor {
        let z = bias.map { y .+ $0 } ?? y
        return activation.map { $0.function(z) } ?? z
    }

    /// E.g. "Conv(3×3, 3 => 50, relu, padding: 1)" (channels once known).
    func describe(_ name: String, inputs: Int?) -> String {
        var parts = [kernel.map(String.init).joined(separator: "×"),
                     inputs.map { "\($0) => \(outputs)" } ?? "out: \(outputs)"]
        if let activation { parts.append("\(activation)") }
        if padding != 0 { parts.append("padding: \(padding)") }
        if stride != 1 { parts.append("stride: \(stride)") }
        if dilation != 1 { parts.append("dilation: \(dilation)") }
        if groups != 1 { parts.append("groups: \(groups)") }
        if mode != 0 { parts.append("mode: \(mode)") }
        if !hasBias { parts.append("bias: false") }
        return "\(name)(" + parts.joined(separator: ", ") + ")"
    }
}

/// A convolution layer, Knet's `conv4` plus a bias and an activation:
/// `activation(conv4(weight, x; padding, stride, dilation, mode, group) .+ bias)` with
/// `weight [kW, kH, C/groups, O]` and `bias [1, 1, O, 1]`; the input channels C are
/// inferred. Output `[Y1, Y2, O, N]`, `Yi = 1 + (Xi + 2p − ((kWi−1)·d + 1)) ÷ s`.
///
///     let c = Conv(3, 3, out: 50, padding: 1, activation: .relu)
///     c(Tensor.randn(32, 32, 3, 64)).shape       // [32, 32, 50, 64]
///     Conv(5, out: 16)                           // 1-D over [X, C, N]
public final class Conv: Layer {
    /// The configuration.
    public let options: ConvolutionOptions
    /// `[k..., C/groups, O]`, nil until built.
    public var weight: Tensor?
    /// `[1..., O, 1]`, nil until built or without a bias.
    public var bias: Tensor?

    /// A convolution with a `kernel` of 1 to 3 sizes (`Conv(3, 3, out: 50)`) and `out` channels.
    public init(_ kernel: Int..., out: Int, padding: ConvSize = 0, stride: ConvSize = 1, dilation: ConvSize = 1,
                groups: Int = 1, mode: Int = 0, activation: Activation? = nil, bias: Bool = true,
                initialization: Initialization = .knet) {
        options = ConvolutionOptions("Conv", kernel: kernel, outputs: out, padding: padding, stride: stride,
                                     dilation: dilation, groups: groups, mode: mode, activation: activation,
                                     hasBias: bias, initialization: initialization)
    }

    /// A layer with `options` and, if given, its parameters (`BatchNorm` folding makes one).
    init(options: ConvolutionOptions, weight: Tensor? = nil, bias: Tensor? = nil) {
        self.options = options; self.weight = weight; self.bias = bias
    }

    /// `activation(conv4(weight, x, ...) .+ bias)`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        prepare(x)
        checkParameter(weight!, matches: x)
        let o = options
        return o.finish(conv4(weight!, x, padding: o.padding, stride: o.stride, dilation: o.dilation,
                              mode: o.mode, group: o.groups), bias)
    }

    /// `[Y..., O, N]` for `[X..., C, N]`.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        let c = options.channels(self, inputShape)
        let shape = options.kernel + [c / options.groups, options.outputs]
        let made = options.parameters(self, weight, shape: shape, input: inputShape, context)
        let y = options.op.geometry("\(self)", w: shape, x: inputShape).yShape     // checked before it is built
        if let made { (weight, bias) = made }
        return y
    }

    /// True once the filter exists.
    public var isBuilt: Bool { weight != nil }

    /// A copy with the filter and bias transformed (the layer must be built).
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Conv {
        requireBuilt()
        let copy = Conv(options: options)
        copy.weight = try transform(weight!)
        copy.bias = try bias.map(transform)
        return copy
    }

    /// E.g. "Conv(5×5, 1 => 20, relu)".
    public var description: String {
        options.describe("Conv", inputs: weight.map { $0.shape[options.kernel.count] * options.groups })
    }
}

/// A transposed convolution layer, Knet's `deconv4` plus a bias and an activation (the
/// upsampling inverse of `Conv`'s shapes): `weight [kW, kH, O/groups, C]`, `bias [1, 1,
/// O, 1]`, the input channels C inferred. Output `[Y1, Y2, O, N]`,
/// `Yi = (Xi − 1)·s + (kWi − 1)·d + 1 − 2p`.
///
///     let up = ConvTranspose(2, 2, out: 16, stride: 2)
///     up(Tensor.randn(7, 7, 32, 8)).shape        // [14, 14, 16, 8]
public final class ConvTranspose: Layer {
    /// The configuration.
    public let options: ConvolutionOptions
    /// `[k..., O/groups, C]`, nil until built.
    public var weight: Tensor?
    /// `[1..., O, 1]`, nil until built or without a bias.
    public var bias: Tensor?

    /// A transposed convolution with a `kernel` of 1 to 3 sizes and `out` channels.
    public init(_ kernel: Int..., out: Int, padding: ConvSize = 0, stride: ConvSize = 1, dilation: ConvSize = 1,
                groups: Int = 1, mode: Int = 0, activation: Activation? = nil, bias: Bool = true,
                initialization: Initialization = .knet) {
        options = ConvolutionOptions("ConvTranspose", kernel: kernel, outputs: out, padding: padding, stride: stride,
                                     dilation: dilation, groups: groups, mode: mode, activation: activation,
                                     hasBias: bias, initialization: initialization)
    }

    private init(options: ConvolutionOptions) { self.options = options }

    /// `activation(deconv4(weight, x, ...) .+ bias)`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        prepare(x)
        checkParameter(weight!, matches: x)
        let o = options
        return o.finish(deconv4(weight!, x, padding: o.padding, stride: o.stride, dilation: o.dilation,
                                mode: o.mode, group: o.groups), bias)
    }

    /// `[Y..., O, N]` for `[X..., C, N]`.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        let c = options.channels(self, inputShape)
        let shape = options.kernel + [options.outputs / options.groups, c]
        let made = options.parameters(self, weight, shape: shape, input: inputShape, context)
        let y = options.op.deconvShape("\(self)", w: shape, x: inputShape)
        if let made { (weight, bias) = made }
        return y
    }

    /// True once the filter exists.
    public var isBuilt: Bool { weight != nil }

    /// A copy with the filter and bias transformed (the layer must be built).
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> ConvTranspose {
        requireBuilt()
        let copy = ConvTranspose(options: options)
        copy.weight = try transform(weight!)
        copy.bias = try bias.map(transform)
        return copy
    }

    /// E.g. "ConvTranspose(2×2, 32 => 16, stride: 2)".
    public var description: String {
        options.describe("ConvTranspose", inputs: weight.map { $0.shape[options.kernel.count + 1] })
    }
}
