"""PyTorch fixture for ResNetTests: a tiny torchvision-layout ResNet in eval mode.

    python3 make_fixture.py        # writes tiny_resnet.safetensors and tiny_resnet_io.safetensors here

Needs torch 2.x and safetensors 0.4+. torchvision is not needed: `ResNet` and
`Bottleneck` of the benchmark's peer script (Benchmarks/peers/torch_resnet50.py) are torchvision's (torchvision/models/resnet.py, v1.5: the stride on
the 3x3 convolution), with the same module names, so `state_dict()` has torchvision's
keys (conv1.weight, bn1.running_mean, layer1.0.conv2.weight, layer1.0.downsample.0.weight,
..., fc.weight). Only the widths are parameters: ResNet-50 is
ResNet([3, 4, 6, 3], widths=(64, 128, 256, 512)) and then matches torchvision.models.resnet50
key for key and shape for shape.

The fixture: layers [1, 1, 1, 1], widths (2, 4, 6, 8) (pooled output 32), fc to 5
classes, float64, seed 0; random weights (He-scaled), random batchnorm affine parameters
and running statistics (so eval mode differs from a fresh layer). tiny_resnet.safetensors
is `model.state_dict()` (safetensors.torch.save_file); tiny_resnet_io.safetensors holds x
(2, 3, 16, 20) -- H != W, so a W/H transposition shows -- the pooled features (2, 32) and
the fc logits (2, 5), from `model.eval()` under `torch.no_grad()`.
"""
import os
import sys

import torch
import torch.nn as nn
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "Benchmarks", "peers"))
from torch_resnet50 import ResNet  # noqa: E402


def randomize(model):
    """He-scaled conv weights; batchnorm scale, shift and running statistics random."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn_like(m.weight) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)


def main():
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    model = ResNet([1, 1, 1, 1], widths=(2, 4, 6, 8), num_classes=5)
    randomize(model)
    model.eval()
    x = torch.randn(2, 3, 16, 20)
    with torch.no_grad():
        pooled = model.features(x)
        logits = model.fc(pooled)
    assert (pooled > 0).float().mean() > 0.25, "too few active features: the test would be weak"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(HERE, "tiny_resnet.safetensors"))
    save_file({"x": x, "pooled": pooled, "logits": logits}, os.path.join(HERE, "tiny_resnet_io.safetensors"))
    print("parameters", sum(p.numel() for p in model.parameters()), "pooled", pooled.mean().item())


if __name__ == "__main__":
    main()
