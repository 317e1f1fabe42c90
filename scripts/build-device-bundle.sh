#!/usr/bin/env bash
# Builds, here, everything the GPU device check runs on a machine with no Swift: the
# release test bundle (with the Swift runtime libraries it needs), the static knet and
# knet-bench executables, and the peer scripts; packs them into .device/bundle.tar.xz
# (ignored by git; carried to the device machine, ≤ 64 MiB). Then, on the device machine:
#     bash scripts/device-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
stage=.device/stage
rm -rf .device && mkdir -p "$stage/lib" "$stage/peers"
swift build -c release --static-swift-stdlib --product knet-bench
swift build -c release --static-swift-stdlib --product knet
cp .build/release/knet-bench .build/release/knet "$stage/"
swift build -c release --build-tests -Xswiftc -enable-testing
cp .build/release/KnetPackageTests.xctest "$stage/"
# The test bundle links XCTest and Foundation dynamically: take the toolchain's copies.
ldd "$stage/KnetPackageTests.xctest" | awk '$3 ~ /swift/ {print $3}' | xargs -r -I{} cp -L {} "$stage/lib/"
peers=${KNET_PEERS:-../shared/peers}
cp "$peers"/*.py Benchmarks/peers/*.py "$stage/peers/"
tar -C "$stage" -cJf .device/bundle.tar.xz .
rm -rf "$stage"
ls -la .device/bundle.tar.xz
