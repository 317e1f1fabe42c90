"""PyTorch DistributedDataParallel (gloo, CPU): the benchmark table's MLP and LeNet trained
by P processes of T threads each, every process taking its share of each batch of 100.

    python3 torch_ddp_bench.py --only mlp,lenet --procs 2 --threads 1 [--data DIR | --synthetic]
                               [--max-batches K] [--seed S]

The models, initialisation, data, batch (100 in all), learning rates and epochs are those
of the shared torch_bench.py (mlp: 10 epochs, lr 0.5; lenet: 1 epoch, lr 0.1; fixed batch
order). With --procs 1 the process trains alone, without DDP; with more, process r takes
positions r, r+P, r+2P... of every batch (as Knet's Minibatch.shard and DistributedSampler
do), DDP averages the gradients (its default 25 MB buckets, overlapped with backward), and
the parameters start from rank 0's. Prints a `# framework=torch-ddp ...` header and one
line per model, named NAME-PxT (`lenet-2x1 seconds=S final_loss=L train_acc=A test_acc=A`):
seconds of rank 0's timed loop between two barriers, after a 2-batch warm-up on throw-away
parameters; the loss and accuracies of the trained model over the whole training and test
sets. torch_bench.py / bench_data.py are found in $KNET_PEERS, else next to this file.
"""
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("KNET_PEERS", os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import bench_data as bd  # noqa: E402
import torch_bench as tb  # noqa: E402


class Model(torch.nn.Module):
    """The table's MLP (784-64-10 relu, 0.1·randn) or LeNet (Knet xavier) as a module for DDP."""

    def __init__(self, name, gen):
        super().__init__()
        self.name = name
        if name == "mlp":
            h = bd.CFG["mlp"]["hidden"]
            shapes = [tb.randn(gen, h, 784), tb.zeros(h), tb.randn(gen, 10, h), tb.zeros(10)]
        else:
            shapes = [tb.xavier(gen, 20, 1, 5, 5), tb.zeros(20), tb.xavier(gen, 50, 20, 5, 5), tb.zeros(50),
                      tb.xavier(gen, 500, 800), tb.zeros(500), tb.xavier(gen, 10, 500), tb.zeros(10)]
        self.p = torch.nn.ParameterList([torch.nn.Parameter(t.detach().clone()) for t in shapes])

    def forward(self, xb):
        p = self.p
        if self.name == "mlp":
            return torch.relu(xb @ p[0].t() + p[1]) @ p[2].t() + p[3]
        a = xb.reshape(-1, 1, 28, 28)
        a = F.max_pool2d(torch.relu(F.conv2d(a, p[0], p[1])), 2)
        a = F.max_pool2d(torch.relu(F.conv2d(a, p[2], p[3])), 2)
        a = torch.relu(a.reshape(a.shape[0], -1) @ p[4].t() + p[5])
        return a @ p[6].t() + p[7]


def shard(batches, rank, procs):
    """Process `rank`'s positions rank, rank+procs, ... of every batch."""
    return [(xb[rank::procs].contiguous(), yb[rank::procs].contiguous()) for xb, yb in batches]


def train(model, batches, epochs, lr):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in batches:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), yb).backward()
            opt.step()


def worker(rank, procs, threads, port, args, names):
    torch.set_num_threads(threads)
    if procs > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=procs)
    xtrn, ytrn, xtst, ytst = bd.load_mnist(args.data, args.synthetic, args.seed)
    for name in names:
        c = bd.CFG[name]
        batches, _ = tb.limit(tb.to_t(bd.minibatches(xtrn, ytrn, c["batch"])), args)
        mine = shard(batches, rank, procs)
        gen = torch.Generator().manual_seed(args.seed + rank)      # different until DDP broadcasts rank 0's

        def wrap(m):
            return torch.nn.parallel.DistributedDataParallel(m) if procs > 1 else m
        train(wrap(Model(name, gen)), mine[:2], 1, c["lr"])          # warm-up
        model = Model(name, gen)
        ddp = wrap(model)
        with bd.CpuMonitor() as mon:
            if procs > 1:
                dist.barrier()
            t0 = tb.now()
            train(ddp, mine, c["epochs"], c["lr"])
            if procs > 1:
                dist.barrier()
            seconds = tb.now() - t0
        if rank == 0:
            predict = lambda p, xb: model(xb)  # noqa: E731
            trn_loss, trn_acc = tb.mnist_eval(predict, None, xtrn, ytrn)
            _, tst_acc = tb.mnist_eval(predict, None, xtst, ytst)
            line = bd.fmt(f"{name}-{procs}x{threads}", seconds, trn_loss, train_acc=trn_acc, test_acc=tst_acc,
                          batches=len(mine), epochs=c["epochs"])
            print(bd.with_load(line, mon), flush=True)
    if procs > 1:
        dist.destroy_process_group()


def main():
    p = bd.common_argparser(__doc__.splitlines()[0])
    p.add_argument("--procs", type=int, default=2, help="processes (1: no DDP)")
    args = p.parse_args()
    names = [n for n in bd.selected(args) if n in ("mlp", "lenet")] if args.only else ["mlp", "lenet"]
    threads = args.threads or 1
    print(f"# framework=torch-ddp version={torch.__version__} backend=gloo procs={args.procs} threads={threads} "
          f"data={'synthetic' if args.synthetic else 'real'}", flush=True)
    if args.procs == 1:
        worker(0, 1, threads, 0, args, names)
        return
    with socket.socket() as s:                 # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(worker, args=(args.procs, threads, port, args, names), nprocs=args.procs, join=True)


if __name__ == "__main__":
    main()
