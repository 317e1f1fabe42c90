#!/usr/bin/env python3
"""Writes conv_reference.json: PyTorch references for Knet's conv4 and deconv4.

Run from this folder: python3 make_conv_fixtures.py   (torch 2.x, CPU)

Layouts: Knet is column-major with dims [X1, X2, (X3), C, N] (X1 fastest), which is the
memory of PyTorch's row-major [N, C, (X3), X2, X1]. So a Knet shape is the reversed torch
shape, per-dim options (padding, stride, dilation) are reversed, and the flat values of a
torch tensor in row-major order are the Knet tensor's values in column-major order.
Knet's filter w [W1, W2, (W3), C/group, O] is torch's conv weight [O, C/group, ..., W2, W1];
deconv4's w [W1, W2, (W3), Cy/group, Cx] is torch's conv_transpose weight
[Cx, Cy/group, ..., W2, W1]. Knet mode 1 (cross-correlation) is torch's conv; mode 0
(true convolution) is torch's conv with the kernel flipped along every spatial dim.

Inputs are small integers so every value (also dy, dx = dL/dx, dw = dL/dw for
L = sum(y * dy)) is an exact integer and the file stays small.
"""
import json
import torch
import torch.nn.functional as F

torch.manual_seed(0)


def ints(*shape):
    return torch.randint(-3, 4, shape, dtype=torch.float64)


def flat(t):
    return [int(v) for v in t.detach().contiguous().view(-1).tolist()]


def knet_shape(t):
    return list(reversed(t.shape))


def case(name, op, x_knet, w_knet, padding, stride, dilation, mode, group):
    dims = len(x_knet) - 2
    x = ints(*reversed(x_knet)).requires_grad_()
    w = ints(*reversed(w_knet)).requires_grad_()
    rev = lambda v: tuple(reversed(v))
    spatial = tuple(range(2, 2 + dims))
    wt = w.flip(spatial) if mode == 0 else w
    kw = dict(padding=rev(padding), stride=rev(stride), dilation=rev(dilation), groups=group)
    if op == "conv4":
        f = {2: F.conv2d, 3: F.conv3d}[dims]
    else:
        f = {2: F.conv_transpose2d, 3: F.conv_transpose3d}[dims]
    y = f(x, wt, **kw)
    dy = ints(*y.shape)
    (y * dy).sum().backward()
    return dict(name=name, op=op, padding=padding, stride=stride, dilation=dilation, mode=mode, group=group,
                x_shape=x_knet, w_shape=w_knet, y_shape=knet_shape(y),
                x=flat(x), w=flat(w), y=flat(y), dy=flat(dy), dx=flat(x.grad), dw=flat(w.grad))


cases = [
    case("plain 2-D cross-correlation", "conv4", [5, 6, 2, 2], [3, 3, 2, 3], [0, 0], [1, 1], [1, 1], 1, 1),
    case("padding and stride per dim", "conv4", [6, 5, 2, 2], [3, 2, 2, 2], [1, 2], [2, 1], [1, 1], 1, 1),
    case("dilation", "conv4", [7, 6, 1, 2], [3, 2, 1, 2], [1, 1], [1, 2], [2, 3], 1, 1),
    case("convolution mode 0", "conv4", [6, 6, 2, 1], [3, 2, 2, 3], [1, 0], [2, 1], [1, 1], 0, 1),
    case("groups", "conv4", [5, 4, 4, 2], [3, 2, 2, 6], [0, 1], [1, 1], [1, 1], 1, 2),
    case("3-D convolution", "conv4", [4, 5, 3, 2, 2], [2, 3, 2, 2, 3], [1, 0, 1], [1, 2, 1], [1, 1, 1], 0, 1),
    case("3-D dilated cross-correlation", "conv4", [5, 4, 4, 1, 1], [2, 2, 2, 1, 2], [0, 1, 0], [1, 1, 2], [2, 1, 1], 1, 1),
    case("deconv stride and padding", "deconv4", [3, 4, 3, 2], [3, 3, 2, 3], [1, 1], [2, 2], [1, 1], 1, 1),
    case("deconv mode 0, groups, dilation", "deconv4", [3, 3, 4, 1], [2, 3, 1, 4], [0, 1], [1, 2], [2, 1], 0, 2),
    case("3-D deconv", "deconv4", [2, 3, 2, 2, 1], [2, 2, 3, 1, 2], [0, 1, 1], [2, 1, 2], [1, 1, 1], 1, 1),
]

with open("conv_reference.json", "w") as out:
    json.dump(dict(torch=torch.__version__, cases=cases), out, separators=(",", ":"))
    out.write("\n")
