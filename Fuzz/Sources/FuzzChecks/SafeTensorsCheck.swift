import Knet

/// The safetensors reader (`load(bytes:)`: header, offsets, every dtype's conversion):
/// either a `SafeTensorsError` or tensors whose element counts match their shapes and
/// whose memory is at most 4 bytes per byte of the file, as `load` promises.
public func checkSafeTensors(_ bytes: [UInt8]) {
    guard let (tensors, _) = result("load(bytes:)", throwing: SafeTensorsError.self, { try load(bytes: bytes, name: "fuzz") })
    else { return }
    var memory = 0
    for (name, t) in tensors {
        expect(t.count == t.shape.reduce(1, *), "tensor \(name): \(t.count) elements for shape \(t.shape)")
        memory += t.count * t.dtype.size
    }
    expect(memory <= 4 * bytes.count, "\(memory) bytes of tensors from a \(bytes.count)-byte file")
}
