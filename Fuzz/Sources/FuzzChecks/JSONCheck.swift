@testable import Knet

/// The strict JSON reader of safetensors headers (`JSONParser`): either a `Failure`
/// pointing inside the input, or a value that, written out again, parses to the same
/// value.
public func checkJSON(_ bytes: [UInt8]) {
    guard let value = result("JSONParser.parse", throwing: JSONParser.Failure.self,
                             accepted: { $0.offset >= 0 && $0.offset <= bytes.count }, { try JSONParser.parse(bytes) })
    else { return }
    let text = Array(written(value).utf8)
    let again = result("JSONParser.parse of its own output", throwing: Never.self) { try JSONParser.parse(text) }
    expect(again.map { same(value, $0) } == true, "\(String(decoding: text, as: UTF8.self)) does not parse back to itself")
}

/// `value` as JSON text (strings through `jsonQuoted`, the safetensors writer's quoting).
private func written(_ value: JSON) -> String {
    switch value {
    case .object(let members): return "{" + members.map { jsonQuoted($0.key) + ":" + written($0.value) }.joined(separator: ",") + "}"
    case .array(let items): return "[" + items.map(written).joined(separator: ",") + "]"
    case .string(let s): return jsonQuoted(s)
    case .number(let n): return n
    case .bool(let b): return b ? "true" : "false"
    case .null: return "null"
    }
}

/// Structural equality (strings by Unicode scalars, numbers by their text).
private func same(_ a: JSON, _ b: JSON) -> Bool {
    switch (a, b) {
    case let (.object(x), .object(y)):
        return x.count == y.count && zip(x, y).allSatisfy { Array($0.key.unicodeScalars) == Array($1.key.unicodeScalars) && same($0.value, $1.value) }
    case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    case let (.string(x), .string(y)): return Array(x.unicodeScalars) == Array(y.unicodeScalars)
    case let (.number(x), .number(y)): return x == y
    case let (.bool(x), .bool(y)): return x == y
    case (.null, .null): return true
    default: return false
    }
}
