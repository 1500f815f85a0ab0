"""``semcolor-shard``: convert a semcolor dataset into sharded streaming data (LitData).

    semcolor-shard ~/photos --out /scratch/photo_shards
    semcolor-shard cocostuff --data-root $DATA --out /scratch/coco_shards
    semcolor-shard imagenet --data-root $DATA --out /scratch/in_shards \\
        --set data.scene_labels=$DATA/imagenet_places365.npz data.num_scene_classes=365
    semcolor-shard camvid --data-root $DATA --out /scratch/camvid_shards --chunk-bytes 128MB

SRC is a folder of photos (any depth) or the name of a data config (``conf/data``:
cocostuff, imagenet, places365, tinyimagenet, camvid, div2k, folder), whose training set (or
``--split val``'s validation set) is built exactly as ``semcolor-train data=SRC`` builds it,
``--set`` overrides included: label maps, scene pseudo-labels, saliency maps and padded label
spaces go into the shards. Train from them with ``semcolor-train data=shards data.root=DIR``.

A weighted mix (``mixed``, any config whose training set is a ``MixedDataset``) is refused
(exit 2): shards are streamed, every stored sample once per epoch, so the mix's weights
would be lost (see :mod:`semcolor.data.shards`). Train a mix with ``data=mixed``.

Deterministic (same source, chunk size and workers: byte-identical chunk files) and
resumable (rerun the same command after an interruption). Unreadable images are skipped and
listed.

Exit status: 0 done; 1 done, some source files skipped (listed); 2 bad arguments or source;
130 interrupted (rerun to continue).
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

from semcolor import constants as C
from semcolor.cli._help import parser as help_parser
from semcolor.cli._report import report_skipped

log = logging.getLogger("semcolor.shard")
PROG = "semcolor-shard"
#: Data configs that are not convertible sources.
NOT_SOURCES = ("synthetic", "unpaired", "shards", "_datamodule")


def _parser() -> argparse.ArgumentParser:
    ap = help_parser(
        PROG,
        "Convert a photo folder or a semcolor data config's dataset into LitData shards for "
        "semcolor-train data=shards (streaming, multi-node, resumable).",
    )
    ap.add_argument(
        "src", metavar="SRC",
        help="a photo folder, or a data config name (" + ", ".join(_sources()) + ")",
    )  # fmt: skip
    ap.add_argument("--out", required=True, type=Path, metavar="DIR",
                    help="output shard folder (required; not inside SRC)")  # fmt: skip
    ap.add_argument("--split", choices=("train", "val"), default="train",
                    help="which of the config's datasets to convert; "
                    "default: %(default)s")  # fmt: skip
    ap.add_argument("--data-root", default=None, metavar="DIR",
                    help="paths.data_root for a config SRC; default: the config's "
                    "(./datasets)")  # fmt: skip
    ap.add_argument("--set", nargs="*", default=None, metavar="KEY=VALUE",
                    help="Hydra overrides of the config (data.num_scene_classes=365...); "
                    "default: None")  # fmt: skip
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--chunk-bytes", default=C.SHARD_CHUNK_BYTES, metavar="SIZE",
                      help="chunk (shard) size limit in bytes, e.g. 64MB; "
                      "default: %(default)s")  # fmt: skip
    size.add_argument("--chunk-size", type=int, default=None, metavar="N",
                      help="chunk size in samples instead of bytes; default: off")  # fmt: skip
    ap.add_argument("--workers", type=int, default=1,
                    help="conversion processes (changing it changes the chunk layout); "
                    "default: %(default)s")  # fmt: skip
    ap.add_argument("--overwrite", action="store_true",
                    help="replace a finished conversion in --out")  # fmt: skip
    return ap


def _configs() -> dict[str, Any]:
    """Data config name -> its YAML file (``semcolor.conf/data``), minus non-sources."""
    found = {p.name[:-5]: p for p in files("semcolor.conf").joinpath("data").iterdir()
             if p.name.endswith(".yaml")}  # fmt: skip
    return {n: found[n] for n in sorted(found) if n not in NOT_SOURCES}


def _is_mix(config_file: Any) -> bool:
    """Whether a data config's training set is a weighted mix (read from its YAML, not
    composed: cheap)."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from omegaconf import OmegaConf

    train = OmegaConf.load(str(config_file)).get("train") or {}
    return str(train.get("_target_", "")).endswith("MixedDataset")


def _mixes() -> list[str]:
    return [n for n, f in _configs().items() if _is_mix(f)]


def _sources() -> list[str]:
    """The data configs semcolor-shard converts (weighted mixes are not among them)."""
    mixes = set(_mixes())
    return [n for n in _configs() if n not in mixes]


def build_source(src: str, split: str = "train", data_root: str | None = None,
                 overrides: list[str] | None = None):  # fmt: skip
    """The dataset ``semcolor-shard SRC`` converts: an :class:`ImageFolder` of a folder (no
    labels, every image), or a data config's ``train``/``val`` dataset built as
    ``semcolor-train`` builds it. Crops are irrelevant (images are stored whole).

    Raises:
        ValueError: an unknown config name (the valid ones are listed) or a config whose
            dataset cannot be sharded (a weighted mix: the reason is given).
    """
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from hydra import compose, initialize_config_module
    from hydra.utils import instantiate

    from semcolor.data.base import SampleOptions
    from semcolor.data.datasets import ImageFolder

    if Path(src).expanduser().is_dir():
        return ImageFolder(str(Path(src).expanduser()), split=None,
                           options=SampleOptions(train=False, num_scene_classes=0,
                                                 num_seg_classes=0))  # fmt: skip
    if src in _mixes():
        # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
        from semcolor.data.shards import MIX_REFUSAL

        raise ValueError(f"data={src} is no shard source: {MIX_REFUSAL}")
    if src not in _sources():
        raise ValueError(
            f"SRC {src!r} is neither a folder nor a data config; configs: {_sources()}"
        )
    ov = [f"data={src}", "data.skip_log=null", *(overrides or [])]
    if data_root:
        ov.append(f"paths.data_root={data_root}")
    with initialize_config_module("semcolor.conf", version_base="1.3"):
        cfg = compose("train", overrides=ov)
    node = cfg.data.train if split == "train" else cfg.data.val
    if node is None:
        raise ValueError(f"data={src} has no {split} dataset")
    return instantiate(node)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.data.shards import write_shards

    out = args.out.expanduser().resolve()
    src_dir = Path(args.src).expanduser()
    if src_dir.is_dir() and (out == src_dir.resolve() or src_dir.resolve() in out.parents):
        print(f"{PROG}: error: --out {out} is inside SRC {src_dir}; choose a folder "
              "outside it", file=sys.stderr)  # fmt: skip
        return 2
    try:
        dataset = build_source(args.src, args.split, args.data_root, args.set)
        print(f"{PROG}: converting {dataset!r} ({len(dataset)} samples) into {out}",
              file=sys.stderr)  # fmt: skip
        report = write_shards(dataset, out, chunk_bytes=args.chunk_bytes,
                              chunk_size=args.chunk_size, num_workers=args.workers,
                              overwrite=args.overwrite)  # fmt: skip
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; rerun the same command to continue", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FileExistsError, TypeError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - Hydra wraps a dataset's own errors
        cause = e.__cause__ or e
        print(f"{PROG}: error: {cause}", file=sys.stderr)
        return 2
    print(f"{PROG}: {report.samples} samples in {report.chunks} chunks under {report.out}")
    return report_skipped(
        PROG, report.skipped, f"skipped {len(report.skipped)} unreadable file(s):"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
