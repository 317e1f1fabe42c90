"""What the project's PyTorch peer scripts share: knet-bench's peer command line
(--only, --data, --synthetic, --smoke, --threads, --seed), the header line, and the
monitor of the cores other processes used while a row was timed.

    args = peer_protocol.parser(__doc__, only="treenn").parse_args()
    peer_protocol.start(args)          # sets the threads, prints "# framework=torch ..."
    with peer_protocol.CpuMonitor() as mon:
        train(...)
    print(f"treenn seconds={mon.wall:.3f} ... other_cores={mon.other:.2f}")
"""
import argparse
import os
import time

import torch


def parser(doc, only):
    """The peer protocol's argument parser; `only` is the default comma-separated rows."""
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    p.add_argument("--only", default=only, help=f"comma-separated rows (default: {only})")
    p.add_argument("--data", default=None, help="folder with the real data sets (default: synthetic data)")
    p.add_argument("--synthetic", action="store_true", help="random data of the real shapes")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, the same as knet-bench --smoke")
    p.add_argument("--threads", type=int, default=0, help="compute threads (default: all cores)")
    p.add_argument("--seed", type=int, default=1)
    return p


def start(args):
    """Sets torch's threads from --threads (0: all cores) and prints the protocol's header."""
    torch.set_num_threads(args.threads or os.cpu_count())
    print(f"# framework=torch version={torch.__version__} threads={torch.get_num_threads()}", flush=True)


class CpuMonitor:
    """Times the block (`wall`, seconds) and the cores other processes used meanwhile
    (`other`: /proc/stat's busy time minus this process's, per second; nan without /proc)."""

    @staticmethod
    def busy():
        try:
            with open("/proc/stat") as f:
                v = [int(t) for t in f.readline().split()[1:]]
        except OSError:
            return None
        return (sum(v[:8]) - v[3] - (v[4] if len(v) > 4 else 0)) / os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        self.t0, self.sys0, tm = time.perf_counter(), self.busy(), os.times()
        self.own0 = tm.user + tm.system
        return self

    def __exit__(self, *exc):
        self.wall, sys1, tm = time.perf_counter() - self.t0, self.busy(), os.times()
        own = tm.user + tm.system - self.own0
        self.other = (float("nan") if None in (self.sys0, sys1) or self.wall <= 0
                      else max(0.0, (sys1 - self.sys0 - own) / self.wall))
        return False
