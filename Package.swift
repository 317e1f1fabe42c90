// swift-tools-version:6.0
import PackageDescription

// No target uses unsafe flags, so Knet works as a versioned dependency: the vector kernels
// (GEMM, activations, LSTM cells, convolution lowering, pooling) are C in CKnetCPU with one instance per instruction set
// chosen per function (`__attribute__((target(...)))`), picked at run time from CPUID.

let package = Package(
    name: "Knet",
    products: [
        .library(name: "Knet", targets: ["Knet"]),
        .library(name: "KnetLog", targets: ["KnetLog"]),
        .executable(name: "knet", targets: ["knet"]),
        .executable(name: "knet-bench", targets: ["knet-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // `swift package generate-documentation --target Knet` (Sources/Knet/Knet.docc); builds nothing else
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CKnetCPU", exclude: ["gemm_kernel.h", "gemm_instances.h", "activation_kernel.h", "elementwise_kernel.h", "isa_instances.h",
                                           "window_instances.h", "lowering_kernel.h", "pooling_kernel.h"]),
        .target(name: "KnetGEMM", dependencies: ["CKnetCPU"]),
        .target(name: "KnetMath", dependencies: [.product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "KnetAVX2", dependencies: ["CKnetCPU", "KnetGEMM", "KnetMath"]),
        .target(
            name: "Knet",
            dependencies: ["CKnetCPU", "KnetGEMM", "KnetMath", "KnetAVX2", .product(name: "RealModule", package: "swift-numerics")]
        ),
        // SVG charts (the benchmark ratio chart, training curves); Foundation-free like Knet.
        .target(name: "KnetSVG"),
        // Training logs: TensorBoard event files (Generated/ is protoc's output for Protos/,
        // see scripts/generate-protos.sh) and SVG training curves.
        .target(
            name: "KnetLog",
            dependencies: ["Knet", "KnetSVG", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Protos"]
        ),
        .executableTarget(
            name: "knet",
            dependencies: ["Knet", "KnetLog", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            exclude: ["Resources/README.md"],
            resources: [.copy("Resources/boston_house_prices.csv")]
        ),
        .target(name: "KnetBenchmarks", dependencies: ["Knet", "KnetGEMM", "KnetSVG"]),
        .executableTarget(name: "knet-bench", dependencies: ["Knet", "KnetBenchmarks", "KnetSVG"]),
        .testTarget(name: "KnetTests", dependencies: ["Knet", "KnetGEMM", "KnetMath", "KnetAVX2"], exclude: ["Fixtures", "CUDAEmulator"]),
        .testTarget(name: "KnetBenchmarksTests", dependencies: ["KnetBenchmarks", "Knet", "KnetGEMM", "KnetSVG"]),
        .testTarget(name: "KnetLogTests", dependencies: ["KnetLog", "KnetSVG", "Knet"]),
        // Runs the built `knet` program (in the products folder of the test bundle) as a child process.
        .testTarget(name: "KnetCLITests", dependencies: ["Knet", "KnetLog"]),
    ],
    swiftLanguageModes: [.v5]
)
