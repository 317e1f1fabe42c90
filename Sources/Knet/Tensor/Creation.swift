extension Tensor {
    /// A tensor of `shape` filled with `value`.
    ///
    ///     let t = Tensor.fill(0.5, shape: [2, 3])
    public static func fill(_ value: Double, shape: [Int], dtype: DType = .float32, device: Device = .current) -> Tensor {
        knetCheck(shape.allSatisfy { $0 >= 0 }, "fill: negative dimension in shape \(shape)")
        let t = Tensor(uninitialized: shape, dtype: dtype, device: device)
        Backend.on(device).fill(t, value)
        return t
    }

    /// Zeros of the given dims: `Tensor.zeros(64, 1)`.
    public static func zeros(_ dims: Int..., dtype: DType = .float32, device: Device = .current) -> Tensor {
        fill(0, shape: dims, dtype: dtype, device: device)
    }
    /// Zeros of `shape`.
    public static func zeros(shape: [Int], dtype: DType = .float32, device: Device = .current) -> Tensor {
        fill(0, shape: shape, dtype: dtype, device: device)
    }
    /// Zeros with the shape, dtype and device of `t`.
    public static func zeros(like t: Tensor) -> Tensor { fill(0, shape: t.shape, dtype: t.dtype, device: t.device) }
    /// Ones of the given dims: `Tensor.ones(3)`.
    public static func ones(_ dims: Int..., dtype: DType = .float32, device: Device = .current) -> Tensor {
        fill(1, shape: dims, dtype: dtype, device: device)
    }
    /// Ones of `shape`.
    public static func ones(shape: [Int], dtype: DType = .float32, device: Device = .current) -> Tensor {
        fill(1, shape: shape, dtype: dtype, device: device)
    }
    /// Ones with the shape, dtype and device of `t`.
    public static func ones(like t: Tensor) -> Tensor { fill(1, shape: t.shape, dtype: t.dtype, device: t.device) }

    private static func random(_ shape: [Int], _ dtype: DType, _ device: Device, _ distribution: RandomDistribution) -> Tensor {
        knetCheck(shape.allSatisfy { $0 >= 0 }, "random: negative dimension in shape \(shape)")
        let t = Tensor(uninitialized: shape, dtype: dtype, device: device)
        RandomSource.shared.fill(t, distribution)
        return t
    }

    /// Uniform random numbers in [0, 1): `Tensor.rand(3, 4)`.
    public static func rand(_ dims: Int..., dtype: DType = .float32, device: Device = .current) -> Tensor {
        rand(shape: dims, dtype: dtype, device: device)
    }
    /// Uniform random numbers in [0, 1) of `shape`.
    public static func rand(shape: [Int], dtype: DType = .float32, device: Device = .current) -> Tensor {
        random(shape, dtype, device, .uniform(scale: 1, shift: 0))
    }

    /// Standard normal random numbers: `Tensor.randn(64, 784) * 0.1`.
    public static func randn(_ dims: Int..., dtype: DType = .float32, device: Device = .current) -> Tensor {
        randn(shape: dims, dtype: dtype, device: device)
    }
    /// Standard normal random numbers of `shape`.
    public static func randn(shape: [Int], dtype: DType = .float32, device: Device = .current) -> Tensor {
        random(shape, dtype, device, .normal(mean: 0, std: 1))
    }

    /// Normal random numbers with the given mean and standard deviation (Knet's
    /// `gaussian`, default std 0.01).
    ///
    ///     let w = Tensor.gaussian(10, 784, std: 0.01)
    public static func gaussian(_ dims: Int..., mean: Double = 0, std: Double = 0.01, dtype: DType = .float32,
                                device: Device = .current) -> Tensor {
        random(dims, dtype, device, .normal(mean: mean, std: std))
    }

    /// (fanin, fanout) as Knet.jl counts them: fanout = first dim and fanin = second for
    /// a matrix, fanin = length for a vector. For conv filters `[k…, I, O]` fanin is the
    /// length over O; fanout is O (the old `xavier`) or, with `receptiveFanout` (Knet's
    /// `xavier_uniform`/`xavier_normal`, PyTorch's), the length over I.
    private static func fans(_ shape: [Int], receptiveFanout: Bool) -> (fanin: Int, fanout: Int) {
        let n = shape.reduce(1, *)
        switch shape.count {
        case 0, 1: return (n, 1)
        case 2: return (shape[1], shape[0])
        default:
            let out = shape[shape.count - 1], input = shape[shape.count - 2]
            return (n / Swift.max(out, 1), receptiveFanout ? n / Swift.max(input, 1) : out)
        }
    }

    private static func glorotScale(_ shape: [Int], _ numerator: Double, _ gain: Double,
                                    receptiveFanout: Bool = true) -> Double {
        let (fanin, fanout) = fans(shape, receptiveFanout: receptiveFanout)
        return gain * (numerator / Double(Swift.max(fanin + fanout, 1))).squareRoot()
    }

    /// Knet.jl's `xavier`: uniform in ±gain·sqrt(2/(fanin+fanout)) (see `fans`: for a
    /// matrix `[out, in]`; for conv filters fanout is the last dim).
    ///
    ///     let w = Tensor.xavier(64, 784)
    public static func xavier(_ dims: Int..., gain: Double = 1, dtype: DType = .float32, device: Device = .current) -> Tensor {
        xavier(shape: dims, gain: gain, dtype: dtype, device: device)
    }

    /// Knet.jl's `xavier` of `shape`.
    public static func xavier(shape: [Int], gain: Double = 1, dtype: DType = .float32,
                                 device: Device = .current) -> Tensor {
        let s = glorotScale(shape, 2, gain, receptiveFanout: false)
        return random(shape, dtype, device, .uniform(scale: 2 * s, shift: -s))
    }

    /// Glorot uniform (Knet.jl's `xavier_uniform`, PyTorch's `xavier_uniform_`):
    /// uniform in ±gain·sqrt(6/(fanin+fanout)).
    ///
    ///     let w = Tensor.xavierUniform(shape: [64, 784])
    public static func xavierUniform(shape: [Int], gain: Double = 1, dtype: DType = .float32,
                                 device: Device = .current) -> Tensor {
        let s = glorotScale(shape, 6, gain)
        return random(shape, dtype, device, .uniform(scale: 2 * s, shift: -s))
    }

    /// Glorot normal (Knet.jl's `xavier_normal`): normal with standard deviation
    /// gain·sqrt(2/(fanin+fanout)).
    ///
    ///     let w = Tensor.xavierNormal(shape: [64, 784])
    public static func xavierNormal(shape: [Int], gain: Double = 1, dtype: DType = .float32,
                                    device: Device = .current) -> Tensor {
        let s = glorotScale(shape, 2, gain)
        return random(shape, dtype, device, .normal(mean: 0, std: s))
    }

    /// Bilinear-interpolation filters for initialising a deconvolution that upsamples
    /// by `factor` (Knet's `bilinear`, after FCN's `upsample_filt`): shape
    /// `[k, k, channels, channels]` with `k = 2·factor − factor % 2`, the filter on the
    /// channel diagonal and zeros elsewhere.
    ///
    ///     let w = Tensor.bilinear(factor: 2, channels: 3)   // [4, 4, 3, 3]
    public static func bilinear(factor: Int, channels: Int, dtype: DType = .float32, device: Device = .current) -> Tensor {
        knetCheck(factor >= 1 && channels >= 1, "bilinear: factor \(factor) and channels \(channels) must be positive")
        let k = 2 * factor - factor % 2
        let f = Double((k + 1) / 2)
        let center = k % 2 == 1 ? f - 1 : f - 0.5
        var values = [Double](repeating: 0, count: k * k * channels * channels)
        for c in 0..<channels {
            for j in 0..<k {
                for i in 0..<k {
                    let v = (1 - Swift.abs(Double(i) - center) / f) * (1 - Swift.abs(Double(j) - center) / f)
                    values[i + k * (j + k * (c + channels * c))] = v
                }
            }
        }
        return Tensor(values, shape: [k, k, channels, channels], dtype: dtype, device: device)
    }
}
