"""``semcolor-bench``: colorization metrics of a checkpoint and baselines on a dataset.

    semcolor-bench --dataset folder --root DIR [--ckpt FILE] [--size 256] [--full-res]
                   [--limit N] [--out DIR] [--baselines gray|none] [--device auto]
                   [--fid-weights pt_inception-2015-12-05-6726825d.pth]
    semcolor-bench --speed [--ckpt FILE] [--device auto] [--out DIR]

Exit codes: 0 done; 1 nothing could be evaluated (every image unreadable or colourless);
2 bad input (dataset missing/empty/wrong layout, unusable checkpoint, bad arguments).
The work is done by :mod:`semcolor.evaluation`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from semcolor import constants as C
from semcolor.cli._help import parser as help_parser

PROG = "semcolor-bench"


def _parser() -> argparse.ArgumentParser:
    ap = help_parser(
        PROG,
        "Benchmark colorization: PSNR, SSIM, L2ab, AuC, colourfulness, ΔCF, colour cast, "
        "CNI/CCI of a checkpoint's methods (dist, reg) and the gray baseline on a dataset, per "
        "image at 256x256, and the Fréchet distance of the set (FD-Lite0; FID with "
        "--fid-weights) (docs/metrics.md); or inference speed with --speed.",
        "Exit status: 0 done; 1 some images were unreadable (skipped and listed, the rest "
        "scored) or none could be evaluated; 2 bad arguments or model.",
    )
    ap.add_argument("--dataset", choices=sorted(C.BENCH_DATASETS),
                    help="dataset layout (data/README.md); required unless --speed")  # fmt: skip
    ap.add_argument("--root", type=Path, help="dataset root folder; required unless --speed")
    ap.add_argument("--split", default=None,
                    help="split (default: div2k valid, camvid test, folder: the root itself, "
                    "others val)")  # fmt: skip
    ap.add_argument(
        "--image-list",
        default=None,
        help="imagenet: image list file (e.g. ctest10k); places365: list file (default: "
        "the split's folder listing); an error with the other datasets",
    )
    ap.add_argument(
        "--ckpt",
        type=Path,
        default=None,
        help="checkpoint (default: the shipped model; without one, baselines only)",
    )
    ap.add_argument(
        "--no-model",
        action="store_true",
        help="baselines only, even when a default model is installed",
    )
    ap.add_argument(
        "--size",
        type=int,
        default=C.BENCH_SIZE,
        help="network input side and evaluation side",
    )
    ap.add_argument(
        "--full-res",
        action="store_true",
        help="evaluate at each image's original size (network still at --size)",
    )
    ap.add_argument("--limit", type=int, default=None,
                    help="first N images in sorted order (default: all)")  # fmt: skip
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default bench/<dataset>, or bench/speed)",
    )
    ap.add_argument(
        "--baselines",
        default="gray",
        help="comma-separated baselines ('gray'), or 'none'",
    )
    ap.add_argument(
        "--methods",
        default=None,
        help="comma-separated model methods, dist and/or reg (default: all the model offers)",
    )
    ap.add_argument(
        "--name", default=None,
        help="label of the model's rows in the table and summary.json (e.g. scgan; default: "
        "the method names)",
    )
    ap.add_argument(
        "--keep-gray", action="store_true", help="do not exclude colourless ground-truth images"
    )
    ap.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    ap.add_argument("--batch-size", type=int, default=16, help="images per network call")
    ap.add_argument(
        "--precision", choices=("auto", "fp32", "bf16"), default="auto",
        help="the network's precision: auto (default, as semcolor.colorize: bf16 where the "
        "device computes it natively, else fp32), fp32 or bf16",
    )
    ap.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="annealed-mean temperature of the dist method (default: the model's own, "
        f"calibrated; {C.ANNEALED_MEAN_T} for a model never calibrated); ignored by reg",
    )
    ap.add_argument(
        "--fid-weights",
        type=Path,
        default=None,
        help="Inception v3 weights file: adds FID as papers compute it (pytorch-fid's "
        "pt_inception-2015-12-05-6726825d.pth, comparable with published FIDs, or "
        "torchvision's inception_v3_google-0cc3c7bd.pth); nothing is downloaded (default: "
        "none, only the offline FD-Lite0 is reported)",
    )
    ap.add_argument("--sheet-rows", type=int, default=6, help="images in sheet.png")
    ap.add_argument("--sheet-cell", type=int, default=192, help="cell side in sheet.png")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    sp = ap.add_argument_group("speed mode")
    sp.add_argument(
        "--speed",
        action="store_true",
        help="measure latency/throughput instead of metrics (writes speed.json)",
    )
    sp.add_argument("--speed-batches", default="1,8,32", help="batch sizes at --size")
    sp.add_argument(
        "--speed-fullres",
        default="4000x3000",
        help="WxH of the full-resolution case, or 'none'",
    )
    sp.add_argument(
        "--speed-iters",
        type=int,
        default=None,
        help="timed calls per case (default: >= 3, about 2 s per case)",
    )
    sp.add_argument("--speed-warmup", type=int, default=1, help="untimed calls per case")
    return ap


def _split_list(text: str | None) -> list[str]:
    if text is None:
        return []
    return [t.strip() for t in text.split(",") if t.strip() and t.strip().lower() != "none"]


def _err(msg: str) -> None:
    print(f"{PROG}: error: {msg}", file=sys.stderr)


def _load(ckpt: Path | None, device: str, notes: list[str]):
    """LoadedModel, or None when no checkpoint is given and no default model ships.
    Raises CheckpointError / FileNotFoundError (explicit --ckpt) / ValueError (device)."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.inference.checkpoint import load_model

    if ckpt is not None:
        return load_model(ckpt, device=device)
    try:
        return load_model(None, device=device)
    except FileNotFoundError as e:
        notes.append(f"no checkpoint: {e}")
        return None


