// The seeds' wider table (`knet-bench --wide`): the DeepLearningFrameworks CIFAR-10 CNN
// and IMDB GRU, ResNet-50 inference and the DyNet benchmarks, each against a PyTorch
// script kept in this project (Benchmarks/peers). Each case is defined in its own
// Wide*Cases.swift file; this list gives the report's order.

extension TableCase {
    /// The wider table's cases, in report order (`knet-bench --wide`).
    ///
    ///     for c in TableCase.wide { print(c.name, c.peerScripts) }
    public static let wide: [TableCase] = [
        treenn,
    ]
}
