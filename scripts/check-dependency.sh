#!/usr/bin/env bash
# Knet as a user's package gets it: by URL and version, in Swift 6 language mode.
#
#   bash scripts/check-dependency.sh [WORKDIR]
#
# Clones this checkout's HEAD (committed work only) into WORKDIR/Knet and tags it with the
# version README.md's "Use Knet in your package" names; writes that section's Package.swift
# into WORKDIR/UseKnet with the URL file://WORKDIR/Knet and its main.swift; adds the
# fixture's other executables (the ```swift blocks of README.md and of the DocC catalog's
# articles, and Fixtures/UseKnet/Sources/LeNetBatchTime); builds it (debug, SwiftPM's default) and
# runs the README's program, checking its fit and the debug-build notice. WORKDIR defaults
# to a fresh temporary folder, removed afterwards unless the check fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/knet-dependency.XXXXXX")}
mkdir -p "$work"
work=$(cd "$work" && pwd)
fail() { echo "check-dependency: $*" >&2; echo "check-dependency: left in $work" >&2; exit 1; }

version=$(sed -n 's/.*\.package(url: "[^"]*Knet\.git", from: "\([0-9.]*\)").*/\1/p' "$root/README.md" | head -1)
[ -n "$version" ] || fail "README.md names no .package(url: \"…Knet.git\", from: \"x.y.z\")"
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
    echo "check-dependency: note: uncommitted changes are not part of the check (it clones HEAD)"
fi

# The repository a user's manifest points at: this commit, tagged as a release.
rm -rf "$work/Knet" "$work/UseKnet"
git clone -q --no-checkout "$root" "$work/Knet"
git -C "$work/Knet" checkout -q --detach "$(git -C "$root" rev-parse HEAD)"
git -C "$work/Knet" tag "$version"

# The user's package: the README's manifest and main.swift, the fixture's other targets.
mkdir -p "$work/UseKnet"
cp -R "$root/Fixtures/UseKnet/." "$work/UseKnet/"
main=$(python3 "$root/scripts/swift_blocks.py" "$root/README.md" --package "$work/UseKnet" \
       --target ReadmeExamples --url "file://$work/Knet")
for article in "$root/Sources/Knet/Knet.docc"/*.md; do
    python3 "$root/scripts/swift_blocks.py" "$article" --package "$work/UseKnet" --target "DocC$(basename "$article" .md)"
done
{
    echo
    echo "// Added by scripts/check-dependency.sh: the fixture's other executables, with $main's dependencies"
    echo "// and Knet's logging library (the README's Logging section imports KnetLog)."
    for dir in "$work/UseKnet/Sources"/*/; do
        name=$(basename "$dir")
        [ "$name" = "$main" ] || echo "package.targets.append(.executableTarget(name: \"$name\", dependencies: package.targets[0].dependencies + [.product(name: \"KnetLog\", package: \"knet\")]))"
    done
} >> "$work/UseKnet/Package.swift"

cd "$work/UseKnet"
echo "check-dependency: building $work/UseKnet against file://$work/Knet from: \"$version\""
swift build > build.log 2>&1 || true
grep -E "error:|warning: .*(Sendable|concurrency)|Build complete" build.log || true
grep -q "Build complete" build.log || fail "the package did not build (build.log)"
if grep -q "unsafe build flags" build.log; then fail "SwiftPM complained about unsafe flags (build.log)"; fi

# The README's program fits its line, and a debug Knet says once that it is one.
swift run --skip-build "$main" > run.out 2> run.err || fail "$main failed: $(cat run.err)"
cat run.out
python3 - "$work/UseKnet/run.out" <<'EOF' || fail "$main printed an unexpected fit"
import re, sys
m = re.search(r"slope (\S+)\s+intercept (\S+)", open(sys.argv[1]).read())
slope, intercept = float(m.group(1)), float(m.group(2))
assert abs(slope - 2) < 0.05 and abs(intercept + 1) < 0.05, (slope, intercept)
EOF
[ "$(grep -c "this is a debug build" run.err)" = 1 ] || fail "the debug build notice did not come exactly once: $(cat run.err)"
KNET_QUIET_DEBUG=1 swift run --skip-build "$main" > /dev/null 2> quiet.err || fail "$main failed with KNET_QUIET_DEBUG=1"
if grep -q "debug build" quiet.err; then fail "KNET_QUIET_DEBUG=1 did not hide the notice"; fi
echo "check-dependency: ok (Knet $version by URL; README and article blocks compile in Swift 6 mode)"
[ -n "${1:-}" ] || rm -rf "$work"
