"""Forward latency on CPU: semcolor's network vs Zhang et al.'s ECCV16 colorization network.

The reference is rebuilt from the paper (R. Zhang, P. Isola, A. A. Efros, "Colorful Image
Colorization", ECCV 2016, Fig. 2 / their released prototxt), with random weights: 8 conv
blocks of 3x3 convs + ReLU, BatchNorm after each of blocks 1-7,

    conv1  64 ch, 2 convs, the last with stride 2        -> 1/2
    conv2 128 ch, 2 convs, stride 2 at the end           -> 1/4
    conv3 256 ch, 3 convs, stride 2 at the end           -> 1/8
    conv4 512 ch, 3 convs
    conv5 512 ch, 3 convs, dilation 2
    conv6 512 ch, 3 convs, dilation 2
    conv7 512 ch, 3 convs
    conv8 4x4 transposed conv 256 ch (x2 up) + 2 convs  -> 1/4
    1x1 conv to 313 ab-bin logits at 1/4 resolution.

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

from semcolor import constants as C
from semcolor.models import build_model


def _convs(cin: int, cout: int, n: int, stride_last: int = 1, dilation: int = 1) -> list:
    layers: list[nn.Module] = []
    for i in range(n):
        stride = stride_last if i == n - 1 else 1
        layers += [
            nn.Conv2d(cin if i == 0 else cout, cout, 3, stride, dilation, dilation),
            nn.ReLU(inplace=True),
        ]
    return layers


class ECCV16Net(nn.Module):
    """Zhang et al. ECCV16 network: (B,1,H,W) L -> (B,313,H/4,W/4) ab-bin logits."""

    def __init__(self, num_bins: int = C.NUM_AB_BINS):
        super().__init__()
        self.model = nn.Sequential(
            *_convs(1, 64, 2, stride_last=2), nn.BatchNorm2d(64),
            *_convs(64, 128, 2, stride_last=2), nn.BatchNorm2d(128),
            *_convs(128, 256, 3, stride_last=2), nn.BatchNorm2d(256),
            *_convs(256, 512, 3), nn.BatchNorm2d(512),
            *_convs(512, 512, 3, dilation=2), nn.BatchNorm2d(512),
            *_convs(512, 512, 3, dilation=2), nn.BatchNorm2d(512),
            *_convs(512, 512, 3), nn.BatchNorm2d(512),
            nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1), nn.ReLU(inplace=True),
            *_convs(256, 256, 2),
            nn.Conv2d(256, num_bins, 1),
        )  # fmt: skip

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        return self.model(L)


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
