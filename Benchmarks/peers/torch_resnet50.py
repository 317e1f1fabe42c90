#!/usr/bin/env python3
"""PyTorch peer of Knet's "resnet50" wide-table row: ResNet-50 inference.

    python3 torch_resnet50.py [--only resnet50] [--data DIR] [--synthetic] [--smoke] [--threads N] [--seed S]

torchvision's resnet50 (weights=None) when torchvision is importable, else the faithful
copy below (torchvision's Bottleneck v1.5 and ResNet, same modules). `model.eval()`,
`torch.no_grad()`, fc replaced by Identity (the 2048-d pooled output). Batches of 32
random 224x224x3 images: 1 untimed warm-up batch, then 4 timed batches (128 images).
--smoke: bottleneck [1, 1, 1, 1], widths 4-32, 2 batches of 4 random 32x32 images
(Knet's smoke sizes). No data files are read (--data and --synthetic are accepted for
the protocol). Prints
    # framework=torch version=V threads=N
    resnet50 seconds=S final_loss=<mean of the pooled output over the timed batches> items=<images>
"""
import time

import torch
import torch.nn as nn

import peer_protocol


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, layers, widths=(64, 128, 256, 512), num_classes=None):
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
        self.fc = nn.Identity() if num_classes is None else nn.Linear(widths[3] * Bottleneck.expansion, num_classes)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes * Bottleneck.expansion))
        out = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        out += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*out)

    def features(self, x):
        """The pooled output (N, widths[3] * 4)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x):
        return self.fc(self.features(x))


def make_model(smoke):
    if smoke:
        return ResNet([1, 1, 1, 1], widths=(4, 8, 16, 32))
    try:
        import torchvision
        model = torchvision.models.resnet50(weights=None)
        model.fc = nn.Identity()
        return model
    except ImportError:
        return ResNet([3, 4, 6, 3])


def main():
    a = peer_protocol.parser(__doc__, only="resnet50").parse_args()
    peer_protocol.start(a)
    if "resnet50" not in a.only.split(","):
        return
    torch.manual_seed(a.seed)
    size, batch, batches = (32, 4, 2) if a.smoke else (224, 32, 4)
    model = make_model(a.smoke).eval()
    images = [torch.randn(batch, 3, size, size) for _ in range(batches + 1)]
    with torch.no_grad():
        model(images[0])                                  # warm-up batch
        checksum = 0.0
        t0 = time.perf_counter()
        for x in images[1:]:
            checksum += model(x).mean().item()
        seconds = time.perf_counter() - t0
    print(f"resnet50 seconds={seconds:.6f} final_loss={checksum / batches:.6f} items={batch * batches}", flush=True)


if __name__ == "__main__":
    main()
