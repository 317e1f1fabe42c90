import Knet

/// The Housing table reader (`housing(bytes:)`: whitespace- or comma-separated, header
/// lines skipped): either `DataError.corrupt` or `x` `[13, n]` and `y` `[1, n]` of finite
/// Float32 values (a normalized feature or a target that is not finite would poison
/// training silently).
public func checkHousing(_ bytes: [UInt8]) {
    let accepted: (DataError) -> Bool = { if case .corrupt = $0 { return true } else { return false } }
    guard let (x, y) = result("housing(bytes:)", throwing: DataError.self, accepted: accepted,
                              { try housing(bytes: bytes, name: "fuzz") })
    else { return }
    let n = y.count
    expect(n >= 2 && x.shape == [13, n] && y.shape == [1, n], "x \(x.shape), y \(y.shape)")
    expect([Float](x).allSatisfy(\.isFinite), "a normalized feature is not finite")
    expect([Float](y).allSatisfy(\.isFinite), "a target is not finite")
}
