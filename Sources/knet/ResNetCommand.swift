import ArgumentParser
import Foundation
import Knet

/// `knet resnet50`: ResNet-50 inference (eval mode, batchnorm folded into the
/// convolutions, no tape) on random images or with torchvision weights, timed.
struct ResNet50Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resnet50",
        abstract: "ResNet-50 inference to the 2048-d pooled features on random 224×224×3 images; prints images/s.")

    @Flag(help: "Random images (the only input this command takes; kept for the other models' flag).")
    var synthetic = false
    @Option(help: "A torchvision-layout safetensors file (safetensors.torch.save_file(resnet50.state_dict(), path)); default: random weights.")
    var weights: String?
    @Option(parsing: .unconditional, help: "Images per batch.")
    var batchsize = 32
    @Option(parsing: .unconditional, help: "Timed batches (after one untimed warm-up batch).")
    var batches = 4
    @Option(parsing: .unconditional, help: "Random seed (weights and images).")
    var seed = 1

    func validate() throws {
        guard batchsize > 0 else { throw ValidationError("--batchsize must be positive, got \(batchsize)") }
        guard batches > 0 else { throw ValidationError("--batches must be positive, got \(batches)") }
        if let weights, !FileManager.default.isReadableFile(atPath: weights) {
            throw ValidationError("--weights \(weights): no such readable file")
        }
    }

    func run() throws {
        setseed(seed)
        let net = try weights.map { try ResNet.load($0, .resnet50()) }
            ?? ResNet.resnet50().build(for: [224, 224, 3, 1]).eval()
        let model = net.folded()
        let images = (0...batches).map { _ in Tensor.randn(224, 224, 3, batchsize) }
        print("\(net) on \(batches) batches of \(batchsize) random 224×224×3 images, \(weights ?? "random weights")")
        _ = mean(model.callAsFunction(images[0])).scalar                 // warm-up batch
        var checksum = 0.0
        let start = Date()
        for x in images.dropFirst() { checksum += mean(model.callAsFunction(x)).scalar }
        let seconds = Date().timeIntervalSince(start), n = Double(batches * batchsize)
        print(String(format: "%.1f images/s  %.2f s per 1,000 images  (%d images in %.2f s, mean feature %.6f)",
                     n / seconds, 1000 * seconds / n, batches * batchsize, seconds, checksum / Double(batches)))
    }
}
