import Knet

// The wide table's ResNet-50 row: inference only (no tape), batchnorm in eval mode folded
// into the convolutions, batches of 32 random 224×224×3 images; 1 untimed warm-up batch,
// then 4 timed batches (128 images). Smoke scale: a tiny bottleneck ResNet ([1, 1, 1, 1],
// widths 4–32) on 2 batches of 4 random 32×32 images. The loss column is a checksum: the
// mean of the pooled features over the timed batches (random weights, so it differs from
// PyTorch's). Peer: Benchmarks/peers/torch_resnet50.py.

extension TableCase {
    /// ResNet-50 inference, seconds per 1,000 images.
    static let resnet50 = TableCase(
        name: "resnet50", rows: ["resnet50"],
        summary: "ResNet-50 inference to the 2048-d pooled output, eval (batchnorm folded), 4 batches of 32 random 224×224×3 images",
        peerScripts: ["torch": "Benchmarks/peers/torch_resnet50.py"], rate: .secondsPer(1000, "images"),
        run: { ["resnet50": resnet50Case($0)] })
}

/// Times `batches` forward passes of ResNet-50 (a tiny ResNet at smoke scale) on random images.
private func resnet50Case(_ data: Workloads) -> RunResult {
    let full = data.scale == .full
    let configuration = full ? ResNet.Configuration.resnet50()
        : ResNet.Configuration(block: .bottleneck, layers: [1, 1, 1, 1], widths: [4, 8, 16, 32])
    let (size, batch, batches) = full ? (224, 32, 4) : (32, 4, 2)
    setseed(1)
    let model = ResNet(configuration).build(for: [size, size, 3, 1]).eval().folded()
    let images = (0...batches).map { _ in Tensor.randn(size, size, 3, batch) }
    _ = mean(model.callAsFunction(images[0])).scalar              // warm-up batch
    var checksum = 0.0
    var run = timedRun {
        for x in images.dropFirst() { checksum += mean(model.callAsFunction(x)).scalar }
    }
    run.loss = checksum / Double(batches)
    run.items = Double(batch * batches)
    return run
}
