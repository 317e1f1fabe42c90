// CUDA C of the GPU backend's convolution and pooling kernels.

extension CUDAKernelSource {
    /// The convolution and pooling module.
    static let convolution = CUDAModule(name: "convolution", source: "// no kernels yet\n", kernels: [])
}
