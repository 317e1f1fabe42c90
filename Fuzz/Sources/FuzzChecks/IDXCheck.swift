import Knet

/// The IDX reader (`readIDX(bytes:)`, gzipped or not): either `DataError.corrupt` or an
/// array whose values are exactly the product of its dims, which converts to a tensor.
public func checkIDX(_ bytes: [UInt8]) {
    let accepted: (DataError) -> Bool = { if case .corrupt = $0 { return true } else { return false } }
    guard let a = result("readIDX", throwing: DataError.self, accepted: accepted, { try readIDX(bytes: bytes, name: "fuzz") })
    else { return }
    expect(!a.dims.isEmpty && a.values.count == a.dims.reduce(1, *), "dims \(a.dims) but \(a.values.count) values")
    if a.values.count <= 1 << 16 {
        let t = a.tensor(scale: 1.0 / 255)
        expect(t.count == a.values.count && t.shape == a.dims.reversed(), "tensor \(t.shape) from dims \(a.dims)")
    }
}
