import Foundation
import XCTest
@testable import Knet

/// The Knet versions of the models in Fixtures/interop/make_fixtures.py, and its files.
enum InteropFixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/interop")

    /// The path of fixture file `name`.
    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// The state_dict PyTorch saved for model `name`.
    static func stateDict(_ name: String) throws -> [String: Tensor] { try load(path(name + ".safetensors")).tensors }

    /// The inputs and PyTorch outputs of model `name`.
    static func io(_ name: String) throws -> [String: Tensor] { try load(path(name + "_io.safetensors")).tensors }

    /// The recurrent models: file name and Knet configuration.
    static let rnns: [(name: String, rnn: RNN)] = [
        ("lstm1", RNN(3, 4, rnnType: .lstm, dtype: .float64)),
        ("lstm2", RNN(3, 4, rnnType: .lstm, numLayers: 2, bidirectional: true, dtype: .float64)),
        ("gru1", RNN(3, 4, rnnType: .gru, dtype: .float64)),
        ("gru2", RNN(3, 4, rnnType: .gru, numLayers: 2, bidirectional: true, dtype: .float64)),
    ]
}

/// make_fixtures.py's CNN as Knet parameters: conv1 [3,3,1,3], bn1 [6], conv2 [3,2,3,4]
/// (PyTorch's kernel (kH=2, kW=3)), fc1 [5,8], fc2 [3,5], with biases.
enum InteropCNN {
    /// Zero parameters of the right shapes (bn1 as bnparams).
    static func template(dtype: DType = .float64) -> [Tensor] {
        [[3, 3, 1, 3], [1, 1, 3, 1], [6], [3, 2, 3, 4], [1, 1, 4, 1], [5, 8], [5, 1], [3, 5], [3, 1]]
            .map { Tensor.zeros(shape: $0, dtype: dtype) }
    }

    /// The layer list, for kernels used with conv4 `mode`.
    static func layers(mode: Int, moments: BNMoments?) -> [PyTorch.Layer] {
        [.conv("conv1", mode: mode), .batchNorm("bn1", moments: moments), .conv("conv2", mode: mode),
         .dense("fc1"), .dense("fc2")]
    }

    /// The forward pass in inference mode: x [12, 9, 1, N] (PyTorch [N, 1, 9, 12]) → [3, N].
    static func forward(_ w: [Tensor], _ m: BNMoments, _ x: Tensor, mode: Int) -> Tensor {
        var a = conv4(w[0], x, mode: mode) .+ w[1]
        a = pool(relu(batchnorm(a, m, w[2], training: false)))
        a = pool(relu(conv4(w[3], a, padding: [0, 1], mode: mode) .+ w[4]))   // PyTorch padding=(1, 0)
        a = relu(w[5] * mat(a) .+ w[6])
        return w[7] * a .+ w[8]
    }
}

/// Looks up `indices` (Float64 values, any shape) in an embedding `w` [dim, vocab]: [dim, indices' shape...].
func embed(_ w: Tensor, _ indices: Tensor) -> Tensor {
    reshape(w[.all, [Double](indices).map { Int($0) }], [w.shape[0]] + indices.shape)
}

/// Asserts two tensors have the same shape and exactly the same values.
func assertIdentical(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
    XCTAssertEqual([Double](a), [Double](b), "\(what): values", file: file, line: line)
}

/// A fresh temporary folder, removed by the returned closure.
func temporaryFolder(_ prefix: String) throws -> (path: String, remove: () -> Void) {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return (url.path, { try? FileManager.default.removeItem(at: url) })
}
