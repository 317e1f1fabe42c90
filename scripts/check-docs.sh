#!/usr/bin/env bash
# Builds the DocC documentation of Knet (Sources/Knet/Knet.docc and the doc comments) with
# swift-docc-plugin. Fails on an error, and on a warning about a page of the catalog (a
# symbol link of an article that no longer resolves); other warnings are only counted.
#
#   bash scripts/check-docs.sh      # the archive: .build/plugins/Swift-DocC/outputs/Knet.doccarchive
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift package generate-documentation --target Knet > "$log" 2>&1 || { cat "$log"; echo "check-docs: docc failed" >&2; exit 1; }
if grep -A1 '^warning:' "$log" | grep -qE -- '--> [^ ]*\.md:'; then
    grep -A12 '^warning:' "$log"
    echo "check-docs: the catalog's pages have warnings (above)" >&2
    exit 1
fi
echo "check-docs: ok ($(grep -c '^warning:' "$log" || true) warnings from doc comments); $(grep -A1 'Generated documentation archive' "$log" | tail -1 | xargs)"
