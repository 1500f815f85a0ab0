"""``semcolor-calibrate``: choose a model's decoding temperature T (the annealed mean of the
distribution head; T = 1 is the plain mean) on a validation split and store it in a copy of
its checkpoint, as that model's default.

    semcolor-calibrate --ckpt last.ckpt --dataset folder --root $DATA/imagen1k/val \
        --out calibrated.ckpt [--temperatures 0.2,0.3,0.38,0.5,0.7,1.0] \
        [--size 256] [--limit N] [--device auto]

Rule (:func:`semcolor.evaluation.choose_temperature`): the temperature whose mean colourfulness
matches the ground truth's (M3 ratio closest to 1). PSNR takes no part (it rises with T, so
it would reward desaturation). ``temperature=None`` in the API and the CLIs then means this
value. Use a split meant for choosing (imagen1k/val, imagenette/val, camvid/val), never a
report split. The table printed has, per T, PSNR, M3 and its ratio to the ground truth's,
and the colour cast (mean a and b minus the ground truth's; b > 0 is a yellow/sepia tint).

First (unless ``--no-tilt``), each temperature gets the logit tilt that zeroes the split's
mean colour cast (:func:`semcolor.evaluation.solve_cast_tilt`): class rebalancing teaches the
head p(bin | x) x w(bin), whose mean colour is not the data's (the shipped model's
rebalanced prior has b +14.6 against the data's +6.4: a yellow/sepia cast; measured by
benchmarks/bench_cast.py). The chosen temperature's tilt, per-bin offsets ``AB_BINS @ γ``,
is added to the head's bias in the written copy (recorded as ``semcolor.dist_tilt``), so
every inference path decodes the same; a tilted checkpoint is never tilted twice.

Exit status: 0 written; 2 bad arguments, data or checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from semcolor import constants as C
from semcolor.cli._help import parser as help_parser


def _parser() -> argparse.ArgumentParser:
    ap = help_parser("semcolor-calibrate", __doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", type=Path, required=True, help="checkpoint to calibrate (required)")
    ap.add_argument("--out", type=Path, required=True,
                    help="where the calibrated copy goes (required; never --ckpt)")  # fmt: skip
    ap.add_argument("--dataset", default="folder", choices=sorted(C.BENCH_DATASETS),
                    help="bench dataset layout of the validation images")  # fmt: skip
    ap.add_argument("--root", type=Path, required=True,
                    help="validation dataset root / folder (required; a split for choosing, "
                    "never a report split)")  # fmt: skip
    ap.add_argument("--split", default=None, help="split (default: the dataset's)")
    ap.add_argument(
        "--temperatures", default=None,
        help="comma-separated temperatures (default: 0.1 ... 1.0, ten values)",
    )  # fmt: skip
    ap.add_argument("--band", type=float, default=None,
                    help="deprecated and ignored (default: none; the old rule's colourfulness "
                    "band: the rule now matches the ground truth's colourfulness)")  # fmt: skip
    ap.add_argument("--size", type=int, default=256, help="network and evaluation side")
    ap.add_argument("--limit", type=int, default=None, help="first N images only (default: all)")
    ap.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    ap.add_argument(
        "--precision", choices=("auto", "fp32", "bf16"), default="auto",
        help="the network's precision, as semcolor-bench --precision: auto (default: bf16 where "
        "the device computes it natively, else fp32), fp32 or bf16",
    )
    ap.add_argument(
        "--no-tilt", action="store_true",
        help="leave the distribution head as trained (default: fit, per temperature, the "
        "logit tilt that zeroes the split's mean colour cast, and store the chosen one)",
    )
    ap.add_argument("--force", action="store_true", help="overwrite an existing --out")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)

    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import torch

    from semcolor.data.bench_images import BenchError, list_dataset_images
    from semcolor.evaluation.calibrate import (
        CALIBRATION_TEMPERATURES,
        calibrate_temperature,
        decoding_name,
    )
    from semcolor.inference.checkpoint import (
        CheckpointError,
        add_logit_tilt,
        apply_tilt_to_checkpoint,
        load_model,
    )

    def fail(msg: str) -> int:
        print(f"semcolor-calibrate: error: {msg}", file=sys.stderr)
        return 2

    if args.out.resolve() == args.ckpt.resolve():
        return fail("--out must differ from --ckpt (the input checkpoint is never overwritten)")
    if args.out.exists() and not args.force:
        return fail(f"{args.out} exists; pass --force to overwrite it")
    try:
        temps = (
            CALIBRATION_TEMPERATURES
            if args.temperatures is None
            else tuple(float(t) for t in args.temperatures.split(",") if t.strip())
        )
    except ValueError:
        return fail(f"--temperatures must be comma-separated numbers, got {args.temperatures!r}")
    if not temps or min(temps) <= 0:
        return fail("--temperatures must hold numbers > 0")
    if args.band is not None:
        print("semcolor-calibrate: warning: --band is deprecated and ignored: the rule now "
              "picks the temperature whose colourfulness matches the ground truth's",
              file=sys.stderr)  # fmt: skip
    try:
        model = load_model(args.ckpt, device=args.device)
        ckpt = torch.load(args.ckpt, map_location="cpu", weights_only=True)
        tilt = not args.no_tilt
        if tilt and (ckpt.get("semcolor") or {}).get("dist_tilt"):
            print("the distribution head is already tilted (semcolor.dist_tilt): kept as it is")
            tilt = False
        paths = list_dataset_images(args.dataset, args.root, args.split, limit=args.limit)
        chosen, rows = calibrate_temperature(
            paths, model, temps, size=args.size, progress=not args.no_progress,
            precision=args.precision, tilt=tilt,
        )
        record = add_logit_tilt(model.net, (chosen["tilt_a"], chosen["tilt_b"])) if tilt else None
    except (BenchError, CheckpointError, FileNotFoundError, ValueError) as e:
        return fail(str(e))
    print(f"{'T':>5} | {'PSNR':>6} | {'M3':>6} | M3/GT | a cast | b cast |"
          + (" untilted a, b | tilt γ (a, b)    |" if tilt else "") + " decoding")  # fmt: skip
    for r in rows:
        mark = " <- chosen" if r is chosen else ""
        extra = (f" {r['untilted_cast_a']:+6.2f} {r['untilted_cast_b']:+6.2f} | "
                 f"{r['tilt_a']:+.4f} {r['tilt_b']:+.4f} |") if tilt else ""  # fmt: skip
        print(f"{r['temperature']:5.2f} | {r['psnr']:6.2f} | {r['colorfulness']:6.2f} | "
              f"{r['colorfulness_ratio']:5.2f} | {r['cast_a']:+6.2f} | {r['cast_b']:+6.2f} |"
              f"{extra} {decoding_name('dist', r['temperature'])}{mark}")  # fmt: skip
    print(f"{int(chosen['num_images'])} images; gray PSNR {rows[0]['gray_psnr']:.2f}, "
          f"ground-truth M3 {rows[0]['gt_colorfulness']:.2f}")  # fmt: skip
    print(f"chosen: the {decoding_name('dist', chosen['temperature'])} (colourfulness closest "
          "to the ground truth's)" + (", with the tilt that zeroes its colour cast on this "
          "split" if tilt else ""))  # fmt: skip
    if record is not None:
        record.update({
            "rule": "zero mean colour cast on the calibration split (semcolor.evaluation."
                    "solve_cast_tilt), at the chosen temperature",
            "untilted_cast": [chosen["untilted_cast_a"], chosen["untilted_cast_b"]],
        })  # fmt: skip
        apply_tilt_to_checkpoint(ckpt, record)
    meta = ckpt["semcolor"]
    meta["temperature"] = float(chosen["temperature"])
    meta["temperature_calibration"] = {
        "dataset": args.dataset, "root": str(args.root), "split": args.split,
        "n_images": int(chosen["num_images"]), "size": int(args.size),
        "rule": "colourfulness closest to the ground truth's",
        "rows": [{k: float(v) for k, v in r.items()} for r in rows],
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(args.out)
    print(f"wrote {args.out} with temperature {meta['temperature']:.2f} "
          f"({decoding_name('dist', meta['temperature'])})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
