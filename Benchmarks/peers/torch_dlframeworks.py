#!/usr/bin/env python3
"""PyTorch (CPU) peer of Knet's wide-table rows "cifar" and "imdb" (DeepLearningFrameworks).

    python3 torch_dlframeworks.py [--only cifar,imdb] [--data DIR] [--synthetic] [--smoke]
                                  [--threads N] [--seed S]

cifar: the DeepLearningFrameworks CIFAR-10 CNN (Sources/Knet/Models/CIFARCNN.swift), softmax
       cross-entropy, torch.optim.SGD(lr=0.01, momentum=0.9), batches of 64 images; timed:
       100 batches (6,400 images; --smoke: 2 batches of 16). Data: DIR/cifar-10-batches-bin
       (the binary version, first images in file order) when it exists, else random images.
imdb:  the IMDB GRU (Sources/Knet/Models/IMDBGRU.swift): nn.Embedding(30000, 125), nn.GRU(125,
       100), last step -> nn.Linear(100, 2), Adam(lr=1e-3), batches of 64 sequences of 150 ids;
       timed: 100 batches (6,400 sequences; --smoke: 2 batches of 16). Data: DIR/aclImdb
       tokenized as Knet does (see imdb_sequences), a seeded shuffle of the training set,
       else random ids.

Each row is warmed up on one batch with throw-away parameters, then timed on fresh ones.
Output: a header `# framework=torch version=V threads=N`, then per row
    NAME seconds=S final_loss=L items=N other_cores=X
where final_loss is the trained model's mean loss (eval mode) over the timed batches, items
the images/sequences trained on, other_cores the cores other processes used meanwhile.
"""
import collections
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import peer_protocol
from peer_protocol import CpuMonitor

ROWS = ("cifar", "imdb")
SIZES = {"full": dict(batch=64, batches=100), "smoke": dict(batch=16, batches=2)}


class CifarCNN(nn.Module):
    """conv 3->50, conv 50->50, pool, conv 50->100, conv 100->100, pool, dense 512, dense 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 50, 3, padding=1)
        self.conv2 = nn.Conv2d(50, 50, 3, padding=1)
        self.conv3 = nn.Conv2d(50, 100, 3, padding=1)
        self.conv4 = nn.Conv2d(100, 100, 3, padding=1)
        self.fc1 = nn.Linear(6400, 512)
        self.fc2 = nn.Linear(512, 10)

    def forward(self, x):                       # x (N, 3, 32, 32)
        x = F.relu(self.conv1(x))
        x = F.dropout(F.relu(F.max_pool2d(self.conv2(x), 2)), 0.25, self.training)
        x = F.relu(self.conv3(x))
        x = F.dropout(F.relu(F.max_pool2d(self.conv4(x), 2)), 0.25, self.training)
        x = F.dropout(F.relu(self.fc1(torch.flatten(x, 1))), 0.5, self.training)
        return self.fc2(x)


class ImdbGRU(nn.Module):
    """Embedding(30000, 125) -> GRU(125, 100) -> last step -> Linear(100, 2)."""

    def __init__(self, vocab=30000, embed=125, hidden=100):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.gru = nn.GRU(embed, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 2)

    def forward(self, ids):                     # ids (B, T) int64
        y, _ = self.gru(self.embedding(ids))
        return self.fc(y[:, -1])


# ----------------------------------------------------------------------------- data
def cifar_images(folder, n, rng):
    """n images (n, 3, 32, 32) float32 in [0, 1] and labels: the first n of data_batch_1..5, else random."""
    path = folder and os.path.join(folder, "cifar-10-batches-bin")
    if path and os.path.isdir(path):
        records = []
        for i in range(1, 6):
            with open(os.path.join(path, f"data_batch_{i}.bin"), "rb") as f:
                records.append(np.frombuffer(f.read(), dtype=np.uint8).reshape(-1, 3073))
            if sum(len(r) for r in records) >= n:
                break
        r = np.concatenate(records)[:n]
        return (r[:, 1:].reshape(n, 3, 32, 32).astype(np.float32) / 255), r[:, 0].astype(np.int64)
    return rng.random((n, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, n)


WORD = re.compile(r"(?:[^\W_]|')+")


def imdb_words(text):
    """Lowercased runs of letters, digits and apostrophes (as Knet's imdbWords)."""
    return WORD.findall(text.lower())


def imdb_sequences(folder, vocab=30000, length=150):
    """The training reviews of folder/aclImdb as (N, length) ids and labels, as Knet's imdb(folder:):
    Keras's imdb.load_data(num_words=vocab) ids (0 pad, 1 start, 2 unknown, rank r -> r + 3,
    ranks counted on train, ties by word) and pad_sequences(maxlen=length) (pre-truncate, pre-pad)."""
    reviews = []
    for label, sub in ((0, "neg"), (1, "pos")):
        d = os.path.join(folder, "aclImdb", "train", sub)
        for name in sorted(n for n in os.listdir(d) if n.endswith(".txt") and not n.startswith(".")):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                reviews.append((imdb_words(f.read()), label))
    counts = collections.Counter(w for words, _ in reviews for w in words)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:vocab - 4]
    ids = {w: i + 4 for i, (w, _) in enumerate(ranked)}
    x = np.zeros((len(reviews), length), dtype=np.int64)
    for i, (words, _) in enumerate(reviews):
        seq = ([1] + [ids.get(w, 2) for w in words])[-length:]
        x[i, length - len(seq):] = seq
    return x, np.array([label for _, label in reviews], dtype=np.int64)


