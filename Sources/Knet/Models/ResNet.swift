// torchvision's ResNet (He et al. 2016, "v1.5": the stride of a bottleneck block on its
// 3×3 convolution) built from the layers API, with torchvision's state_dict names so
// torchvision weights saved as safetensors load directly. The `knet resnet50` command
// and the benchmark's "resnet50" row both run this model.

/// A ResNet as torchvision defines it: a stem (7×7 convolution to `widths[0]` channels,
/// stride 2, padding 3, batchnorm, relu, 3×3 max pooling stride 2 padding 1), four stages
/// of residual blocks (`layers[i]` blocks of width `widths[i]`, the first of stages 2–4
/// with stride 2 and each stage's first block with a 1×1 convolution + batchnorm
/// shortcut when the shape changes), global average pooling to `[widths[3]·expansion, N]`
/// and, with `classes`, a linear layer. Convolutions have no bias and cross-correlate
/// (`mode: 1`, PyTorch's), so torchvision's filters are used byte for byte.
///
/// Images are Knet's `[W, H, 3, N]` (PyTorch's `[N, 3, H, W]`: the same bytes). ResNet-50
/// (`ResNet.resnet50()`) maps `[224, 224, 3, N]` to `[2048, N]` with 23,508,032
/// parameters (25,557,032 with the 1000-class `fc`).
///
///     let model = ResNet.resnet50().build(for: [224, 224, 3, 1]).eval()
///     let features = model(images)                                  // [2048, N]
///     let tv = try ResNet.load("resnet50.safetensors", .resnet50(classes: 1000))
public final class ResNet: Layer {
    /// The residual block of a ResNet.
    public enum Block: Sendable, Equatable {
        /// Two 3×3 convolutions (ResNet-18/34); expansion 1.
        case basic
        /// 1×1, 3×3 (the stride), 1×1 to 4× the width (ResNet-50/101/152); expansion 4.
        case bottleneck

        /// Output channels of a block per unit of width.
        public var expansion: Int { self == .basic ? 1 : 4 }
    }

    /// The shape of a ResNet: block kind, blocks per stage, widths per stage, classes.
    public struct Configuration: Sendable, Equatable {
        /// The block kind.
        public let block: Block
        /// The number of blocks in each of the four stages.
        public let layers: [Int]
        /// The width (torchvision's `planes`) of each stage; the stem has `widths[0]` channels.
        public let widths: [Int]
        /// The outputs of the final linear layer `fc`, or nil for the pooled features.
        public let classes: Int?

        /// A configuration; four stages of at least one block, positive widths.
        ///
        ///     let tiny = ResNet.Configuration(block: .bottleneck, layers: [1, 1, 1, 1], widths: [2, 4, 6, 8])
        public init(block: Block, layers: [Int], widths: [Int] = [64, 128, 256, 512], classes: Int? = nil) {
            knetCheck(layers.count == 4 && layers.allSatisfy { $0 > 0 },
                      "ResNet: layers must be 4 positive block counts, got \(layers)")
            knetCheck(widths.count == 4 && widths.allSatisfy { $0 > 0 }, "ResNet: widths must be 4 positive sizes, got \(widths)")
            knetCheck(classes.map { $0 > 0 } ?? true, "ResNet: classes must be positive, got \(classes!)")
            self.block = block; self.layers = layers; self.widths = widths; self.classes = classes
        }

        /// torchvision's resnet50: bottleneck blocks [3, 4, 6, 3], widths 64–512.
        public static func resnet50(classes: Int? = nil) -> Configuration {
            Configuration(block: .bottleneck, layers: [3, 4, 6, 3], classes: classes)
        }

        /// torchvision's resnet18: basic blocks [2, 2, 2, 2], widths 64–512.
        public static func resnet18(classes: Int? = nil) -> Configuration {
            Configuration(block: .basic, layers: [2, 2, 2, 2], classes: classes)
        }

        /// The channels of the pooled features, `widths[3] · expansion` (2048 for ResNet-50).
        public var features: Int { widths[3] * block.expansion }
    }

    /// The configuration.
    public let configuration: Configuration
    /// The whole network as one chain: stem, the blocks, global pooling, (fc).
    public let body: Chain
    /// The torchvision module name of each Conv, BatchNorm and Dense of `body`, in order.
    let moduleNames: [String]

