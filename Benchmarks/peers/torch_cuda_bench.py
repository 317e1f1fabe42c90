"""PyTorch CUDA eager: the peers' torch_bench.py with every tensor on the GPU.

The benchmark code is the shared torch_bench.py (same models, data, hyper-parameters and
output lines); only placement and timing change: parameters are drawn on the CPU from the
same seeded generator and moved to the GPU, every numpy array becomes a CUDA tensor, and
the clock waits for the GPU (torch.cuda.synchronize) before each reading. The folder of
torch_bench.py / bench_data.py is $KNET_PEERS, else the folder of this file (the device
script copies them there).
"""
import os
import sys

sys.path.insert(0, os.environ.get("KNET_PEERS", os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
import torch_bench as tb  # noqa: E402

GPU = torch.device("cuda")
_from_numpy = torch.from_numpy
torch.from_numpy = lambda a: _from_numpy(a).to(GPU)


def on_gpu(make):
    """`make` run on the CPU (its generator lives there), the result moved to the GPU as a leaf."""
    def wrapped(*args, **kwargs):
        with torch.device("cpu"):
            t = make(*args, **kwargs)
        return t.detach().to(GPU).requires_grad_(t.requires_grad)
    return wrapped


tb.randn, tb.zeros, tb.xavier = on_gpu(tb.randn), on_gpu(tb.zeros), on_gpu(tb.xavier)
_now = tb.now
tb.now = lambda: (torch.cuda.synchronize(), _now())[1]
torch.set_default_device(GPU)

if __name__ == "__main__":
    tb.main()
