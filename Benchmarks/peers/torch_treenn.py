#!/usr/bin/env python3
"""PyTorch (CPU) peer of Knet's "treenn" row: DyNet's treenn benchmark, a binary
Tree-LSTM (Tai et al. 2015, as dynet-benchmark's dynet-py/treenn.py) over Stanford
Sentiment Treebank trees, trained one tree at a time with Adam.

    python3 torch_treenn.py [--only treenn] [--data DIR] [--synthetic] [--smoke]
                            [--threads N] [--seed S]

Prints `# framework=torch version=... threads=N`, then
    treenn seconds=S final_loss=L items=N other_cores=X
`seconds`: the training loop over the sentences (one Adam step per tree), after an
untimed warm-up on throw-away parameters; `final_loss`: the trained model's mean loss
per node over those sentences; `items`: sentences trained.

Model (the same as Sources/Knet/Models/TreeLSTM.swift): embedding 128, hidden 128;
preterminal over word x: [i; o; u] = W x + b, c = sigmoid(i) * tanh(u),
h = sigmoid(o) * tanh(c); pair of children: [i; o; u] = U [h_l; h_r] + b,
f_l = sigmoid(U_fl h_l + b_f), f_r = sigmoid(U_fr h_r + b_f),
c = sigmoid(i) * tanh(u) + f_l * c_l + f_r * c_r, h = sigmoid(o) * tanh(c);
loss: the sum over every node of cross_entropy(V h, label) (V without bias).
Like Knet's, `forward` computes a tree level by level: every preterminal in one
embedding lookup and one matmul, then the nodes of each height together (children's
states gathered from the columns so far) — the batching DyNet's autobatching finds.
The schedule (which node at which height) is made once per tree while loading.

Data: `<DIR>/trees/train.txt` (SST PTB-style trees, one a line) when it exists and
--synthetic is not given, the first 500 trees (smoke: 10), vocabulary of all its words
plus _UNK_; else random trees: 1..37 words (mean 19), random binary splits, labels 0..4,
vocabulary 20,000. Smoke: embedding and hidden 16, vocabulary 50 (synthetic).
"""
import os
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

import peer_protocol

FULL = dict(sentences=500, embed=128, hidden=128, vocab=20_000)
SMOKE = dict(sentences=10, embed=16, hidden=16, vocab=50)
WARMUP = 5


# ----------------------------------------------------------------------------- trees

def parse_tree(line):
    """One PTB-style tree `(3 (2 It) (4 good))` as (words, nodes, labels) in post-order;
    nodes[k] is ("word", i) or ("pair", left, right)."""
    toks = line.replace("(", " ( ").replace(")", " ) ").split()
    words, nodes, labels, stack = [], [], [], []
    pos = 0
    while pos < len(toks):
        t = toks[pos]
        if t == "(":
            stack.append((int(toks[pos + 1]), [], []))
            pos += 2
            continue
        if t == ")":
            label, kids, ws = stack.pop()
            if len(ws) == 1 and not kids:
                nodes.append(("word", len(words)))
                words.append(ws[0])
            elif len(kids) == 2 and not ws:
                nodes.append(("pair", kids[0], kids[1]))
            else:
                raise ValueError(f"node with {len(ws) + len(kids)} children in {line!r}")
            labels.append(label)
            if stack:
                stack[-1][1].append(len(nodes) - 1)
        else:
            stack[-1][2].append(t)
        pos += 1
    return words, nodes, labels


def synthetic_trees(n, vocab, rng, max_len=37):
    trees = []
    for _ in range(n):
        length = rng.randint(1, max_len)
        nodes, labels = [], []

        def build(lo, hi):
            if hi - lo == 1:
                nodes.append(("word", lo))
            else:
                m = rng.randint(lo + 1, hi - 1)
                left, right = build(lo, m), build(m, hi)
                nodes.append(("pair", left, right))
            labels.append(rng.randint(0, 4))
            return len(nodes) - 1

        build(0, length)
        trees.append(([f"w{rng.randint(1, vocab - 1)}" for _ in range(length)], nodes, labels))
    return trees


class Schedule:
    """A tree's columns: preterminals left to right, then the nodes of height 1, 2, ...;
    `levels[k]` holds the children's columns of height k+1, interleaved left, right."""

    def __init__(self, tree, w2i):
        words, nodes, labels = tree
        height = [0] * len(nodes)
        for k, nd in enumerate(nodes):
            if nd[0] == "pair":
                height[k] = 1 + max(height[nd[1]], height[nd[2]])
        by_level = [[] for _ in range(height[-1] + 1)]
        for k in range(len(nodes)):
            by_level[height[k]].append(k)
        column, nxt = [0] * len(nodes), 0
        for level in by_level:
            for k in level:
                column[k], nxt = nxt, nxt + 1
        self.words = torch.tensor([w2i.get(w, 0) for w in words])
        self.levels = [torch.tensor([c for k in level for c in (column[nodes[k][1]], column[nodes[k][2]])])
                       for level in by_level[1:]]
        lab = [0] * len(nodes)
        for k in range(len(nodes)):
            lab[column[k]] = labels[k]
        self.labels = torch.tensor(lab)
        self.nodes, self.column = nodes, column       # for a recursive reference


