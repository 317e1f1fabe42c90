import XCTest
import Foundation
@testable import Knet

private func meanAndStd(_ v: [Double]) -> (Double, Double) {
    let m = v.reduce(0, +) / Double(v.count)
    let s = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
    return (m, s)
}

final class CreationTests: DeviceTestCase {
    override func setUp() { setseed(1234) }

    func testZerosOnesFill() {
        let z = Tensor.zeros(2, 3)
        XCTAssertEqual(z.shape, [2, 3]); XCTAssertEqual(z.dtype, .float32); XCTAssertEqual(z.count, 6); XCTAssertEqual(z.ndims, 2)
        XCTAssertEqual([Float](z), [Float](repeating: 0, count: 6))
        XCTAssertEqual([Double](Tensor.ones(4, dtype: .float64)), [1, 1, 1, 1])
        XCTAssertEqual(Tensor.ones(4, dtype: .float64).dtype, .float64)
        XCTAssertEqual([Double](Tensor.zeros(shape: [2, 2], dtype: .float64)), [0, 0, 0, 0])
        XCTAssertEqual(Tensor.ones(shape: [3, 1, 2]).shape, [3, 1, 2])
        let f = Tensor.fill(0.5, shape: [2, 3])
        XCTAssertEqual([Float](f), [Float](repeating: 0.5, count: 6))
        let f64 = Tensor.fill(-2.25, shape: [5], dtype: .float64)
        XCTAssertEqual([Double](f64), [Double](repeating: -2.25, count: 5))
        let like = Tensor.zeros(like: f64)
        XCTAssertEqual(like.shape, [5]); XCTAssertEqual(like.dtype, .float64)
        let ol = Tensor.ones(like: f)
        XCTAssertEqual(ol.shape, [2, 3]); XCTAssertEqual(ol.dtype, .float32)
        XCTAssertEqual([Float](ol), [Float](repeating: 1, count: 6))
        let s = Tensor.zeros()
        XCTAssertEqual(s.shape, []); XCTAssertEqual(s.count, 1)
        XCTAssertEqual(Tensor.fill(3, shape: []).scalar, 3)
        assertKnetError("fill", "[2, -1]") { _ = Tensor.fill(1, shape: [2, -1]) }
        XCTAssertEqual(Tensor.zeros(3, 4).size(0), 3)
        XCTAssertEqual(Tensor.zeros(3, 4).size(1), 4)
        XCTAssertEqual(Tensor.zeros(3, 4).size(2), 1, "size past the rank is 1")
        XCTAssertTrue(Tensor.zeros(3, 4).isContiguous)
        XCTAssertEqual(Tensor.zeros(3).device, currentDevice, "creation uses the default device")
        XCTAssertEqual(Tensor.zeros(3, device: .cpu).device, .cpu)
        XCTAssertEqual(Tensor.zeros(like: Tensor.ones(2, device: .cpu)).device, .cpu, "zeros(like:) keeps the device")
        XCTAssertEqual(Tensor([1, 2], device: .cpu).device, .cpu)
    }

    func testEmptyTensors() {
        // Empty tensors must not crash (run in a child process: a runtime trap would end the suite).
        assertNoCrash("zeros(0)") { _ = Tensor.zeros(0) }
        assertNoCrash("ones(3, 0)") { _ = Tensor.ones(3, 0) }
        assertNoCrash("rand(0, 2)") { _ = Tensor.rand(0, 2) }
        assertNoCrash("sum of an empty tensor") {
            let e = Tensor([Double](), shape: [0, 2], dtype: .float64)
            if sum(e).scalar != 0 { exit(3) }
            if sum(e, dims: 0).shape != [1, 2] { exit(4) }
        }
    }