def _speed(args: argparse.Namespace) -> int:
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import torch

    from semcolor.evaluation.report import write_json
    from semcolor.evaluation.speed import default_speed_model, format_speed_table, speed_benchmark
    from semcolor.inference.checkpoint import CheckpointError

    notes: list[str] = []
    try:
        batches = [int(b) for b in _split_list(args.speed_batches)]
        if any(b < 1 for b in batches):
            raise ValueError
    except ValueError:
        _err(f"--speed-batches must be positive integers like 1,8,32, got {args.speed_batches!r}")
        return 2
    fullres = None
    if args.speed_fullres.lower() != "none":
        try:
            w, h = (int(v) for v in args.speed_fullres.lower().split("x"))
            if w < 1 or h < 1:
                raise ValueError
            fullres = (w, h)
        except ValueError:
            _err(f"--speed-fullres must be WxH like 4000x3000 or 'none', "
                 f"got {args.speed_fullres!r}")  # fmt: skip
            return 2
    if args.device == "auto":
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    else:
        devices = [args.device]
    try:
        model = _load(args.ckpt, "cpu", notes)
    except (CheckpointError, FileNotFoundError) as e:
        _err(str(e))
        return 2
    if model is None:
        model = default_speed_model()
        notes.append("timing a random-weight network of the default model's architecture "
                     "(tu-efficientnet_lite0); speed does not depend on the weights")  # fmt: skip
    for n in notes:
        print(f"note: {n}", file=sys.stderr)
    try:
        speed = speed_benchmark(
            model, devices=devices, batches=batches, size=args.size, fullres=fullres,
            temperature=args.temperature, warmup=args.speed_warmup, iters=args.speed_iters,
            progress=not args.no_progress,
        )  # fmt: skip
    except ValueError as e:  # a bad --device
        _err(str(e))
        return 2
    speed["notes"] = notes
    out = args.out or Path("bench") / "speed"
    path = write_json(speed, out / "speed.json")
    print(format_speed_table(speed))
    print(f"\nwrote {path}")
    return 0


