"""End-to-end speed and memory of ``semcolor.colorize`` / ``semcolor.Colorizer`` on CPU.

1. A synthetic 24-megapixel photo (scikit-image's astronaut resized to 6000 x 4000, an
   in-memory ``PIL.Image`` RGB) colorized with ``semcolor.colorize(img, device="cpu")``:
   wall time (best and median of ``--repeats``) and peak resident memory. The measurement
   runs in a fresh subprocess and reports that process's ``ru_maxrss``, i.e. everything:
   Python, torch, the model, the 72 MB input image and the output.
2. ``Colorizer`` throughput at 256 x 256 (uint8 RGB arrays, the whole pipeline: L, network,
   recombination) for batch sizes 1 / 8 / 32, in images per second.

The model is the packaged default model when it is installed, else a randomly initialised
network of the default architecture (same cost: speed does not depend on the weights);
the script says which.

    python benchmarks/bench_colorize.py [--threads N] [--repeats 3] [--images 64]
        [--backend torch|onnxruntime] [--precision fp32|bf16]

``--backend`` / ``--precision`` are passed to ``semcolor.colorize`` and ``Colorizer``. With
PyTorch on CPU the network sees at most ``semcolor.inference.CPU_NETWORK_BATCH`` images per
call whatever the batch size (ONNX Runtime: ``CPU_ORT_NETWORK_BATCH``), so the batch rows
differ only in how the other work is grouped.

``--threads`` sets ``torch.set_num_threads`` in the measuring process (default: torch's
default). On a machine whose cores are busy with other work, torch's OpenMP threads can be
far slower than one thread; try ``--threads 1`` there.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

MP24 = (6000, 4000)  # width, height
DEFAULT_ARCH = dict(
    encoder="mobilenet_v2",
    decoder_channels=[128, 64, 48, 32, 16],
    dist_stride=4,
    num_scene_classes=200,
    num_seg_classes=11,
)


def _model():
    import torch

    from semcolor.inference import DEFAULT_MODEL, LoadedModel, load_model
    from semcolor.models import SemColorNet

    if DEFAULT_MODEL.is_file():
        return load_model(None, device="cpu"), f"default model ({DEFAULT_MODEL.name})"
    torch.manual_seed(0)
    net = SemColorNet(**DEFAULT_ARCH).eval()
    return LoadedModel(net), "random weights, default architecture (no default model installed)"


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(args: argparse.Namespace) -> dict:
    """The measurements, in this (fresh) process."""
    import numpy as np
    import torch
    from PIL import Image
    from skimage import data

    import semcolor

    if args.threads:
        torch.set_num_threads(args.threads)
    model, which = _model()
    result = {"model": which, "threads": torch.get_num_threads()}
    opts = dict(backend=args.backend, precision=args.precision)
    result["options"] = opts
    semcolor.colorize(np.zeros((64, 64), np.uint8), model=model, device="cpu", **opts)  # warm-up
    rss_model = _maxrss_mb()

    photo = Image.fromarray(data.astronaut()).resize(MP24, Image.Resampling.BILINEAR)
    rss_input = _maxrss_mb()
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = semcolor.colorize(photo, model=model, device="cpu", **opts)
        times.append(time.perf_counter() - t0)
        assert out.size == photo.size
        del out
    result["mp24"] = {
        "best_s": min(times),
        "median_s": statistics.median(times),
        "max_s": max(times),
        "peak_rss_mb": _maxrss_mb(),
        "rss_after_model_mb": rss_model,
        "rss_after_input_mb": rss_input,
    }
    del photo

    rng = np.random.default_rng(0)
    base = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256)))
    images = [np.roll(base, int(rng.integers(0, 256)), axis=1) for _ in range(args.images)]
    result["throughput"] = {}
    for bs in args.batches:
        colorizer = semcolor.Colorizer(model, device="cpu", batch_size=bs, **opts)
        colorizer.colorize_batch(images[:bs])  # warm-up at this batch size
        t0 = time.perf_counter()
        outs = colorizer.colorize_batch(images)
        dt = time.perf_counter() - t0
        assert len(outs) == len(images)
        result["throughput"][bs] = len(images) / dt
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    ap.add_argument("--repeats", type=int, default=3, help="24-MP runs (best/median)")
    ap.add_argument("--images", type=int, default=64, help="images per throughput run")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--backend", choices=["torch", "onnxruntime"], default="torch")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0

    cmd = [sys.executable, __file__, "--child", "--threads", str(args.threads),
           "--repeats", str(args.repeats), "--images", str(args.images),
           "--batches", *map(str, args.batches), "--backend", args.backend,
           "--precision", args.precision]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        return proc.returncode
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    m = r["mp24"]
    import os

    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"model: {r['model']}; CPU, torch threads = {r['threads']}; {r['options']}; "
          f"load average (1/5/15 min) at the end: {load}")  # fmt: skip
    print(
        f"24 MP ({MP24[0]}x{MP24[1]} RGB PIL image) colorize: best {m['best_s']:.2f} s, "
        f"median {m['median_s']:.2f} s, worst {m['max_s']:.2f} s over {args.repeats} runs"
    )
    print(
        f"  peak RSS of the measuring process: {m['peak_rss_mb']:.0f} MB "
        f"(after model load + warm-up: {m['rss_after_model_mb']:.0f} MB; "
        f"+ input image: {m['rss_after_input_mb']:.0f} MB)"
    )
    print(f"Colorizer throughput at 256x256 ({args.images} uint8 RGB images):")
    for bs, ips in r["throughput"].items():
        print(f"  batch_size {bs:>3}: {ips:6.1f} images/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