# ----------------------------------------------------------------------------- model

class TreeLSTM(nn.Module):
    def __init__(self, vocab, embed, hidden, classes=5):
        super().__init__()
        self.hidden = hidden
        self.embedding = nn.Embedding(vocab, embed)
        self.leaf = nn.Linear(embed, 3 * hidden, bias=False)
        self.pair = nn.Linear(2 * hidden, 3 * hidden, bias=False)
        self.forget_left = nn.Linear(hidden, hidden, bias=False)
        self.forget_right = nn.Linear(hidden, hidden, bias=False)
        self.bias = nn.Parameter(torch.zeros(3 * hidden))          # i, o, u: shared by leaves and pairs
        self.forget_bias = nn.Parameter(torch.zeros(hidden))
        self.output = nn.Linear(hidden, classes, bias=False)
        for m in (self.embedding, self.leaf, self.pair, self.forget_left, self.forget_right, self.output):
            nn.init.xavier_uniform_(m.weight)

    def leaf_cell(self, x):                                       # x (n, E) -> h, c (n, H)
        i, o, u = (self.leaf(x) + self.bias).chunk(3, dim=1)
        c = torch.sigmoid(i) * torch.tanh(u)
        return torch.sigmoid(o) * torch.tanh(c), c

    def pair_cell(self, hl, hr, cl, cr):                          # children (k, H) each
        i, o, u = (self.pair(torch.cat([hl, hr], dim=1)) + self.bias).chunk(3, dim=1)
        fl = torch.sigmoid(self.forget_left(hl) + self.forget_bias)
        fr = torch.sigmoid(self.forget_right(hr) + self.forget_bias)
        c = torch.sigmoid(i) * torch.tanh(u) + fl * cl + fr * cr
        return torch.sigmoid(o) * torch.tanh(c), c

    def states(self, s):
        """Hidden states (N, H) of every node, in the schedule's column order."""
        h, c = self.leaf_cell(self.embedding(s.words))
        for kids in s.levels:
            hh, cc = h[kids].view(-1, 2 * self.hidden), c[kids].view(-1, 2 * self.hidden)
            hn, cn = self.pair_cell(hh[:, :self.hidden], hh[:, self.hidden:], cc[:, :self.hidden], cc[:, self.hidden:])
            h, c = torch.cat([h, hn]), torch.cat([c, cn])
        return h

    def forward(self, s):
        """The summed loss over every node of the tree."""
        return F.cross_entropy(self.output(self.states(s)), s.labels, reduction="sum")


# ----------------------------------------------------------------------------- benchmark

def load(args, size):
    path = os.path.join(args.data, "trees", "train.txt") if args.data else None
    if path and not args.synthetic and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            trees = [parse_tree(line) for line in f if line.strip()]
        words = ["_UNK_"] + list(dict.fromkeys(w for t in trees for w in t[0]))
        trees = trees[:size["sentences"] + WARMUP]
    else:
        rng = random.Random(args.seed)
        trees = synthetic_trees(size["sentences"] + WARMUP, size["vocab"], rng)
        words = ["_UNK_"] + [f"w{k}" for k in range(1, size["vocab"])]
    w2i = {w: i for i, w in enumerate(words)}
    return [Schedule(t, w2i) for t in trees], len(words)


def train(model, opt, schedules):
    for s in schedules:
        opt.zero_grad()
        model(s).backward()
        opt.step()


def main():
    args = peer_protocol.parser(__doc__, only="treenn").parse_args()
    peer_protocol.start(args)
    if "treenn" not in args.only.split(","):
        return
    size = SMOKE if args.smoke else FULL
    schedules, vocab = load(args, size)
    warm, timed = schedules[:WARMUP], schedules[WARMUP:]
    torch.manual_seed(args.seed)
    scratch = TreeLSTM(vocab, size["embed"], size["hidden"])
    train(scratch, torch.optim.Adam(scratch.parameters(), lr=1e-3), warm)
    model = TreeLSTM(vocab, size["embed"], size["hidden"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with peer_protocol.CpuMonitor() as mon:
        train(model, opt, timed)
    seconds, other = mon.wall, mon.other
    with torch.no_grad():
        loss = sum(model(s).item() for s in timed) / sum(len(s.labels) for s in timed)
    print(f"treenn seconds={seconds:.3f} final_loss={loss:.6g} items={len(timed)} other_cores={other:.2f}", flush=True)


if __name__ == "__main__":
    main()
