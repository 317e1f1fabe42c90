"""PyTorch fixture for TreeLSTMTests: the Tree-LSTM of Benchmarks/peers/torch_treenn.py
(imported from there, so the test checks the benchmark's PyTorch model too) in float64
on two tiny trees.

    python3 make_fixtures.py      # writes treenn.safetensors next to this script

Sizes: vocabulary 8 (_UNK_ + the trees' 7 words), embedding 3, hidden 4, 5 labels.
treenn.safetensors holds the model's state_dict (PyTorch names and shapes), and for
tree t = 0, 1: `loss<t>` (0-d: the summed loss over every node) and `grad<t>.<name>`
(its gradient for each parameter). Before saving, the level-by-level forward is checked
against a plain recursive PyTorch forward of the same math (loss and gradients).
"""
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "Benchmarks", "peers"))
import torch_treenn as tt  # noqa: E402

TREES = ["(3 (2 It) (4 (2 's) (3 good)))",
         "(1 (0 (2 not) (1 (1 very) (0 bad))) (2 .))"]
VOCAB = ["_UNK_", "It", "'s", "good", "not", "very", "bad", "."]


def recursive_loss(model, s):
    """The same loss by plain recursion, one node at a time."""
    h, c, total = [], [], 0.0
    for k, nd in enumerate(s.nodes):
        if nd[0] == "word":
            hk, ck = model.leaf_cell(model.embedding(s.words[nd[1]:nd[1] + 1]))
        else:
            hk, ck = model.pair_cell(h[nd[1]], h[nd[2]], c[nd[1]], c[nd[2]])
        h.append(hk); c.append(ck)
        total = total + F.cross_entropy(model.output(hk), s.labels[s.column[k]:s.column[k] + 1], reduction="sum")
    return total


def main():
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(15)
    model = tt.TreeLSTM(len(VOCAB), 3, 4)
    with torch.no_grad():                       # non-zero biases, so that their use is tested
        model.bias.normal_(0, 0.5)
        model.forget_bias.normal_(0, 0.5)
    w2i = {w: i for i, w in enumerate(VOCAB)}
    out = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for t, text in enumerate(TREES):
        s = tt.Schedule(tt.parse_tree(text), w2i)
        grads = []
        for f in (model, lambda s: recursive_loss(model, s)):
            model.zero_grad()
            loss = f(s)
            loss.backward()
            grads.append((loss.detach().clone(), {n: p.grad.detach().clone() for n, p in model.named_parameters()}))
        (l0, g0), (l1, g1) = grads
        assert torch.allclose(l0, l1, rtol=1e-12), (l0, l1)
        for n in g0:
            assert torch.allclose(g0[n], g1[n], rtol=1e-10, atol=1e-13), n
        out[f"loss{t}"] = l0
        out.update({f"grad{t}.{n}": g for n, g in g0.items()})
        print(f"tree {t}: loss {l0.item():.6f}, {len(s.labels)} nodes, {len(s.levels)} levels")
    save_file(out, os.path.join(HERE, "treenn.safetensors"))


if __name__ == "__main__":
    main()
