// The Stanford Sentiment Treebank in its PTB-style text form (`trees/train.txt`, one
// tree a line, as DyNet's treenn benchmark reads it): `(3 (2 It) (4 (2 's) (3 good)))`.
// Every node carries a sentiment label 0...4; a node holds either one word (a
// preterminal) or exactly two subtrees. Parsed without recursion (a line of a million
// `(` cannot overflow the stack); anything else is a `SentimentTreeError` naming the
// line and column.

/// One labelled binary tree: its words left to right and its nodes in post-order
/// (children before their parent, the root last).
///
///     let tree = try sentimentTrees(bytes: Array("(3 (2 It) (4 good))".utf8))[0]
///     tree.words        // ["It", "good"]
///     tree.labels       // [2, 4, 3]
///     tree.nodes        // [.word(0), .word(1), .pair(0, 1)]
public struct SentimentTree: Sendable, Equatable {
    /// A node: a preterminal over word `i` of `words`, or the pair of nodes `(left, right)`
    /// (indices into `nodes`, both before this one).
    public enum Node: Sendable, Equatable {
        /// A preterminal: the index of its word in `words`.
        case word(Int)
        /// An internal node: the indices of its left and right children in `nodes`.
        case pair(Int, Int)
    }

    /// The words, left to right.
    public var words: [String]
    /// The nodes in post-order; `nodes.last` is the root.
    public var nodes: [Node]
    /// The sentiment label 0...4 of each node of `nodes`.
    public var labels: [Int]

    /// A tree from its parts (checked: post-order children, labels 0...4, every word used once in order).
    ///
    ///     SentimentTree(words: ["good"], nodes: [.word(0)], labels: [4])
    public init(words: [String], nodes: [Node], labels: [Int]) {
        knetCheck(!nodes.isEmpty && labels.count == nodes.count,
                  "SentimentTree: \(nodes.count) nodes and \(labels.count) labels (need one label per node, at least one node)")
        knetCheck(labels.allSatisfy { (0...4).contains($0) }, "SentimentTree: labels must be 0...4, got \(labels)")
        var nextWord = 0
        for (k, node) in nodes.enumerated() {
            switch node {
            case .word(let i):
                knetCheck(i == nextWord, "SentimentTree: node \(k) holds word \(i), expected word \(nextWord) (left to right)")
                nextWord += 1
            case let .pair(l, r):
                knetCheck(l >= 0 && l < r && r < k, "SentimentTree: node \(k) has children \(l), \(r); they must come before it, left first")
            }
        }
        knetCheck(nextWord == words.count, "SentimentTree: \(words.count) words but \(nextWord) preterminals")
        self.words = words; self.nodes = nodes; self.labels = labels
    }

    /// The root's label: the sentence's sentiment.
    public var label: Int { labels[labels.count - 1] }
}

/// Why a sentiment-treebank text could not be parsed: what, and where (1-based line and
/// byte column of `name`).
///
///     do { _ = try sentimentTrees(bytes: Array("(3 (2 a)".utf8)) } catch { print(error) }
///     // "<bytes>:1:1: unbalanced parentheses: this ( is never closed"
public struct SentimentTreeError: Error, Equatable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Sendable, Equatable {
        /// A `(` never closed, or a `)` closing nothing.
        case unbalanced(String)
        /// A node's label is not one of 0, 1, 2, 3, 4.
        case badLabel(String)
        /// A node with other than one word or two subtrees (the count of its children).
        case notBinary(children: Int)
        /// Anything else (a line not starting with `(`, text after the tree, …).
        case syntax(String)
    }

    /// The file (or `<bytes>`).
    public let name: String
    /// The line, from 1.
    public let line: Int
    /// The byte column in the line, from 1.
    public let column: Int
    /// What is wrong.
    public let kind: Kind

    /// `name:line:column: message`.
    public var description: String {
        let message: String
        switch kind {
        case .unbalanced(let why): message = "unbalanced parentheses: \(why)"
        case .badLabel(let label): message = "bad label '\(label)': node labels are 0, 1, 2, 3 or 4"
        case .notBinary(let n):
            message = "node with \(n) \(n == 1 ? "child" : "children"): a node holds one word or two subtrees"
        case .syntax(let why): message = why
        }
        return "\(name):\(line):\(column): \(message)"
    }
}

