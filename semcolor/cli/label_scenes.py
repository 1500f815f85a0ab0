"""``semcolor-label-scenes``: soft Places365 scene labels (top-5, renormalised) for a dataset.

    semcolor-label-scenes --images DATASET_ROOT --weights resnet18_places365.pth.tar \\
        --class-names categories_places365.txt --out labels.npz
    semcolor-label-scenes --images ROOT/val --root ROOT --classifier wideresnet18 \\
        --weights wideresnet18_places365.pth.tar --out val_labels.npz --batch-size 64
    semcolor-label-scenes --images list.txt --root ROOT --weights w.pth --classifier \\
        convnext_tiny --out labels.npz

Weights are never downloaded: get them from http://places2.csail.mit.edu/models_places365/.
Interrupted runs continue where they stopped when the same command is run again (progress
in ``<out>.partial.npz``). Training reads the result with ``data.scene_labels=labels.npz``
(the file stores the classifier's class count, which sizes the scene head); keys are image
paths relative to ``--root`` (default ``--images``), which must therefore be the dataset's
``root``.

Exit status: 0 all labelled; 1 some images unreadable (listed; the others are written);
2 bad arguments, weights or classifier; 130 interrupted (progress kept).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from semcolor import constants as C
from semcolor.cli._help import parser as help_parser

log = logging.getLogger("semcolor.label_scenes")
PROG = "semcolor-label-scenes"


def _parser() -> argparse.ArgumentParser:
    ap = help_parser(
        PROG,
        "Label images with a Places365 classifier: per image the top-5 class probabilities "
        "renormalised to sum 1, saved as labels.npz for semcolor-train's "
        "data.scene_labels=FILE.",
    )
    ap.add_argument(
        "--images",
        required=True,
        type=Path,
        help="folder of images (recursive) or a text file with one path per line (required)",
    )
    ap.add_argument(
        "--root",
        type=Path,
        default=None,
        help="dataset root the label keys are relative to (and list paths are "
        "resolved against); default: --images, or the list file's folder",
    )
    ap.add_argument(
        "--classifier",
        default=None,
        help="torchvision or timm model name (prefix 'torchvision:'/'timm:' to "
        "force one), or wideresnet18 (CSAIL); default: guessed from a CSAIL file "
        "name or the checkpoint's 'arch'",
    )
    ap.add_argument(
        "--weights",
        type=Path,
        required=True,
        help="local Places365 classifier weights (required; never downloaded), e.g. "
        "resnet18_places365.pth.tar from http://places2.csail.mit.edu/models_places365/",
    )
    ap.add_argument("--out", required=True, type=Path, help="output labels .npz (required)")
    ap.add_argument("--num-classes", type=int, default=C.NUM_PLACES365_CLASSES,
                    help="the classifier's output classes")  # fmt: skip
    ap.add_argument(
        "--class-names", type=Path, default=None, metavar="FILE",
        help="the classifier's class names (Places365's categories_places365.txt, or one name "
        "per line), stored in the labels file so that trained checkpoints name their scenes "
        "(default: none; checkpoints then show scenes as 'class <k>')",
    )
    ap.add_argument(
        "--topk", type=int, default=C.SCENE_PSEUDO_LABEL_TOPK, help="classes kept per image"
    )
    ap.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    ap.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda:1...")
    ap.add_argument("--num-workers", type=int, default=2, help="image decoding processes")
    ap.add_argument(
        "--limit",
        type=int,
        default=None,
        help="label only the first N images (sorted / list order; default: all)",
    )
    ap.add_argument(
        "--save-every",
        type=int,
        default=20,
        help="write progress to <out>.partial.npz after N batches ...",
    )
    ap.add_argument(
        "--save-interval",
        type=float,
        default=30.0,
        help="... and at least this many seconds since the last write (progress "
        "is also written on any interruption)",
    )
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument(
        "--force",
        action="store_true",
        help="relabel from scratch: ignore an existing --out and progress file",
    )
    mode.add_argument(
        "--update",
        action="store_true",
        help="keep the entries of an existing --out, label only the missing images",
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
    for name in ("batch_size", "topk", "save_every", "num_classes"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.num_workers < 0:
        ap.error("--num-workers must be >= 0")
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be >= 1")

    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.data import pseudo_labels as pl

    if args.out.exists() and not (args.force or args.update):
        ap.error(
            f"--out {args.out} exists; pass --update to label only images missing from it, "
            "or --force to relabel everything"
        )
    if args.force:
        pl.partial_path(args.out).unlink(missing_ok=True)
    try:
        # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
        from semcolor.hardware import resolve_device

        device = resolve_device(args.device)
        items = pl.collect_images(args.images, args.root)
        if args.limit is not None:
            items = items[: args.limit]
        if not items:
            return _error(f"no images found in {args.images}")
        class_names = None
        if args.class_names is not None:
            # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
            from semcolor.data.class_names import read_class_names

            class_names = read_class_names(args.class_names)
            if len(class_names) != args.num_classes:
                return _error(f"--class-names {args.class_names} has {len(class_names)} names "
                              f"for --num-classes {args.num_classes}")  # fmt: skip
        else:
            log.warning("%s: no --class-names: checkpoints trained on these labels will show "
                        "scenes as 'class <k>' (pass e.g. --class-names "
                        "categories_places365.txt)", PROG)  # fmt: skip
        model, name = pl.load_classifier(args.classifier, args.weights, args.num_classes)
        if args.topk > args.num_classes:
            return _error(f"--topk {args.topk} > --num-classes {args.num_classes}")
        signature = pl.weights_signature(name, args.weights, args.num_classes)
        log.info("%s: %d images, classifier %s on %s", PROG, len(items), name, device)
        result = pl.label_images(
            model,
            items,
            args.out,
            signature=signature,
            batch_size=args.batch_size,
            device=device,
            num_workers=args.num_workers,
            topk=args.topk,
            save_every=args.save_every,
            save_interval=args.save_interval,
            update=args.update,
            progress=not args.no_progress,
            class_names=class_names,
        )
    except FileNotFoundError as e:
        return _error(str(e))
    except (pl.ClassifierError, pl.WeightsFileError, ValueError) as e:
        return _error(str(e))
    except KeyboardInterrupt:
        print(
            f"{PROG}: interrupted; progress kept in {pl.partial_path(args.out)}: run the same "
            "command again to continue",
            file=sys.stderr,
        )
        return 130
    log.info(
        "wrote %s: %d entries (%d labelled now, %d from earlier runs, %d unreadable)",
        result.out, result.total, result.labelled, result.reused, len(result.skipped),
    )  # fmt: skip
    if result.skipped:
        print(f"{PROG}: {len(result.skipped)} unreadable image(s) skipped:", file=sys.stderr)
        for path, reason in result.skipped:
            print(f"  {path}\t{reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
