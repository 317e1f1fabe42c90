// DyNet's bilstm-tagger and bilstm-tagger-withchar (dynet-benchmark, Neubig et al. 2017):
// a part-of-speech tagger trained one sentence at a time. Word vectors (128) go through a
// forward and a backward LSTM (50 each); each word's concatenated 100-d state goes
// through a tanh layer of 32 and a linear layer to tag scores (no biases, as DyNet's
// `O * tanh(H * x)`). Words seen at most 5 times in training are rare: the plain tagger
// gives them the `_UNK_` embedding, the char variant a character BiLSTM (embedding 20,
// 64 + 64 units over `<*>` + the word's characters + `<*>`) whose two final states,
// concatenated, replace the 128-d word embedding.

/// The tagger's vocabularies, built from the training sentences as dynet-benchmark does:
/// every training word (then `_UNK_`), every tag, every character (then the padding
/// `<*>` and `_UNK_` for characters never seen), and the word counts that decide rarity.
///
///     let vocab = TaggerVocabulary(trainingSentences)
///     let example = vocab.encode(trainingSentences[0])
public struct TaggerVocabulary: Sendable {
    /// Training words then `_UNK_`.
    public let words: Vocabulary
    /// Tags.
    public let tags: Vocabulary
    /// Characters of the training words, then `<*>` (padding) and `_UNK_`.
    public let chars: Vocabulary
    /// How often each training word occurs.
    public let counts: [String: Int]
    /// Words seen more than this many times use their own embedding (DyNet's 5).
    public let rareCount: Int

    /// The vocabularies of `sentences`.
    public init(_ sentences: [TaggedSentence], rareCount: Int = 5) {
        var counts: [String: Int] = [:], words = Vocabulary(), tags = Vocabulary(), chars = Vocabulary()
        for s in sentences {
            for (word, tag) in zip(s.words, s.tags) {
                counts[word, default: 0] += 1
                words.add(word); tags.add(tag)
                for c in word { chars.add(String(c)) }
            }
        }
        words.add("_UNK_"); chars.add("<*>"); chars.add("_UNK_")
        (self.words, self.tags, self.chars, self.counts, self.rareCount) = (words, tags, chars, counts, rareCount)
    }

    /// Whether `word` is rare (seen at most `rareCount` times in training, or never).
    public func isRare(_ word: String) -> Bool { counts[word, default: 0] <= rareCount }

    /// `sentence` as ids: word ids (`_UNK_` for rare words), each rare word's position and
    /// character ids (`<*>`, characters, `<*>`), and tag ids. A tag never seen in
    /// training throws `DataError.corrupt` naming it (a tagger cannot predict it).
    public func encode(_ sentence: TaggedSentence) throws -> TaggerExample {
        let unk = words["_UNK_"]!, pad = chars["<*>"]!, unknownChar = chars["_UNK_"]!
        var example = TaggerExample(words: [], rare: [], rareChars: [], tags: [])
        for (i, (word, tag)) in zip(sentence.words, sentence.tags).enumerated() {
            guard let t = tags[tag] else {
                throw DataError.corrupt(path: "tagged sentence", reason: "tag '\(tag)' of word '\(word)' is not among the training tags")
            }
            example.tags.append(t)
            if isRare(word) {
                example.words.append(unk)
                example.rare.append(i)
                example.rareChars.append([pad] + word.map { chars[String($0)] ?? unknownChar } + [pad])
            } else {
                example.words.append(words[word]!)
            }
        }
        return example
    }
}

/// One sentence for `BiLSTMTagger`, as ids (see `TaggerVocabulary.encode`).
public struct TaggerExample: Sendable, Equatable {
    /// Word ids, `_UNK_` for rare words.
    public var words: [Int]
    /// The positions of the rare words.
    public var rare: [Int]
    /// Each rare word's character ids, `<*>` on both ends.
    public var rareChars: [[Int]]
    /// Tag ids.
    public var tags: [Int]
}

/// The tagger of bilstm-tagger (`chars: nil`) and bilstm-tagger-withchar (`chars:` the
/// character vocabulary size): see the file's header for the architecture.
///
///     let tagger = BiLSTMTagger(words: vocab.words.count, tags: vocab.tags.count, chars: vocab.chars.count)
///     let trainer = Trainer(tagger, Adam())
///     let (loss, words) = taggerTrain(trainer, examples)
public final class BiLSTMTagger: Params {
    /// Word embedding `[128, words]`.
    public let wordEmbed: Embed
    /// Character embedding `[20, chars]` (char variant only).
    public let charEmbed: Embed?
    /// The character BiLSTM, 64 + 64 (char variant only).
    public let charLSTM: LSTM?
    /// The word BiLSTM, 50 + 50.
    public let lstm: LSTM
    /// `tanh(H x)`, 100 → 32.
    public let hidden: Dense
    /// `O h`, 32 → tags.
    public let output: Dense

