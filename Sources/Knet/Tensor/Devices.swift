// Moving values between devices (Knet's `KnetArray(x)` / `Array(x)`, PyTorch's `.to`).
// Copies are explicit: an op never moves data by itself, and mixing devices stops.

extension Tensor {
    /// This tensor on `device`: itself when already there, else a copy. Differentiable:
    /// under `grad` the gradient flows back to the original device.
    ///
    ///     let xg = x.to(.gpu(0))
    public func to(_ device: Device) -> Tensor {
        if device == self.device { return self }
        let source = self.device
        return apply(Primitive("to(\(device))", forward: { xs in xs[0].transferred(to: device) },
                               gradients: [{ dy, _, _ in dy.to(source) }]), [self])
    }

    /// This tensor on the active GPU (`gpu()`); stops when no GPU is active.
    ///
    ///     let w = Tensor.randn(10, 784).gpu()
    public func gpu() -> Tensor { to(.gpu(activeGPUOrFail())) }

    /// This tensor on GPU `n`.
    ///
    ///     let w = Tensor.randn(10, 784).gpu(1)
    public func gpu(_ n: Int) -> Tensor { to(.gpu(n)) }

    /// This tensor in host memory.
    ///
    ///     let values = w.cpu()
    public func cpu() -> Tensor { to(.cpu) }
}

extension Params {
    /// Every tensor of this container (an array, a dictionary, an `RNN`, your `Params`
    /// struct) moved to `device`, in the same structure.
    ///
    ///     var model = [Tensor.randn(10, 784) * 0.1, Tensor.zeros(10, 1)].to(.gpu(0))
    public func to(_ device: Device) -> Self { mapTensors { $0.to(device) } }

    /// Every tensor moved to the active GPU (`gpu()`).
    ///
    ///     let w = [Tensor.randn(10, 784), .zeros(10, 1)].gpu()
    public func gpu() -> Self { to(.gpu(activeGPUOrFail())) }

    /// Every tensor moved to GPU `n`.
    public func gpu(_ n: Int) -> Self { to(.gpu(n)) }

    /// Every tensor moved to host memory.
    public func cpu() -> Self { to(.cpu) }
}

/// `gpu()`, or a stop with a message when no GPU is active.
private func activeGPUOrFail() -> Int {
    let n = gpu()
    knetCheck(n >= 0, "gpu(): no GPU is active (no CUDA device here, or gpu(-1)/KNET_GPU=-1 chose the CPU)")
    return n
}
