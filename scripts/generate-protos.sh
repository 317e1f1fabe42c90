#!/usr/bin/env bash
# Regenerates Sources/KnetLog/Generated/*.pb.swift from Sources/KnetLog/Protos/*.proto.
# Needs protoc (Debian: apt-get install protobuf-compiler) and protoc-gen-swift of the
# swift-protobuf version Package.swift names; the plugin is built here from a clone of
# swift-protobuf (in .build/, ignored) unless PROTOC_GEN_SWIFT names a built one:
#
#     scripts/generate-protos.sh
#     PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift scripts/generate-protos.sh
#
# The generated code is committed, so building Knet needs neither protoc nor the plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.39.0
plugin=${PROTOC_GEN_SWIFT:-}
if [ -z "$plugin" ]; then
    src=.build/swift-protobuf-$version
    [ -d "$src" ] || git clone --quiet --depth 1 --branch "$version" https://github.com/apple/swift-protobuf "$src"
    swift build --package-path "$src" -c release --product protoc-gen-swift
    plugin=$src/.build/release/protoc-gen-swift
fi
protoc --version
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Internal \
       --swift_out=Sources/KnetLog/Generated -I Sources/KnetLog/Protos Sources/KnetLog/Protos/*.proto
echo "wrote Sources/KnetLog/Generated/ with $("$plugin" --version)"
