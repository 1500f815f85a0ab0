"""``semcolor-prior``: estimate the ab rebalancing prior of Zhang et al. from a folder of images.

    semcolor-prior --images DIR --out prior.npy [--limit N] [--max-side 256]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from semcolor import constants as C
from semcolor.cli._help import parser as help_parser

log = logging.getLogger("semcolor.prior")


def _parser() -> argparse.ArgumentParser:
    ap = help_parser(
        "semcolor-prior",
        "Estimate the class-rebalancing prior (Zhang et al. 2016, section 3.1) from a folder "
        "of colour images and save it as .npy (for semcolor-train module.prior=FILE).",
    )
    ap.add_argument("--images", required=True, type=Path,
                    help="folder of images (recursive; required)")  # fmt: skip
    ap.add_argument("--out", required=True, type=Path, help="output .npy file (required)")
    ap.add_argument("--limit", type=int, default=None,
                    help="use at most N images (sorted order; default: all)")  # fmt: skip
    ap.add_argument("--max-side", type=int, default=256, help="downscale longer side to this")
    ap.add_argument("--sigma", type=float, default=C.REBALANCE_SIGMA,
                    help="Gaussian smoothing of the empirical distribution, in bins")  # fmt: skip
    ap.add_argument("--lam", type=float, default=C.REBALANCE_LAMBDA,
                    help="mixing weight of the uniform distribution (Zhang et al.'s lambda)")
    ap.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help in 0.04 s, not 1.8 s
    from semcolor.data.base import list_images
    from semcolor.data.prior import estimate_prior

    if not args.images.is_dir():
        ap.error(f"--images {args.images} is not a directory")
    if args.out.exists() and not args.force:
        ap.error(f"--out {args.out} exists; pass --force to overwrite it")
    if args.out.suffix != ".npy":
        ap.error(f"--out must end in .npy, got {args.out}")
    paths = list_images(args.images)
    if args.limit is not None:
        if args.limit < 1:
            ap.error("--limit must be >= 1")
        paths = paths[: args.limit]
    if not paths:
        ap.error(f"no images found under {args.images} (looked for .jpg .png .bmp .tif .webp)")
    try:
        prior, skipped, colourless = estimate_prior(
            paths, max_side=args.max_side, sigma=args.sigma, lam=args.lam
        )
    except ValueError as e:
        print(f"semcolor-prior: error: {e}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    prior.save(args.out)
    used = len(paths) - len(skipped) - colourless
    log.info(
        "wrote %s: %d images used, %d colourless left out, %d unreadable; "
        "%d pixels; weights in [%.3f, %.3f]",
        args.out, used, colourless, len(skipped), prior.counts.sum(),
        prior.weights.min(), prior.weights.max(),
    )  # fmt: skip
    for path, reason in skipped:
        log.warning("skipped %s: %s", path, reason)
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
