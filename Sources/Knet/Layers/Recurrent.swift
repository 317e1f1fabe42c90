// Recurrent layers over Knet's fused `RNN`/`rnnforw`: `LSTM(hidden: 100)`, `GRU(...)`,
// `SimpleRNN(...)` (tanh) and `ReluRNN(...)` are one generic class whose cell type is a
// type parameter, so the four share one implementation; the input size is inferred.

/// The cell type of a `Recurrent` layer, as a type (see `LSTM`, `GRU`, `SimpleRNN`).
public protocol RecurrentCell {
    /// The `RNN` cell this type stands for.
    static var rnnType: RNNType { get }
    /// The layer's name in descriptions ("LSTM").
    static var name: String { get }
}

/// cuDNN's LSTM cell (gates i, f, g, o).
public enum LSTMCell: RecurrentCell {
    /// `.lstm`.
    public static var rnnType: RNNType { .lstm }
    /// "LSTM".
    public static var name: String { "LSTM" }
}

/// cuDNN's GRU cell (gates r, z, n).
public enum GRUCell: RecurrentCell {
    /// `.gru`.
    public static var rnnType: RNNType { .gru }
    /// "GRU".
    public static var name: String { "GRU" }
}

/// The Elman cell `h' = tanh(W x + R h + b)`.
public enum TanhCell: RecurrentCell {
    /// `.tanh`.
    public static var rnnType: RNNType { .tanh }
    /// "SimpleRNN".
    public static var name: String { "SimpleRNN" }
}

/// The Elman cell with relu, `h' = relu(W x + R h + b)`.
public enum ReluCell: RecurrentCell {
    /// `.relu`.
    public static var rnnType: RNNType { .relu }
    /// "ReluRNN".
    public static var name: String { "ReluRNN" }
}

/// An LSTM layer (PyTorch's `nn.LSTM`): `LSTM(hidden: 256)`.
public typealias LSTM = Recurrent<LSTMCell>
/// A GRU layer (PyTorch's `nn.GRU`): `GRU(hidden: 100)`.
public typealias GRU = Recurrent<GRUCell>
/// A tanh RNN layer (PyTorch's `nn.RNN`): `SimpleRNN(hidden: 64)`.
public typealias SimpleRNN = Recurrent<TanhCell>
/// A relu RNN layer (`nn.RNN(nonlinearity='relu')`): `ReluRNN(hidden: 64)`.
public typealias ReluRNN = Recurrent<ReluCell>

/// What a recurrent layer returns.
public enum RecurrentOutput: Sendable {
    /// Every step's output of the last layer: `[H·dirs, B, T]`.
    case sequence
    /// The last step's output of the last layer: `[H·dirs, B]` (for a classifier such as
    /// IMDB's "last step → dense"; for a bidirectional layer the backward direction's part
    /// is its output after one step, as PyTorch's `output[-1]`).
    case last
}

/// A recurrent layer: Knet's fused `RNN` (`Cell`'s cell type, `layers` stacked layers,
/// optionally bidirectional, dropout between layers while training in `.train` mode) over input
/// `[X, B, T]` (or one step `[X, B]`), its states starting at zero each call. X is
/// inferred; the parameters are the `RNN`'s one flat `w` (`rnn.w`). For initial states,
/// packed variable-length batches or the final states, call `rnnforw(layer.rnn!, …)`.
///
///     let model = Chain(Embed(vocab: 30_000, dim: 125), GRU(hidden: 100, output: .last), Dense(out: 2))
///     model(tokens).shape                   // tokens [B, T] → [2, B]
public final class Recurrent<Cell: RecurrentCell>: Layer {
    /// Hidden units H per direction.
    public let hidden: Int
    /// Stacked layers.
    public let layers: Int
    /// Whether each layer also runs backward in time.
    public let bidirectional: Bool
    /// Dropout probability between layers (in `.train` mode, while a gradient is recorded).
    public let dropout: Double
    /// `.train` (Knet's rule for the dropout between layers) or `.eval` (no dropout).
    public var mode: LayerMode = .train
    /// Every step or only the last.
    public let output: RecurrentOutput
    /// How `w` is initialised when built.
    public let initialization: Initialization
    /// The fused layer (nil until built): its `w` is the parameter.
    public var rnn: RNN?

    /// A recurrent layer of `hidden` units whose input size comes from the first input.
    public init(hidden: Int, layers: Int = 1, bidirectional: Bool = false, dropout: Double = 0,
                output: RecurrentOutput = .sequence, initialization: Initialization = .knet) {
        knetCheck(hidden > 0 && layers > 0 && dropout >= 0 && dropout <= 1,
                  "\(Cell.name): hidden (\(hidden)) and layers (\(layers)) must be positive, dropout (\(dropout)) in [0, 1]")
        self.hidden = hidden; self.layers = layers; self.bidirectional = bidirectional
        self.dropout = dropout; self.output = output; self.initialization = initialization
    }

    /// `rnnforw(rnn, rnn.w, x).y`, or its last step.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        prepare(x)
        checkParameter(rnn!.w, matches: x)
        var r = rnn!
        if mode == .eval { r.dropout = 0 }
        let y = r(x)
        return output == .last && y.ndims == 3 ? y[.all, .all, y.shape[2] - 1] : y
    }

    /// `[H·dirs, B, T]` (`.sequence`) or `[H·dirs, B]` (`.last`) for `[X, B, T]`.
    public func outputShape(for inputShape: [Int], in context: ShapeContext) -> [Int] {
        knetCheck(inputShape.count == 2 || inputShape.count == 3,
                  "\(self): input must be [X, B, T] (or one step [X, B]), got shape \(inputShape)")
        let x = inputShape[0]
        if let rnn {
            knetCheck(rnn.inputSize == x, "\(self): input \(inputShape) has \(x) features, but the layer was built for \(rnn.inputSize)")
        } else if let (dtype, device) = context.build {
            var r = RNN(x, hidden, rnnType: Cell.rnnType, numLayers: layers, bidirectional: bidirectional,
                        dropout: dropout, dtype: dtype)
            if initialization == .pytorch {
                r.w.assign(uniformTensor(r.w.shape, bound: 1 / Double(hidden).squareRoot(), dtype, r.w.device))
            }
            r = r.to(device)
            rnn = r
        }
        let h = hidden * (bidirectional ? 2 : 1)
        return output == .last || inputShape.count == 2 ? [h, inputShape[1]] : [h, inputShape[1], inputShape[2]]
    }

    /// Sets the mode.
    public func setMode(_ mode: LayerMode) { self.mode = mode }

    /// True once the `RNN` exists.
    public var isBuilt: Bool { rnn != nil }

    /// A copy with `w` transformed (the layer must be built).
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> Recurrent<Cell> {
        requireBuilt()
        let copy = Recurrent(hidden: hidden, layers: layers, bidirectional: bidirectional, dropout: dropout,
                             output: output, initialization: initialization)
        copy.rnn = try rnn!.mapTensors(transform)
        copy.mode = mode
        return copy
    }

    /// E.g. "LSTM(128 => 256)" or "GRU(hidden: 100, last)" before it is built.
    public var description: String {
        var parts = [rnn.map { "\($0.inputSize) => \(hidden)" } ?? "hidden: \(hidden)"]
        if layers > 1 { parts.append("layers: \(layers)") }
        if bidirectional { parts.append("bidirectional") }
        if dropout > 0 { parts.append("dropout: \(dropout)") }
        if output == .last { parts.append("last") }
        return "\(Cell.name)(" + parts.joined(separator: ", ") + ")"
    }
}
