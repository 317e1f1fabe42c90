// The binary Tree-LSTM of DyNet's treenn benchmark (Tai et al. 2015, as dynet-py/treenn.py
// writes it): sentiment of every node of a Stanford Sentiment Treebank tree, trained one
// tree at a time, so the tape records a different graph for every sentence.
//
// The math, per node (σ the logistic, ⊙ elementwise):
//   preterminal over word x = E[:, id]:   [i; o; u] = W·x + b_iou
//       c = σ(i) ⊙ tanh(u),  h = σ(o) ⊙ tanh(c)
//   pair of children (h_l, c_l), (h_r, c_r):  [i; o; u] = U·[h_l; h_r] + b_iou
//       f_l = σ(U_fl·h_l + b_f),  f_r = σ(U_fr·h_r + b_f)
//       c = σ(i) ⊙ tanh(u) + f_l ⊙ c_l + f_r ⊙ c_r,  h = σ(o) ⊙ tanh(c)
//   loss: Σ over every node of −log softmax(V·h)[label]   (V has no bias, as DyNet's W)
// Each forget gate sees only its own child (DyNet's Uf1·e1, Uf2·e2, not Tai's full
// U_f·[h_l; h_r]); b_o is used for the o gate of pairs too (DyNet's script reuses b_i there,
// an evident slip that costs the same).
//
// `loss` computes a tree level by level: all preterminals in one gather and one GEMM, then
// the nodes of each height together (their children's states gathered from the columns
// computed so far) — the "on-the-fly batching" DyNet's autobatching finds, written out.
// `recursiveLoss` is the plain recursion, one node at a time, as DyNet's script; the two
// give the same loss and gradient (tested).

/// The parameters of a `TreeLSTM` (Knet layout: weights `[out, in]`, biases `[out, 1]`).
///
///     let model = TreeLSTM(vocabulary: 20_000)
///     let w = model.parameters()       // w.embedding is [128, 20000]
public struct TreeLSTMParams: TensorStruct {
    /// Word embeddings `[E, V]`.
    public var embedding: Tensor
    /// Preterminal gates `[3H, E]` (rows i, o, u).
    public var leaf: Tensor
    /// Pair gates `[3H, 2H]` (rows i, o, u) of `[h_left; h_right]`.
    public var pair: Tensor
    /// Left child's forget gate `[H, H]`.
    public var forgetLeft: Tensor
    /// Right child's forget gate `[H, H]`.
    public var forgetRight: Tensor
    /// Gate biases `[3H, 1]` (i, o, u), shared by preterminals and pairs.
    public var bias: Tensor
    /// Forget-gate bias `[H, 1]`, shared by both children.
    public var forgetBias: Tensor
    /// Output scores `[classes, H]`.
    public var output: Tensor

    /// The tensors in `mapTensors` order: embedding, leaf, pair, forgetLeft, forgetRight, bias, forgetBias, output.
    public static let tensorKeyPaths: [WritableKeyPath<TreeLSTMParams, Tensor>] = [
        \.embedding, \.leaf, \.pair, \.forgetLeft, \.forgetRight, \.bias, \.forgetBias, \.output,
    ]
}

/// A binary Tree-LSTM sentiment classifier over words `0..<vocabulary` (see the file's
/// comment for the math): embedding `embed`, hidden `hidden`, `classes` labels.
///
///     let model = TreeLSTM(vocabulary: vocab.count)
///     let trainer = Trainer(model.parameters(), Adam())
///     let trees = train.map { TreeSchedule($0, words: vocab.ids($0.words)) }
///     for loss in trainer.minimize(model.loss, trees.map { ($0, $0.labels) }) { _ = loss }
public struct TreeLSTM: Sendable {
    /// Number of word ids (the embedding's columns).
    public let vocabulary: Int
    /// Embedding size E.
    public let embed: Int
    /// Hidden (and cell) size H.
    public let hidden: Int
    /// Number of labels.
    public let classes: Int