    /// A new, unbuilt ResNet of `configuration` (parameters are made by the first
    /// `model(x)` or `build(for:)`, Knet's initialisation; load weights with `load`).
    ///
    ///     let tiny = ResNet(.init(block: .basic, layers: [1, 1, 1, 1], widths: [4, 8, 16, 32]))
    public init(_ configuration: Configuration) {
        self.configuration = configuration
        var names: [String] = []
        func convBN(_ name: String, _ bn: String, _ k: Int, out: Int, stride: Int = 1) -> [any Layer] {
            names += [name, bn]
            return [Conv(k, k, out: out, padding: SpatialSize(k / 2), stride: SpatialSize(stride), mode: 1, bias: false), BatchNorm()]
        }
        var layers: [any Layer] = convBN("conv1", "bn1", 7, out: configuration.widths[0], stride: 2)
            + [Activation.relu, Pool(3, padding: 1, stride: 2)]
        let expansion = configuration.block.expansion
        var inputs = configuration.widths[0]
        for (stage, (blocks, width)) in zip(configuration.layers, configuration.widths).enumerated() {
            for b in 0..<blocks {
                let stride = stage > 0 && b == 0 ? 2 : 1, prefix = "layer\(stage + 1).\(b)."
                var main: [any Layer]
                switch configuration.block {
                case .basic:
                    main = convBN(prefix + "conv1", prefix + "bn1", 3, out: width, stride: stride) + [Activation.relu]
                        + convBN(prefix + "conv2", prefix + "bn2", 3, out: width)
                case .bottleneck:
                    main = convBN(prefix + "conv1", prefix + "bn1", 1, out: width) + [Activation.relu]
                        + convBN(prefix + "conv2", prefix + "bn2", 3, out: width, stride: stride) + [Activation.relu]
                        + convBN(prefix + "conv3", prefix + "bn3", 1, out: width * expansion)
                }
                let shortcut = stride != 1 || inputs != width * expansion
                    ? Chain(convBN(prefix + "downsample.0", prefix + "downsample.1", 1, out: width * expansion, stride: stride))
                    : nil
                layers += [Residual(Chain(main), projection: shortcut), Activation.relu]
                inputs = width * expansion
            }
        }
        layers.append(GlobalAveragePool())
        if let classes = configuration.classes {
            names.append("fc")
            layers.append(Dense(out: classes, initialization: .pytorch))
        }
        body = Chain(layers)
        moduleNames = names
    }

    private init(configuration: Configuration, body: Chain, moduleNames: [String]) {
        self.configuration = configuration; self.body = body; self.moduleNames = moduleNames
    }

    /// An unbuilt ResNet-50 (see `Configuration.resnet50`).
    ///
    ///     outputShape(of: ResNet.resnet50(), for: [224, 224, 3, 32])   // [2048, 32]
    public static func resnet50(classes: Int? = nil) -> ResNet { ResNet(.resnet50(classes: classes)) }

    /// The pooled features `[features, N]` (or `[classes, N]`) of images `[W, H, 3, N]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { body(x) }

    /// The body's shape rule.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        context.outputShape(of: body, for: inputShape)
    }

    /// The body.
    public var sublayers: [any Layer] { [body] }

    /// A ResNet of the body's `mapTensors` copy.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> ResNet {
        ResNet(configuration: configuration, body: try body.mapTensors(transform), moduleNames: moduleNames)
    }

    /// E.g. "ResNet(bottleneck [3, 4, 6, 3], widths [64, 128, 256, 512])".
    public var description: String {
        "ResNet(\(configuration.block == .basic ? "basic" : "bottleneck") \(configuration.layers), widths \(configuration.widths)"
            + (configuration.classes.map { ", classes: \($0)" } ?? "") + ")"
    }

    /// The PyTorch layers of the model, in `mapTensors` order, with torchvision's names
    /// ("conv1", "bn1", "layer1.0.conv1", …, "layer1.0.downsample.0", "fc") and this
    /// model's batchnorm moments: for `loadPyTorch`/`savePyTorch`/`PyTorch.stateDict`.
    ///
    ///     try savePyTorch("tiny.safetensors", model, layers: model.pytorchLayers)
    public var pytorchLayers: [PyTorch.Layer] {
        let leaves = body.leafLayers.filter { $0 is Conv || $0 is BatchNorm || $0 is Dense }
        knetCheck(leaves.count == moduleNames.count, "\(self): the model has \(leaves.count) parameter layers, not \(moduleNames.count)")
        return zip(leaves, moduleNames).map { layer, name in
            switch layer {
            case let bn as BatchNorm: return .batchNorm(name, moments: bn.moments)
            case is Dense: return .dense(name)
            default: return .conv(name, mode: 1, bias: false)
            }
        }
    }

    /// A ResNet of `configuration` with the weights and running statistics of a
    /// torchvision-layout safetensors file (`safetensors.torch.save_file(model.state_dict(), path)`
    /// of a torchvision ResNet), as `dtype` on `device`, in eval mode. Every tensor the
    /// model needs must be in the file with its torchvision shape, and the file may hold
    /// nothing else, except `fc.*` when `configuration.classes` is nil (the pooled
    /// features are wanted) and the `num_batches_tracked` counters. Throws `FileIOError`
    /// or `SafeTensorsError` for the file and `PyTorchInteropError` naming the key and
    /// both shapes when it does not fit.
    ///
    ///     let model = try ResNet.load("resnet50.safetensors", .resnet50())
    public static func load(_ path: String, _ configuration: Configuration, dtype: DType = .float32,
                            device: Device = .current) throws -> ResNet {
        var stateDict = try Knet.load(path).tensors
        if configuration.classes == nil { stateDict = stateDict.filter { !$0.key.hasPrefix("fc.") } }
        let model = ResNet(configuration).build(for: [32, 32, 3, 1], dtype: dtype, device: device)
        return try PyTorch.filled(model, from: stateDict, layers: model.pytorchLayers, source: path).eval()
    }

    /// This model for inference with every batchnorm folded into the convolution before
    /// it (see `foldBatchNorm`): the same outputs as `eval()` up to rounding, two fewer
    /// passes over each feature map. It shares no parameters with this model and has no
    /// PyTorch names (load and save the unfolded model).
    ///
    ///     let fast = try ResNet.load("resnet50.safetensors", .resnet50()).folded()
    public func folded() -> any Layer { foldBatchNorm(body) }
}

extension Layer {
    /// The layers without sublayers inside this one (itself if it has none), in order.
    var leafLayers: [any Layer] { sublayers.isEmpty ? [self] : sublayers.flatMap(\.leafLayers) }
}
