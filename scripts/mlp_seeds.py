"""The tutorial's MLP recipe over several seeds, in Knet for Swift and in PyTorch.

Recipe (Knet 1.x README): 784-64-10 relu MLP, weights 0.1*randn, biases 0, batch 100 in
file order (no shuffling), 10 epochs, Adam(1e-3, 0.9, 0.999, 1e-8) or --sgd (lr 0.5, as
Knet's examples/mnist-mlp). Prints each seed's test accuracy and each side's mean and
standard deviation, to tell an implementation difference from seed noise.

    swift build -c release --product knet
    python3 scripts/mlp_seeds.py --knet .build/release/knet --data ../shared/data --seeds 10
Needs numpy and torch (CPU is enough).
"""
import argparse, gzip, os, re, statistics, subprocess
import numpy as np, torch, torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--knet", default=".build/release/knet")
ap.add_argument("--data", default="../shared/data")
ap.add_argument("--seeds", type=int, default=10, help="seeds 1..N (N >= 1)")
ap.add_argument("--sgd", action="store_true", help="SGD lr 0.5 instead of Adam")
args = ap.parse_args()
torch.set_num_threads(1)


def idx(name, offset):
    with gzip.open(os.path.join(args.data, "mnist", name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


X = torch.from_numpy(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255)
Y = torch.from_numpy(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
XT = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255)
YT = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))


def torch_run(seed):
    g = torch.Generator().manual_seed(seed)
    w1 = (0.1 * torch.randn(64, 784, generator=g)).requires_grad_()
    b1 = torch.zeros(64, requires_grad=True)
    w2 = (0.1 * torch.randn(10, 64, generator=g)).requires_grad_()
    b2 = torch.zeros(10, requires_grad=True)
    ps = [w1, b1, w2, b2]
    opt = torch.optim.SGD(ps, lr=0.5) if args.sgd else torch.optim.Adam(ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    predict = lambda x: torch.relu(x @ w1.t() + b1) @ w2.t() + b2
    for _ in range(10):
        for i in range(0, X.shape[0], 100):
            opt.zero_grad()
            F.cross_entropy(predict(X[i:i + 100]), Y[i:i + 100]).backward()
            opt.step()
    with torch.no_grad():
        return (predict(XT).argmax(1) == YT).float().mean().item()


def knet_run(seed):
    flags = ["--optimizer", "sgd", "--lr", "0.5"] if args.sgd else []
    out = subprocess.run([args.knet, "mlp", "--data", args.data, "--seed", str(seed)] + flags,
                         check=True, capture_output=True, text=True).stdout
    return float(re.findall(r"tst ([0-9.]+)", out)[-1])


rows = {"knet": [], "torch": []}
for seed in range(1, args.seeds + 1):
    k, t = knet_run(seed), torch_run(seed)
    rows["knet"].append(k); rows["torch"].append(t)
    print(f"seed {seed:2d}  knet {100 * k:.2f}%  torch {100 * t:.2f}%", flush=True)
for name, accs in rows.items():
    sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
    print(f"{name:5s} mean {100 * statistics.mean(accs):.2f}%  sd {100 * sd:.2f}  "
          f"min {100 * min(accs):.2f}%  max {100 * max(accs):.2f}%  >= 97.3%: {sum(a >= 0.973 for a in accs)}/{len(accs)}")
