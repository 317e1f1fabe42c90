"""PyTorch fixtures for DyNetModelTests: loss and gradients of the peer's models.

    python3 make_fixtures.py      # writes NAME.safetensors next to this script

Uses the models of Benchmarks/peers/torch_dynet.py (float64, seed 0) on tiny inputs:
  rnnlm       RNNLM(vocab 7, embed 3, hidden 4) on the batch lmBatches([[1,2,3,0],[4,0]], 2, eos 0)
  tagger      Tagger(words 6, tags 3, embed 4, hidden 3, mlp 2) on words [0,5,2,5], tags [0,1,2,1]
  taggerchar  the same with chars 5 (char embed 2), rare positions [1,3] spelt [4,0,1,4], [4,2,4]
Each file holds the state_dict (PyTorch names), `grad.NAME` for each parameter and `loss`.
"""
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../../Benchmarks/peers"))
import torch_dynet as td  # noqa: E402

torch.set_default_dtype(torch.float64)


def save(name, model, loss):
    loss.backward()
    out = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    for k, p in model.named_parameters():
        out["grad." + k] = p.grad.detach().clone().contiguous()
    out["loss"] = loss.detach().reshape(1)
    save_file(out, os.path.join(HERE, name + ".safetensors"))


torch.manual_seed(0)
lm = td.RNNLM(7, 3, 4)
x, y, _ = td.lm_batches([[1, 2, 3, 0], [4, 0]], 2, 0)[0]
save("rnnlm", lm, lm(x, y))

words, tags = torch.tensor([0, 5, 2, 5]), torch.tensor([0, 1, 2, 1])
torch.manual_seed(0)
tagger = td.Tagger(6, 3, None, embed=4, hidden=3, mlp=2)
save("tagger", tagger, F.cross_entropy(tagger(words, [], []), tags))
torch.manual_seed(0)
tagger = td.Tagger(6, 3, 5, embed=4, hidden=3, mlp=2, cembed=2)
save("taggerchar", tagger, F.cross_entropy(tagger(words, [1, 3], [[4, 0, 1, 4], [4, 2, 4]]), tags))
