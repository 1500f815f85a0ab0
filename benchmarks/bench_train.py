"""Training throughput (images/s): semcolor's training step vs Zhang et al.'s ECCV16 network.

One step = forward + multi-task loss (soft-encoding on the training device included) +
backward + AdamW update, on a random batch with every kind of label, in train mode.

Rows:
  * ``semcolor default`` — the root config's network (``model=resnet18``: ResNet-18 encoder,
    all four heads, distribution head at 1/4 resolution), COCO-Stuff/Places365 head sizes;
  * ``semcolor default_model`` — the shipped model's recipe (``+experiment=default_model``:
    MobileNetV2 encoder, 200 scene / 11 segmentation classes);
  * ``ECCV16 (baseline)`` — Zhang et al.'s network (rebuilt in bench_model_latency.py) with
    its own loss only (rebalanced soft cross-entropy at 1/4 resolution).

    python benchmarks/bench_train.py [--size 224] [--batch 8] [--steps 3] [--threads 2]

``--precision`` instead compares CPU training of the shipped model's network
(``+experiment=default_model``: EfficientNet-Lite0, packaged ImageNet weights) in fp32 (the
baseline) with ``bf16-mixed`` autocast and ``channels_last`` memory format, all in the same
run, and with ``--curve N`` also trains each for N steps on the same fixed stream of random
batches and prints the loss curve (mean of each tenth), to check that the curves agree:

    python benchmarks/bench_train.py --precision --size 128 --batch 16 --steps 10 --curve 300
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_model_latency import ECCV16Net  # noqa: E402

from semcolor import constants as C  # noqa: E402
from semcolor.color import normalize_l  # noqa: E402
from semcolor.losses import MultiTaskLoss, soft_ce_loss  # noqa: E402
from semcolor.models import ColorizerOutput, SemColorNet  # noqa: E402


def batch(b: int, size: int, n_scene: int, n_seg: int, device, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    out = {
        "L": torch.rand(b, 1, size, size, generator=g) * 100,
        "ab": torch.randn(b, 2, size, size, generator=g) * 25,
        "colorful": torch.ones(b, dtype=torch.bool),
        "scene": torch.softmax(torch.randn(b, n_scene, generator=g), 1),
        "has_scene": torch.ones(b, dtype=torch.bool),
        "seg": torch.randint(0, n_seg, (b, size, size), generator=g),
        "has_seg": torch.ones(b, dtype=torch.bool),
    }
    return {k: v.to(device) for k, v in out.items()}


def time_steps(step, steps: int, sync) -> float:
    step()  # warm-up
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - t) / steps


def default_model_net(dev) -> SemColorNet:
    """The network of +experiment=default_model (packaged ImageNet weights if installed)."""
    from semcolor.models.encoders import PACKAGED_WEIGHTS

    try:
        PACKAGED_WEIGHTS["tu-efficientnet_lite0"].file()
        weights = "imagenet"
    except ImportError:
        weights = None
    return SemColorNet(
        "tu-efficientnet_lite0", encoder_weights=weights, dist_stride=4,
        decoder_channels=[128, 64, 48, 32, 16], num_scene_classes=200, num_seg_classes=11,
    ).to(dev)  # fmt: skip


def precision_rows(args, dev, sync) -> None:
    """fp32 vs bf16-mixed autocast vs channels_last (CPU), same network, same batches."""
    modes = {
        "fp32 (baseline)": (False, False),
        "bf16-mixed": (True, False),
        "channels_last": (False, True),
        "bf16-mixed + channels_last": (True, True),
    }
    times, curves = {}, {}
    for name, (bf16, cl) in modes.items():
        torch.manual_seed(0)
        net = default_model_net(dev).train()
        fmt = torch.channels_last if cl else torch.contiguous_format
        net = net.to(memory_format=fmt)
        loss_fn = MultiTaskLoss().to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
        data = batch(args.batch, args.size, 200, 11, dev)

        def step(net=net, loss_fn=loss_fn, opt=opt, data=data, bf16=bf16, fmt=fmt):
            opt.zero_grad(set_to_none=True)
            x = normalize_l(data["L"]).contiguous(memory_format=fmt)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                out = net(x)
            loss = loss_fn(out, data).total
            loss.backward()
            opt.step()
            return float(loss)

        times[name] = time_steps(step, args.steps, sync)
        if args.curve:
            losses = []
            for i in range(args.curve):
                d = batch(args.batch, args.size, 200, 11, dev, seed=1000 + i)
                losses.append(step(data=d))
            tenth = max(1, len(losses) // 10)
            curves[name] = [
                sum(losses[j : j + tenth]) / tenth for j in range(0, len(losses), tenth)
            ]
    print_rows(
        f"CPU training step of the default_model network, batch {args.batch} at "
        f"{args.size}x{args.size}, {args.threads} threads, mean of {args.steps} steps",
        times, "fp32 (baseline)", args.batch, "mode",
    )  # fmt: skip
    for name, c in curves.items():
        print(f"loss curve {name:>28}: " + " ".join(f"{v:.3f}" for v in c))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=C.TRAIN_CROP)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--precision", action="store_true",
                    help="compare fp32 / bf16-mixed / channels_last for the default_model net")
    ap.add_argument("--curve", type=int, default=0,
                    help="with --precision: also train N steps each and print the loss curves")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    if args.precision:
        precision_rows(args, dev, sync)
        return

    rows = {}
    configs = {
        "semcolor default": dict(encoder="resnet18", dist_stride=4, num_scene_classes=365,
                                 num_seg_classes=183),
        "semcolor default_model": dict(encoder="mobilenet_v2", dist_stride=4,
                                       decoder_channels=[128, 64, 48, 32, 16],
                                       num_scene_classes=200, num_seg_classes=11),
    }  # fmt: skip
    for name, kw in configs.items():
        net = SemColorNet(**kw).to(dev).train()
        loss_fn = MultiTaskLoss().to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
        data = batch(args.batch, args.size, kw["num_scene_classes"], kw["num_seg_classes"], dev)

        def step(net=net, loss_fn=loss_fn, opt=opt, data=data):
            opt.zero_grad(set_to_none=True)
            loss_fn(net(normalize_l(data["L"])), data).total.backward()
            opt.step()

        rows[name] = time_steps(step, args.steps, sync)

    eccv = ECCV16Net().to(dev).train()
    opt = torch.optim.AdamW(eccv.parameters(), lr=1e-4)
    data = batch(args.batch, args.size, 1, 1, dev)
    weights = torch.ones(C.NUM_AB_BINS, device=dev)

    def eccv_step():
        opt.zero_grad(set_to_none=True)
        out = ColorizerOutput(ab_logits=eccv(normalize_l(data["L"])))
        soft_ce_loss(out.ab_logits, data["ab"], data["colorful"], weights).backward()
        opt.step()

    rows["ECCV16 (baseline)"] = time_steps(eccv_step, args.steps, sync)

    print_rows(
        f"training step, batch {args.batch} at {args.size}x{args.size}, {dev}, "
        f"{args.threads} threads, mean of {args.steps} steps after a warm-up",
        rows, "ECCV16 (baseline)", args.batch, "network",
    )  # fmt: skip


def print_rows(title: str, rows: dict, base: str, batch_size: int, what: str) -> None:
    """Seconds per step, images/s and the ratio against the named baseline row."""
    print(title)
    print(f"{what:>28} | {'s/step':>7} | {'images/s':>8} | vs {base}")
    for name, t in rows.items():
        print(f"{name:>28} | {t:7.3f} | {batch_size / t:8.2f} | {rows[base] / t:5.2f}x")


if __name__ == "__main__":
    main()
