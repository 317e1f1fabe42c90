import Knet
setseed(1)
let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
print(x)
print(exp(x) .+ 1)
print(sum(x, dims: 1))
print(x[.all, 1], x[1, 0..<2])
let w = Tensor.randn(1, 2, dtype: .float64)
let f = { (w: Tensor) in sum(sin(w) .* w) }
let g = grad(f)
print(g(w), cos(w) .* w .+ sin(w))
let gg = grad { (w: Tensor) in sum(g(w)) }
print(gg(w))
let xs = Tensor.randn(3, 5, dtype: .float64), ws = [Tensor.randn(2, 3, dtype: .float64), Tensor.randn(2, 1, dtype: .float64)]
let loss = { (w: [Tensor], x: Tensor) in sum(logp(w[0] * x .+ w[1], dims: [0])) }
print(gradcheck(loss, ws, xs, verbose: true))
print(transpose(x) * x)
print(memoryStats())
