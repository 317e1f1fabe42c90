// The recurrent kernels on the GPU: fused LSTM/GRU cells and the whole-sequence LSTM.

extension CUDABackend {
    func lstmCell(_ g: Tensor, _ c: Tensor) -> Tensor { knetFail("lstm cell on \(device): not implemented on the GPU yet") }
    func gruCell(_ x: Tensor, _ q: Tensor, _ h: Tensor) -> Tensor { knetFail("gru cell on \(device): not implemented on the GPU yet") }
    func lstmSequenceForward(_ pre: Tensor, _ bias: Tensor, _ wh: Tensor, _ state0: Tensor,
                             steps: [Int], reverse: Bool) -> (out: Tensor, reserve: LSTMReserve) {
        knetFail("lstm on \(device): not implemented on the GPU yet")
    }
    func lstmSequenceBackward(_ reserve: LSTMReserve, _ wh: Tensor, _ dout: Tensor) -> (dpre: Tensor, dwh: Tensor, dstate0: Tensor) {
        knetFail("lstm gradient on \(device): not implemented on the GPU yet")
    }
}
