"""PyTorch fixtures for DLFrameworksModelTests: the peer's CIFAR CNN and IMDB GRU
(Benchmarks/peers/torch_dlframeworks.py, imported from there) against Knet's.

    python3 make_fixtures.py        # writes cifar_io.safetensors and imdb_io.safetensors here

The models have millions of parameters, too many to store, so both sides compute the
same weights and inputs from a formula over row-major (PyTorch-order) positions:
    formula(n, k, scale)[i] = ((i * 7919 + k * 104729) % 2001 - 1000) / 1000 * scale
for the k-th state_dict key in sorted order, scale = 1/sqrt(fan-in) for weights (the
embedding: 1), 0.1 for biases. The files hold what PyTorch computed, in float64, in eval
mode (dropout off): the scores `y`, the mean cross-entropy `loss`, and for each parameter
KEY its gradient digested as `g.KEY.sample` (64 elements at positions floor(j*n/64)),
`g.KEY.sum` and `g.KEY.dot` (sum of g[i] * (i % 13 - 6)). CIFAR's images are
formula(2*3*32*32, 99, 1) + 0.5 in (N, C, H, W) order with labels 3, 7; IMDB's ids are
stored (`ids`, (3, 150) int64, left-padded with 0 as Knet's sequences are) with labels 1, 0, 1.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "Benchmarks", "peers"))
import torch_dlframeworks as peer  # noqa: E402

torch.set_default_dtype(torch.float64)


def formula(n, k, scale):
    i = torch.arange(n, dtype=torch.int64)
    return ((i * 7919 + k * 104729) % 2001 - 1000).double() / 1000 * scale


def scale(key, shape):
    if key.endswith("bias") or "bias_" in key:
        return 0.1
    if key.startswith("embedding"):
        return 1.0
    return 1 / math.sqrt(math.prod(shape[1:]))


def fill(model):
    sd = model.state_dict()
    with torch.no_grad():
        for k, key in enumerate(sorted(sd)):
            sd[key].copy_(formula(sd[key].numel(), k, scale(key, sd[key].shape)).reshape(sd[key].shape))


def write(name, model, x, labels, extra):
    fill(model)
    model.eval()
    y = model(x)
    loss = F.cross_entropy(y, labels)
    loss.backward()
    io = dict(extra, y=y.detach(), loss=loss.detach().reshape(1))
    weights = (torch.arange(10**8) % 13 - 6).double()
    for key, p in model.named_parameters():
        g = p.grad.reshape(-1)
        n = g.numel()
        io[f"g.{key}.sample"] = g[[j * n // 64 for j in range(64)]].clone()
        io[f"g.{key}.sum"] = g.sum().reshape(1)
        io[f"g.{key}.dot"] = (g * weights[:n]).sum().reshape(1)
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(HERE, name + "_io.safetensors"))
    print(name, "scores", y.tolist(), "loss", loss.item())


def main():
    cifar = peer.CifarCNN()
    x = (formula(2 * 3 * 32 * 32, 99, 1.0) + 0.5).reshape(2, 3, 32, 32)
    write("cifar", cifar, x, torch.tensor([3, 7]), {})
    ids = torch.zeros(3, 150, dtype=torch.int64)
    for b, pad in enumerate((0, 40, 149)):        # a full sequence, a padded one, a single word
        t = torch.arange(150 - pad)
        ids[b, pad:] = (b * 1009 + t * 7919 + 5) % 30000
        ids[b, pad] = 1                             # the start id
    write("imdb", peer.ImdbGRU(), ids, torch.tensor([1, 0, 1]), {"ids": ids})


if __name__ == "__main__":
    main()