def imdb_data(folder, n, rng):
    if folder and os.path.isdir(os.path.join(folder, "aclImdb")):
        x, y = imdb_sequences(folder)
        order = rng.permutation(len(y))[:n]
        return x[order], y[order]
    return rng.integers(0, 30000, (n, 150)), rng.integers(0, 2, n)


# ----------------------------------------------------------------------------- benchmark
def train(model, optimizer, batches):
    model.train()
    for x, y in batches:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()


def mean_loss(model, batches):
    model.eval()
    with torch.no_grad():
        return sum(F.cross_entropy(model(x), y).item() for x, y in batches) / len(batches)


def run_row(name, args):
    size = SIZES["smoke" if args.smoke else "full"]
    b, nb = size["batch"], size["batches"]
    rng = np.random.default_rng(args.seed)
    folder = None if args.synthetic else args.data
    if name == "cifar":
        x, y = cifar_images(folder, b * nb, rng)
        make = CifarCNN
        optimizer = lambda m: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    else:
        x, y = imdb_data(folder, b * nb, rng)
        make = ImdbGRU
        optimizer = lambda m: torch.optim.Adam(m.parameters(), lr=1e-3)
    batches = [(torch.from_numpy(np.ascontiguousarray(x[i:i + b])), torch.from_numpy(np.asarray(y[i:i + b], dtype=np.int64)))
               for i in range(0, b * nb, b)]
    torch.manual_seed(args.seed)
    warm = make()
    train(warm, optimizer(warm), batches[:1])
    model = make()
    opt = optimizer(model)
    with CpuMonitor() as mon:
        t0 = time.perf_counter()
        train(model, opt, batches)
        seconds = time.perf_counter() - t0
    loss = mean_loss(model, batches)
    return f"{name} seconds={seconds:.3f} final_loss={loss:.6g} items={b * nb} other_cores={mon.other:.2f}"


def main():
    args = peer_protocol.parser(__doc__, only=",".join(ROWS)).parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    for n in names:
        if n not in ROWS:
            raise SystemExit(f"unknown row {n!r}; choose from {', '.join(ROWS)}")
    peer_protocol.start(args)
    for n in names:
        print(run_row(n, args), flush=True)


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    main()