/// The trees of a sentiment-treebank file (`<data>/trees/train.txt`, say), one a line;
/// blank lines are skipped. Throws `DataError` if the file cannot be read and
/// `SentimentTreeError` if it does not parse.
///
///     let train = try sentimentTrees(path: "data/trees/train.txt")
public func sentimentTrees(path: String) throws -> [SentimentTree] {
    try sentimentTrees(bytes: try readDataFile(path), name: path)
}

/// `sentimentTrees(path:)` for text in memory (UTF-8 bytes); `name` appears in errors.
///
///     let trees = try sentimentTrees(bytes: Array("(3 (2 It) (4 good))\n".utf8))
public func sentimentTrees(bytes: [UInt8], name: String = "<bytes>") throws -> [SentimentTree] {
    var trees: [SentimentTree] = []
    var start = 0, line = 1
    while start < bytes.count {
        let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        if let tree = try parseTreeLine(bytes[start..<end], name: name, line: line) { trees.append(tree) }
        start = end + 1; line += 1
    }
    return trees
}

/// One node being read: its label and where it opened, its children so far.
private struct OpenNode {
    var label: Int
    var column: Int
    var subtrees: [Int] = []
    var words: [String] = []
}

/// The tree on one line, nil for a blank line.
private func parseTreeLine(_ text: ArraySlice<UInt8>, name: String, line: Int) throws -> SentimentTree? {
    let base = text.startIndex
    func fail(_ at: Int, _ kind: SentimentTreeError.Kind) -> SentimentTreeError {
        SentimentTreeError(name: name, line: line, column: at - base + 1, kind: kind)
    }
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0d }
    func isDelimiter(_ b: UInt8) -> Bool { isSpace(b) || b == UInt8(ascii: "(") || b == UInt8(ascii: ")") }

    var words: [String] = [], nodes: [SentimentTree.Node] = [], labels: [Int] = []
    var stack: [OpenNode] = []
    var done = false
    var i = base
    while i < text.endIndex {
        let b = text[i]
        if isSpace(b) { i += 1; continue }
        if done {
            throw fail(i, b == UInt8(ascii: ")") ? .unbalanced("this ) closes no (") : .syntax("text after the end of the tree"))
        }
        switch b {
        case UInt8(ascii: "("):
            var j = i + 1
            while j < text.endIndex && isSpace(text[j]) { j += 1 }
            var k = j
            while k < text.endIndex && !isDelimiter(text[k]) { k += 1 }
            let token = String(decoding: text[j..<k], as: UTF8.self)
            guard k > j else { throw fail(i, .syntax("a ( must be followed by the node's label, as (3 ...)")) }
            guard token.utf8.count == 1, let label = Int(token), (0...4).contains(label) else { throw fail(j, .badLabel(token)) }
            stack.append(OpenNode(label: label, column: i))
            i = k
        case UInt8(ascii: ")"):
            guard let node = stack.popLast() else { throw fail(i, .unbalanced("this ) closes no (")) }
            switch (node.words.count, node.subtrees.count) {
            case (1, 0):
                nodes.append(.word(words.count)); words.append(node.words[0])
            case (0, 2):
                nodes.append(.pair(node.subtrees[0], node.subtrees[1]))
            case let (w, s):
                throw fail(node.column, .notBinary(children: w + s))
            }
            labels.append(node.label)
            if stack.isEmpty { done = true } else { stack[stack.count - 1].subtrees.append(nodes.count - 1) }
            i += 1
        default:
            var k = i
            while k < text.endIndex && !isDelimiter(text[k]) { k += 1 }
            guard !stack.isEmpty else { throw fail(i, .syntax("a tree must start with (")) }
            stack[stack.count - 1].words.append(String(decoding: text[i..<k], as: UTF8.self))
            i = k
        }
    }
    if let open = stack.last { throw fail(open.column, .unbalanced("this ( is never closed")) }
    return done ? SentimentTree(words: words, nodes: nodes, labels: labels) : nil
}

