#if canImport(Glibc)
import Glibc
#endif

// The IMDB movie reviews (Maas et al. 2011, https://ai.stanford.edu/~amaas/data/sentiment/):
// the extracted `aclImdb_v1.tar.gz` is a folder `aclImdb` with `train/pos`, `train/neg`,
// `test/pos`, `test/neg`, one review per `.txt` file (12,500 in each folder). They are
// turned into fixed-length id sequences the way Keras's `imdb.load_data(num_words:)`
// followed by `pad_sequences(maxlen:)` gives them (see `IMDBVocabulary`).

/// The folder the IMDB reviews are looked for in, under a data folder.
public let imdbFolder = "aclImdb"

/// The words of one review: the UTF-8 text lowercased and split into maximal runs of
/// letters, digits and apostrophes (Unicode letters and digits; everything else, HTML
/// tags' `<`, `/`, `>` included, separates words, so `<br />` leaves the word "br" as it
/// does in Keras's word index). `name` stands for the file in errors. Throws
/// `DataError.corrupt` when the bytes are not valid UTF-8.
///
///     try imdbWords(bytes: Array("It's GREAT!<br />10/10".utf8))   // ["it's", "great", "br", "10", "10"]
public func imdbWords(bytes: [UInt8], name: String = "<bytes>") throws -> [String] {
    var words: [String] = [], word = String.UnicodeScalarView()
    var decoder = UTF8(), iterator = bytes.makeIterator()
    func endWord() { if !word.isEmpty { words.append(String(word)); word = String.UnicodeScalarView() } }
    decoding: while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let s):
            if s.isASCII {
                let v = UInt8(s.value)
                switch v {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "'"):
                    word.append(s)
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): word.append(Unicode.Scalar(v + 32))
                default: endWord()
                }
            } else if s.properties.isAlphabetic || s.properties.numericType != nil {
                word.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                endWord()
            }
        case .emptyInput: break decoding
        case .error:
            throw DataError.corrupt(path: name, reason: "not valid UTF-8 text")
        }
    }
    endWord()
    return words
}

/// The vocabulary of the IMDB sequences, Keras's `imdb.load_data(num_words: size)` with its
/// defaults `start_char=1, oov_char=2, index_from=3`: id 0 is padding, 1 marks the start
/// of a review, 2 stands for every word outside the vocabulary, 3 is never used (Keras's
/// gap: its word ranks start at 1 and are shifted by 3), and the word of frequency rank r
/// (r = 1 the most frequent) is id r + 3 — so ids stay below `size` and the vocabulary
/// holds the `size − 4` most frequent words (29,996 for `size` 30,000). Frequencies are
/// counted over the training reviews only; ties go to the word that sorts first.
///
///     let v = IMDBVocabulary(counting: [["a", "b", "a"]], size: 10)
///     v.id("a")                                  // 4
///     v.sequence(["b", "c"], length: 4)          // [0, 1, 5, 2]
public struct IMDBVocabulary: Sendable {
    /// The padding id.
    public static let padding = 0
    /// The id that starts every review.
    public static let start = 1
    /// The id of a word outside the vocabulary.
    public static let unknown = 2
    /// The id of the most frequent word (3 is unused, as in Keras).
    public static let firstWord = 4

    /// The ids' upper bound (the model's embedding size): every id is in `0..<size`.
    public let size: Int
    /// The words by frequency rank: `words[i]` has id `i + firstWord`.
    public let words: [String]
    private let ids: [String: Int]

    /// The `size − 4` most frequent words of `reviews` (the training set's word lists).
    public init<S: Sequence>(counting reviews: S, size: Int) where S.Element == [String] {
        knetCheck(size > Self.firstWord, "IMDBVocabulary: size must exceed \(Self.firstWord), got \(size)")
        var counts: [String: Int] = [:]
        for review in reviews { for word in review { counts[word, default: 0] += 1 } }
        let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        self.size = size
        words = ranked.prefix(size - Self.firstWord).map(\.key)
        ids = Dictionary(uniqueKeysWithValues: words.enumerated().map { ($0.element, $0.offset + Self.firstWord) })
    }

    /// The id of `word` (`unknown` outside the vocabulary).
    public func id(_ word: String) -> Int { ids[word] ?? Self.unknown }

