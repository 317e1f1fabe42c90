"""PyTorch fixtures for InteropTests (PyTorch state_dicts loaded into Knet models).

    python3 make_fixtures.py              # writes the fixtures next to this script
    python3 make_fixtures.py --check DIR  # loads Knet's exports from DIR into PyTorch

Needs torch 2.x and safetensors 0.4+. Everything is float64 with fixed seeds.

For each model NAME below, NAME.safetensors is `model.state_dict()` as
`safetensors.torch.save_file` writes it, and NAME_io.safetensors holds its inputs and
PyTorch's outputs (eval mode):
  cnn      conv1 Conv2d(1,3,3) -> bn1 BatchNorm2d(3) -> relu -> max_pool2d(2)
           -> conv2 Conv2d(3,4,(2,3),padding=(1,0)) -> relu -> max_pool2d(2)
           -> flatten -> fc1 Linear(8,5) -> relu -> fc2 Linear(5,3)
           io: x (2,1,9,12), y (2,3). bn1 has random affine parameters and running stats;
           make() checks that over a quarter of each relu's outputs are positive.
  embed    a bare Embedding(7,4); io: indices int64 (2,3), y (2,3,4)
  lstm1    a bare LSTM(3,4);                                   io: x (5,2,3), h0, c0, y, hy, cy
  lstm2    a bare LSTM(3,4,num_layers=2,bidirectional=True);   io as lstm1
  gru1     a bare GRU(3,4);                                    io: x, h0, y, hy
  gru2     a bare GRU(3,4,num_layers=2,bidirectional=True);    io as gru1

--check DIR reads DIR/NAME.safetensors (written by Knet's savePyTorch) with
`model.load_state_dict(load_file(...), strict=True)`, runs the model on the inputs in
DIR/NAME_io.safetensors and compares with the outputs Knet stored there; it prints one
line per model and exits 1 if any differs by more than 1e-10.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
T, B, X, H = 5, 2, 3, 4


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3)
        self.bn1 = nn.BatchNorm2d(3)
        self.conv2 = nn.Conv2d(3, 4, (2, 3), padding=(1, 0))
        self.fc1 = nn.Linear(8, 5)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x):
        a1 = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        a2 = F.max_pool2d(F.relu(self.conv2(a1)), 2)
        h = F.relu(self.fc1(torch.flatten(a2, 1)))
        self.alive = [(a > 0).double().mean().item() for a in (a1, a2, h)]   # fractions past each relu
        return self.fc2(h)


MODELS = {
    "cnn": CNN,
    "embed": lambda: nn.Embedding(7, 4),
    "lstm1": lambda: nn.LSTM(X, H),
    "lstm2": lambda: nn.LSTM(X, H, num_layers=2, bidirectional=True),
    "gru1": lambda: nn.GRU(X, H),
    "gru2": lambda: nn.GRU(X, H, num_layers=2, bidirectional=True),
}


def inputs(name, model):
    """Random inputs for model NAME (fixed by the seed set before the call)."""
    if name == "cnn":
        return {"x": torch.randn(2, 1, 9, 12)}
    if name == "embed":
        return {"indices": torch.randint(0, 7, (2, 3))}
    states = model.num_layers * (2 if model.bidirectional else 1)
    io = {"x": torch.randn(T, B, X), "h0": torch.randn(states, B, H)}
    if isinstance(model, nn.LSTM):
        io["c0"] = torch.randn(states, B, H)
    return io


def outputs(model, io):
    """The model's outputs (eval mode, no gradient) on the inputs in io."""
    with torch.no_grad():
        if isinstance(model, nn.LSTM):
            y, (hy, cy) = model(io["x"], (io["h0"], io["c0"]))
            return {"y": y, "hy": hy, "cy": cy}
        if isinstance(model, nn.GRU):
            y, hy = model(io["x"], io["h0"])
            return {"y": y, "hy": hy}
        return {"y": model(io["indices"] if "indices" in io else io["x"])}


def make():
    for i, (name, build) in enumerate(MODELS.items()):
        torch.manual_seed(i)
        model = build()
        if name == "cnn":           # batchnorm with nontrivial parameters and statistics
            with torch.no_grad():
                model.bn1.weight.uniform_(0.5, 1.5)
                model.bn1.bias.uniform_(-0.2, 0.5)
                model.bn1.running_mean.normal_(0, 0.2)
                model.bn1.running_var.uniform_(0.5, 2.0)
                model.bn1.num_batches_tracked.fill_(12)
        model.eval()
        io = inputs(name, model)
        io.update(outputs(model, io))
        if name == "cnn":           # every layer matters: activations alive, samples apart
            assert min(model.alive) > 0.25 and (io["y"][0] - io["y"][1]).abs().min() > 1e-3, model.alive
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(HERE, name + ".safetensors"))
        save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(HERE, name + "_io.safetensors"))


def check(folder):
    worst = 0.0
    for name, build in MODELS.items():
        model = build()
        model.load_state_dict(load_file(os.path.join(folder, name + ".safetensors")), strict=True)
        model.eval()
        io = load_file(os.path.join(folder, name + "_io.safetensors"))
        if "indices" in io:
            io["indices"] = io["indices"].long()   # Knet writes floats
        for key, value in outputs(model, io).items():
            diff = (value - io[key]).abs().max().item()
            worst = max(worst, diff)
            print(f"{name}.{key}: max |pytorch - knet| = {diff:.3g}")
    sys.exit(0 if worst <= 1e-10 else 1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        make()
