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
integers.safetensors holds the other dtypes Knet reads (row-major values as listed):
  labels   I64 (3,)     1, 2, -3
  edge     I64 (4,)     2**53, -2**53, 2**60, -2**63 (large, but exact in Float64)
  num_batches_tracked  I64 ()  7 (as in a BatchNorm state_dict)
  counts   I32 (2, 2)   0, -2**31, 2**31 - 1, 5
  ucounts  U32 (2,)     0, 2**32 - 1
  ulongs   U64 (2,)     2**63, 12345 (written as int64 bits: -2**63 and 12345)
  bytes    U8 (3,)      0, 255, 7
  signed   I8 (2,)      -128, 127
  shorts   I16 (2,)     -32768, 32767
  ushorts  U16 (2,)     0, 65535
  mask     BOOL (3,)    True, False, True (the True bytes are rewritten to 1 and 2)
  e4m3     F8_E4M3 (5,) 1, -2, 448, 2**-9, 0.875
  e5m2     F8_E5M2 (6,) 1, -3, 57344, 2**-16, inf, nan
inexact.safetensors holds "big" I64 (2,) = 1, 2**53 + 1, which Float64 cannot hold.
"""
import json
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
save_file({
    "labels": torch.tensor([1, 2, -3], dtype=torch.int64),
    "edge": torch.tensor([2 ** 53, -2 ** 53, 2 ** 60, -2 ** 63], dtype=torch.int64),
    "num_batches_tracked": torch.tensor(7, dtype=torch.int64),
    "counts": torch.tensor([[0, -2 ** 31], [2 ** 31 - 1, 5]], dtype=torch.int32),
    "ucounts": torch.tensor([0, 2 ** 32 - 1], dtype=torch.int64).to(torch.uint32),
    "ulongs": torch.tensor([-2 ** 63, 12345], dtype=torch.int64).view(torch.uint64),
    "bytes": torch.tensor([0, 255, 7], dtype=torch.uint8),
    "signed": torch.tensor([-128, 127], dtype=torch.int8),
    "shorts": torch.tensor([-32768, 32767], dtype=torch.int16),
    "ushorts": torch.tensor([0, 65535], dtype=torch.int32).to(torch.uint16),
    "mask": torch.tensor([True, False, True]),
    "e4m3": torch.tensor([1, -2, 448, 2.0 ** -9, 0.875]).to(torch.float8_e4m3fn),
    "e5m2": torch.tensor([1, -3, 57344, 2.0 ** -16, float("inf"), float("nan")]).to(torch.float8_e5m2),
}, os.path.join(HERE, "integers.safetensors"))
# A BOOL byte other than 0 or 1 (readers take nonzero as true): the second True becomes 2.
path = os.path.join(HERE, "integers.safetensors")
with open(path, "rb") as f:
    data = bytearray(f.read())
header_len = int.from_bytes(data[:8], "little")
begin = json.loads(data[8:8 + header_len])["mask"]["data_offsets"][0] + 8 + header_len
assert data[begin:begin + 3] == b"\x01\x00\x01"
data[begin + 2] = 2
with open(path, "wb") as f:
    f.write(data)
save_file({"big": torch.tensor([1, 2 ** 53 + 1], dtype=torch.int64)},
          os.path.join(HERE, "inexact.safetensors"))