    /// A model of these sizes (DyNet's benchmark: embed 128, hidden 128, 5 labels).
    public init(vocabulary: Int, embed: Int = 128, hidden: Int = 128, classes: Int = 5) {
        knetCheck(vocabulary > 0 && embed > 0 && hidden > 0 && classes > 0,
                  "TreeLSTM: sizes must be positive, got vocabulary \(vocabulary), embed \(embed), hidden \(hidden), classes \(classes)")
        self.vocabulary = vocabulary; self.embed = embed; self.hidden = hidden; self.classes = classes
    }

    /// Fresh parameters: Knet's `xavier` (Glorot uniform, as DyNet's default) matrices and
    /// embedding, zero biases.
    public func parameters(dtype: DType = .float32) -> TreeLSTMParams {
        let h = hidden
        func xavier(_ shape: Int...) -> Tensor { Tensor.xavier(shape: shape, dtype: dtype) }
        return TreeLSTMParams(embedding: xavier(embed, vocabulary), leaf: xavier(3 * h, embed), pair: xavier(3 * h, 2 * h),
                              forgetLeft: xavier(h, h), forgetRight: xavier(h, h),
                              bias: Tensor.zeros(shape: [3 * h, 1], dtype: dtype),
                              forgetBias: Tensor.zeros(shape: [h, 1], dtype: dtype), output: xavier(classes, h))
    }

    /// The summed loss of every node of `tree` (labels `labels`, one per column of the
    /// schedule: usually `tree.labels`), computed level by level.
    ///
    ///     let l = model.loss(w, schedule, schedule.labels)      // 0-d
    public func loss(_ w: TreeLSTMParams, _ tree: TreeSchedule, _ labels: [Int]) -> Tensor {
        nll(w.output * states(w, tree), labels, average: false)
    }

    /// `loss` by plain recursion over the tree, one node at a time (DyNet's treenn.py
    /// without autobatching): the same value and gradient, many more, smaller ops.
    public func recursiveLoss(_ w: TreeLSTMParams, _ tree: TreeSchedule, _ labels: [Int]) -> Tensor {
        var h: [Tensor] = [], c: [Tensor] = []
        var total: Tensor?
        for (k, node) in tree.nodes.enumerated() {
            let state: (h: Tensor, c: Tensor)
            switch node {
            case .word(let i): state = leafCell(w, w.embedding[.all, [tree.words[i]]])
            case let .pair(l, r): state = pairCell(w, vcat(h[l], h[r]), vcat(c[l], c[r]))
            }
            h.append(state.h); c.append(state.c)
            let nodeLoss = nll(w.output * state.h, [labels[tree.columns[k]]], average: false)
            total = total.map { $0 + nodeLoss } ?? nodeLoss
        }
        return total!
    }

    /// The hidden states `[H, N]` of all nodes, in the schedule's column order.
    public func states(_ w: TreeLSTMParams, _ tree: TreeSchedule) -> Tensor {
        knetCheck(w.embedding.shape == [embed, vocabulary] && w.output.shape == [classes, hidden],
                  "TreeLSTM: parameters (embedding \(w.embedding.shape), output \(w.output.shape)) do not fit the model "
                  + "(embedding [\(embed), \(vocabulary)], output [\(classes), \(hidden)])")
        var (h, c) = leafCell(w, w.embedding[.all, tree.words])
        for children in tree.levels {
            let k = children.count / 2
            let level = pairCell(w, reshape(h[.all, children], [2 * hidden, k]), reshape(c[.all, children], [2 * hidden, k]))
            h = hcat(h, level.h); c = hcat(c, level.c)
        }
        return h
    }

    /// The predicted label of the root of `tree`.
    public func predict(_ w: TreeLSTMParams, _ tree: TreeSchedule) -> Int {
        let h = states(w, tree)
        let scores = [Double](w.output * h[.all, (h.shape[1] - 1)...])
        return scores.indices.max { scores[$0] < scores[$1] }!
    }

    /// Mean loss per node and root accuracy over `trees`.
    ///
    ///     let (loss, accuracy) = model.evaluate(w, dev)
    public func evaluate(_ w: TreeLSTMParams, _ trees: [TreeSchedule]) -> (loss: Double, accuracy: Double) {
        var loss = 0.0, nodes = 0, correct = 0
        for tree in trees {
            let h = states(w, tree), scores = w.output * h
            loss += nll(scores, tree.labels, average: false).scalar
            nodes += tree.labels.count
            let root = [Double](scores[.all, (h.shape[1] - 1)...])
            if root.indices.max(by: { root[$0] < root[$1] }) == tree.labels.last { correct += 1 }
        }
        return (loss / Double(Swift.max(nodes, 1)), Double(correct) / Double(Swift.max(trees.count, 1)))
    }

