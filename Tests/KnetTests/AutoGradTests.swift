import XCTest
import Foundation
import Dispatch
@testable import Knet

/// A model described by key paths.
private struct MLP: TensorStruct {
    var w1: Tensor, b1: Tensor, w2: Tensor
    var name = "mlp"                                 // non-tensor fields are left alone
    static let tensorKeyPaths: [WritableKeyPath<MLP, Tensor>] = [\MLP.w1, \MLP.b1, \MLP.w2]
}

/// A model conforming to `Params` by hand, with a nested array.
private struct Linear: Params {
    var w: Tensor
    var extra: [Tensor]
    func mapTensors(_ f: (Tensor) throws -> Tensor) rethrows -> Linear {
        Linear(w: try f(w), extra: try extra.mapTensors(f))
    }
}

private func mlpLoss(_ m: MLP, _ x: Tensor) -> Tensor {
    sum(abs2(m.w2 * tanh(m.w1 * x .+ m.b1)))
}

/// The nll-style loss of the brief: -sum(logp(w * x, dims: [0]) .* y).
private func nll(_ w: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor {
    -sum(logp(w * x, dims: [0]) .* y)
}

final class AutoGradTests: DeviceTestCase {
    override func setUp() { setseed(99) }

    func testGradOfTensor() {
        let g = grad { (x: Tensor) in sum(x .* x .* x) }
        let x = Tensor([1, -2, 3], dtype: .float64)
        assertValues(g(x), [3, 12, 27], shape: [3])
        let w = rand64(3, 2)
        let gw = grad { (w: Tensor) in sum(sin(w) .* w) }
        assertClose(gw(w), cos(w) .* w .+ sin(w), rtol: 1e-12)
    }

    func testGradOfArray() {
        let w = [rand64(2, 3), rand64(2, 1)]
        let x = rand64(3, 4), y = rand64(2, 4)
        let loss = { (w: [Tensor], x: Tensor, y: Tensor) in sum(abs2(w[0] * x .+ w[1] .- y)) }
        let g = grad(loss)
        let d = g(w, x, y)
        XCTAssertEqual(d.count, 2)
        XCTAssertEqual(d[0].shape, [2, 3]); XCTAssertEqual(d[1].shape, [2, 1])
        let r = w[0] * x .+ w[1] .- y
        assertClose(d[0], (2 * r) * transpose(x), rtol: 1e-10)
        assertClose(d[1], sum(2 * r, dims: 1), rtol: 1e-10)
        XCTAssertTrue(gradcheck(loss, w, x, y))
    }

    func testGradOfDictionary() {
        let w: [String: Tensor] = ["w": rand64(2, 3), "b": rand64(2)]
        let x = rand64(3)
        let loss = { (p: [String: Tensor], x: Tensor) in sum(tanh(p["w"]! * x .+ p["b"]!)) }
        let g = grad(loss)
        let d = g(w, x)
        XCTAssertEqual(Set(d.keys), ["w", "b"])
        XCTAssertEqual(d["w"]!.shape, [2, 3]); XCTAssertEqual(d["b"]!.shape, [2])
        let t = tanh(w["w"]! * x .+ w["b"]!)
        assertClose(d["b"]!, 1 .- t .* t, rtol: 1e-10)
        XCTAssertTrue(gradcheck(loss, w, x))
    }

    func testGradOfTensorStruct() {
        let m = MLP(w1: rand64(4, 3), b1: rand64(4, 1), w2: rand64(2, 4))
        let x = rand64(3, 5)
        let g = grad(mlpLoss)
        let d = g(m, x)
        XCTAssertEqual(d.w1.shape, [4, 3]); XCTAssertEqual(d.b1.shape, [4, 1]); XCTAssertEqual(d.w2.shape, [2, 4])
        XCTAssertEqual(d.name, "mlp")
        XCTAssertEqual(m.tensors.count, 3)
        XCTAssertTrue(gradcheck(mlpLoss, m, x))
    }

    func testGradOfHandWrittenParams() {
        let p = Linear(w: rand64(2, 2), extra: [rand64(2), rand64(2, 2)])
        let loss = { (p: Linear) in sum(exp(p.w * p.extra[0]) .* p.extra[0]) .+ sum(p.extra[1] .* p.w) }
        let g = grad(loss)
        let d = g(p)
        XCTAssertEqual(d.w.shape, [2, 2]); XCTAssertEqual(d.extra.map(\.shape), [[2], [2, 2]])
        assertClose(d.extra[1], p.w, rtol: 1e-12)
        XCTAssertTrue(gradcheck(loss, p))
        // nested containers and optionals
        let nested: [[Tensor]] = [[rand64(2)], [rand64(3), rand64(1)]]
        let gn = grad { (w: [[Tensor]]) in sum(w[0][0]) .* sum(w[1][0] .* w[1][0]) }
        let dn = gn(nested)
        XCTAssertEqual(dn.map { $0.map(\.shape) }, [[[2]], [[3], [1]]])
        assertValues(dn[1][1], [0], shape: [1], atol: 0)
        let opt: Tensor? = rand64(3)
        let go = grad { (w: Tensor?) in sum(w! .* w!) }
        assertClose(go(opt)!, 2 * opt!, rtol: 1e-12)
    }

    func testExtraArgumentsAndControlFlow() {
        // loops, conditionals, recursion and closures inside f
        func power(_ x: Tensor, _ n: Int) -> Tensor { n == 0 ? Tensor.ones(like: x) : x .* power(x, n - 1) }
        let f = { (w: Tensor, x: Tensor, n: Int, useSin: Bool) -> Tensor in
            var h = w
            for _ in 0..<n { h = tanh(h .* x) }
            let square: (Tensor) -> Tensor = { $0 .* $0 }
            if useSin { h = sin(h) } else { h = square(h) }
            return sum(power(h, 3))
        }
        let w = rand64(3), x = rand64(3)
        for (n, useSin) in [(0, true), (1, false), (3, true), (2, false)] {
            XCTAssertTrue(gradcheck(f, w, x, n, useSin), "n=\(n) sin=\(useSin)")
        }
        // recursion over a list of layers
        func forward(_ ws: ArraySlice<Tensor>, _ x: Tensor) -> Tensor {
            guard let first = ws.first else { return x }
            return forward(ws.dropFirst(), tanh(first * x))
        }
        let layers = [rand64(4, 3), rand64(4, 4), rand64(2, 4)]
        XCTAssertTrue(gradcheck({ (ws: [Tensor], x: Tensor) in sum(forward(ws[...], x)) }, layers, rand64(3, 2)))
        // a data-dependent branch picks the path the values take
        let branchy = grad { (w: Tensor) -> Tensor in sum(w).scalar > 0 ? sum(w .* 2) : sum(w .* -3) }
        assertValues(branchy(Tensor([1, 2], dtype: .float64)), [2, 2])
        assertValues(branchy(Tensor([-1, -2], dtype: .float64)), [-3, -3])
    }

    func testUnusedParameterGetsZerosOfItsShape() {
        let g = grad { (w: [Tensor]) in sum(w[0] .* 2) }
        let d = g([rand64(2, 2), rand64(3, 1, 2)])
        assertValues(d[0], [2, 2, 2, 2], shape: [2, 2])
        XCTAssertEqual(d[1].shape, [3, 1, 2])
        XCTAssertEqual(d[1].dtype, .float64)
        XCTAssertTrue([Double](d[1]).allSatisfy { $0 == 0 })
        // a loss that does not depend on the parameter at all
        let gc = grad { (w: Tensor) in sum(Tensor.ones(3, dtype: .float64)) }
        assertValues(gc(rand64(4)), [0, 0, 0, 0], shape: [4], atol: 0)
    }

    func testGradlossReturnsTheLoss() {
        let w = [rand64(2, 3), rand64(2, 1)], x = rand64(3, 4), y = rand64(2, 4)
        let loss = { (w: [Tensor], x: Tensor, y: Tensor) in sum(abs2(w[0] * x .+ w[1] .- y)) }
        let gl = gradloss(loss)
        let (d, l) = gl(w, x, y)
        XCTAssertEqual(l.scalar, loss(w, x, y).scalar, accuracy: 1e-12)
        XCTAssertFalse(l.isRecorded)
        let g = grad(loss)
        let d2 = g(w, x, y)
        assertClose(d[0], d2[0], rtol: 1e-14); assertClose(d[1], d2[1], rtol: 1e-14)
    }

    func testGradWithArgnum() {
        let f = { (w: Tensor, x: Tensor) in sum(w .* x .* x) }
        let w = rand64(3), x = rand64(3)
        let dfdx = grad(f, argnum: 1)
        assertClose(dfdx(w, x), 2 * w .* x, rtol: 1e-12)
        let dfdw = grad(f, argnum: 0)
        assertClose(dfdw(w, x), x .* x, rtol: 1e-12)
        // a non-tensor argument in between
        let h = { (a: Tensor, k: Double, b: [Tensor]) in sum(a .* b[0] .* k) .+ sum(b[1]) }
        let dh = grad(h, argnum: 2, of: [Tensor].self)
        let db = dh(w, 3, [x, rand64(2)])
        assertClose(db[0], 3 * w, rtol: 1e-12)
        assertValues(db[1], [1, 1])
        assertKnetError("argnum", "5") { let g = grad(f, argnum: 5); _ = g(w, x) }
        assertKnetError("argument 1") { let g = grad(h, argnum: 1); _ = g(w, 3, [x]) }
    }

    func testValueAndGetvalStopGradients() {
        let w = rand64(2, 3)
        let g = grad { (w: Tensor) in sum(value(w) .* w) }
        assertClose(g(w), w, rtol: 1e-14)
        let g2 = grad { (w: Tensor) in sum(getval(w) .* w) }
        assertClose(g2(w), w, rtol: 1e-14)
        let g3 = grad { (w: Tensor) in sum(w .* w) }
        assertClose(g3(w), 2 * w, rtol: 1e-14)
        let g4 = grad { (w: Tensor) -> Tensor in
            XCTAssertTrue(w.isRecorded)
            XCTAssertFalse(value(w).isRecorded)
            XCTAssertTrue(isRecording())
            return sum(exp(value(w)))
        }
        XCTAssertTrue([Double](g4(w)).allSatisfy { $0 == 0 })
        XCTAssertFalse(isRecording())
    }

    func testParamDiff() {
        let w = Param(rand64(2, 3)), b = Param(rand64(2)), unused = Param(rand64(4))
        let x = rand64(3)
        XCTAssertTrue(w.isParam)
        let J = diff { sum(abs2(w * x .+ b)) }
        let r = w * x .+ b
        XCTAssertEqual(value(J).scalar, sum(abs2(r)).scalar, accuracy: 1e-12)
        let dw = grad(J, w), db = grad(J, b)
        XCTAssertNotNil(dw); XCTAssertNotNil(db)
        assertClose(db!, 2 * r, rtol: 1e-12)
        assertClose(dw!, reshape(2 * r, [2, 1]) * reshape(x, [1, 3]), rtol: 1e-12)
        XCTAssertNil(grad(J, unused), "an unused Param has no gradient")
        let ps = params(J)
        XCTAssertEqual(ps.count, 2)
        XCTAssertTrue(ps[0] === w && ps[1] === b, "params in order of first use")
        // an SGD step through params(J)
        let before = sum(abs2(w * x .+ b)).scalar
        for p in params(J) { p.assign(p .- 0.01 * grad(J, p)!) }
        XCTAssertLessThan(sum(abs2(w * x .+ b)).scalar, before)
        // Params are used as ordinary tensors outside diff
        XCTAssertEqual((w .* 0).shape, [2, 3])
    }

    func testUserPrimitive() {
        let cube = Primitive("cube", forward: { x in x[0] .* x[0] .* x[0] },
                             gradients: [{ dy, _, x in dy .* 3 .* x[0] .* x[0] }])
        XCTAssertEqual(cube.name, "cube")
        let x = Tensor([1, -2, 0.5], dtype: .float64)
        assertValues(cube(x), [1, -8, 0.125])
        let g = grad { (x: Tensor) in sum(cube(x)) }
        assertValues(g(x), [3, 12, 0.75])
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(sin(cube(x))) }, rand64(3, 2)))
        // two arguments, one gradient returns nil (treated as zero)
        let scaledAdd = Primitive("scaledAdd", forward: { xs in xs[0] .+ xs[1] .* 2 },
                                  gradients: [{ dy, _, _ in dy }, { dy, _, _ in dy .* 2 }])
        XCTAssertTrue(gradcheck({ (w: [Tensor]) in sum(exp(scaledAdd(w[0], w[1]))) }, [rand64(2, 2), rand64(2, 2)]))
        let firstOnly = Primitive("firstOnly", forward: { xs in xs[0] .* xs[1] }, gradients: [{ dy, _, xs in dy .* xs[1] }, { _, _, _ in nil }])
        let gf = grad { (w: [Tensor]) in sum(firstOnly([w[0], w[1]])) }
        let d = gf([x, x .+ 1])
        assertValues(d[0], [2, -1, 1.5]); assertValues(d[1], [0, 0, 0], atol: 0)
        // second order through a user primitive
        let gc = grad { (x: Tensor) in sum(cube(x)) }
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(gc(x) .* x) }, rand64(4)))
        // a wrong shape from a gradient formula is reported
        let bad = Primitive("badShape", forward: { $0[0] .* 1 }, gradients: [{ dy, _, _ in sum(dy) }])
        assertKnetError("badShape", "[3]") { let g = grad { (x: Tensor) in sum(bad(x)) }; _ = g(Tensor.ones(3, dtype: .float64)) }
    }

    func testZeroGradientPrimitive() {
        let step = Primitive.zeroGradient("step") { x in x[0] .> 0 }
        let x = Tensor([-1, 2, 3], dtype: .float64)
        assertValues(step(x), [0, 1, 1])
        let g = grad { (x: Tensor) -> Tensor in
            let s = step(x)
            XCTAssertFalse(s.isRecorded, "a zero-gradient primitive is not recorded")
            return sum(s .* x)
        }
        assertValues(g(x), [0, 1, 1], atol: 0)
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(step(x) .* x .* x) }, Tensor([-1.5, 0.7, 2], dtype: .float64)))
    }

    func testGradcheckDetectsWrongGradient() {
        let wrong = Primitive("wrongSin", forward: { sin($0[0]) }, gradients: [{ dy, _, x in dy .* sin(x[0]) }])
        XCTAssertFalse(gradcheck({ (x: Tensor) in sum(wrong(x)) }, Tensor([0.3, 1.1, -0.7], dtype: .float64)))
        let halfWrong = Primitive("halfWrong", forward: { $0[0] .* $0[0] }, gradients: [{ dy, _, x in dy .* x[0] }])
        XCTAssertFalse(gradcheck({ (x: Tensor) in sum(halfWrong(x)) }, rand64(5)))
        let right = Primitive("rightSin", forward: { sin($0[0]) }, gradients: [{ dy, _, x in dy .* cos(x[0]) }])
        XCTAssertTrue(gradcheck({ (x: Tensor) in sum(right(x)) }, Tensor([0.3, 1.1, -0.7], dtype: .float64)))
    }

    func testSuccessiveDerivativesOfSin() {
        let xs = Tensor([-2.1, -0.4, 0, 0.9, 2.8], dtype: .float64)
        let x = [Double](xs)
        let d1 = grad { (x: Tensor) in sum(sin(x)) }
        let d2 = grad { (x: Tensor) in sum(d1(x)) }
        let d3 = grad { (x: Tensor) in sum(d2(x)) }
        let d4 = grad { (x: Tensor) in sum(d3(x)) }
        let d5 = grad { (x: Tensor) in sum(d4(x)) }
        assertValues(d1(xs), x.map { Foundation.cos($0) }, rtol: 1e-12, atol: 1e-14)
        assertValues(d2(xs), x.map { -Foundation.sin($0) }, rtol: 1e-12, atol: 1e-14)
        assertValues(d3(xs), x.map { -Foundation.cos($0) }, rtol: 1e-12, atol: 1e-14)
        assertValues(d4(xs), x.map { Foundation.sin($0) }, rtol: 1e-12, atol: 1e-14)
        assertValues(d5(xs), x.map { Foundation.cos($0) }, rtol: 1e-12, atol: 1e-14)
    }

    func testDerivativesOfExpXSquared() {
        let xs = Tensor([-1.2, -0.3, 0, 0.5, 1.1], dtype: .float64)
        let x = [Double](xs)
        let f1 = grad { (x: Tensor) in sum(exp(x .* x)) }
        let f2 = grad { (x: Tensor) in sum(f1(x)) }
        assertValues(f1(xs), x.map { 2 * $0 * Foundation.exp($0 * $0) }, rtol: 1e-12, atol: 1e-14)
        assertValues(f2(xs), x.map { (2 + 4 * $0 * $0) * Foundation.exp($0 * $0) }, rtol: 1e-12, atol: 1e-14)
        let f3 = grad { (x: Tensor) in sum(f2(x)) }
        assertValues(f3(xs), x.map { (12 * $0 + 8 * $0 * $0 * $0) * Foundation.exp($0 * $0) }, rtol: 1e-11, atol: 1e-12)
    }

    func testHessianVectorProductOfNll() {
        let w = rand64(3, 4), x = rand64(4, 6)
        let labels = [0, 2, 1, 1, 0, 2]
        let y = tensorFrom([3, 6]) { i in i % 3 == labels[i / 3] ? 1 : 0 }
        let v = rand64(3, 4)
        let g = grad(nll)
        // Hv = ∇_w (∇_w f · v)
        let hvp = grad { (w: Tensor, x: Tensor, y: Tensor, v: Tensor) in sum(g(w, x, y) .* v) }
        let hv = hvp(w, x, y, v)
        XCTAssertEqual(hv.shape, [3, 4])
        let h = 1e-5
        let numeric = (g(w .+ v .* h, x, y) .- g(w .- v .* h, x, y)) ./ (2 * h)
        assertClose(hv, numeric, rtol: 1e-6, atol: 1e-8)
        // and the gradient itself against finite differences of the loss
        XCTAssertTrue(gradcheck(nll, w, x, y))
    }

    func testNonScalarLossErrors() {
        assertKnetError("grad", "scalar", "[3]") { let g = grad { (x: Tensor) in x .* 2 }; _ = g(Tensor.ones(3)) }
        assertKnetError("gradloss", "scalar") { let g = gradloss { (x: Tensor) in x .* 2 }; _ = g(Tensor.ones(3)) }
        assertKnetError("diff", "scalar") { let w = Param(Tensor.ones(2)); _ = diff { w .* 2 } }
        // a one-element tensor of any rank is a scalar loss
        let g = grad { (x: Tensor) in sum(x, dims: 0) }
        assertValues(g(Tensor.ones(3, dtype: .float64)), [1, 1, 1])
    }

    func testTapeMemoryIsReleased() {
        let w = [rand64(64, 32), rand64(64, 1)], x = rand64(32, 50)
        let loss = { (w: [Tensor], x: Tensor) in sum(abs2(tanh(w[0] * x .+ w[1]))) }
        let g = grad(loss)
        _ = g(w, x)                                       // warm up caches
        let before = currentMemoryStats().bytesInUse
        var d: [Tensor]? = g(w, x)
        let after = currentMemoryStats().bytesInUse
        let resultBytes = (64 * 32 + 64) * 8
        XCTAssertLessThanOrEqual(after - before, 2 * resultBytes + 4096,
                                 "tape memory not released: \(after - before) bytes still in use")
        XCTAssertEqual(d?.count, 2)
        d = nil
        XCTAssertLessThanOrEqual(currentMemoryStats().bytesInUse, before + 4096, "gradients not released")
        // many steps do not grow memory
        for _ in 0..<20 { _ = g(w, x) }
        XCTAssertLessThanOrEqual(currentMemoryStats().bytesInUse, before + 4096)
        // second-order tapes too
        let gg = grad { (w: [Tensor], x: Tensor) in sum(g(w, x)[1]) }
        _ = gg(w, x)
        XCTAssertLessThanOrEqual(currentMemoryStats().bytesInUse, before + 4096)
        // and diff
        let p = Param(rand64(8, 8))
        let start = currentMemoryStats().bytesInUse
        for _ in 0..<5 { _ = diff { sum(exp(p * p)) } }
        XCTAssertLessThanOrEqual(currentMemoryStats().bytesInUse, start + 4096)
    }

    func testConcurrentGradsOnTwoThreads() {
        let w1 = [rand64(16, 8), rand64(16, 1)], x1 = rand64(8, 10)
        let w2 = MLP(w1: rand64(5, 8), b1: rand64(5, 1), w2: rand64(3, 5))
        let loss1 = { (w: [Tensor], x: Tensor) in sum(abs2(sigm(w[0] * x .+ w[1]))) }
        let g1 = grad(loss1), g2 = grad(mlpLoss)
        let h1 = grad { (w: [Tensor], x: Tensor) in sum(g1(w, x)[0]) }   // second order as well
        let seq1 = g1(w1, x1), seq2 = g2(w2, x1), seqH = h1(w1, x1)
        final class Results: @unchecked Sendable {
            var a: [[Tensor]] = [], b: [MLP] = [], h: [[Tensor]] = []
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            if k == 0 {
                var out: [[Tensor]] = [], hs: [[Tensor]] = []
                for _ in 0..<20 { out.append(g1(w1, x1)); hs.append(h1(w1, x1)) }
                results.a = out; results.h = hs
            } else {
                var out: [MLP] = []
                for _ in 0..<20 { out.append(g2(w2, x1)) }
                results.b = out
            }
        }
        XCTAssertEqual(results.a.count, 20); XCTAssertEqual(results.b.count, 20)
        for r in results.a { XCTAssertEqual([Double](r[0]), [Double](seq1[0])); XCTAssertEqual([Double](r[1]), [Double](seq1[1])) }
        for r in results.h { XCTAssertEqual([Double](r[0]), [Double](seqH[0])) }
        for r in results.b {
            XCTAssertEqual([Double](r.w1), [Double](seq2.w1))
            XCTAssertEqual([Double](r.b1), [Double](seq2.b1))
            XCTAssertEqual([Double](r.w2), [Double](seq2.w2))
        }
    }

    func testConcurrentDiffOnTwoThreads() {
        let pa = Param(rand64(4, 4)), pb = Param(rand64(3, 3))
        let ja = diff { sum(exp(pa) .* pa) }, jb = diff { sum(sin(pb * pb)) }
        let ga = grad(ja, pa)!, gb = grad(jb, pb)!
        final class Box: @unchecked Sendable { var ok = [true, true] }
        let box = Box()
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            for _ in 0..<20 {
                if k == 0 {
                    let j = diff { sum(exp(pa) .* pa) }
                    if [Double](grad(j, pa)!) != [Double](ga) || grad(j, pb) != nil { box.ok[0] = false }
                } else {
                    let j = diff { sum(sin(pb * pb)) }
                    if [Double](grad(j, pb)!) != [Double](gb) || grad(j, pa) != nil { box.ok[1] = false }
                }
            }
        }
        XCTAssertEqual(box.ok, [true, true])
    }

    func testFloat32Gradients() {
        let g = grad { (x: Tensor) in sum(x .* x) }
        let x = Tensor([1, 2, 3])
        let d = g(x)
        XCTAssertEqual(d.dtype, .float32)
        assertValues(d, [2, 4, 6])
    }
}
