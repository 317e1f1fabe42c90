// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for Knet's parsers of outside bytes, one executable per parser, built
// with Swift's -sanitize=fuzzer,address (unsafe flags, which is why they live in this
// separate package and not in ../Package.swift). Build and run them with
// ../scripts/fuzz.sh, which also instruments the Knet module itself (-Xswiftc
// -sanitize=fuzzer,address) and makes its internals reachable (-enable-testing).

let parsers = ["inflate", "idx", "safetensors", "housing", "text", "json"]
let sanitizers = ["-sanitize=fuzzer,address"]

let package = Package(
    name: "KnetFuzz",
    dependencies: [.package(name: "Knet", path: "..")],
    targets: [
        .target(name: "CFuzzDriver"),
        // What each target checks, as plain functions over bytes, and the call into libFuzzer.
        .target(name: "FuzzChecks", dependencies: ["CFuzzDriver", .product(name: "Knet", package: "Knet")]),
    ] + parsers.map { parser in
        .executableTarget(name: "fuzz-\(parser)", dependencies: ["FuzzChecks"], path: "Sources/Targets/\(parser)",
                          swiftSettings: [.unsafeFlags(sanitizers)],
                          linkerSettings: [.unsafeFlags(sanitizers)])
    },
    swiftLanguageModes: [.v5]
)
