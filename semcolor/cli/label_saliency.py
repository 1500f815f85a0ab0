"""``semcolor-label-saliency``: a saliency map per image (SCGAN-style pseudo-labels).

    semcolor-label-saliency DATASET_ROOT --out saliency/
    semcolor-label-saliency ROOT/train --root ROOT --out ROOT_saliency --detector fine_grained
    semcolor-label-saliency list.txt --root ROOT --out maps/ --detector mypkg.sal:detect

Each image ``REL.ext`` (path relative to ``--root``, default IMAGES) gets ``DIR/REL.png``, an
8-bit grayscale map (255 = most salient), written atomically. The detectors are OpenCV's
classical ones (no weights, nothing downloaded); ``module:function`` plugs in your own
(uint8 RGB (H,W,3) -> float (H,W) in [0, 1]). Interrupted runs continue where they stopped
when the same command is run again (existing maps are kept unless ``--overwrite``). Training
reads the maps with ``data.saliency_dir=DIR`` (samples get ``saliency`` and
``has_saliency``); ``--root`` must therefore be the dataset's ``root``.

Exit status: 0 all written; 1 some images unreadable (listed; the others are written);
2 bad arguments or detector; 130 interrupted (maps written so far are kept).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from semcolor.cli._help import parser as help_parser

log = logging.getLogger("semcolor.label_saliency")
PROG = "semcolor-label-saliency"
DEFAULT_DETECTOR = "spectral_residual"


def _parser() -> argparse.ArgumentParser:
    ap = help_parser(
        PROG,
        "Compute a saliency map for every image (OpenCV's spectral-residual or fine-grained "
        "detector, or your own module:function) and save it as an 8-bit grayscale PNG under "
        "--out, mirroring the images' paths, for semcolor-train's data.saliency_dir=DIR.",
    )
    ap.add_argument(
        "images",
        type=Path,
        metavar="IMAGES",
        help="folder of images (recursive) or a text file with one path per line",
    )
    ap.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="output folder of the maps (required; not the images folder itself)",
    )
    ap.add_argument(
        "--root",
        type=Path,
        default=None,
        help="dataset root the map paths are relative to (and list paths are resolved "
        "against); default: IMAGES, or the list file's folder",
    )
    ap.add_argument(
        "--detector",
        default=DEFAULT_DETECTOR,
        metavar="NAME",
        help="spectral_residual, fine_grained, or package.module:function (your own "
        "detector: uint8 RGB (H,W,3) -> float (H,W) in [0, 1]); default: %(default)s",
    )
    ap.add_argument(
        "--overwrite", action="store_true", help="recompute maps that already exist"
    )
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    return ap


def _error(msg: str) -> int:
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.data import saliency as sal

    try:
        sal.resolve_detector(args.detector)
        result = sal.label_saliency(
            args.images,
            args.out,
            detector=args.detector,
            root=args.root,
            overwrite=args.overwrite,
            progress=False if args.no_progress else None,
        )
    except (FileNotFoundError, ValueError) as e:
        return _error(str(e))
    except KeyboardInterrupt:
        print(
            f"{PROG}: interrupted; the maps written so far are kept in {args.out}: run the "
            "same command again to continue",
            file=sys.stderr,
        )
        return 130
    log.info(
        "%s: %d maps written, %d already there, %d unreadable",
        args.out, result.written, result.skipped_existing, len(result.bad),
    )  # fmt: skip
    if result.bad:
        print(f"{PROG}: {len(result.bad)} image(s) not labelled:", file=sys.stderr)
        for path, reason in result.bad:
            print(f"  {path}\t{reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
