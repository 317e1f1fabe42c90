#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (Swift's -sanitize=fuzzer,address, the Knet
# module instrumented too) and runs each for SECONDS (default 60), starting from the
# committed seeds in Fuzz/Corpus/<target>; prints executions and findings per target.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: inflate idx safetensors housing text json
#   FUZZ_RUNS=1000000 scripts/fuzz.sh 1800    each target stops after 1M executions (or 1800 s)
#
# Inputs libFuzzer finds new coverage with go to Fuzz/.build/fuzz-corpus/<target> (kept
# between runs); a crash, hang (10 s), ASan report or out-of-memory (1 GB per malloc,
# 2 GB in all) is saved in Fuzz/.build/fuzz-findings/<target>/ — minimize it with
#   Fuzz/.build/release/fuzz-<target> -minimize_crash=1 -runs=100000 <file>
# and add it to Tests/KnetTests/FuzzRegressionTests.swift.
# Exit status: 0 no findings, 1 findings (or a target that did not run), 2 the package
# does not build, 77 this toolchain cannot build a libFuzzer target at all (skipped).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift $(( $# > 0 ? 1 : 0 ))
all=(inflate idx safetensors housing text json)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
work=Fuzz/.build

# Can this toolchain link a Swift libFuzzer target at all?
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '@_cdecl("LLVMFuzzerTestOneInput") public func f(_ d: UnsafePointer<UInt8>?, _ n: Int) -> Int32 { 0 }\n' > "$probe/probe.swift"
if ! swiftc -sanitize=fuzzer,address -parse-as-library -use-ld=lld "$probe/probe.swift" -o "$probe/probe" >"$probe/log" 2>&1; then
    echo "fuzz.sh: skipped: this Swift toolchain cannot build a libFuzzer target (swiftc -sanitize=fuzzer,address):"
    sed 's/^/  /' "$probe/log" | head -5
    exit 77
fi

echo "fuzz.sh: building the fuzz targets (release, fuzzer + address sanitizer)..."
flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld)
if ! swift build --package-path Fuzz "${flags[@]}" >"$probe/build" 2>&1; then
    echo "fuzz.sh: the Fuzz package does not build:"
    grep -E "error|warning: " "$probe/build" | head -20
    exit 2
fi
bin=$(swift build --package-path Fuzz "${flags[@]}" --show-bin-path)

status=0
summary=()
for t in "${targets[@]}"; do
    if [ ! -x "$bin/fuzz-$t" ]; then echo "fuzz.sh: no target $t (known: ${all[*]})"; status=1; continue; fi
    corpus=$work/fuzz-corpus/$t findings=$work/fuzz-findings/$t
    mkdir -p "$corpus" "$findings"
    dict=()
    case $t in
        inflate|idx) dict=(-dict=Fuzz/Dictionaries/gzip.dict) ;;
        *) dict=(-dict=Fuzz/Dictionaries/$t.dict) ;;
    esac
    runs=()
    [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
    before=$(ls "$findings" | wc -l)
    log=$work/fuzz-$t.log
    echo "fuzz.sh: $t for ${seconds} s..."
    # KNET_THREADS=1: parsers run on the calling thread, no pool workers spin beside libFuzzer;
    # no Swift backtracer (ASan flags its memory reads; libFuzzer prints the stack itself).
    SWIFT_BACKTRACE=enable=no KNET_THREADS=1 "$bin/fuzz-$t" "$corpus" "Fuzz/Corpus/$t" "${dict[@]}" "${runs[@]}" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=8192 -print_final_stats=1 \
        -artifact_prefix="$findings/" >"$log" 2>&1
    code=$?
    executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    new=$(( $(ls "$findings" | wc -l) - before ))
    [ -z "$executed" ] && executed=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    line=$(printf '%-12s %12s executions %8s/s  %d finding(s)' "$t" "${executed:-?}" "${rate:-?}" "$new")
    if [ "$code" -ne 0 ] || [ "$new" -gt 0 ]; then
        status=1
        line+="  (exit $code; see $log and $findings/)"
        grep -E "ERROR: |fuzz finding|Fatal error|SUMMARY" "$log" | head -5 | sed 's/^/    /'
    fi
    echo "$line"
    summary+=("$line")
done
echo
echo "fuzz.sh: at most ${seconds} s${FUZZ_RUNS:+ or $FUZZ_RUNS executions} per target"
printf '%s\n' "${summary[@]}"
exit $status
