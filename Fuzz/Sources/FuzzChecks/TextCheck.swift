import Knet

/// Text to a character vocabulary (`textCorpus(bytes:)`, the CharLM's corpus; the
/// Shakespeare splitter; a vocabulary saved as a string): encoding then decoding gives
/// the text back, the vocabulary is its distinct characters by falling frequency, and a
/// saved symbol string makes a vocabulary exactly when no symbol repeats.
public func checkText(_ bytes: [UInt8]) {
    let bom: [UInt8] = [0xef, 0xbb, 0xbf]
    let scalars = Array(String(decoding: bytes.starts(with: bom) ? bytes[3...] : bytes[...], as: UTF8.self).unicodeScalars)
    let (trn, tst, vocab) = textCorpus(bytes: bytes, testFraction: fraction(bytes))
    expect(trn.count + tst.count == scalars.count, "\(trn.count) + \(tst.count) codes for \(scalars.count) characters")
    expect(Array((vocab.decode(trn) + vocab.decode(tst)).unicodeScalars) == scalars, "decode(encode(text)) is not the text")
    expect(Set(vocab.chars) == Set(scalars) && vocab.count == vocab.chars.count, "the vocabulary is not the text's characters")
    var counts = [Int](repeating: 0, count: vocab.count)
    for k in trn + tst { counts[k] += 1 }
    expect(zip(counts, counts.dropFirst()).allSatisfy { $0 >= $1 }, "codes are not ordered by falling frequency: \(counts)")
    expect(CharVocabulary(symbols: vocab.chars) == vocab, "the vocabulary does not rebuild from its symbols")
    expect((CharVocabulary(symbols: scalars) != nil) == (Set(scalars).count == scalars.count),
           "CharVocabulary(symbols:) accepts repeated symbols or refuses distinct ones")
    let notices: (DataError) -> Bool = { if case .corrupt = $0 { return true } else { return false } }
    if let works = result("shakespeare(bytes:)", throwing: DataError.self, accepted: notices, { try shakespeare(bytes: bytes) }) {
        let text = works.vocab.decode(works.trn) + works.vocab.decode(works.tst)
        expect(text.unicodeScalars.count <= scalars.count, "the works hold more characters than the etext")
    }
}
