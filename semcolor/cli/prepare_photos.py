"""``semcolor-prepare-photos``: training photo folders from Imagenette2 or Caltech-101.

    semcolor-prepare-photos ~/downloads/imagenette2 --out $DATA/photos/imagenette2
    semcolor-prepare-photos ~/downloads/caltech-101 --out $DATA/photos/caltech101

Writes ``OUT/train/<class>/`` and ``OUT/val/<class>/`` (byte-for-byte copies), leaving out
colourless images, images smaller than ``--min-side`` and unreadable files, each listed in
``OUT/dropped.tsv``; ``OUT/manifest.json`` records what was done. Imagenette2 keeps its
published train/val split; Caltech-101, which has none, holds out ``--holdout`` of its
images by path hash as ``val`` (for choosing). The source is never written to. Running the
same command again continues an interrupted run.

Exit status: 0 done; 1 some files unreadable (listed; the others are copied); 2 bad
arguments or layout; 130 interrupted (files copied so far are kept).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from semcolor import constants as C
from semcolor.cli._help import parser as help_parser

PROG = "semcolor-prepare-photos"


def _parser() -> argparse.ArgumentParser:
    ap = help_parser(
        PROG,
        "Build training photo folders (OUT/train/<class>/, OUT/val/<class>/) from Imagenette2 "
        "(train/<wnid>/, val/<wnid>/) or Caltech-101 (<class>/image_NNNN.jpg) as published, "
        "leaving out colourless, too small and unreadable images (listed in OUT/dropped.tsv).",
    )
    ap.add_argument("source", type=Path, metavar="SRC", help="the dataset folder as published")
    ap.add_argument("--out", type=Path, required=True, metavar="OUT",
                    help="output folder (new, empty, or an earlier run's to continue it)")
    ap.add_argument("--layout", default="auto", choices=["auto", *sorted(C.PHOTO_LAYOUTS)],
                    help="the source's layout; auto detects it")
    ap.add_argument("--holdout", type=float, default=C.CALTECH_HOLDOUT_FRACTION,
                    help="Caltech-101: fraction held out as val, chosen by path hash")
    ap.add_argument("--min-side", type=int, default=C.PHOTO_MIN_SIDE,
                    help="leave out images whose shorter side is below this (0 keeps all)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    return ap  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help in 0.04 s, not 3.5 s
    import torch
    from tqdm import tqdm

    from semcolor.data.photo_folders import prepare_photos

    # One image at a time on 128-px thumbnails: torch's thread pool only adds waiting. Measured
    # on the busy 2-core machine: ~100 images/s with 1 thread, 2-20 images/s with 2.
    torch.set_num_threads(1)
    bar = None if args.no_progress else (lambda it: tqdm(it, desc="photos", unit="img"))
    try:
        r = prepare_photos(args.source, args.out, layout=args.layout,
                           holdout_fraction=args.holdout, min_side=args.min_side,
                           progress=bar)  # fmt: skip
    except (FileNotFoundError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; files copied so far are kept in {args.out}: run the same "
              "command again to continue", file=sys.stderr)  # fmt: skip
        return 130
    print(
        f"{PROG}: {args.out} ({r.layout}): copied train {r.copied['train']}, val "
        f"{r.copied['val']}, already there {r.kept_existing}; left out {len(r.colourless)} "
        f"colourless, {len(r.too_small)} smaller than {args.min_side} px, {len(r.bad)} "
        f"unreadable (listed in {args.out / 'dropped.tsv'})"
    )
    if r.bad:
        print(f"{PROG}: {len(r.bad)} unreadable file(s):", file=sys.stderr)
        for path, reason in r.bad:
            print(f"  {path}\t{reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