    /// Preterminal states of the embeddings `x` `[E, n]`: `(h, c)`, each `[H, n]`.
    private func leafCell(_ w: TreeLSTMParams, _ x: Tensor) -> (h: Tensor, c: Tensor) {
        let g = w.leaf * x .+ w.bias, n = hidden
        let c = sigm(g[0..<n, .all]) .* tanh(g[(2 * n)..<(3 * n), .all])
        return (sigm(g[n..<(2 * n), .all]) .* tanh(c), c)
    }

    /// Pair states from the children's stacked states `hh = [h_l; h_r]`, `cc = [c_l; c_r]`
    /// (`[2H, k]` each): `(h, c)`, each `[H, k]`.
    private func pairCell(_ w: TreeLSTMParams, _ hh: Tensor, _ cc: Tensor) -> (h: Tensor, c: Tensor) {
        let n = hidden, left = 0..<n, right = n..<(2 * n)
        let g = w.pair * hh .+ w.bias
        let fl = sigm(w.forgetLeft * hh[left, .all] .+ w.forgetBias), fr = sigm(w.forgetRight * hh[right, .all] .+ w.forgetBias)
        let c = sigm(g[0..<n, .all]) .* tanh(g[(2 * n)..<(3 * n), .all]) .+ fl .* cc[left, .all] .+ fr .* cc[right, .all]
        return (sigm(g[n..<(2 * n), .all]) .* tanh(c), c)
    }
}

/// How `TreeLSTM` computes one tree: the columns of its states are the preterminals
/// (left to right), then the nodes of height 1, 2, … (each height in post-order); each
/// level lists its nodes' children as columns of the levels before it. Made once per
/// tree, before training (as a PyTorch user would precompute it while loading data).
///
///     let s = TreeSchedule(tree, words: vocab.ids(tree.words))
///     s.levels.count     // the tree's height
public struct TreeSchedule: Sendable, Equatable {
    /// The word id of each preterminal (columns `0..<words.count`).
    public let words: [Int]
    /// For each height 1, 2, …: the children's columns of that height's nodes,
    /// interleaved `[left₀, right₀, left₁, right₁, …]`.
    public let levels: [[Int]]
    /// The label of each column (the root's is last).
    public let labels: [Int]
    /// The tree's nodes (post-order, as `SentimentTree.nodes`), for `recursiveLoss`.
    public let nodes: [SentimentTree.Node]
    /// The column of each node of `nodes`.
    public let columns: [Int]

    /// The schedule of `tree` whose words have ids `words` (one per word of the tree).
    public init(_ tree: SentimentTree, words: [Int]) {
        knetCheck(words.count == tree.words.count, "TreeSchedule: \(words.count) word ids for a tree of \(tree.words.count) words")
        var height = [Int](repeating: 0, count: tree.nodes.count)
        for (k, node) in tree.nodes.enumerated() {
            if case let .pair(l, r) = node { height[k] = 1 + Swift.max(height[l], height[r]) }
        }
        let levelCount = height.last!
        var byLevel = [[Int]](repeating: [], count: levelCount + 1)     // node indices of each height
        for k in tree.nodes.indices { byLevel[height[k]].append(k) }
        var columns = [Int](repeating: 0, count: tree.nodes.count)
        var next = 0
        for nodesOfLevel in byLevel { for k in nodesOfLevel { columns[k] = next; next += 1 } }
        levels = byLevel.dropFirst().map { nodesOfLevel in
            nodesOfLevel.flatMap { k -> [Int] in
                guard case let .pair(l, r) = tree.nodes[k] else { return [] }
                return [columns[l], columns[r]]
            }
        }
        var labels = [Int](repeating: 0, count: tree.nodes.count)
        for k in tree.nodes.indices { labels[columns[k]] = tree.labels[k] }
        self.words = words; self.labels = labels; self.nodes = tree.nodes; self.columns = columns
    }
}