    /// A review as `length` ids, as Keras's `pad_sequences(maxlen: length)` with its
    /// defaults leaves it: `[start] + ids`, truncated by dropping ids from the front (the
    /// start id first) and padded with 0 in front.
    public func sequence(_ review: [String], length: Int) -> [Int] {
        let all = [Self.start] + review.map(id)
        return all.count >= length ? Array(all.suffix(length))
            : [Int](repeating: Self.padding, count: length - all.count) + all
    }
}

/// IMDB reviews as id sequences: `xtrn` `[length, Ntrn]` and `xtst` `[length, Ntst]`
/// (Float32 ids, one review per column, batch last: a minibatch is `[length, B]`),
/// labels 1 for a positive review and 0 for a negative one, and the vocabulary. Reviews
/// come in file-name order, the negative ones first; shuffle the minibatches.
public struct IMDBData {
    /// Training sequences `[length, Ntrn]`.
    public let xtrn: Tensor
    /// Training labels (1 positive, 0 negative).
    public let ytrn: [Int]
    /// Test sequences `[length, Ntst]`.
    public let xtst: Tensor
    /// Test labels.
    public let ytst: [Int]
    /// The vocabulary built from the training reviews.
    public let vocabulary: IMDBVocabulary

    /// The data from the words of labelled reviews: the vocabulary of `size` ids is
    /// counted on `train`, every review becomes `length` ids.
    ///
    ///     let d = IMDBData(train: [(["great"], 1), (["bad"], 0)], test: [(["great", "film"], 1)], size: 10, length: 5)
    public init(train: [(words: [String], label: Int)], test: [(words: [String], label: Int)],
                size: Int = 30_000, length: Int = 150) {
        knetCheck(length > 0, "IMDBData: length must be positive, got \(length)")
        let vocabulary = IMDBVocabulary(counting: train.lazy.map(\.words), size: size)
        func tensor(_ reviews: [(words: [String], label: Int)]) -> Tensor {
            Tensor(reviews.flatMap { vocabulary.sequence($0.words, length: length).map(Float.init) },
                   shape: [length, reviews.count])
        }
        (xtrn, ytrn) = (tensor(train), train.map(\.label))
        (xtst, ytst) = (tensor(test), test.map(\.label))
        self.vocabulary = vocabulary
    }
}

/// The IMDB reviews of `<folder>/aclImdb` as `IMDBData`: the vocabulary of `size` ids
/// (Keras's `num_words`, default 30,000) counted on `train/`, every review `length` ids
/// (default 150). Throws `DataError`: `.notFound` for a missing `pos`/`neg` folder (with
/// the download address), `.corrupt` for one without `.txt` files or a review that is
/// not UTF-8, `.io` for an unreadable file.
///
///     let d = try imdb(folder: "data")                         // data/aclImdb/{train,test}/{pos,neg}/*.txt
///     let batches = minibatch(d.xtrn, d.ytrn, 64, shuffle: true)
public func imdb(folder: String, size: Int = 30_000, length: Int = 150) throws -> IMDBData {
    func reviews(_ part: String) throws -> [(words: [String], label: Int)] {
        try [("neg", 0), ("pos", 1)].flatMap { sub, label in
            try imdbReviewFiles("\(folder)/\(imdbFolder)/\(part)/\(sub)", name: "\(imdbFolder)/\(part)/\(sub)").map { path in
                (try imdbWords(bytes: try readDataFile(path), name: path), label)
            }
        }
    }
    return IMDBData(train: try reviews("train"), test: try reviews("test"), size: size, length: length)
}

/// The `.txt` files of `directory`, sorted by name.
private func imdbReviewFiles(_ directory: String, name: String) throws -> [String] {
    guard let dir = opendir(directory) else {
        throw DataError.notFound(file: name, searched: [directory], destination: directory,
                                 urls: ["https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz (extract it)"],
                                 attempts: [])
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let entryName = withUnsafePointer(to: &entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { String(cString: $0) }
        }
        if entryName.hasSuffix(".txt") && !entryName.hasPrefix(".") { names.append(entryName) }
    }
    guard !names.isEmpty else { throw DataError.corrupt(path: directory, reason: "no .txt reviews in the folder") }
    return names.sorted().map { "\(directory)/\($0)" }
}
