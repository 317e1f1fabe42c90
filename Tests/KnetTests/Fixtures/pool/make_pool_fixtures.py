"""Writes pool2d.json and pool3d.json: PyTorch reference values for Knet's pool.

Knet's column-major [X1,X2,(X3),C,N] is the memory of PyTorch's row-major
[N,C,(X3),X2,X1], so the flat arrays are shared as they are and the per-dim
window/padding/stride lists are reversed for PyTorch. Each case holds the input x,
an output gradient g, y = pool(x) and dx = d sum(y .* g) / dx, all flat.
Knet's mode 0 is max_pool, 1 avg_pool with count_include_pad=True, 2 with False.
Run: python3 make_pool_fixtures.py   (torch 2.x, CPU)
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)


def distinct(n):
    # Distinct values (no ties for max pooling), exactly representable in decimal.
    return (torch.randperm(n, dtype=torch.float64) - n / 2) / 8


def case(shape, window, padding, stride, mode):
    nd = len(shape) - 2
    torch_shape = list(reversed(shape))
    n = 1
    for s in shape:
        n *= s
    x = distinct(n).reshape(torch_shape).requires_grad_(True)
    rev = lambda v: list(reversed(v))
    k, p, s = rev(window), rev(padding), rev(stride)
    if mode == 0:
        pool = F.max_pool2d if nd == 2 else F.max_pool3d
        y = pool(x, k, s, p)
    else:
        pool = F.avg_pool2d if nd == 2 else F.avg_pool3d
        y = pool(x, k, s, p, count_include_pad=(mode == 1))
    g = torch.randint(-4, 5, y.shape, dtype=torch.float64)
    (y * g).sum().backward()
    flat = lambda t: [float(v) for v in t.detach().reshape(-1)]
    return {"shape": shape, "window": window, "padding": padding, "stride": stride, "mode": mode,
            "yshape": list(reversed(y.shape)), "x": flat(x), "g": flat(g), "y": flat(y), "dx": flat(x.grad)}


def write(name, cases):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")


write("pool2d.json", [
    case([4, 4, 2, 1], [2, 2], [0, 0], [2, 2], 0),
    case([5, 4, 1, 2], [3, 2], [1, 1], [2, 1], 0),
    case([5, 4, 1, 2], [3, 2], [1, 1], [2, 1], 1),
    case([5, 4, 1, 2], [3, 2], [1, 1], [2, 1], 2),
    case([5, 5, 2, 1], [3, 3], [1, 1], [1, 2], 2),
])
write("pool3d.json", [
    case([4, 3, 4, 1, 2], [2, 2, 2], [0, 0, 0], [2, 1, 2], 0),
    case([4, 3, 3, 2, 1], [2, 3, 2], [1, 1, 0], [2, 2, 1], 1),
    case([4, 3, 3, 2, 1], [2, 3, 2], [1, 1, 0], [2, 2, 1], 2),
])
