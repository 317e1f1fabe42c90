// swift-tools-version:6.0
import PackageDescription

// The Swift GEMM kernel and KnetAVX2's entry points are compiled for AVX2+FMA (chosen at
// run time from CPUID; the generic math they inline lives in KnetMath, built for any CPU);
// on other architectures they build for the generic target and are never selected.
#if arch(x86_64)
let avx2Flags = ["-Ounchecked", "-Xcc", "-march=haswell", "-target-cpu", "haswell"]
#else
let avx2Flags = ["-Ounchecked"]
#endif

let package = Package(
    name: "Knet",
    products: [
        .library(name: "Knet", targets: ["Knet"]),
        .executable(name: "knet", targets: ["knet"]),
        .executable(name: "knet-bench", targets: ["knet-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "CKnetCPU"),
        .target(
            name: "KnetGEMM",
            dependencies: ["CKnetCPU"],
            swiftSettings: [.unsafeFlags(avx2Flags)]
        ),
        .target(name: "KnetMath", dependencies: [.product(name: "RealModule", package: "swift-numerics")]),
        .target(
            name: "KnetAVX2",
            dependencies: ["KnetGEMM", "KnetMath"],
            swiftSettings: [.unsafeFlags(avx2Flags)]
        ),
        .target(
            name: "Knet",
            dependencies: ["KnetGEMM", "KnetMath", "KnetAVX2", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "knet",
            dependencies: ["Knet", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            exclude: ["Resources/README.md"],
            resources: [.copy("Resources/boston_house_prices.csv")]
        ),
        .target(name: "KnetBenchmarks", dependencies: ["Knet"]),
        .executableTarget(name: "knet-bench", dependencies: ["Knet", "KnetBenchmarks"]),
        .testTarget(name: "KnetTests", dependencies: ["Knet", "KnetGEMM", "KnetMath", "KnetAVX2"], exclude: ["Fixtures", "CUDAEmulator"]),
        .testTarget(name: "KnetBenchmarksTests", dependencies: ["KnetBenchmarks", "Knet"]),
    ],
    swiftLanguageModes: [.v5]
)
