// Seconds per training step of the tutorial's LeNet (conv 20, conv 50, dense 500, dense 10)
// on a batch of 100 images of 28×28×1, with Adam: the README's debug-versus-release numbers.
// Synthetic data, so it needs no download:
//
//     swift run LeNetBatchTime 20              # debug build (SwiftPM's default)
//     swift run -c release LeNetBatchTime 20   # release build
import Knet

let steps = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10 : 10
setseed(1)
let x = Tensor.rand(28, 28, 1, 100)
let y = (0..<100).map { $0 % 10 }

func predict(_ w: [Tensor], _ x: Tensor) -> Tensor {
    let a = cbfp(w[2], w[3], cbfp(w[0], w[1], x))
    return wbf(w[6], w[7], wbf(w[4], w[5], a), f: { $0 })
}
let lossgradient = grad { (w: [Tensor], x: Tensor, y: [Int]) in nll(predict(w, x), y) }
var w = cbfpParams(window: 5, inputs: 1, outputs: 20) + cbfpParams(window: 5, inputs: 20, outputs: 50)
    + wbfParams(inputs: 800, outputs: 500) + wbfParams(inputs: 500, outputs: 10)
var opt = optimizers(w, Adam())

let clock = ContinuousClock()
var seconds: [Double] = []
for step in 0...steps {                          // step 0 warms up and is not counted
    let start = clock.now
    update(&w, lossgradient(w, x, y), &opt)
    let elapsed = clock.now - start
    if step > 0 { seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) }
}
seconds.sort()
print("LeNet step, batch 100, Adam: median \(seconds[seconds.count / 2]) s over \(steps) steps, " +
      "min \(seconds[0]) s, loss \(nll(predict(w, x), y).scalar)")
