"""Writes the PyTorch reference values for LossTests / DropoutBatchNormTests
(nll.json, bce.json, batchnorm.json, bmm.json next to this script).

Every array is stored in Knet's layout: "shape" is the Knet (column-major) shape and
"data" the elements in column-major order, i.e. a torch tensor of the Knet shape
flattened with its dims reversed. Labels are 0-based; -1 marks a skipped instance
(torch's ignore_index). Run: python3 make_nn_fixtures.py  (torch 2.x, CPU).
"""
import json
import os
import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))


def knet(t):
    """{shape, data} of a tensor whose torch shape is the Knet shape."""
    t = t.detach()
    flat = t.permute(*reversed(range(t.dim()))).reshape(-1) if t.dim() > 0 else t.reshape(1)
    return {"shape": list(t.shape), "data": [float(f"{v:.15g}") for v in flat.tolist()]}


def write(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))


# nll == cross_entropy with ignore_index; scores [C, N] (dims 0) and [N, C] (dims 1).
C, N = 5, 6
scores = torch.randn(C, N, requires_grad=True)
labels = torch.tensor([3, 0, -1, 4, 1, 4])
loss = F.cross_entropy(scores.T, labels, ignore_index=-1)
(grad,) = torch.autograd.grad(loss, scores)
total = F.cross_entropy(scores.T, labels, ignore_index=-1, reduction="sum")
(gradsum,) = torch.autograd.grad(total, scores)
rows = torch.randn(N, C, requires_grad=True)       # dims 1: instances in rows
loss1 = F.cross_entropy(rows, labels, ignore_index=-1)
(grad1,) = torch.autograd.grad(loss1, rows)
write("nll.json", {
    "labels": labels.tolist(),
    "scores": knet(scores), "mean": loss.item(), "grad": knet(grad),
    "sum": total.item(), "gradsum": knet(gradsum),
    "scores1": knet(rows), "mean1": loss1.item(), "grad1": knet(grad1),
})

# bce / logistic == binary_cross_entropy_with_logits, scores [1, 7] with a large logit.
x = (torch.randn(1, 7) * 3).requires_grad_()
with torch.no_grad():
    x[0, 2] = 40.0
    x[0, 5] = -35.0
    x[0, 3] = -30.0                              # confidently wrong: loss 30
y = torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0]])
bce = F.binary_cross_entropy_with_logits(x, y)
(gx,) = torch.autograd.grad(bce, x)
bsum = F.binary_cross_entropy_with_logits(x, y, reduction="sum")
write("bce.json", {"scores": knet(x), "labels": knet(y), "mean": bce.item(),
                   "grad": knet(gx), "sum": bsum.item()})


def batchnorm_case(knet_shape, perm):
    """Training step then eval, with running stats; `perm` (dims reversed) maps the Knet
    layout to torch's [N, C, ...]."""
    xk = torch.randn(*knet_shape) * 2 + 0.5
    C = knet_shape[-2] if len(knet_shape) > 2 else knet_shape[0]
    g = (torch.rand(C) + 0.5).requires_grad_()
    b = torch.randn(C).requires_grad_()
    xk.requires_grad_()
    xt = xk.permute(*perm)
    rm, rv = torch.randn(C) * 0.1, torch.rand(C) + 0.5
    rm0, rv0 = rm.clone(), rv.clone()
    yt = F.batch_norm(xt, rm, rv, g, b, training=True, momentum=0.1, eps=1e-5)
    yk = yt.permute(*perm)                       # the reversal is its own inverse
    r = torch.randn(*knet_shape)
    dx, dg, db = torch.autograd.grad((yk * r).sum(), (xk, g, b))
    x2 = torch.randn(*knet_shape)
    y2t = F.batch_norm(x2.permute(*perm), rm, rv, g, b, training=False, eps=1e-5)
    y2 = y2t.permute(*perm)
    return {"x": knet(xk), "scale": knet(g), "bias": knet(b),
            "runmean0": knet(rm0), "runvar0": knet(rv0), "y": knet(yk),
            "upstream": knet(r), "dx": knet(dx), "dscale": knet(dg), "dbias": knet(db),
            "runmean1": knet(rm), "runvar1": knet(rv), "xeval": knet(x2), "yeval": knet(y2)}


write("batchnorm.json", {
    "bn2": batchnorm_case((3, 5), (1, 0)),              # Knet [C, N] = torch [N, C]
    "bn4": batchnorm_case((3, 2, 2, 3), (3, 2, 1, 0)),  # Knet [W, H, C, N] = torch [N, C, H, W]
})


def bmm_case(m, k, n, batch, ta, tb):
    A = torch.randn(*((k, m) if ta else (m, k)), *batch)
    B = torch.randn(*((n, k) if tb else (k, n)), *batch)
    nb = len(batch)
    def slices(t):  # Knet [r, c, batch...] -> torch [batch..., r, c]
        return t.permute(*range(2, 2 + nb), 0, 1)
    At, Bt = slices(A), slices(B)
    if ta: At = At.transpose(-1, -2)
    if tb: Bt = Bt.transpose(-1, -2)
    Ct = torch.matmul(At, Bt)                     # [batch..., m, n]
    Ck = Ct.permute(nb, nb + 1, *range(nb))       # Knet [m, n, batch...]
    return {"transA": ta, "transB": tb, "a": knet(A), "b": knet(B), "c": knet(Ck)}


write("bmm.json", {"cases": [bmm_case(2, 3, 4, (3,), False, False),
                             bmm_case(3, 2, 2, (2, 2), True, True),
                             bmm_case(2, 4, 3, (2,), True, False),
                             bmm_case(3, 3, 2, (2,), False, True)]})
