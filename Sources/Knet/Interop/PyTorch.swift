// PyTorch state_dicts ↔ Knet parameters, by parameter names.
//
// A state_dict here is what `load` returns for a file that
// `safetensors.torch.save_file(model.state_dict(), path)` wrote: every tensor keeps its
// bytes and gets PyTorch's row-major shape reversed (Knet is column-major). So a tensor
// whose Knet layout is PyTorch's shape reversed needs no conversion, and the others are:
//
//   PyTorch module (keys)              PyTorch shape           Knet tensor                  conversion
//   Linear (weight, bias)              [out, in], [out]        w [out, in], b [out, 1]      w transposed; b reshaped
//   Conv1d/2d/3d (weight, bias)        [O, C/g, kH, kW], [O]   w [kW, kH, C/g, O], b [1, 1, O, 1]
//                                                                                           same bytes (mode 1) or
//                                                                                           every spatial dim reversed
//                                                                                           (mode 0); b reshaped
//   BatchNorm1d/2d (weight, bias,      [C] each                params [2C] = [weight; bias] concatenated; running
//     running_mean, running_var)                               BNMoments mean, variance     stats into the moments
//   Embedding (weight)                 [vocab, dim]            w [dim, vocab] (w[.all, i])  same bytes
//   LSTM/GRU/RNN (weight_ih_l{k}, weight_hh_l{k},              RNN.w, one flat vector       same bytes, concatenated
//     bias_ih_l{k}, bias_hh_l{k}, "_reverse" for the backward direction)
//
// Knet's RNN is cuDNN's, as PyTorch's: gates i, f, g, o (LSTM) and r, z, n (GRU, with
// b_hn inside r∘(W_hn h + b_hn)); each gate's `[inputDim, H]` column-major block is
// PyTorch's `[4H, inputDim]` row-major rows for that gate, so the bytes agree. Knet keeps
// all matrices first (per layer-direction: input then hidden), then all biases.
// Activations match too: Knet's `[W, H, C, N]` images are PyTorch's `[N, C, H, W]`, a
// sequence `[X, B, T]` is PyTorch's `[T, B, X]` (batch_first=False), `mat` flattens as
// `torch.flatten(x, 1)`, and padding/stride options list dims in Knet's order
// (`padding: [pW, pH]` for PyTorch's `padding=(pH, pW)`).

/// Conversion between PyTorch `state_dict`s and Knet parameters: describe the model's
/// layers in `mapTensors` order with their PyTorch names, then load (`loadPyTorch`) or
/// save (`savePyTorch`) a safetensors state_dict, or convert in memory (`stateDict`,
/// `filled`, and per layer `Layer.knetTensors`/`Layer.stateDict`).
///
///     let layers: [PyTorch.Layer] = [.conv("conv1"), .conv("conv2"), .dense("fc1"), .dense("fc2")]
///     w = try loadPyTorch("lenet.safetensors", into: w, layers: layers)
public enum PyTorch {
    /// One PyTorch module of a model, named as in its `state_dict` ("features.0", "fc1",
    /// or "" for a model that is that module alone), and the Knet tensors it takes, in
    /// order, from the model's `mapTensors` sequence.
    ///
    ///     let m = bnmoments()
    ///     let layers: [PyTorch.Layer] = [.conv("conv1", mode: 1), .batchNorm("bn1", moments: m), .dense("fc")]
    public enum Layer {
        /// `torch.nn.Linear`: Knet `w [out, in]` (`w * x`) and, with `bias`, `b` of `out`
        /// values (`[out, 1]` as `wbfParams`) — 2 tensors, or 1 without bias.
        ///
        ///     .dense("fc1")                 // fc1.weight [out, in] is transposed for Knet
        case dense(String, bias: Bool = true)
        /// `torch.nn.Conv1d/2d/3d`: Knet filters `[W1, (W2, W3,) C/group, O]` and, with
        /// `bias`, `b` of `O` values (`[1, 1, O, 1]` as `cbfpParams`). `mode` is the one the
        /// Knet model passes to `conv4`: 0 (Knet's default, as `cbfp`) flips the kernels
        /// on the way in and out, 1 (cross-correlation, as PyTorch) keeps their bytes.
        ///
        ///     .conv("conv1")                // for cbfp / conv4(w, x)
        ///     .conv("conv1", mode: 1)       // for conv4(w, x, mode: 1)
        case conv(String, mode: Int = 0, bias: Bool = true)
        /// `torch.nn.BatchNorm1d/2d/3d` (affine): Knet `params [2C]` (`bnparams`), PyTorch's
        /// weight then bias. With `moments`, PyTorch's running_mean and running_var are
        /// read into it in place (any shape holding C values is kept, else `[C]`; `batchnorm`
        /// reshapes) and written from it; `num_batches_tracked` is accepted and not kept
        /// (PyTorch fills it in when it loads a state_dict without it). Without `moments`,
        /// running statistics in the state_dict are unexpected (track_running_stats=False).
        ///
        ///     .batchNorm("bn1", moments: m) // m: a BNMoments used by batchnorm(x, m, w[2])
        case batchNorm(String, moments: BNMoments? = nil)
        /// `torch.nn.Embedding`: Knet `w [dim, vocab]` (looked up as `w[.all, indices]`).
        ///
        ///     .embedding("embed")           // embed.weight [vocab, dim]
        case embedding(String)
        /// `torch.nn.LSTM`, `GRU` or `RNN` (tanh/relu), any `num_layers`, bidirectional or
        /// not, with biases: the layer's `RNN.w`, one tensor. The `RNN` value gives the
        /// configuration (its own `w` is not read); it must match the PyTorch module's
        /// (`skipInput` has no PyTorch counterpart; `proj_size` none in Knet).
        ///
        ///     .rnn("lstm", model.lstm)      // lstm.weight_ih_l0, …, lstm.bias_hh_l1_reverse
        case rnn(String, RNN)

