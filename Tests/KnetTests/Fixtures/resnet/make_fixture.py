"""PyTorch fixture for ResNetTests: a tiny torchvision-layout ResNet in eval mode.

    python3 make_fixture.py        # writes tiny_resnet.safetensors and tiny_resnet_io.safetensors here

Needs torch 2.x and safetensors 0.4+. torchvision is not needed: `ResNet` and
`Bottleneck` below are torchvision's (torchvision/models/resnet.py, v1.5: the stride on
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

import torch
import torch.nn as nn
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, layers, widths=(64, 128, 256, 512), num_classes=1000):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(widths[0], layers[0], 1)
        self.layer2 = self._make_layer(widths[1], layers[1], 2)
        self.layer3 = self._make_layer(widths[2], layers[2], 2)
        self.layer4 = self._make_layer(widths[3], layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * Bottleneck.expansion, num_classes)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes * Bottleneck.expansion))
        blocks_ = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        blocks_ += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*blocks_)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x):
        return self.fc(self.features(x))


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
