// Beside the README's blocks (main.swift, generated): in Swift 6 a global outside main.swift
// must be Sendable, and a value a task captures too. These are the types the README's
// "Swift 6" paragraph says are; the custom op is Primitive's own doc comment example.
import Knet

let cube = Primitive("cube", forward: { x in x[0] ** 3 }, gradients: [{ dy, y, x in dy .* 3 .* x[0] ** 2 }])
let hardStep = Primitive.zeroGradient("step") { x in x[0] .> 0 }
let vocabulary = CharVocabulary(["hello"])
let window: SpatialSize = [2, 2]
let cell = RNNType.lstm
let housingFile = DatasetFile.housing
let smoothed = converge([3.0, 2.0, 1.0])

/// A primitive goes to another task; tensors are made there.
func cubeSumElsewhere() async -> Double {
    await Task.detached { sum(cube(Tensor.ones(3))).scalar }.value
}
