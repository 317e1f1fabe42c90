// CUDA C of the GPU backend's recurrent-cell kernels.

extension CUDAKernelSource {
    /// The recurrent module (LSTM and GRU cells).
    static let recurrent = CUDAModule(name: "recurrent", source: "// no kernels yet\n", kernels: [])
}
