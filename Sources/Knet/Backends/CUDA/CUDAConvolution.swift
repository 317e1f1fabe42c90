// Convolution and pooling on the GPU (own kernels: im2col/col2im + cuBLAS, pooling kernels).

extension CUDABackend {
    func convolution(_ w: Tensor, _ x: Tensor, into y: Tensor, _ g: ConvGeometry, alpha: Double) {
        knetFail("conv4 on \(device): not implemented on the GPU yet")
    }
    func convolutionBackwardData(_ w: Tensor, _ dy: Tensor, into dx: Tensor, _ g: ConvGeometry, alpha: Double) {
        knetFail("conv4 gradient on \(device): not implemented on the GPU yet")
    }
    func convolutionBackwardFilter(_ x: Tensor, _ dy: Tensor, into dw: Tensor, _ g: ConvGeometry, alpha: Double) {
        knetFail("conv4 gradient on \(device): not implemented on the GPU yet")
    }
    func poolForward(_ v: Tensor, selector: Tensor, into y: Tensor, _ d: PoolDescriptor) {
        knetFail("pool on \(device): not implemented on the GPU yet")
    }
    func poolBackward(_ dy: Tensor, selector: Tensor?, into dx: Tensor, _ d: PoolDescriptor) {
        knetFail("pool gradient on \(device): not implemented on the GPU yet")
    }
}