        /// The module's name, the prefix of its keys.
        public var name: String {
            switch self {
            case let .dense(name, _), let .conv(name, _, _), let .batchNorm(name, _), let .embedding(name), let .rnn(name, _):
                return name
            }
        }

        /// How many Knet tensors the layer takes from the model.
        ///
        ///     PyTorch.Layer.dense("fc").tensorCount   // 2
        public var tensorCount: Int {
            switch self {
            case let .dense(_, bias), let .conv(_, _, bias): return bias ? 2 : 1
            case .batchNorm, .embedding, .rnn: return 1
            }
        }

        /// The state_dict keys the layer reads and writes for Knet tensors like `template`
        /// (`tensorCount` of them), in order.
        ///
        ///     try PyTorch.Layer.dense("fc").keys(like: w[0..<2])   // ["fc.weight", "fc.bias"]
        public func keys<C: Collection>(like template: C) throws -> [String] where C.Element == Tensor {
            try plan(template.map(\.shape)).keys
        }

        /// The layer's Knet tensors from `stateDict` (as `load` returns it), shaped, typed
        /// and placed like `template` (the layer's `tensorCount` tensors of the model;
        /// `Param`s stay `Param`s). Running statistics of a `batchNorm` go into its moments.
        /// A missing tensor throws, unless `strict` is false: then the template's values are
        /// kept. `source` names the state_dict in errors.
        ///
        ///     let (sd, _) = try load("fc.safetensors")
        ///     let wb = try PyTorch.Layer.dense("fc").knetTensors(from: sd, like: [w, b])   // [w, b]
        public func knetTensors<C: Collection>(from stateDict: [String: Tensor], like template: C, strict: Bool = true,
                                               source: String = "state_dict") throws -> [Tensor] where C.Element == Tensor {
            let tensors = Array(template)
            let imported = try plan(tensors.map(\.shape)).imported(from: stateDict, like: tensors, strict: strict, source: source)
            imported.commit()
            return imported.tensors
        }

        /// The layer's PyTorch state_dict entries (fresh CPU tensors, in the form `load`
        /// returns and `save` writes, i.e. ready for `safetensors.torch.load_file`) from
        /// its `tensorCount` Knet tensors, and for a `batchNorm` its moments.
        ///
        ///     let sd = try PyTorch.Layer.dense("fc").stateDict([w, b])   // fc.weight, fc.bias
        public func stateDict<C: Collection>(_ tensors: C) throws -> [String: Tensor] where C.Element == Tensor {
            let tensors = Array(tensors)
            return try plan(tensors.map(\.shape)).exported(tensors)
        }
    }
}
