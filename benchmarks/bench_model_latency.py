"""Forward latency on CPU: semcolor's network vs Zhang et al.'s ECCV16 colorization network.

The reference is :class:`semcolor.models.ECCV16Net` (Zhang, Isola & Efros, "Colorful Image
Colorization", ECCV 2016, Fig. 2 / their released prototxt), with random weights.

Both networks take a (B,1,256,256) float32 L input; times are the best (and median) of
``--repeats`` forward passes under ``torch.inference_mode()`` after one warm-up, in eval mode,
timed round-robin so that other load on the machine affects every model alike. The semcolor
configurations produce all four heads (ab regression, 313-bin logits, scene, segmentation).

    python benchmarks/bench_model_latency.py [--threads 2] [--repeats 5] [--batches 1 16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from semcolor.models import ECCV16Net, build_model


def latencies(models: dict[str, nn.Module], x: torch.Tensor, repeats: int) -> dict:
    """Best and median seconds per forward pass of each model on ``x``.

    The models are timed round-robin (one pass of each per repeat) so that load from other
    processes on the machine hits them alike; the best time is the least disturbed one.
    """
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for m in models.values():
            m(x)  # warm-up (allocator, oneDNN primitive cache)
        for _ in range(repeats):
            for name, m in models.items():
                t = time.perf_counter()
                m(x)
                times[name].append(time.perf_counter() - t)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per case")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--size", type=int, default=256, help="input height = width")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    models: dict[str, nn.Module] = {
        "ECCV16 (Zhang et al.)": ECCV16Net(),
        "semcolor resnet18, dist_stride=4 (recommended)": build_model("resnet18", dist_stride=4),
        "semcolor resnet18, dist_stride=1": build_model("resnet18", dist_stride=1),
    }
    for m in models.values():
        m.eval()
    params = {k: sum(p.numel() for p in m.parameters()) / 1e6 for k, m in models.items()}

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, float32, "
        f"input (B,1,{args.size},{args.size})"
    )
    ref_name = next(iter(models))
    for batch in args.batches:
        x = torch.rand(batch, 1, args.size, args.size) - 0.5
        lat = latencies(models, x, args.repeats)
        print(f"\nbatch {batch}:  best (median) of {args.repeats}")
        for name, (best, med) in lat.items():
            print(
                f"  {name:47s} {params[name]:5.1f} M params {best * 1e3:8.1f} ms "
                f"({med * 1e3:8.1f}) = {best * 1e3 / batch:6.1f} ms/image; "
                f"speed-up vs ECCV16 x{lat[ref_name][0] / best:.2f}"
            )


if __name__ == "__main__":
    main()