    func testDefaultDtypeIsFloat32() {
        XCTAssertEqual(Tensor([1, 2, 3]).dtype, .float32)
        XCTAssertEqual(Tensor([1.5, 2.5]).dtype, .float32)
        XCTAssertEqual(Tensor(scalar: 1).dtype, .float32)
        XCTAssertEqual(Tensor.zeros(2).dtype, .float32)
        XCTAssertEqual(Tensor.rand(2).dtype, .float32)
        XCTAssertEqual(Tensor.randn(2).dtype, .float32)
        XCTAssertEqual(Tensor.xavier(2, 2).dtype, .float32)
        XCTAssertEqual(Tensor.gaussian(2).dtype, .float32)
        XCTAssertEqual(Tensor.bilinear(factor: 2, channels: 1).dtype, .float32)
        XCTAssertEqual(DType.float32.size, 4); XCTAssertEqual(DType.float64.size, 8)
        XCTAssertEqual(DType.float32.description, "Float32"); XCTAssertEqual(DType.float64.description, "Float64")
        XCTAssertEqual(Float.dtype, .float32); XCTAssertEqual(Double.dtype, .float64)
    }

    func testRand() {
        let r = Tensor.rand(100_000)
        let v = [Double](r)
        XCTAssertTrue(v.allSatisfy { $0 >= 0 && $0 < 1 }, "rand outside [0, 1)")
        let (m, s) = meanAndStd(v)
        XCTAssertEqual(m, 0.5, accuracy: 0.01)
        XCTAssertEqual(s, (1.0 / 12).squareRoot(), accuracy: 0.01)
        XCTAssertEqual(Tensor.rand(3, 4).shape, [3, 4])
        let r64 = Tensor.rand(shape: [1000], dtype: .float64)
        XCTAssertEqual(r64.dtype, .float64)
        XCTAssertTrue([Double](r64).allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertGreaterThan(Set([Double](r64)).count, 990, "values repeat")
    }

    func testRandn() {
        for dtype in [DType.float32, .float64] {
            let v = [Double](Tensor.randn(shape: [100_000], dtype: dtype))
            let (m, s) = meanAndStd(v)
            XCTAssertEqual(m, 0, accuracy: 0.015, "\(dtype)")
            XCTAssertEqual(s, 1, accuracy: 0.015, "\(dtype)")
            // roughly 68% within one standard deviation, 95% within two
            let within1 = Double(v.filter { Swift.abs($0) < 1 }.count) / Double(v.count)
            let within2 = Double(v.filter { Swift.abs($0) < 2 }.count) / Double(v.count)
            XCTAssertEqual(within1, 0.6827, accuracy: 0.01)
            XCTAssertEqual(within2, 0.9545, accuracy: 0.005)
            XCTAssertTrue(v.allSatisfy { $0.isFinite })
        }
        XCTAssertEqual(Tensor.randn(3, 5).shape, [3, 5])
        XCTAssertEqual(Tensor.randn(7).count, 7, "odd counts fill every element")
    }

    func testGaussian() {
        let v = [Double](Tensor.gaussian(100_000, mean: 3, std: 0.5, dtype: .float64))
        let (m, s) = meanAndStd(v)
        XCTAssertEqual(m, 3, accuracy: 0.01)
        XCTAssertEqual(s, 0.5, accuracy: 0.01)
        let d = [Double](Tensor.gaussian(50_000))
        let (m0, s0) = meanAndStd(d)
        XCTAssertEqual(m0, 0, accuracy: 0.001)
        XCTAssertEqual(s0, 0.01, accuracy: 0.0005, "default std is 0.01")
        XCTAssertEqual(Tensor.gaussian(4, 5).shape, [4, 5])
    }

    func testXavier() {
        // Knet.jl's xavier is uniform in ±sqrt(2/(fanin+fanout)); xavierUniform uses 6.
        // For conv filters the old xavier counts fanout = Cout; Knet's xavier_uniform (and
        // PyTorch's) count fanout = kW·kH·Cout.
        for (numerator, convFanout, make) in [
            (2.0, 32, { (shape: [Int], gain: Double, dtype: DType) in Tensor.xavier(shape: shape, gain: gain, dtype: dtype) }),
            (6.0, 5 * 5 * 32, { Tensor.xavierUniform(shape: $0, gain: $1, dtype: $2) })] {
            // 2-D: fanout = first dim, fanin = second
            let w = make([64, 784], 1, .float32)
            XCTAssertEqual(w.shape, [64, 784])
            let bound = (numerator / Double(784 + 64)).squareRoot()
            var v = [Double](w)
            XCTAssertTrue(v.allSatisfy { Swift.abs($0) <= bound }, "xavier outside ±\(bound)")
            XCTAssertGreaterThan(v.max()!, 0.95 * bound)
            XCTAssertLessThan(v.min()!, -0.95 * bound)
            XCTAssertEqual(meanAndStd(v).0, 0, accuracy: 0.01 * bound)
            XCTAssertEqual(meanAndStd(v).1, bound / 3.0.squareRoot(), accuracy: 0.02 * bound)
            // 4-D conv filter [kW, kH, Cin, Cout]: fanin = kW·kH·Cin
            let f = make([5, 5, 16, 32], 1, .float64)
            XCTAssertEqual(f.dtype, .float64)
            let b4 = (numerator / Double(5 * 5 * 16 + convFanout)).squareRoot()
            v = [Double](f)
            XCTAssertTrue(v.allSatisfy { Swift.abs($0) <= b4 }, "4-D xavier outside ±\(b4)")
            XCTAssertGreaterThan(v.max()!, 0.95 * b4)
            XCTAssertLessThan(v.min()!, -0.95 * b4)
            // vectors: fanin = length, fanout = 1; gain scales the bound
            let b1 = (numerator / Double(100 + 1)).squareRoot()
            XCTAssertTrue([Double](make([100], 1, .float32)).allSatisfy { Swift.abs($0) <= b1 })
            let g = [Double](make([30, 20], 2, .float32))
            let b2 = 2 * (numerator / 50).squareRoot()
            XCTAssertTrue(g.allSatisfy { Swift.abs($0) <= b2 })
            XCTAssertGreaterThan(g.map { Swift.abs($0) }.max()!, 0.8 * b2)
        }
        XCTAssertEqual(Tensor.xavier(3, 4).shape, [3, 4])
        // xavierNormal: std sqrt(2/(fanin+fanout))
        let n = [Double](Tensor.xavierNormal(shape: [200, 300], dtype: .float64))
        XCTAssertEqual(meanAndStd(n).1, (2.0 / 500).squareRoot(), accuracy: 0.002)
        let nc = [Double](Tensor.xavierNormal(shape: [5, 5, 20, 50], dtype: .float64))   // fanin 500, fanout 1250
        XCTAssertEqual(meanAndStd(nc).1, (2.0 / 1750).squareRoot(), accuracy: 0.002)
    }

    func testBilinear() {
        let w = Tensor.bilinear(factor: 2, channels: 3, dtype: .float64)
        XCTAssertEqual(w.shape, [4, 4, 3, 3])
        let f1 = [0.25, 0.75, 0.75, 0.25]
        let v = [Double](w)
        for co in 0..<3 {
            for ci in 0..<3 {
                for j in 0..<4 {
                    for i in 0..<4 {
                        let e = ci == co ? f1[i] * f1[j] : 0
                        XCTAssertEqual(v[i + 4 * (j + 4 * (ci + 3 * co))], e, accuracy: 1e-12, "(\(i), \(j), \(ci), \(co))")
                    }
                }
            }
        }
        // odd factor: k = 2·3 − 1 = 5, peak 1 at the centre
        let w3 = Tensor.bilinear(factor: 3, channels: 1, dtype: .float64)
        XCTAssertEqual(w3.shape, [5, 5, 1, 1])
        let c = [Double](w3)
        XCTAssertEqual(c[2 + 5 * 2], 1, accuracy: 1e-12)
        XCTAssertEqual(c[0], 1.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(c[1], 2.0 / 3 * 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(Tensor.bilinear(factor: 1, channels: 2).shape, [1, 1, 2, 2])
        XCTAssertEqual([Double](Tensor.bilinear(factor: 1, channels: 2)), [1, 0, 0, 1])
        assertKnetError("bilinear") { _ = Tensor.bilinear(factor: 0, channels: 1) }
    }

    func testSetseedReproducible() {
        setseed(42)
        let a = [Double](Tensor.randn(10)), b = [Double](Tensor.rand(5)), c = [Double](Tensor.xavier(3, 3))
        setseed(42)
        XCTAssertEqual([Double](Tensor.randn(10)), a)
        XCTAssertEqual([Double](Tensor.rand(5)), b)
        XCTAssertEqual([Double](Tensor.xavier(3, 3)), c)
        setseed(43)
        XCTAssertNotEqual([Double](Tensor.randn(10)), a)
        setseed(-7)
        let d = [Double](Tensor.gaussian(4, dtype: .float64))
        setseed(-7)
        XCTAssertEqual([Double](Tensor.gaussian(4, dtype: .float64)), d)
        // successive draws differ
        XCTAssertNotEqual([Double](Tensor.rand(5)), [Double](Tensor.rand(5)))
    }

    func testArrayRoundTrip() {
        let f: [Float] = [1.5, -2.25, 3, 0, 1e-7, -1e30]
        let t = Tensor(f)
        XCTAssertEqual(t.shape, [6])
        XCTAssertEqual([Float](t), f)
        let d: [Double] = [0.1, -1e-300, 1e300, 2.0 / 3, -0.0, 7]
        let t64 = Tensor(d, shape: [2, 3], dtype: .float64)
        XCTAssertEqual([Double](t64), d, "Float64 round trip is exact")
        XCTAssertEqual([Float](t64), d.map(Float.init))
        XCTAssertEqual([Double](Tensor(d, dtype: .float32)), d.map { Double(Float($0)) })
        let ints = Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2])
        XCTAssertEqual([Float](ints), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(ints.shape, [3, 2])
        XCTAssertEqual(Tensor([1, 2], dtype: .float64).dtype, .float64)
        // column-major order of a matrix
        let m = Tensor([1, 2, 3, 4], shape: [2, 2])
        XCTAssertEqual(m[1, 0].scalar, 2)
        XCTAssertEqual(m[0, 1].scalar, 3)
        // a range or other sequence
        XCTAssertEqual([Double](Tensor(stride(from: 0.0, to: 1.0, by: 0.25), dtype: .float64)), [0, 0.25, 0.5, 0.75])
        assertKnetError("Tensor", "5", "[2, 3]") { _ = Tensor([1.0, 2, 3, 4, 5], shape: [2, 3]) }
        assertKnetError("Tensor", "negative") { _ = Tensor([Double](), shape: [-1, 0]) }
    }

    func testScalar() {
        let s = Tensor(scalar: 3.5)
        XCTAssertEqual(s.shape, [])
        XCTAssertEqual(s.count, 1)
        XCTAssertEqual(s.ndims, 0)
        XCTAssertEqual(s.scalar, 3.5)
        XCTAssertEqual(s.floatValue, 3.5)
        XCTAssertEqual(Tensor(scalar: 0.1, dtype: .float64).scalar, 0.1)
        XCTAssertEqual(Tensor([7], shape: [1, 1]).scalar, 7, "any one-element tensor has a scalar")
        XCTAssertEqual(sum(Tensor([1, 2, 3])).scalar, 6)
        assertKnetError("scalar", "[2, 3]", "6") { _ = Tensor.zeros(2, 3).scalar }
        assertKnetError("scalar") { _ = Tensor.zeros(2).floatValue }
    }

    func testDescription() {
        let m = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let d = m.description
        XCTAssertTrue(d.contains("2×3"), d)
        XCTAssertTrue(d.contains("Float32"), d)
        XCTAssertTrue(d.contains("1.0") && d.contains("6.0"), d)
        let lines = d.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, "header then one line per row: \(d)")
        XCTAssertTrue(lines[1].contains("1.0") && lines[1].contains("3.0") && lines[1].contains("5.0"), "rows in order: \(d)")
        let v = Tensor([0.5, 1.5], dtype: .float64).description
        XCTAssertTrue(v.contains("2"), v); XCTAssertTrue(v.contains("Float64"), v); XCTAssertTrue(v.contains("1.5"), v)
        let s = Tensor(scalar: 2.5).description
        XCTAssertTrue(s.contains("0-dimensional") && s.contains("Float32") && s.contains("2.5"), s)
        let big = Tensor.zeros(20, 30).description
        XCTAssertTrue(big.contains("20×30"), big)
        XCTAssertLessThanOrEqual(big.split(separator: "\n").count, 12, "large matrices are truncated")
        let t3 = Tensor.ones(2, 3, 4, dtype: .float64).description
        XCTAssertTrue(t3.contains("2×3×4") && t3.contains("Float64"), t3)
        XCTAssertEqual("\(m)", d)
        XCTAssertTrue(transpose(m).description.contains("3×2"))
        XCTAssertTrue(memoryStats().description.contains("in use"))
    }
}
