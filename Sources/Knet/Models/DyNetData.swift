import Foundation

// The data of the DyNet benchmarks (Neubig et al. 2017, the dynet-benchmark repo): PTB
// text for rnnlm-batch (`ptb.train.txt`, one sentence a line, `<eos>` appended to each)
// and WSJ POS-tagged text for the taggers (`train.txt`, one sentence a line, tokens
// `word|TAG`), read from bytes or files with typed errors, plus synthetic corpora of the
// same shapes.

/// The words of each non-empty line of PTB-style text (split on spaces and tabs),
/// `<eos>` appended to each: `ptb.train.txt` as rnnlm-batch reads it. Text that is not
/// UTF-8 throws `DataError.corrupt` naming `name` and the line.
///
///     let s = try readSentences(bytes: Array("a b\nc\n".utf8))   // [["a", "b", "<eos>"], ["c", "<eos>"]]
public func readSentences(bytes: [UInt8], name: String = "<bytes>") throws -> [[String]] {
    try textLines(bytes, name).map { _, words in words + ["<eos>"] }
}

/// `readSentences(bytes:)` of the file at `path` (`DataError.io` when it cannot be read).
///
///     let trn = try readSentences(file: "data/ptb/ptb.train.txt")
public func readSentences(file path: String) throws -> [[String]] {
    try readSentences(bytes: try readDataFile(path), name: path)
}

/// A POS-tagged sentence: its words and their tags, as many of each.
public struct TaggedSentence: Equatable, Sendable {
    /// The words.
    public var words: [String]
    /// One tag per word.
    public var tags: [String]

    /// A sentence of `words` tagged `tags` (as many).
    public init(words: [String], tags: [String]) {
        precondition(words.count == tags.count, "TaggedSentence: \(words.count) words but \(tags.count) tags")
        self.words = words; self.tags = tags
    }
}

/// The sentences of dynet-benchmark's tagged format: one non-empty line per sentence,
/// tokens `word|TAG` separated by spaces, split at the token's last `|` (so a word may
/// hold `|`). A token without `|`, or with an empty word or tag, throws
/// `DataError.corrupt` naming `name`, the line and the token.
///
///     let s = try readTagged(bytes: Array("The|DT dog|NN\n".utf8))   // words [The, dog], tags [DT, NN]
public func readTagged(bytes: [UInt8], name: String = "<bytes>") throws -> [TaggedSentence] {
    try textLines(bytes, name).map { line, tokens in
        var words: [String] = [], tags: [String] = []
        for token in tokens {
            guard let bar = token.lastIndex(of: "|"), bar != token.startIndex, token.index(after: bar) != token.endIndex else {
                throw DataError.corrupt(path: name, reason: "line \(line): token '\(token)' is not word|TAG")
            }
            words.append(String(token[..<bar]))
            tags.append(String(token[token.index(after: bar)...]))
        }
        return TaggedSentence(words: words, tags: tags)
    }
}

/// `readTagged(bytes:)` of the file at `path` (`DataError.io` when it cannot be read).
///
///     let trn = try readTagged(file: "data/tags/train.txt")
public func readTagged(file path: String) throws -> [TaggedSentence] {
    try readTagged(bytes: try readDataFile(path), name: path)
}

/// The non-empty lines of UTF-8 `bytes` as (1-based line number, whitespace-split tokens).
private func textLines(_ bytes: [UInt8], _ name: String) throws -> [(Int, [String])] {
    var out: [(Int, [String])] = []
    for (i, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
        guard let text = String(validating: line, as: UTF8.self) else {
            throw DataError.corrupt(path: name, reason: "line \(i + 1) is not UTF-8 text")
        }
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        if !tokens.isEmpty { out.append((i + 1, tokens)) }
    }
    return out
}

/// Symbols numbered in order of first appearance (0-based): the vocabularies of the
/// DyNet benchmarks (words, tags, characters).
///
///     var v = Vocabulary(); v.add("the"); v.add("cat")
///     v["cat"]        // 1
public struct Vocabulary: Equatable, Sendable {
    /// The symbols, by id.
    public private(set) var symbols: [String] = []
    private var ids: [String: Int] = [:]

    /// An empty vocabulary.
    public init() {}

    /// The symbols of `sequence` in order of first appearance.
    public init<S: Sequence>(_ sequence: S) where S.Element == String {
        for s in sequence { add(s) }
    }

    /// The id of `symbol`, adding it when new.
    @discardableResult
    public mutating func add(_ symbol: String) -> Int {
        if let id = ids[symbol] { return id }
        ids[symbol] = symbols.count
        symbols.append(symbol)
        return symbols.count - 1
    }

    /// The id of `symbol`, or nil.
    public subscript(_ symbol: String) -> Int? { ids[symbol] }

    /// How many symbols.
    public var count: Int { symbols.count }
}

/// Synthetic corpora of the DyNet benchmarks' shapes (only the times mean anything):
/// sentence lengths like PTB/WSJ (a gamma(2) draw of mean ~21, clipped to 1...80) and
/// Zipf-like word ids (`⌊V^u⌋ − 1`, u uniform: P(k) ∝ 1/(k+1)), from a `SplitMix` seed.
///
///     var g = SyntheticText(seed: 1)
///     let ids = g.sentence(vocab: 10_000)         // e.g. 23 ids in 0..<10000
public struct SyntheticText {
    var random: SplitMix

    /// A generator fixed by `seed`.
    public init(seed: UInt64) { random = SplitMix(seed: seed) }

    private mutating func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }

    /// A sentence length: `1 + ⌊−10·(ln u1 + ln u2)⌋`, at most 80 (mean ~21).
    public mutating func length() -> Int {
        min(80, 1 + Int(-10 * (log(1 - uniform()) + log(1 - uniform()))))
    }

    /// A Zipf-like id in `0..<vocab`.
    public mutating func id(vocab: Int) -> Int { min(vocab - 1, Int(pow(Double(vocab), uniform())) - 1) }

    /// A sentence of `length()` ids in `0..<vocab`.
    public mutating func sentence(vocab: Int) -> [Int] { (0..<length()).map { _ in id(vocab: vocab) } }

    /// `count` tagged sentences over `vocab` words spelt by `syntheticWord` and `tags`
    /// tags `T0`…: word k is tagged `T(k % tags)`, so the tags can be learnt.
    public mutating func tagged(count: Int, vocab: Int, tags: Int) -> [TaggedSentence] {
        (0..<count).map { _ in
            let ids = sentence(vocab: vocab)
            return TaggedSentence(words: ids.map(syntheticWord), tags: ids.map { "T\($0 % tags)" })
        }
    }
}

/// The spelling of synthetic word `k`: 4 to 10 lower-case letters (k in base 26, then
/// padding), distinct for distinct k below 26⁴.
///
///     syntheticWord(0)    // "aaaa"
public func syntheticWord(_ k: Int) -> String {
    let letters = Array("abcdefghijklmnopqrstuvwxyz")
    var n = k, word: [Character] = []
    for _ in 0..<(4 + k % 7) { word.append(letters[n % 26]); n /= 26 }
    return String(word)
}
