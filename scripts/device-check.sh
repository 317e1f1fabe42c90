#!/usr/bin/env bash
# The GPU device check (run on the device machine, from the repository root, after
# scripts/build-device-bundle.sh made .device/bundle.tar.xz here and it was carried):
#  1. every generated elementwise kernel against the CPU formulas, and x .+ y's bandwidth
#     on 100M floats (knet-bench --gpu-check);
#  2. the whole test suite with the real GPU as the second device of every device test
#     (KNET_TEST_GPU=cuda: each such test runs on the CPU and on gpu0 and must pass both);
#  3. the benchmark table on the GPU next to PyTorch CUDA eager, in the same invocation.
# Results go to $OUT (or ./device-out): gpu-check.txt, tests.txt, BENCHMARKS-gpu.md.
set -uo pipefail
out=${OUT:-device-out}; mkdir -p "$out"
root=/tmp/knet; rm -rf "$root"; mkdir -p "$root"
tar -xJf .device/bundle.tar.xz -C "$root"
export LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The tests find their fixtures by the path they were built at.
[ -e /work/main ] || { mkdir -p /work && ln -s "$PWD" /work/main; }
# NVRTC and cuBLAS: the CUDA toolkit's, else the ones PyTorch's wheels bring.
find_lib() { find /usr/local/cuda*/ /usr/lib/x86_64-linux-gnu "$(python3 -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null)" \
               -name "$1" 2>/dev/null | sort | tail -1; }
export KNET_LIBNVRTC=${KNET_LIBNVRTC:-$(find_lib 'libnvrtc.so.1[0-9]*')}
export KNET_LIBCUBLAS=${KNET_LIBCUBLAS:-$(find_lib 'libcublas.so.1[0-9]*')}
export KNET_CACHE=/tmp/knet-cache
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv | tee "$out/gpu.txt"
"$root/knet" info | tee -a "$out/gpu.txt"
status=0
timeout 120 "$root/knet-bench" --gpu-check 2>&1 | tee "$out/gpu-check.txt" || status=1
KNET_TEST_GPU=cuda timeout 240 "$root/KnetPackageTests.xctest" > "$out/tests.txt" 2>&1 || status=1
grep -E "error|failed|Executed" "$out/tests.txt" | tail -30
timeout 200 "$root/knet-bench" --device gpu --synthetic --runs 3 --vs torch_cuda --peers "$root/peers" \
    --report "$out/BENCHMARKS-gpu.md" 2>&1 | tail -20 || status=1
exit $status
