// knet: until the training issue lands, this program runs the tutorial's linear
// regression on the Housing data bundled with the package, showing `grad` at work:
//
//     predict(w, x) = w[0] * x .+ w[1]
//     loss(w, x, y) = mean(abs2(y .- predict(w, x)))
//     lossgradient = grad(loss)
//
// Usage: knet [--epochs N] [--lr X] [--seed N]
import Foundation
import Knet

/// Command-line options with their tutorial defaults.
struct Options {
    var epochs = 10
    var lr = 0.1
    var seed = 1

    /// Parses `--epochs N --lr X --seed N`; throws a usage message on bad input.
    init(_ arguments: [String]) throws {
        var it = arguments.makeIterator()
        while let flag = it.next() {
            guard let text = it.next() else { throw UsageError("\(flag) needs a value") }
            switch flag {
            case "--epochs":
                guard let v = Int(text), v >= 0 else { throw UsageError("--epochs wants a whole number ≥ 0, got \(text)") }
                epochs = v
            case "--lr":
                guard let v = Double(text), v > 0, v.isFinite else { throw UsageError("--lr wants a positive number, got \(text)") }
                lr = v
            case "--seed":
                guard let v = Int(text) else { throw UsageError("--seed wants a whole number, got \(text)") }
                seed = v
            default: throw UsageError("unknown option \(flag)")
            }
        }
    }
}

/// A command-line mistake, printed with the usage line.
struct UsageError: Error { let message: String; init(_ m: String) { message = m } }

/// Reads scikit-learn's `boston_house_prices.csv`: a count line, a header, 506 rows of 14 numbers.
func readHousing() throws -> (x: Tensor, y: Tensor) {
    guard let url = Bundle.module.url(forResource: "boston_house_prices", withExtension: "csv") else {
        throw UsageError("the bundled boston_house_prices.csv is missing from this build")
    }
    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst(2)
    let rows = try lines.map { line -> [Double] in
        let values = line.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 14 else { throw UsageError("malformed Housing row: \(line)") }
        return values
    }
    let n = rows.count
    // Column-major [13, n] features and [1, n] prices.
    let x = Tensor(rows.flatMap { $0.prefix(13) }, shape: [13, n])
    let y = Tensor(rows.map { $0[13] }, shape: [1, n])
    return (x, y)
}

func predict(_ w: [Tensor], _ x: Tensor) -> Tensor { w[0] * x .+ w[1] }
func loss(_ w: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor { mean(abs2(y .- predict(w, x))) }

do {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    setseed(options.seed)
    var (x, y) = try readHousing()
    let n = Double(x.shape[1])
    let mu = mean(x, dims: 1)
    let sd = sqrt(sum(abs2(x .- mu), dims: 1) ./ (n - 1))
    x = (x .- mu) ./ sd                                  // normalise each feature
    var w = [Tensor.randn(1, 13) * 0.1, Tensor.zeros(1, 1)]
    let lossgradient = grad(loss)
    print("Linear regression on Housing (\(Int(n)) houses, 13 features), lr \(options.lr)")
    print("epoch 0  loss \(String(format: "%.2f", loss(w, x, y).scalar))")
    for epoch in stride(from: 1, through: options.epochs, by: 1) {
        let dw = lossgradient(w, x, y)
        for i in w.indices { w[i] = w[i] .- options.lr .* dw[i] }
        print("epoch \(epoch)  loss \(String(format: "%.2f", loss(w, x, y).scalar))")
    }
} catch let e as UsageError {
    FileHandle.standardError.write("knet: \(e.message)\nusage: knet [--epochs N] [--lr X] [--seed N]\n".data(using: .utf8)!)
    exit(2)
} catch {
    FileHandle.standardError.write("knet: \(error)\n".data(using: .utf8)!)
    exit(1)
}
