"""Writes python.safetensors and int64.safetensors next to this script for
SafeTensorsTests (run: python3 make_safetensors_fixture.py; needs torch 2.x and
safetensors 0.4+).

python.safetensors holds PyTorch (row-major) tensors; Knet loads a torch tensor of
shape (a, b, c) as a Knet tensor of shape [c, b, a] whose column-major elements are the
torch tensor's flattened C-order elements, so each value below is `f(flat index)`:
  weight  F32 (3, 4)        0.5 * k - 1
  bias    F64 (5,)          k / 3
  image   F32 (2, 3, 4, 5)  k / 7            (PyTorch's N, C, H, W)
  scalar  F64 ()            3.25
  empty   F32 (0, 3)
  half    F16 (4,)          1, -2.5, 65504, 2**-24 (the smallest subnormal)
  brain   BF16 (2, 2)       1, -2, 0.5, 3.140625
metadata: {"framework": "pytorch", "epoch": "7"}
int64.safetensors holds one I64 tensor "labels" (3,), which Knet refuses.
"""
import os
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def flat(n, dtype):
    return torch.arange(n, dtype=torch.float64).to(dtype)


tensors = {
    "weight": (0.5 * flat(12, torch.float64) - 1).to(torch.float32).reshape(3, 4),
    "bias": (flat(5, torch.float64) / 3),
    "image": (flat(120, torch.float64) / 7).to(torch.float32).reshape(2, 3, 4, 5),
    "scalar": torch.tensor(3.25, dtype=torch.float64),
    "empty": torch.zeros(0, 3, dtype=torch.float32),
    "half": torch.tensor([1, -2.5, 65504, 2.0 ** -24], dtype=torch.float16),
    "brain": torch.tensor([[1, -2], [0.5, 3.140625]], dtype=torch.bfloat16),
}
save_file(tensors, os.path.join(HERE, "python.safetensors"),
          metadata={"framework": "pytorch", "epoch": "7"})
save_file({"labels": torch.tensor([1, 2, 3], dtype=torch.int64)},
          os.path.join(HERE, "int64.safetensors"))
