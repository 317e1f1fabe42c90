#if canImport(Glibc)
import Glibc
#endif

// CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): the extracted
// `cifar-10-binary.tar.gz` is a folder `cifar-10-batches-bin` of `data_batch_1.bin` …
// `data_batch_5.bin` (10,000 images each) and `test_batch.bin`. Each record is 1 label
// byte (0...9) and 3072 pixel bytes: the red, green and blue planes of a 32×32 image,
// each plane row-major. Read as Knet's `[W, H, C, N]` column-major array, those are
// exactly the bytes in file order (`x[w, h, c, n]` is column w, row h, channel c).

/// The folder the CIFAR-10 binary files are looked for in, under a data folder.
public let cifar10Folder = "cifar-10-batches-bin"

/// The bytes of one CIFAR-10 record: a label and 3 × 32 × 32 pixels.
let cifar10RecordSize = 1 + 3 * 32 * 32

/// CIFAR-10 from `<folder>/cifar-10-batches-bin`: `xtrn` `[32, 32, 3, 50000]` and `xtst`
/// `[32, 32, 3, 10000]` Float32 pixels in [0, 1] (byte / 255, no other normalisation),
/// `ytrn`/`ytst` the 0-based classes 0...9 (airplane, automobile, bird, cat, deer, dog,
/// frog, horse, ship, truck), in file order. Throws `DataError`: `.notFound` for a missing
/// file (with the download address), `.io` for an unreadable one, `.corrupt` for a
/// file that is not a whole number of records or holds a label above 9.
///
///     let (xtrn, ytrn, xtst, ytst) = try cifar10(folder: "data")   // data/cifar-10-batches-bin/*.bin
///     let batches = minibatch(xtrn, ytrn, 64)
public func cifar10(folder: String) throws -> (xtrn: Tensor, ytrn: [Int], xtst: Tensor, ytst: [Int]) {
    let (xtrn, ytrn) = try cifar10Files((1...5).map { "data_batch_\($0).bin" }, folder: folder)
    let (xtst, ytst) = try cifar10Files(["test_batch.bin"], folder: folder)
    return (xtrn, ytrn, xtst, ytst)
}

/// The records of one CIFAR-10 binary file already in memory: images `[32, 32, 3, N]` in
/// [0, 1] and their classes. `name` stands for the file's path in errors. Throws
/// `DataError.corrupt` for an empty input, a length that is not a multiple of 3073 or a
/// label above 9.
///
///     let (x, y) = try cifar10(bytes: try readBytes("test_batch.bin"))
public func cifar10(bytes: [UInt8], name: String = "<bytes>") throws -> (x: Tensor, y: [Int]) {
    let (pixels, labels) = try cifar10Records(bytes, path: name)
    return (Tensor(pixels, shape: [32, 32, 3, labels.count]), labels)
}

/// Pixels (scaled to [0, 1]) and labels of the records in `bytes`, checked.
private func cifar10Records(_ bytes: [UInt8], path: String) throws -> (pixels: [Float], labels: [Int]) {
    guard !bytes.isEmpty, bytes.count % cifar10RecordSize == 0 else {
        throw DataError.corrupt(path: path, reason: "\(bytes.count) bytes is not a positive whole number of "
                                + "\(cifar10RecordSize)-byte records (1 label byte + 3072 pixel bytes)")
    }
    let n = bytes.count / cifar10RecordSize, pixelCount = cifar10RecordSize - 1
    var labels = [Int](repeating: 0, count: n)
    var pixels = [Float](repeating: 0, count: n * pixelCount)
    try bytes.withUnsafeBufferPointer { src in
        try pixels.withUnsafeMutableBufferPointer { dst in
            for i in 0..<n {
                let record = i * cifar10RecordSize
                guard src[record] <= 9 else {
                    throw DataError.corrupt(path: path, reason: "record \(i) has label \(src[record]), not a class 0...9")
                }
                labels[i] = Int(src[record])
                for j in 0..<pixelCount { dst[i * pixelCount + j] = Float(src[record + 1 + j]) / 255 }
            }
        }
    }
    return (pixels, labels)
}

/// The records of `names` in `<folder>/cifar-10-batches-bin`, concatenated.
private func cifar10Files(_ names: [String], folder: String) throws -> (Tensor, [Int]) {
    var pixels: [Float] = [], labels: [Int] = []
    for name in names {
        let path = "\(folder)/\(cifar10Folder)/\(name)"
        guard access(path, F_OK) == 0 else {
            throw DataError.notFound(file: "\(cifar10Folder)/\(name)", searched: [path], destination: path,
                                     urls: ["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (extract it)"],
                                     attempts: [])
        }
        let (p, l) = try cifar10Records(try readDataFile(path), path: path)
        pixels += p
        labels += l
    }
    return (Tensor(pixels, shape: [32, 32, 3, labels.count]), labels)
}
