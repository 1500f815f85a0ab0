"""``semcolor-pack``: a small copy of a recipe's data, to train where the datasets are not.

    semcolor-pack --out /root/semcolor-data/gpu_pack --max-mb 30 --data-root ../shared/data \\
        --set data.photos_root=$PHOTOS data.labels_root=$LABELS
    semcolor-train +experiment=default_model paths.data_root=/root/semcolor-data/gpu_pack

Builds the recipe (``--experiment``, default ``default_model``; ``--set`` overrides) exactly
as ``semcolor-train`` would, then writes a data root with the same layout holding its whole
validation split (byte for byte) and, within ``--max-mb``, a subset of every training
member in proportion to its draw weight, images larger than the recipe's training scale
resized as the loader resizes them, with the scene pseudo-labels of the packed images
(:mod:`semcolor.data.pack`). The recipe then trains from it with ``paths.data_root=OUT``
(the ``--set`` overrides of the data's locations dropped, the others repeated):
``OUT/manifest.json`` holds that command. The sources are only read.

Exit status: 0 done; 1 done, some unreadable source files left out (listed); 2 bad
arguments, a missing source, or a budget too small (the message gives the sizes).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from semcolor import constants as C
from semcolor.cli._help import parser as help_parser
from semcolor.cli._report import report_skipped

PROG = "semcolor-pack"
#: Overrides that say where the data is: given for the sources, left to their defaults in the
#: pack (which derive them from ``paths.data_root=OUT``).
LOCATION_KEYS: tuple[str, ...] = ("paths.data_root", "data.photos_root", "data.labels_root")


def _parser() -> argparse.ArgumentParser:
    ap = help_parser(
        PROG,
        "Pack a training recipe's data (its validation split whole, a weighted subset of its "
        "training members) into a small data root with the same layout, under a size "
        "budget, for a machine that cannot reach the datasets.",
    )
    ap.add_argument("--out", required=True, type=Path, metavar="DIR",
                    help="the pack folder (required; new or empty, outside every source)")
    ap.add_argument("--max-mb", type=float, default=60.0,
                    help="the most the pack may hold, in MB (10^6 bytes), manifest included")
    ap.add_argument("--experiment", default="default_model",
                    help="the recipe (conf/experiment; 'none' for the root config)")
    ap.add_argument("--data-root", default=None, metavar="DIR",
                    help="paths.data_root of the sources; default: the config's "
                    "($SEMCOLOR_DATA, else ./datasets)")
    ap.add_argument("--set", nargs="*", default=None, metavar="KEY=VALUE",
                    help="more Hydra overrides of the recipe (data.photos_root=DIR ...); "
                    "default: None")
    ap.add_argument("--min-images", type=int, default=C.PACK_MIN_IMAGES_UNDRAWN,
                    help="images kept of a member the mix never draws (weight 0)")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace an earlier pack in --out")
    return ap  # fmt: skip


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def recipe_overrides(experiment: str, data_root: str | None, sets: list[str] | None,
                     out: Path | None = None) -> list[str]:  # fmt: skip
    """The recipe's overrides for the sources (``out`` None) or for the pack at ``out``
    (location overrides dropped, ``paths.data_root=out``)."""
    ov = [] if experiment == "none" else [f"+experiment={experiment}"]
    sets = list(sets or [])
    if out is None:
        ov += sets + ([f"paths.data_root={data_root}"] if data_root else [])
    else:
        ov += [s for s in sets if _key(s) not in LOCATION_KEYS] + [f"paths.data_root={out}"]
    return ov


def _compose(overrides: list[str]):
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from hydra import compose, initialize_config_module

    with initialize_config_module("semcolor.conf", version_base="1.3"):
        return compose("train", overrides=[*overrides, "data.skip_log=null"])


class _PathMap:
    """Maps a source path to the pack by the longest location prefix it lies under."""

    def __init__(self, src_cfg: Any, pack_cfg: Any):
        # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
        from omegaconf import OmegaConf

        self.pairs: list[tuple[Path, Path, str]] = []
        for key in LOCATION_KEYS:
            s, p = OmegaConf.select(src_cfg, key), OmegaConf.select(pack_cfg, key)
            if s and p:
                self.pairs.append((Path(os.path.abspath(os.path.expanduser(str(s)))),
                                   Path(os.path.abspath(str(p))), key))  # fmt: skip
        self.pairs.sort(key=lambda t: len(t[0].parts), reverse=True)

    def __call__(self, path: str | os.PathLike[str], what: str) -> Path:
        path = Path(os.path.abspath(os.path.expanduser(str(path))))
        for src, dst, _ in self.pairs:
            if path == src or src in path.parents:
                return dst / path.relative_to(src)
        keys = ", ".join(f"{k}={s}" for s, _, k in self.pairs) or "none set"
        raise ValueError(
            f"{what} {path} lies under none of the data locations ({keys}); the pack mirrors "
            "the recipe's layout below them, so set that path through them"
        )


def build_pack_plan(experiment: str, data_root: str | None, sets: list[str] | None,
                    out: Path):  # fmt: skip
    """(members, copies, train overrides, data locations): the recipe's training members and
    validation files, built as ``semcolor-train`` builds them, with their places in the pack
    at ``out``; the overrides that train from the pack; the source data locations.

    Raises:
        FileNotFoundError: a source folder is missing (all are named).
        ValueError: a source lies outside the data locations, or a dataset cannot be packed.
    """
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from hydra.utils import instantiate

    from semcolor.data.mixed import MixedDataset
    from semcolor.data.pack import PackCopy, PackMember

    src_cfg = _compose(recipe_overrides(experiment, data_root, sets))
    pack_ov = recipe_overrides(experiment, data_root, sets, out)
    pack_cfg = _compose(pack_ov)
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): cli.train loads Hydra,
    # OmegaConf and semcolor.hardware (torch): --help in 0.04 s rather than 2 s
    from semcolor.cli.train import check_data_folders

    check_data_folders(src_cfg)
    where = _PathMap(src_cfg, pack_cfg)
    train = instantiate(src_cfg.data.train)
    pairs = (list(zip(train.datasets, train.weights, strict=True))
             if isinstance(train, MixedDataset) else [(train, 1.0)])  # fmt: skip
    members = []
    for ds, w in pairs:
        labels = getattr(ds.options, "scene_labels", None)
        name = f"{Path(ds.root).name}/{ds.split}" if ds.split else Path(ds.root).name
        members.append(PackMember(
            name=name, dataset=ds, weight=float(w), dest_root=where(ds.root, "dataset root"),
            scene_labels=(Path(labels), where(labels, "scene labels file")) if labels else None,
        ))  # fmt: skip
    copies = []
    if src_cfg.data.get("val") is not None:
        val = instantiate(src_cfg.data.val)
        if hasattr(val, "records"):  # a ColorizationDataset: its images and label maps
            files = [r.image for r in val.records]
            files += [r.seg for r in val.records if isinstance(r.seg, str)]
            base = Path(val.root)
        else:  # BenchImages: the bench's own listing of the split
            files = list(val.paths)
            base = Path(os.path.commonpath([os.path.dirname(p) for p in files]))
            node = src_cfg.data.val
            if node.get("root"):
                root = Path(os.path.expanduser(str(node.root)))
                split = node.get("split")
                base = root / split if split and node.get("dataset", "folder") == "folder" else root
        copies.append(PackCopy(f"validation ({base.name})", files, base,
                               where(base, "validation folder")))  # fmt: skip
    return members, copies, pack_ov, [str(src) for src, _, _ in where.pairs]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.data.pack import pack_data

    out = Path(os.path.abspath(os.path.expanduser(args.out)))
    if args.max_mb <= 0 or args.min_images < 0:
        print(f"{PROG}: error: --max-mb must be > 0 and --min-images >= 0", file=sys.stderr)
        return 2
    try:
        members, copies, train_ov, locations = build_pack_plan(
            args.experiment, args.data_root, args.set, out)  # fmt: skip
        command = "semcolor-train " + " ".join(train_ov)
        report = pack_data(
            members, copies, out, int(args.max_mb * 1e6), min_images=args.min_images,
            overwrite=args.overwrite, keep_out=locations,
            manifest={"recipe": recipe_overrides(args.experiment, args.data_root, args.set),
                      "train_overrides": train_ov, "train_command": command},
        )  # fmt: skip
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was written to {out}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - Hydra wraps a dataset's own errors
        cause = e.__cause__ or e
        if isinstance(cause, (ValueError, FileNotFoundError)):
            print(f"{PROG}: error: {cause}", file=sys.stderr)
            return 2
        raise
    width = max(len(m.name) for m in report.members)
    print(f"{'member':<{width}} | weight | images packed / available | MB    | resized")
    for m in report.members:
        print(f"{m.name:<{width}} | {m.weight:6.3f} | {m.packed:6d} / {m.available:<6d}"
              f"           | {m.bytes / 1e6:5.2f} | {m.resized}")  # fmt: skip
    for name, c in report.copies.items():
        print(f"{name}: {c['files']} files copied whole, {c['bytes'] / 1e6:.2f} MB")
    print(f"{PROG}: {report.total_bytes / 1e6:.2f} MB of {args.max_mb:g} MB in {out}")
    print(f"train from it: {command}")
    return report_skipped(
        PROG, report.skipped, f"{len(report.skipped)} unreadable source file(s) left out:"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
