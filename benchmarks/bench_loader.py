"""Data-loader throughput vs the CPU training step of the default model.

Loader: samples/s of ``DataLoader(dataset, batch_size=16, num_workers=w)`` over the shared
real data, random order with a fixed seed, for

* Tiny ImageNet train at crop 64 and 128 (64x64 JPEGs; 128 upsamples),
* CamVid train at crop 128 and 224 (480x360 JPEG + label PNG),
* the default model's own mix (``+experiment=default_model``: Tiny ImageNet + CamVid +
  BSDS500, drawn by its weighted sampler) at crop 128,

and w = 0, 1, 2. "startup" is the time to the first batch (worker start-up included);
samples/s is measured after it (steady state). Every sample carries the full contract
(Lab conversion, colourfulness, labels), as in training.

Soft encoding, measured separately: the loss soft-encodes the target ab on the training
device, not in the loader (``semcolor.losses.soft_ce_loss``): ab area-downsampled to the
distribution head's 1/4 resolution, then ``soft_encode_sparse`` (k=5, sigma=5). Its time per
batch of 16 is shown per crop size.

Training step: the default model (``SemColorNet(encoder="mobilenet_v2",
decoder_channels=[128,64,48,32,16], dist_stride=4, num_scene_classes=200,
num_seg_classes=11)``, all four heads) + ``MultiTaskLoss`` + AdamW(1e-3): one
forward/backward/step on a batch of 16 at 128x128 made of 8 Tiny ImageNet and 8 CamVid
samples; median of ``--steps`` after 2 warm-up steps.

The loader "keeps up" when its samples/s >= the training step's samples/s. On a 2-core
machine loader workers and the training step share the same cores, so the two figures are
upper bounds that do not add up; and other load (a training run...) makes all timings noisy.
When other processes keep the cores busy, ``--threads 2`` can be several times *slower* than
``--threads 1`` for the main-process figures (workers=0 rows, soft-encoding, training step):
OpenMP threads wait for a core. Compare both.

Folder tree against shards (``--shards``; the figures of docs/scale.md): imagen1k/train
(600 photos, shorter side <= 288) read as an ``ImageFolder`` and as ``semcolor-shard``
output (LitData, converted once into a temporary folder, chunks of 4 MB), crop 224 after
resizing the shorter side to 256, random order, at 1, 2 and 4 workers; the ratio is
shards / folder measured in the same run. Both decode the same JPEG bytes per sample, so on
a local disk the difference is the file-system work per image (open, stat, small reads)
against sequential reads of a few large files; on a network file system that gap grows.

    python benchmarks/bench_loader.py [--data-root ../shared/data] [--samples 320]
        [--workers 0 1 2] [--threads 2] [--steps 5]
    python benchmarks/bench_loader.py --shards [--shard-workers 1 2 4] [--samples 600]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, RandomSampler

from semcolor.data.base import SampleOptions

BATCH = 16
#: Chunk size of the benchmark's shards: imagen1k/train is 20 MB, so the tool's default of
#: 64 MB would make one chunk; 4 MB gives five, several per worker as in a real dataset.
SHARD_CHUNK = "4MB"
DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def tiny(root: Path, crop: int):
    from semcolor.data.datasets import TinyImageNet

    return TinyImageNet(
        str(root / "tiny-imagenet-200"),
        split="train",
        options=SampleOptions(crop_size=crop, num_scene_classes=200, num_seg_classes=11),
    )


def camvid(root: Path, crop: int):
    from semcolor.data.datasets import CamVid

    return CamVid(
        str(root / "camvid"),
        split="train",
        options=SampleOptions(crop_size=crop, num_scene_classes=200, num_seg_classes=11),
    )


def default_mix(root: Path, crop: int):
    """The training set of ``+experiment=default_model`` exactly as Hydra builds it."""
    from hydra import compose, initialize_config_module
    from hydra.utils import instantiate

    with initialize_config_module("semcolor.conf", version_base="1.3"):
        cfg = compose("train", overrides=[
            "+experiment=default_model", f"paths.data_root={root}", "data.skip_log=null",
            f"data.crop_size={crop}", "paths.output_dir=/tmp", "paths.cache_dir=/tmp",
        ])  # fmt: skip
    return instantiate(cfg.data.train, _convert_="all")


def loader_throughput(ds, workers: int, samples: int, seed: int = 0) -> dict:
    """Startup (s to the first batch), steady samples/s, and the first batch."""
    g = torch.Generator().manual_seed(seed)
    if hasattr(ds, "sampler"):
        sampler = ds.sampler(generator=g)
    else:
        sampler = RandomSampler(ds, generator=g)
    loader = DataLoader(ds, batch_size=BATCH, sampler=sampler, num_workers=workers,
                        drop_last=True)  # fmt: skip
    n_batches = max(2, samples // BATCH)
    t0 = time.perf_counter()
    it = iter(loader)
    first = next(it)
    t1 = time.perf_counter()
    for _ in range(n_batches - 1):
        next(it)
    t2 = time.perf_counter()
    del it
    steady = (n_batches - 1) * BATCH / (t2 - t1)
    return {"startup": t1 - t0, "sps": steady, "batch": first}


def soft_encode_ms(ab: torch.Tensor, repeats: int = 5, stride: int = 4) -> float:
    """Median ms to area-downsample ab by ``stride`` and soft-encode it, as the loss does."""
    from semcolor.color import soft_encode_sparse

    h, w = ab.shape[-2:]
    times = []
    for _ in range(repeats + 1):
        t = time.perf_counter()
        small = F.interpolate(ab, size=(h // stride, w // stride), mode="area")
        soft_encode_sparse(small.float())
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:]) * 1e3


def train_step_s(batch: dict, steps: int) -> float:
    """Median seconds per optimizer step of the default model on ``batch``."""
    from semcolor.color import normalize_l
    from semcolor.losses import MultiTaskLoss
    from semcolor.models import SemColorNet

    torch.manual_seed(0)
    net = SemColorNet(encoder="mobilenet_v2", decoder_channels=[128, 64, 48, 32, 16],
                      dist_stride=4, num_scene_classes=200, num_seg_classes=11).train()  # fmt: skip
    loss_fn = MultiTaskLoss(w_dist=1.0, w_scene=0.1, w_seg=0.5, w_reg=1.0)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    times = []
    for _ in range(steps + 2):
        t = time.perf_counter()
        out = net(normalize_l(batch["L"]))
        loss = loss_fn(out, batch).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times[2:])


def shard_vs_folder(root: Path, workers: list[int], samples: int, crop: int = 224) -> None:
    """Print samples/s of imagen1k/train as a folder and as shards, per worker count."""
    import tempfile

    from litdata import StreamingDataLoader

    from semcolor.data.datasets import ImageFolder
    from semcolor.data.shards import ShardDataset, write_shards

    opts = SampleOptions(crop_size=crop, resize=256, num_scene_classes=0, num_seg_classes=0)
    folder = ImageFolder(str(root / "imagen1k"), split="train", options=opts)
    with tempfile.TemporaryDirectory(prefix="semcolor_shards_") as tmp:
        t = time.perf_counter()
        # 4 MB chunks: several per worker, as a real dataset has (at 64 MB this one is one)
        report = write_shards(folder, Path(tmp) / "imagen1k_train", chunk_bytes=SHARD_CHUNK)
        convert_s = time.perf_counter() - t
        size_mb = sum(p.stat().st_size for p in Path(report.out).glob("*.bin")) / 1e6
        print(f"converted {report.samples} images into {report.chunks} chunk(s), "
              f"{size_mb:.0f} MB, in {convert_s:.1f} s (semcolor-shard, 1 process)")  # fmt: skip
        shards = ShardDataset(report.out, options=opts, seed=0)
        header = f"{'workers':>7} {'folder samples/s':>16} {'shards samples/s':>16} {'ratio':>6}"
        print(f"\nimagen1k/train, crop {crop} (resize 256), batch {BATCH}, {samples} samples "
              "per case, steady state after the first batch")  # fmt: skip
        print(header)
        print("-" * len(header))
        for w in workers:
            f_sps = loader_throughput(folder, w, samples)["sps"]
            loader = StreamingDataLoader(shards, batch_size=BATCH, num_workers=w,
                                         drop_last=True)  # fmt: skip
            n_batches = max(2, min(samples, len(shards)) // BATCH)
            it = iter(loader)
            next(it)
            t1 = time.perf_counter()
            for _ in range(n_batches - 1):
                next(it)
            s_sps = (n_batches - 1) * BATCH / (time.perf_counter() - t1)
            del it
            print(f"{w:>7} {f_sps:>16.1f} {s_sps:>16.1f} {s_sps / f_sps:>6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    ap.add_argument("--samples", type=int, default=320, help="samples per loader case")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=2, help="torch threads (main process)")
    ap.add_argument("--steps", type=int, default=5, help="timed training steps")
    ap.add_argument("--skip-mix", action="store_true", help="leave out the default_model mix")
    ap.add_argument("--shards", action="store_true",
                    help="only the folder-vs-shards comparison (imagen1k/train)")  # fmt: skip
    ap.add_argument("--shard-workers", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = args.data_root
    if args.shards:
        if not (root / "imagen1k" / "train").is_dir():
            raise SystemExit(f"{root / 'imagen1k/train'} not found: pass --data-root")
        print(f"torch {torch.__version__}, {args.threads} thread(s) in the main process, "
              f"{os.cpu_count()} CPU cores")  # fmt: skip
        shard_vs_folder(root, args.shard_workers, args.samples)
        return
    for sub in ("tiny-imagenet-200", "camvid"):
        if not (root / sub).is_dir():
            raise SystemExit(f"{root / sub} not found: pass --data-root (the shared data folder)")

    cases = [("tinyimagenet", tiny, 64), ("tinyimagenet", tiny, 128),
             ("camvid", camvid, 128), ("camvid", camvid, 224)]  # fmt: skip
    if not args.skip_mix and (root / "bsds500").is_dir():
        cases.append(("mix(default_model)", default_mix, 128))

    print(f"torch {torch.__version__}, {args.threads} thread(s) in the main process, batch "
          f"{BATCH}, {args.samples} samples per case; other load on the machine makes these "
          "numbers noisy")  # fmt: skip
    header = (f"{'dataset':>19} {'crop':>4} {'workers':>7} {'startup s':>9} "
              f"{'samples/s':>9} {'ms/batch':>8} {'soft-enc ms/batch':>17}")  # fmt: skip
    print(header)
    print("-" * len(header))
    results: dict[tuple[str, int], dict[int, float]] = {}
    soft: dict[int, float] = {}
    batches = {}
    for name, make, crop in cases:
        ds = make(root, crop)
        for w in args.workers:
            r = loader_throughput(ds, w, args.samples)
            results.setdefault((name, crop), {})[w] = r["sps"]
            batches[(name, crop)] = r["batch"]
            if crop not in soft:
                soft[crop] = soft_encode_ms(r["batch"]["ab"])
            print(f"{name:>19} {crop:>4} {w:>7} {r['startup']:>9.2f} {r['sps']:>9.1f} "
                  f"{BATCH / r['sps'] * 1e3:>8.1f} {soft[crop]:>17.2f}")  # fmt: skip

    # Training step on a mixed real batch: 8 Tiny ImageNet (scene) + 8 CamVid (seg) at 128.
    a, b = batches[("tinyimagenet", 128)], batches[("camvid", 128)]
    batch = {k: torch.cat([a[k][:8], b[k][:8]]) for k in a}
    step = train_step_s(batch, args.steps)
    train_sps = BATCH / step
    print(f"\ntraining step, default model (mobilenet_v2), batch {BATCH} at 128x128, CPU: "
          f"{step * 1e3:.0f} ms/step = {train_sps:.1f} samples/s "
          f"(of which soft-encoding ~{soft[128]:.1f} ms)")  # fmt: skip
    print("\nloader vs training (samples/s; keeps up if loader >= training):")
    for (name, crop), by_w in results.items():
        cells = ", ".join(
            f"w={w}: {s:.0f} {'ok' if s >= train_sps else 'SLOWER'}" for w, s in by_w.items()
        )
        print(f"  {name:>19} crop {crop:>3}: {cells}")


if __name__ == "__main__":
    main()
