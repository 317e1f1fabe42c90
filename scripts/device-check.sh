#!/usr/bin/env bash
# The GPU device check, in one device call of under 9 minutes (run on the device machine
# from the repository root, after scripts/build-device-bundle.sh made .device/bundle.tar.xz
# here and the call carried it: `run(command: "bash scripts/device-check.sh",
# carry: [".device"], timeout_s: 540)`):
#  1. every generated elementwise kernel against the CPU formulas, and x .+ y's bandwidth
#     on 100M floats (knet-bench --gpu-check); then NCCL's collectives as a job of one rank
#     (all-reduce sum/max/min/mean, broadcast, all-gather compared with their input, and a
#     64M-float all-reduce timed: knet-bench --nccl-check, with the libnccl.so.2 of the CUDA
#     toolkit or of PyTorch's nvidia-nccl wheel);
#  2. the whole test suite with the real GPU as the second device of every device test
#     (KNET_TEST_GPU=cuda: each such test runs on the CPU and on gpu0 and must pass both),
#     once on Knet's own kernels (KNET_CUDNN=0) and once through cuDNN (KNET_CUDNN=1,
#     where CUDNNTests also checks that cuDNN ran);
#  3. the benchmark table on the GPU next to PyTorch CUDA eager, in the same invocation.
# Results go to $OUT (or ./device-out): gpu.txt, gpu-check.txt, nccl-check.txt, tests-own.txt,
# tests-cudnn.txt, BENCHMARKS-gpu.md. Each step has its own time limit (60 + 20 + 150 + 120
# + 130 s); a step that fails or runs out marks the check failed and the next one runs.
set -uo pipefail
out=${OUT:-device-out}; mkdir -p "$out"
root=/tmp/knet; rm -rf "$root"; mkdir -p "$root"
tar -xJf .device/bundle.tar.xz -C "$root"
export LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The tests find their fixtures by the path they were built at.
[ -e /work/main ] || { mkdir -p /work && ln -s "$PWD" /work/main; }
# NVRTC, cuBLAS and cuDNN: the CUDA toolkit's, else the ones PyTorch's wheels bring.
site=$(python3 -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null)
find_lib() { find /usr/local/cuda*/ /usr/lib/x86_64-linux-gnu "$site" -name "$1" 2>/dev/null | sort | tail -1; }
export KNET_LIBNVRTC=${KNET_LIBNVRTC:-$(find_lib 'libnvrtc.so.1[0-9]*')}
export KNET_LIBCUBLAS=${KNET_LIBCUBLAS:-$(find_lib 'libcublas.so.1[0-9]*')}
export KNET_LIBCUDNN=${KNET_LIBCUDNN:-$(find_lib 'libcudnn.so.[89]*')}
export KNET_LIBNCCL=${KNET_LIBNCCL:-$(find_lib 'libnccl.so.2*')}
export KNET_CACHE=/tmp/knet-cache
{ nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv
  echo "NVRTC $KNET_LIBNVRTC"; echo "cuBLAS $KNET_LIBCUBLAS"; echo "cuDNN $KNET_LIBCUDNN"; echo "NCCL $KNET_LIBNCCL"
  "$root/knet" info; } 2>&1 | tee "$out/gpu.txt"
status=0
step() {   # step NAME SECONDS FILE COMMAND...: runs COMMAND into FILE under a time limit
    local name=$1 limit=$2 file=$3; shift 3
    local start=$SECONDS
    timeout "$limit" "$@" > "$out/$file" 2>&1; local rc=$?
    echo "== $name: exit $rc after $((SECONDS - start)) s (limit $limit s)"
    [ $rc -eq 0 ] || status=1
}
step "kernels and bandwidth" 60 gpu-check.txt "$root/knet-bench" --gpu-check
tail -15 "$out/gpu-check.txt"
step "NCCL, one rank" 20 nccl-check.txt "$root/knet-bench" --nccl-check
cat "$out/nccl-check.txt"
step "tests, own kernels" 150 tests-own.txt env KNET_TEST_GPU=cuda KNET_CUDNN=0 "$root/KnetPackageTests.xctest"
grep -E "error|Executed .* tests" "$out/tests-own.txt" | tail -12
step "tests, cuDNN" 120 tests-cudnn.txt env KNET_TEST_GPU=cuda KNET_CUDNN=1 "$root/KnetPackageTests.xctest"
grep -E "error|CUDNNTests|Executed .* tests" "$out/tests-cudnn.txt" | tail -12
step "GPU benchmark table" 130 bench.txt "$root/knet-bench" --device gpu --synthetic --runs 3 --vs torch_cuda \
    --peers "$root/peers" --report "$out/BENCHMARKS-gpu.md"
tail -20 "$out/bench.txt"
exit $status