    /// A tagger over `words` words and `tags` tags, with a character BiLSTM for rare words
    /// when `chars` (the character vocabulary size) is given; dynet-benchmark's sizes by default.
    public init(words: Int, tags: Int, chars: Int? = nil, embed: Int = 128, hidden: Int = 50, mlp: Int = 32,
                charEmbed: Int = 20, initialization: Initialization = .knet, dtype: DType = .float32) {
        knetCheck(embed % 2 == 0 || chars == nil, "BiLSTMTagger: the char BiLSTM's two halves need an even embed, got \(embed)")
        wordEmbed = Embed(vocab: words, dim: embed, initialization: initialization, dtype: dtype)
        self.charEmbed = chars.map { Embed(vocab: $0, dim: charEmbed, initialization: initialization, dtype: dtype) }
        charLSTM = chars.map { _ in
            LSTM(hidden: embed / 2, bidirectional: true, initialization: initialization).build(for: [charEmbed, 1], dtype: dtype)
        }
        lstm = LSTM(hidden: hidden, bidirectional: true, initialization: initialization).build(for: [embed, 1], dtype: dtype)
        self.hidden = Dense(in: 2 * hidden, out: mlp, activation: .tanh, bias: false, initialization: initialization, dtype: dtype)
        output = Dense(in: mlp, out: tags, bias: false, initialization: initialization, dtype: dtype)
    }

    private init(_ w: Embed, _ ce: Embed?, _ cl: LSTM?, _ l: LSTM, _ h: Dense, _ o: Dense) {
        (wordEmbed, charEmbed, charLSTM, lstm, hidden, output) = (w, ce, cl, l, h, o)
    }

    /// The PyTorch modules, in `mapTensors` order: `word_embed`, (`char_embed`,
    /// `char_lstm`,) `lstm`, `hidden`, `output` (Linear without bias).
    public var pytorchLayers: [PyTorch.Layer] {
        [.embedding("word_embed")] + (charLSTM.map { [.embedding("char_embed"), .rnn("char_lstm", $0.rnn!)] } ?? [])
            + [.rnn("lstm", lstm.rnn!), .dense("hidden", bias: false), .dense("output", bias: false)]
    }

    /// The word vectors `[128, T]` of `x`: embeddings, or for rare words in the char
    /// variant the char BiLSTM's final forward and backward states (all rare words of
    /// the sentence in one packed run, longest first).
    public func wordVectors(_ x: TaggerExample) -> Tensor {
        guard let charEmbed, let charLSTM, !x.rare.isEmpty else { return wordEmbed(indices: x.words) }
        let rareSet = Set(x.rare)
        let frequent = x.words.indices.filter { !rareSet.contains($0) }
        let order = x.rare.indices.sorted { (x.rareChars[$0].count, $1) > (x.rareChars[$1].count, $0) }
        let longest = x.rareChars[order[0]].count
        let batchSizes = (0..<longest).map { t in order.prefix { x.rareChars[$0].count > t }.count }
        var packed: [Int] = []
        for (t, b) in batchSizes.enumerated() { packed += order.prefix(b).map { x.rareChars[$0][t] } }
        let r = charLSTM.rnn!
        let hy = rnnforw(r, r.w, charEmbed(indices: packed), batchSizes: batchSizes).hy     // [64, rare, 2]
        let rareVectors = vcat(hy[.all, .all, 0], hy[.all, .all, 1])                         // longest first
        let vectors = frequent.isEmpty ? rareVectors : hcat(wordEmbed(indices: frequent.map { x.words[$0] }), rareVectors)
        var column = [Int](repeating: 0, count: x.words.count)
        for (j, i) in frequent.enumerated() { column[i] = j }
        for (rank, k) in order.enumerated() { column[x.rare[k]] = frequent.count + rank }
        return vectors[.all, column]
    }

    /// Tag scores `[tags, T]`.
    public func scores(_ x: TaggerExample) -> Tensor {
        let v = wordVectors(x), t = x.words.count
        let y = lstm(reshape(v, [v.shape[0], 1, t]))
        return output(hidden(reshape(y, [y.shape[0], t])))
    }

    /// The mean negative log-likelihood of `x`'s tags.
    public func loss(_ x: TaggerExample) -> Tensor { nll(scores(x), x.tags) }

    /// A copy with every tensor transformed.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> BiLSTMTagger {
        BiLSTMTagger(try wordEmbed.mapTensors(transform), try charEmbed.mapTensors(transform), try charLSTM.mapTensors(transform),
                     try lstm.mapTensors(transform), try hidden.mapTensors(transform), try output.mapTensors(transform))
    }
}

/// One training step per sentence of `examples` with `trainer` (dynet-benchmark: Adam,
/// lr 0.001, no clipping, no autobatching); returns the mean loss per word over all the
/// sentences and the words trained on.
///
///     let (loss, words) = taggerTrain(trainer, examples)
public func taggerTrain(_ trainer: Trainer<BiLSTMTagger>, _ examples: [TaggerExample]) -> (loss: Double, words: Int) {
    var total = 0.0, words = 0
    for (loss, x) in zip(trainer.minimize({ m, x, _ in m.loss(x) }, examples.map { ($0, ()) }), examples) {
        total += loss * Double(x.words.count)
        words += x.words.count
    }
    return (total / Double(max(words, 1)), words)
}

/// The tagging accuracy of `model` on `examples` (no training).
///
///     let acc = taggerAccuracy(tagger, devExamples)
public func taggerAccuracy(_ model: BiLSTMTagger, _ examples: [TaggerExample]) -> Double {
    var correct = 0.0, words = 0
    for x in examples {
        correct += accuracy(model.scores(x), x.tags) * Double(x.tags.count)
        words += x.tags.count
    }
    return correct / Double(max(words, 1))
}