/// Word ids for sentiment trees, as DyNet's treenn builds them: id 0 is `_UNK_` (any word
/// not in the vocabulary), then the words of the training trees in order of first use.
///
///     let vocab = TreebankVocabulary(train)
///     let ids = vocab.ids(train[0].words)
public struct TreebankVocabulary: Sendable, Equatable {
    /// The words by id; `words[0]` is `_UNK_`.
    public let words: [String]
    private let index: [String: Int]

    /// The vocabulary of `trees`' words.
    public init(_ trees: [SentimentTree]) {
        var words = ["_UNK_"], index = ["_UNK_": 0]
        for tree in trees {
            for word in tree.words where index[word] == nil { index[word] = words.count; words.append(word) }
        }
        self.words = words; self.index = index
    }

    /// A vocabulary of the given words in this order, `_UNK_` put first if missing (repeats dropped).
    ///
    ///     TreebankVocabulary(words: ["good", "bad"]).count   // 3
    public init(words: [String]) {
        var all = ["_UNK_"], index = ["_UNK_": 0]
        for word in words where index[word] == nil { index[word] = all.count; all.append(word) }
        self.words = all; self.index = index
    }

    /// The number of ids, `_UNK_` included.
    public var count: Int { words.count }

    /// The id of each word (0 for unknown words).
    public func ids(_ words: [String]) -> [Int] { words.map { index[$0] ?? 0 } }
}

/// Random trees of the treebank's shape: `count` sentences of 1...37 words (uniform: mean
/// 19, as SST's training sentences), words drawn uniformly from `vocabulary − 1` words
/// `w1`, `w2`, …, each tree split at uniformly random points, labels uniform 0...4; with
/// the vocabulary of all those words (`_UNK_` and `w1`…, `vocabulary` ids). Seeded:
/// the same trees for the same arguments.
///
///     let (trees, vocab) = syntheticSentimentTrees(count: 500, vocabulary: 20_000)
public func syntheticSentimentTrees(count: Int, vocabulary: Int = 20_000, maxLength: Int = 37,
                                    seed: UInt64 = 1) -> (trees: [SentimentTree], vocabulary: TreebankVocabulary) {
    knetCheck(count >= 0 && vocabulary >= 2 && maxLength >= 1,
              "syntheticSentimentTrees: need count ≥ 0, vocabulary ≥ 2, maxLength ≥ 1; got \(count), \(vocabulary), \(maxLength)")
    var random = SplitMix(seed: seed)
    let names = (1..<vocabulary).map { "w\($0)" }
    let trees = (0..<count).map { _ -> SentimentTree in
        let n = Int.random(in: 1...maxLength, using: &random)
        var nodes: [SentimentTree.Node] = [], labels: [Int] = []
        var leaves = 0
        func build(_ length: Int) -> Int {
            if length == 1 {
                nodes.append(.word(leaves)); leaves += 1
            } else {
                let split = Int.random(in: 1..<length, using: &random)
                let left = build(split), right = build(length - split)
                nodes.append(.pair(left, right))
            }
            labels.append(Int.random(in: 0...4, using: &random))
            return nodes.count - 1
        }
        _ = build(n)
        let words = (0..<n).map { _ in names[Int.random(in: 0..<names.count, using: &random)] }
        return SentimentTree(words: words, nodes: nodes, labels: labels)
    }
    return (trees, TreebankVocabulary(words: names))
}