def _bench(args: argparse.Namespace, ap: argparse.ArgumentParser) -> int:
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.data.bench_images import BenchError, list_dataset_images
    from semcolor.evaluation.evaluate import evaluate_images
    from semcolor.evaluation.report import build_summary, format_table, write_outputs
    from semcolor.inference.checkpoint import CheckpointError

    if args.dataset is None or args.root is None:
        ap.error("--dataset and --root are required (or use --speed)")
    if args.size < 1 or args.batch_size < 1 or args.sheet_rows < 0 or args.sheet_cell < 16:
        ap.error("--size and --batch-size must be >= 1, --sheet-rows >= 0, --sheet-cell >= 16")
    notes: list[str] = []
    try:
        paths = list_dataset_images(args.dataset, args.root, args.split, args.image_list,
                                    args.limit)  # fmt: skip
    except BenchError as e:
        _err(str(e))
        return 2
    if args.no_model and args.ckpt is not None:
        ap.error("--no-model and --ckpt exclude each other")
    try:
        model = None if args.no_model else _load(args.ckpt, args.device, notes)
    except (CheckpointError, FileNotFoundError, ValueError) as e:
        _err(str(e))
        return 2
    if model is None:
        notes.append("running the baselines only")
    baselines = _split_list(args.baselines)
    methods = _split_list(args.methods) or None
    for n in notes:
        print(f"note: {n}", file=sys.stderr)
    try:
        result = evaluate_images(
            paths, model, size=args.size, full_res=args.full_res, methods=methods,
            baselines=baselines, exclude_colourless=not args.keep_gray,
            temperature=args.temperature, batch_size=args.batch_size,
            sheet_rows=args.sheet_rows, progress=not args.no_progress,
            fid_weights=args.fid_weights, precision=args.precision,
        )  # fmt: skip
    except BenchError as e:
        _err(str(e))
        return 2
    split = args.split
    if split is None:
        split = C.BENCH_DATASETS[args.dataset][1]
    summary = build_summary(
        result, dataset=args.dataset, root=str(args.root), split=split, model=model,
        temperature=result.temperature, notes=notes, name=args.name,
    )  # fmt: skip
    summary["limit"] = args.limit
    out = args.out or Path("bench") / args.dataset
    files = write_outputs(result, summary, out, sheet_cell=args.sheet_cell)

    size = "full resolution" if args.full_res else f"{args.size}x{args.size}"
    print(f"\n{args.dataset} ({args.root}), {size}: {summary['n_images']} images evaluated, "
          f"{summary['n_excluded_gray']} colourless excluded, {summary['n_skipped']} "
          f"unreadable skipped")  # fmt: skip
    print(format_table(summary))
    sp = summary["speed"]
    if sp["ms_per_image"] == sp["ms_per_image"]:  # not NaN
        print(
            f"\nmodel: {sp['ms_per_image']:.1f} ms/image on {sp['device']}, "
            f"peak memory {sp['peak_memory_mb']:.0f} MB ({sp['peak_memory_kind']})"
        )
    if summary["frechet"]:
        print(f"Fréchet features and distances: {sp['frechet_s']:.1f} s of {sp['wall_s']:.1f} s "
              f"(+ {sp['frechet_setup_s']:.1f} s to build the networks)")  # fmt: skip
    for n in result.notes:
        print(f"note: {n}", file=sys.stderr)
    for p, reason in result.skipped:
        print(f"skipped {p}: {reason}")
    print("\nwrote " + ", ".join(str(f) for f in files.values()))
    if summary["n_images"] == 0:
        _err(
            f"nothing could be evaluated among {len(paths)} images "
            f"({summary['n_skipped']} unreadable, {summary['n_excluded_gray']} colourless)"
        )
        return 1
    return 1 if result.skipped else 0  # the bad files are listed above


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.speed:
        return _speed(args)
    return _bench(args, ap)


if __name__ == "__main__":
    sys.exit(main())
