#!/usr/bin/env python3
"""The simulated tables of docs/distributed.md: data-parallel step times of the benchmark
models on 1-1024 processes linked at 10 or 100 Gb/s, from the ring all-reduce cost model.

    python3 scripts/distributed_cost_model.py        # prints the Markdown tables

Model (per step, every process):
  compute    T(N) = T1 (weak scaling: each process keeps the benchmark's batch)
  all-reduce C(N) = k * 2(N-1) * alpha + 2(N-1)/N * S / bandwidth   (ring, k buckets)
  no overlap      step = T + C
  overlap         step = T + max(0, C - H), H = the backward time left after the first
                  bucket is ready (the part of the backward pass its all-reduce can hide in)
T1 and the backward split come from BENCHMARKS.md (Knet's own GEMM, 2 cores): the step time
is the measured row time / steps; backward = 2/3 of the step; H is the backward share of the
layers below the first bucket, by their FLOPs. alpha (per message) is 25 us on 10 Gb/s
Ethernet (TCP), 3 us on 100 Gb/s (RDMA). Efficiency = T / step: the fraction of linear speed-up
kept; below 50% adding processes costs more than it brings.
"""

RANKS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
LINKS = {"10 Gb/s": (10e9 / 8, 25e-6), "100 Gb/s": (100e9 / 8, 3e-6)}

# name: (parameters, seconds per step, buckets with PyTorch's 1 MB + 25 MB caps, hidden fraction of backward)
#  mlp:    784*64+64 + 64*10+10 = 50,890 floats; 1.003 s / 6000 steps; one bucket (199 KB), nothing to hide in.
#  lenet:  500+20 + 25,000+50 + 400,000+500 + 5,000+10 = 431,080 floats; 8.235 s / 600 steps; buckets
#          {b4,w4,b3,w3} (1.62 MB, ready after the dense layers) and {conv2, conv1} (0.1 MB); the conv
#          layers do 0.82 of the multiply-adds (see FLOPS below), so H = 0.82 * backward.
#  charlm: 21,504 + 526,336 + 21,504+84 = 569,428 floats; 3.989 s / 16 steps; buckets {output, LSTM}
#          (2.19 MB, ready after the LSTM's backward) and {embedding}: H = the embedding's backward, ~0.
MODELS = {
    "MLP": (50_890, 1.003 / 6000, 1, 0.0),
    "LeNet": (431_080, 8.235 / 600, 2, 0.82),
    "CharLM": (569_428, 3.989 / 16, 2, 0.0),
}

# LeNet multiply-adds per image: conv1 24*24*20*25, conv2 8*8*50*500, dense 800*500 + 500*10.
FLOPS = {"conv": 24 * 24 * 20 * 25 + 8 * 8 * 50 * 500, "dense": 800 * 500 + 500 * 10}


def allreduce(params, ranks, link, messages=1):
    """Seconds of a ring all-reduce of `params` floats in `messages` all-reduces."""
    bandwidth, alpha = LINKS[link]
    if ranks == 1:
        return 0.0
    return messages * 2 * (ranks - 1) * alpha + 2 * (ranks - 1) / ranks * 4 * params / bandwidth


def step(model, ranks, link, overlap, compute=None, messages=None):
    """One step's seconds: `compute` (default: the model's) plus what the overlap leaves."""
    params, t, buckets, hidden = MODELS[model]
    t = t if compute is None else compute
    comm = allreduce(params, ranks, link, buckets if messages is None else messages)
    return t + (max(0.0, comm - hidden * (2 / 3) * t) if overlap else comm)


def strong(model):
    """Speed-up of N processes sharing the benchmark's batch (each B/N) over one, with overlap."""
    _, t, _, _ = MODELS[model]
    batch = 128 if model == "CharLM" else 100
    rows = [f"| {n} | " + " | ".join(f"×{t / step(model, n, l, True, compute=t / n):.2f}" for l in LINKS) + " |"
            for n in RANKS if n <= batch]
    return "\n".join([f"**{model}**, batch {batch} split over N processes: speed-up over one process", "",
                      "| processes | " + " | ".join(LINKS) + " |", "|---" * (1 + len(LINKS)) + "|"] + rows)


def bucketing():
    """LeNet at 10 Gb/s: an all-reduce per tensor, one after backward, DDP's buckets overlapped."""
    _, t, _, _ = MODELS["LeNet"]
    rows = [f"| {n} | {t / step('LeNet', n, '10 Gb/s', True, messages=8):.0%} | {t / step('LeNet', n, '10 Gb/s', False, messages=1):.0%} "
            f"| {t / step('LeNet', n, '10 Gb/s', True):.0%} |" for n in RANKS[1:]]
    return "\n".join(["**LeNet at 10 Gb/s, efficiency** by how the gradients are sent", "",
                      "| processes | 8 all-reduces (one per tensor), overlapped | 1 all-reduce after backward | DDP: 2 buckets, overlapped |",
                      "|---|---|---|---|"] + rows)


def table(model):
    params, t, buckets, hidden = MODELS[model]
    out = [f"**{model}**: {params:,} parameters ({4 * params / 1e6:.2f} MB), {t * 1e3:.3g} ms a step on one process, "
           f"{buckets} bucket{'s' if buckets > 1 else ''}.", "",
           "| processes | " + " | ".join(f"{l} step ms | {l} efficiency | {l} efficiency, overlapped" for l in LINKS) + " |",
           "|---" * (1 + 3 * len(LINKS)) + "|"]
    for n in RANKS:
        cells = []
        for link in LINKS:
            s, so = step(model, n, link, False), step(model, n, link, True)
            cells += [f"{s * 1e3:.3g}", f"{t / s:.0%}", f"{t / so:.0%}"]
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    print(f"LeNet conv share of the multiply-adds: {FLOPS['conv'] / (FLOPS['conv'] + FLOPS['dense']):.2f}\n")
    for m in MODELS:
        print(table(m) + "\n")
    for m in MODELS:
        print(strong(m) + "\n")
    print(bucketing())
