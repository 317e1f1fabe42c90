"""PyTorch peer of the DyNet rows of knet-bench --wide: rnnlm, bilstm-tagger, bilstm-tagger-char.

    python3 torch_dynet.py [--only NAME[,NAME]] [--data DIR] [--synthetic] [--smoke] [--threads N] [--seed S]

The same models, sizes, optimizer (Adam lr 0.001, no clipping) and work as
Sources/KnetBenchmarks/WideDyNetCases.swift: rnnlm 50 batches of 64 sentences (sorted by
length, padded, masked loss), taggers 500 sentences one per step; --smoke: 3 batches of
4, 10 sentences. Real data: DIR/ptb/ptb.train.txt, DIR/tags/train.txt; otherwise the
same synthetic corpora as Knet's (SplitMix seed 1, gamma(2) lengths, Zipf-like ids).
Prints `NAME seconds=S final_loss=L items=WORDS` (loss: mean training loss per word of
the timed part).
"""
import math
import os
import time
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

import peer_protocol

MASK = (1 << 64) - 1


class SplitMix:
    """Knet's SplitMix generator, so the synthetic corpora are Knet's."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) / float(1 << 53)

    def length(self):
        u1, u2 = self.uniform(), self.uniform()
        return min(80, 1 + int(-10 * (math.log(1 - u1) + math.log(1 - u2))))

    def id(self, vocab):
        return min(vocab - 1, int(vocab ** self.uniform()) - 1)

    def sentence(self, vocab):
        return [self.id(vocab) for _ in range(self.length())]


def synthetic_word(k):
    letters, n, word = "abcdefghijklmnopqrstuvwxyz", k, []
    for _ in range(4 + k % 7):
        word.append(letters[n % 26])
        n //= 26
    return "".join(word)


def data_file(args, sub):
    path = os.path.join(args.data, sub) if args.data and not args.synthetic else None
    return path if path and os.path.exists(path) else None


# ---------------------------------------------------------------- rnnlm-batch

class RNNLM(nn.Module):
    def __init__(self, vocab, embed, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden)
        self.output = nn.Linear(hidden, vocab)

    def forward(self, inputs, targets):            # [T, B] ids; targets -1 at padding
        y, _ = self.lstm(self.embed(inputs))
        return F.cross_entropy(self.output(y).flatten(0, 1), targets.flatten(), ignore_index=-1)


def lm_batches(sentences, batchsize, eos):
    order = sorted(range(len(sentences)), key=lambda i: (-len(sentences[i]), i))
    batches = []
    for s in range(0, len(order), batchsize):
        group = [sentences[i] for i in order[s:s + batchsize]]
        t = len(group[0])
        inputs = torch.full((t, len(group)), eos, dtype=torch.long)
        targets = torch.full((t, len(group)), -1, dtype=torch.long)
        for b, sent in enumerate(group):
            targets[:len(sent), b] = torch.tensor(sent)
            n = min(len(sent), t - 1)
            inputs[1:n + 1, b] = torch.tensor(sent[:n], dtype=torch.long)
        batches.append((inputs, targets, int((targets >= 0).sum())))
    return batches


def bench_rnnlm(args):
    count, batchsize = (3, 4) if args.smoke else (50, 64)
    path = data_file(args, "ptb/ptb.train.txt")
    if path:
        w2i = {}
        with open(path, encoding="utf-8") as f:
            sents = [[w2i.setdefault(w, len(w2i)) for w in line.split() + ["<eos>"]] for line in f if line.split()]
        vocab = len(w2i)
    else:
        vocab = 100 if args.smoke else 10_000
        g = SplitMix(1)
        sents = [g.sentence(vocab - 1) + [vocab - 1] for _ in range(count * batchsize)]
    allb = lm_batches(sents, batchsize, sents[0][-1])
    step = max(1, len(allb) // count)
    batches = [allb[i] for i in range(0, len(allb), step)][:count]
    embed, hidden = (8, 16) if args.smoke else (128, 256)

    def train(model, bs):
        opt = torch.optim.Adam(model.parameters(), lr=0.001)
        total = words = 0
        for x, y, n in bs:
            loss = model(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * n
            words += n
        return total / words, words

    train(RNNLM(vocab, embed, hidden), batches[:1])
    model = RNNLM(vocab, embed, hidden)
    t0 = time.perf_counter()
    loss, words = train(model, batches)
    return f"rnnlm seconds={time.perf_counter() - t0:.4f} final_loss={loss:.4f} items={words}"


# ---------------------------------------------------------------- bilstm-tagger(-withchar)

class Tagger(nn.Module):
    def __init__(self, nwords, ntags, nchars=None, embed=128, hidden=50, mlp=32, cembed=20):
        super().__init__()
        self.word_embed = nn.Embedding(nwords, embed)
        if nchars:
            self.char_embed = nn.Embedding(nchars, cembed)
            self.char_lstm = nn.LSTM(cembed, embed // 2, bidirectional=True)
        self.chars = bool(nchars)
        self.lstm = nn.LSTM(embed, hidden, bidirectional=True)
        self.hidden = nn.Linear(2 * hidden, mlp, bias=False)
        self.output = nn.Linear(mlp, ntags, bias=False)

    def forward(self, words, rare, rare_chars):
        v = self.word_embed(words)                                  # [T, E]
        if self.chars and rare:
            lengths = torch.tensor([len(c) for c in rare_chars])
            padded = nn.utils.rnn.pad_sequence([torch.tensor(c) for c in rare_chars])
            packed = nn.utils.rnn.pack_padded_sequence(self.char_embed(padded), lengths, enforce_sorted=False)
            _, (h, _) = self.char_lstm(packed)
            v = v.index_copy(0, torch.tensor(rare), torch.cat([h[0], h[1]], 1))
        y, _ = self.lstm(v.unsqueeze(1))
        return self.output(torch.tanh(self.hidden(y.squeeze(1))))


def bench_tagger(name, args):
    chars = name.endswith("char")
    count = 10 if args.smoke else 500
    path = data_file(args, "tags/train.txt")
    if path:
        with open(path, encoding="utf-8") as f:
            sents = [[tuple(t.rsplit("|", 1)) for t in line.split()] for line in f if line.split()]
    else:
        g = SplitMix(1)
        vocab = 500 if args.smoke else 20_000
        sents = []
        for _ in range(200 if args.smoke else 10_000):
            ids = g.sentence(vocab)
            sents.append([(synthetic_word(k), f"T{k % 45}") for k in ids])
    wc, w2i, t2i, c2i = Counter(), {}, {}, {}
    for s in sents:
        for w, t in s:
            wc[w] += 1
            w2i.setdefault(w, len(w2i))
            t2i.setdefault(t, len(t2i))
            for c in w:
                c2i.setdefault(c, len(c2i))
    unk = w2i.setdefault("_UNK_", len(w2i))
    pad = c2i.setdefault("<*>", len(c2i))
    c2i.setdefault("_UNK_", len(c2i))
    examples = []
    for s in sents[:count]:
        rare = [i for i, (w, _) in enumerate(s) if wc[w] <= 5]
        examples.append((torch.tensor([unk if wc[w] <= 5 else w2i[w] for w, _ in s]), rare,
                         [[pad] + [c2i[c] for c in s[i][0]] + [pad] for i in rare],
                         torch.tensor([t2i[t] for _, t in s])))

    def make():
        return Tagger(len(w2i), len(t2i), len(c2i) if chars else None)

    def train(model, exs):
        opt = torch.optim.Adam(model.parameters(), lr=0.001)
        total = words = 0
        for w, rare, rc, tags in exs:
            loss = F.cross_entropy(model(w, rare, rc), tags)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(tags)
            words += len(tags)
        return total / words, words

    train(make(), examples[:2])
    model = make()
    t0 = time.perf_counter()
    loss, words = train(model, examples)
    return f"{name} seconds={time.perf_counter() - t0:.4f} final_loss={loss:.4f} items={words}"


def main():
    args = peer_protocol.parser(__doc__, only="rnnlm,bilstm-tagger,bilstm-tagger-char").parse_args()
    peer_protocol.start(args)
    for name in args.only.split(","):
        torch.manual_seed(args.seed)
        if name == "rnnlm":
            print(bench_rnnlm(args), flush=True)
        elif name in ("bilstm-tagger", "bilstm-tagger-char"):
            print(bench_tagger(name, args), flush=True)


if __name__ == "__main__":
    main()
