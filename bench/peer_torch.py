#!/usr/bin/python3
"""PyTorch CPU fp32 peer: median time of one inference of the seed model
(AmplifiedConvTie, 1x3x224x224) with the same thread count as flipscope.
Usage: /usr/bin/python3 bench/peer_torch.py THREADS REPS [cpu]   (prints: torch_fp32 MEDIAN_MS MIN_MS)
With `cpu`, the times are process CPU time (all threads) instead of wall time: the figure to compare
on a shared machine, where wall time measures the other tenants too."""
import sys
import time

import torch
import torch.nn as nn


class AmplifiedConvTie(nn.Module):
    def __init__(self):
        super().__init__()
        ch = [3, 64, 64, 64, 64, 16]
        self.convs = nn.ModuleList(
            nn.Conv2d(ch[i], ch[i + 1], 3 if i < 4 else 1, padding=1 if i < 4 else 0) for i in range(5))
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        for c in self.convs:
            x = nn.functional.silu(c(x))
        x = x * 300.0
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


def main():
    threads, reps = int(sys.argv[1]), int(sys.argv[2])
    clock = time.process_time if len(sys.argv) > 3 and sys.argv[3] == "cpu" else time.perf_counter
    torch.set_num_threads(threads)
    torch.manual_seed(1234)
    m = AmplifiedConvTie().eval()
    x = torch.randn(1, 3, 224, 224)
    times = []
    with torch.inference_mode():
        m(x)
        for _ in range(reps):
            t0 = clock()
            m(x)
            times.append(clock() - t0)
    times.sort()
    print("torch_fp32 %.1f %.1f" % (1e3 * times[len(times) // 2], 1e3 * times[0]))


if __name__ == "__main__":
    main()
