"""``semcolor-train``: Hydra-configured Lightning training.

    semcolor-train +experiment=segclassregsoft
    semcolor-train +experiment=segclassregsoft data=mixed trainer=gpu trainer.devices=4 \
        trainer.strategy=ddp data.batch_size=32 model.encoder=resnet50 loss.w_seg=0.5
    semcolor-train ckpt_path=outputs/2026-12-01/10-00-00/checkpoints/last.ckpt   # resume it
    semcolor-train ckpt_path=.../last.ckpt trainer.max_steps=20000   # ... and train longer
    semcolor-train +experiment=regsoft hydra.run.dir=runs/job1 ckpt_path=auto   # requeued job

A resume reuses the run's own configuration: the command-line overrides stored in the
checkpoint are replayed (yours win over them), the run continues in its own folder, and a
warning lists every value that differs from the stored config. Only overrides that cannot
name code are replayed (:func:`replayable_overrides`): a checkpoint is data.

Configs live in the package (``semcolor.conf``), so this works from any directory after a
plain ``pip install``. ``semcolor-train --cfg job`` prints the composed config.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
import shutil
import sys
import warnings
from collections.abc import Iterable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("semcolor.train")


#: LightningModule classes ``module._target_`` may name (default: the multi-task one).
MODULE_CLASSES: dict[str, str] = {
    "semcolor.lit.SemColorModule": "semcolor.lit.module:SemColorModule",
    "semcolor.lit.module.SemColorModule": "semcolor.lit.module:SemColorModule",
    "semcolor.lit.GANModule": "semcolor.lit.gan:GANModule",
    "semcolor.lit.gan.GANModule": "semcolor.lit.gan:GANModule",
}
#: Module arguments built from their own config groups, not from ``module.*``.
_BUILT_ARGS = ("net", "loss", "optimizer", "optimizer_d", "discriminator", "scheduler",
               "run_config", "run_overrides", "base")  # fmt: skip


def module_class(cfg: DictConfig) -> type:
    """The LightningModule class of ``module._target_`` (absent: SemColorModule)."""
    target = str(cfg.module.get("_target_") or "semcolor.lit.module.SemColorModule")
    if target not in MODULE_CLASSES:
        raise ValueError(
            f"module._target_={target} is not a semcolor training module; valid: "
            f"{sorted(MODULE_CLASSES)}"
        )
    mod, name = MODULE_CLASSES[target].split(":")
    return getattr(importlib.import_module(mod), name)


def _module_kwargs(cfg: DictConfig) -> dict[str, Any]:
    cls = module_class(cfg)
    kwargs = OmegaConf.to_container(cfg.module, resolve=True)
    kwargs.pop("_target_", None)
    valid: set[str] = set()
    for klass in cls.__mro__:  # a subclass's **base passes the base's options on
        if "__init__" in vars(klass) and klass.__module__.startswith("semcolor."):
            valid |= set(inspect.signature(klass).parameters)
    valid -= set(_BUILT_ARGS)
    unknown = sorted(set(kwargs) - valid)
    if unknown:
        raise ValueError(f"unknown module option(s) {unknown}; valid: {sorted(valid)}")
    return kwargs


def resolve_sync_batchnorm(trainer_cfg: DictConfig) -> bool:
    """``trainer.sync_batchnorm``: null (the default) = on exactly when DDP runs on GPUs;
    true on CPU is turned off with a warning (gloo cannot sync batch norm)."""
    want = trainer_cfg.get("sync_batchnorm")
    gpu = _uses_gpu(str(trainer_cfg.get("accelerator", "auto")))
    if want is None:
        return gpu and "ddp" in str(trainer_cfg.get("strategy", ""))
    if want and not gpu:
        log.warning("trainer.sync_batchnorm needs GPUs; turned off for this CPU run")
        return False
    return bool(want)


def resolve_precision(cfg: DictConfig) -> None:
    """``trainer.precision=auto``: bf16-mixed where the training device computes bf16
    natively, else 32-true (:func:`semcolor.hardware.training_precision`); the choice and its
    reason are logged. An explicit value is kept."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from omegaconf import open_dict

    from semcolor import hardware

    requested = str(cfg.trainer.get("precision", hardware.AUTO))
    device = "cuda" if _uses_gpu(str(cfg.trainer.get("accelerator", "auto"))) else "cpu"
    choice = hardware.training_precision(requested, device)
    if requested == hardware.AUTO:
        log.info("trainer.precision=auto -> %s on %s (%s)", choice.value, device, choice.reason)
    with open_dict(cfg):
        cfg.trainer.precision = choice.value


def _uses_gpu(accelerator: str) -> bool:
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import torch

    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


#: Heads that need labels: head -> (data config key of its class count, what the labels are,
#: how to get them).
LABELLED_HEADS: dict[str, tuple[str, str, str]] = {
    "scene": (
        "num_scene_classes", "scene labels",
        "give pseudo-labels (semcolor-label-scenes IMAGES --out labels.npz, then "
        "data.scene_labels=labels.npz)",
    ),
    "seg": (
        "num_seg_classes", "segmentation maps",
        "use a dataset with label maps (data=cocostuff or data=camvid)",
    ),
}  # fmt: skip


def resolve_scene_classes(cfg: DictConfig) -> None:
    """With ``data.scene_labels=FILE``, set ``data.num_scene_classes`` (and so the scene
    head's size) from the class count stored in the file.

    Raises:
        ValueError: the file has no class count and none is set, or they disagree.
        FileNotFoundError: no such file.
    """
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from omegaconf import open_dict

    from semcolor.data.scene_labels import scene_label_classes

    path = cfg.data.get("scene_labels")
    if not path:
        return
    n = scene_label_classes(path)
    have = int(cfg.data.get("num_scene_classes") or 0)
    if n is None and have == 0:
        raise ValueError(
            f"{path} stores no class count (written by an older semcolor-label-scenes); "
            "set data.num_scene_classes=N (365 for Places365) or relabel"
        )
    if n is not None and have not in (0, n):
        raise ValueError(
            f"data.num_scene_classes is {have} (set on the command line or data={cfg.data.name}'s "
            f"own classes) but {path} has {n} classes; set data.num_scene_classes={n} to train "
            "the scene head on the file's labels, or use a matching labels file"
        )
    with open_dict(cfg):
        cfg.data.num_scene_classes = n if n is not None else have


def check_heads_fit_data(cfg: DictConfig) -> None:
    """Fail before any data is scanned when an enabled head has no labels in the data.

    Raises:
        ValueError: naming the head, the data config and the fixes.
    """
    heads = list(cfg.model.get("heads") or [])
    name = cfg.data.get("name", "?")
    if "sal" in heads and not cfg.data.get("saliency_dir"):
        kept = [h for h in heads if h != "sal"]
        raise ValueError(
            f"the 'sal' (saliency) head is enabled but data={name} has no saliency maps "
            "(data.saliency_dir=null). Fix one of: make them with semcolor-label-saliency "
            "IMAGES --out MAPS and pass data.saliency_dir=MAPS (IMAGES = the training "
            f"folder, data.root); or drop the head (model.heads=[{','.join(kept)}], e.g. "
            "+experiment=scgan_no_attention)"
        )
    for head, (key, what, fix) in LABELLED_HEADS.items():
        if head in heads and not int(cfg.data.get(key) or 0) > 0:
            kept = [h for h in heads if h != head]
            raise ValueError(
                f"the {head!r} head is enabled but data={name} has no {what} "
                f"(data.{key}={cfg.data.get(key)}). Fix one of: drop the head "
                f"(model.heads=[{','.join(kept)}], e.g. +experiment=regsoft); {fix}; or "
                "train on a mix whose members have them (data=mixed)"
            )


#: Keys of a dataset node that name a local folder the dataset needs.
_ROOT_KEYS = ("root", "gray_root", "colour_root")


def _dataset_roots(node: Any, where: str) -> Iterator[tuple[str, str, str]]:
    """(config key, dataset class, folder) of every dataset node under ``node`` (resolved)."""
    if isinstance(node, dict):
        target = str(node.get("_target_") or "")
        for key in _ROOT_KEYS:
            value = node.get(key)
            if target and isinstance(value, str):
                yield f"{where}.{key}", target.rpartition(".")[2], value
        for k, v in node.items():
            yield from _dataset_roots(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _dataset_roots(v, f"{where}[{i}]")


def check_data_folders(cfg: DictConfig) -> None:
    """Fail before any dataset is built, naming every missing data folder at once (a mix
    of six datasets used to report them one per launch), and an empty ``paths.data_root``
    by name (``paths.data_root=$DATA`` with ``$DATA`` unset made every folder ``/<name>``).

    Raises:
        FileNotFoundError: the missing folders, each with its config key, and the fixes.
        ValueError: ``paths.data_root`` is empty while the data config reads it.
    """
    raw = OmegaConf.to_container(cfg.data, resolve=False)
    uses_root = "paths.data_root" in str(raw)
    data_root = cfg.paths.get("data_root") if "paths" in cfg else None
    if uses_root and not str(data_root or "").strip():
        raise ValueError(
            f"paths.data_root is empty, and data={cfg.data.get('name', '?')} reads its datasets "
            "below it (was it given as paths.data_root=$DATA with $DATA unset, or is "
            "$SEMCOLOR_DATA set to nothing?); set paths.data_root=DIR, the folder holding the "
            "datasets (layouts in data/README.md)"
        )
    resolved = OmegaConf.to_container(cfg.data, resolve=True)
    missing: dict[str, tuple[str, str]] = {}  # folder -> (key, dataset class)
    for key, cls, folder in _dataset_roots(resolved, "data"):
        if "://" in folder or folder in missing:  # object-store URLs are not local folders
            continue
        if not Path(folder).expanduser().is_dir():
            missing[folder] = (key, cls)
    if not missing:
        return
    width = max(len(c) for _, c in missing.values())
    fwidth = max(len(f) for f in missing)
    lines = "\n".join(f"  {cls:<{width}}  {folder:<{fwidth}}  ({key})"
                      for folder, (key, cls) in missing.items())  # fmt: skip
    where = f" (paths.data_root={data_root})" if uses_root else ""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.data import datasets as dsets

    layouts = []
    for cls in dict.fromkeys(c for _, c in missing.values()):
        klass = getattr(dsets, cls, None)
        layout = getattr(klass, "LAYOUT", "").strip()
        source = getattr(klass, "SOURCE", "")
        if layout:
            layouts.append(f"{cls}:\n{layout}" + (f"\n(get it from {source})" if source else ""))
    raise FileNotFoundError(
        f"{len(missing)} data folder(s) of data={cfg.data.get('name', '?')} are missing{where}:\n"
        f"{lines}\nPut the datasets there, set paths.data_root=DIR to where they are, or "
        "override the keys above. Expected layouts (data/README.md):\n" + "\n".join(layouts)
    )


#: Config keys that legitimately differ between a run and its resume.
_RESUME_IGNORED = ("ckpt_path",)


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out or {prefix[:-1]: {}}
    return {prefix[:-1]: d}


def config_differences(stored: dict, now: dict) -> list[str]:
    """``key: stored -> now`` for every leaf that differs between two resolved configs."""
    a, b = _flatten(stored), _flatten(now)
    return [
        f"{k}: {a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r}"
        for k in sorted(set(a) | set(b))
        if k not in _RESUME_IGNORED and a.get(k, "<absent>") != b.get(k, "<absent>")
    ]


def checkpoint_run_info(path: str | Path) -> dict[str, Any]:
    """What a training checkpoint says about its run: ``config`` (resolved), ``overrides``
    (the command line it was started with; None for checkpoints older than this field)."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"ckpt_path={path} cannot be read as a checkpoint ({e})") from e
    meta = ckpt.get("semcolor") if isinstance(ckpt, dict) else None
    if not isinstance(meta, dict) or "optimizer_states" not in ckpt:
        raise ValueError(
            f"ckpt_path={path} is not a semcolor-train training checkpoint (a slim export or "
            "the shipped model has no optimizer state to resume); to start a new run from its "
            f"weights use module.init_from={path}"
        )
    return {"config": dict(meta.get("config") or {}), "overrides": meta.get("overrides")}


def checkpoint_global_step(path: str | Path) -> int:
    """The global step a training checkpoint was saved at (read weights-only)."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    return int(ckpt.get("global_step", 0)) if isinstance(ckpt, dict) else 0


def _override_key(arg: str) -> str:
    return arg.split("=", 1)[0].lstrip("+~")


def _quote(value: str) -> str:
    """A path as a Hydra override value (quoted when the grammar needs it)."""
    return value if re.fullmatch(r"[\w./:@-]+", value) else "'" + value.replace("'", "\\'") + "'"


#: A key part naming Hydra's instantiation machinery (``_target_``, ``_args_``,
#: ``_partial_``, ``_recursive_``, ``_convert_``...): never replayed from a checkpoint.
_CODE_KEY = re.compile(r"_\w+_")
#: A config option name: ``group=NAME`` selects ``NAME.yaml`` of the package's group.
_OPTION_NAME = re.compile(r"[A-Za-z0-9][\w-]*")


def _config_groups() -> Any:
    return files("semcolor.conf")


def _value_problem(value: Any) -> str | None:
    """None for a number, bool, null, a string without interpolation, or a (nested) list of
    these; else why not."""
    if isinstance(value, list):
        return next((p for p in map(_value_problem, value) if p), None)
    if isinstance(value, dict):
        return "a dict value (it can carry _target_, or add a whole node that gets instantiated)"
    if isinstance(value, str):
        if "${" in value:
            return "an interpolation (a resolver such as oc.create builds nodes)"
        return None
    if value is None or isinstance(value, (bool, int, float)):
        return None
    return f"a {type(value).__name__} value"


def _replay_problem(override: Any) -> str | None:
    """Why a stored override must not be replayed (None: it may). See :func:`resume_argv`."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if not isinstance(override, str):
        return f"not a command-line override ({type(override).__name__})"
    try:
        ov = OverridesParser.create().parse_overrides([override])[0]
    except Exception as e:  # noqa: BLE001 - Hydra's grammar errors have several types
        return f"not a valid override ({str(e).splitlines()[0][:120]})"
    key = ov.key_or_group
    parts = re.split(r"[./]", key)
    if parts[0] == "hydra":
        return "hydra.* settings (callbacks, launchers, search paths) can run code"
    if any(_CODE_KEY.fullmatch(p) for p in parts):
        return "a _target_/_args_/_partial_-style key names code for Hydra to instantiate"
    if ov.package is not None:
        return "a @package placement"
    if ov.is_sweep_override():
        return "a multirun sweep"
    group = _config_groups().joinpath(key)
    if "." not in key and group.is_dir():  # a config group: only one of the package's configs
        if ov.is_delete():
            return None
        value = ov.value()
        if value is None:
            return None
        if not (isinstance(value, str) and _OPTION_NAME.fullmatch(value)
                and group.joinpath(f"{value}.yaml").is_file()):  # fmt: skip
            return f"not a config of the package's group {key!r}"
        return None
    if ov.is_delete():
        return None
    return _value_problem(ov.value())


def replayable_overrides(stored: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """Split a checkpoint's stored command line into (replayed, [(dropped, why)]).

    A checkpoint is data: a checkpoint from someone else must not be able to make
    ``semcolor-train ckpt_path=FILE`` run code. Hydra instantiates any ``_target_`` it finds
    in the config (a callback, a logger, a plugin), so a replayed override is kept only when
    it cannot name code:

    * a **config group selection** (``data=mixed``, ``+experiment=regsoft``, ``~logger``):
      only a config that exists in the package's group (``semcolor.conf``);
    * a **value** (``data.batch_size=32``, ``+trainer.profiler=simple``): a number, bool,
      null, string or list of these; no dict (it could carry ``_target_`` or add a whole
      node, e.g. ``+callbacks.x={_target_: ...}``), no ``${...}`` interpolation (a resolver
      such as ``oc.create`` builds nodes).

    Dropped always: keys with a part like ``_target_``, ``_args_``, ``_partial_`` (any
    ``_name_``), ``hydra.*`` and ``hydra/`` groups, ``@package`` placements, sweeps, and
    anything Hydra's override grammar does not parse (``hydra.run.dir`` silently: the resume
    sets the run's folder itself). Your own command line is not filtered: repeat a dropped
    override there if you trust it.

    Args:
        stored: the checkpoint's ``semcolor.overrides`` (a list of str; anything else is
            dropped whole).
    """
    if stored is None:
        return [], []
    if not isinstance(stored, (list, tuple)):
        return [], [(repr(stored)[:80], "the stored command line is not a list")]
    kept, dropped = [], []
    for o in stored:
        if isinstance(o, str) and o.startswith("hydra.run.dir="):
            continue  # resume_argv sets the run's folder itself (where the checkpoint is)
        why = _replay_problem(o)
        if why is None:
            kept.append(o)
        else:
            dropped.append((str(o), why))
    return kept, dropped


def resume_argv(argv: list[str]) -> list[str]:
    """The command line for ``ckpt_path=CKPT [overrides]``: the checkpoint's stored overrides
    that are safe to replay (:func:`replayable_overrides`; the others are dropped with a
    warning that names each and why), minus those the user repeats, then the user's, then
    ``hydra.run.dir`` = the run's own folder (unless given). Any other command line is
    returned unchanged."""
    ckpt = next((a.split("=", 1)[1] for a in reversed(argv) if a.startswith("ckpt_path=")), None)
    if not ckpt or ckpt == "null" or not Path(ckpt).is_file():
        return argv  # nothing to resume, or build() reports the missing file
    info = checkpoint_run_info(ckpt)
    stored = info["overrides"]
    if stored is None:
        log.warning("%s stores no command line (older semcolor); the config comes from this "
                    "command line alone", ckpt)  # fmt: skip
        return argv
    mine = {_override_key(a) for a in argv if "=" in a and not a.startswith("-")}
    safe, dropped = replayable_overrides(stored)
    if dropped:
        log.warning(
            "%s: %d stored override(s) not replayed (a checkpoint is data; overrides that "
            "could name code are never taken from one; repeat any you trust on the command "
            "line):\n  %s", ckpt, len(dropped),
            "\n  ".join(f"{o}  ({why})" for o, why in dropped),
        )  # fmt: skip
    replay = [o for o in safe if _override_key(o) not in mine and _override_key(o) not in
              _RESUME_IGNORED]  # fmt: skip
    out = [*replay, *argv]
    if "hydra.run.dir" not in mine:
        p = Path(ckpt).resolve()
        run_dir = p.parent.parent if p.parent.name == "checkpoints" else None
        if run_dir is None:
            stored_dir = (info["config"].get("paths") or {}).get("output_dir")
            if isinstance(stored_dir, str) and "${" not in stored_dir:
                run_dir = stored_dir
        if run_dir:
            out.append(f"hydra.run.dir={_quote(str(run_dir))}")
    return out


def newest_checkpoint(folder: str | Path, extra: Iterable[Path] = ()) -> Path | None:
    """The newest training checkpoint in ``folder`` that loads (weights-only) and carries its
    optimizer state: ``last.ckpt`` and ``step*.ckpt`` (and the ``extra`` files) by global
    step, newest first; None if there is none. A truncated or corrupt file is skipped
    (logged); a checkpoint still being written (``.semcolor-partial-*.tmp``) is no candidate."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import torch

    folder = Path(folder)
    found: list[tuple[int, float, Path]] = []
    names = [*folder.glob("last*.ckpt"), *folder.glob("step*.ckpt")] if folder.is_dir() else []
    for p in [*names, *extra]:
        try:
            ck = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
            if not isinstance(ck, dict) or "optimizer_states" not in ck:
                raise ValueError("no optimizer state")
        except Exception as e:  # noqa: BLE001 - an unusable file is skipped, not fatal
            log.warning("ckpt_path=auto: skipping %s (%s)", p, str(e).splitlines()[0][:200])
            continue
        found.append((int(ck.get("global_step", 0)), p.stat().st_mtime, p))
    return max(found)[2] if found else None


def resolve_auto_ckpt(cfg: DictConfig) -> None:
    """``ckpt_path=auto``: resume from the newest valid checkpoint of this run's checkpoint
    folder (``callbacks.model_checkpoint.dirpath``, plus Lightning's SLURM ``hpc_ckpt_N.ckpt``
    in the run folder), or start afresh when there is none — what a requeued or killed job
    needs (give it a fixed ``hydra.run.dir``)."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from omegaconf import open_dict

    mc = (cfg.get("callbacks") or {}).get("model_checkpoint") or {}
    folder = Path(mc.get("dirpath") or Path(cfg.paths.output_dir) / "checkpoints")
    # Under SLURM, Lightning saves hpc_ckpt_N.ckpt into the run folder on the requeue signal.
    root = Path(cfg.trainer.get("default_root_dir") or cfg.paths.output_dir)
    found = newest_checkpoint(folder, extra=root.glob("hpc_ckpt_*.ckpt"))
    with open_dict(cfg):
        cfg.ckpt_path = None if found is None else str(found)
    log.info("ckpt_path=auto: %s", f"resuming from {found}" if found else
             f"no checkpoint in {folder}; starting afresh")  # fmt: skip


def _hydra_task_overrides() -> list[str]:
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def build(cfg: DictConfig):
    """Instantiate (datamodule, module, trainer) from a composed config."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import pytorch_lightning as pl
    from hydra.utils import instantiate

    from semcolor.lit.module import SemColorModule

    resolve_scene_classes(cfg)
    check_heads_fit_data(cfg)  # before the (slow) dataset scan
    check_data_folders(cfg)  # every missing folder at once

    if cfg.ckpt_path == "auto":
        resolve_auto_ckpt(cfg)
    if cfg.ckpt_path is not None and not Path(cfg.ckpt_path).is_file():
        raise FileNotFoundError(
            f"ckpt_path={cfg.ckpt_path} does not exist; give the path of a checkpoint such "
            "as <run dir>/checkpoints/last.ckpt, or drop ckpt_path to start afresh"
        )
    resolve_precision(cfg)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    if cfg.ckpt_path is not None:
        diffs = config_differences(checkpoint_run_info(cfg.ckpt_path)["config"], resolved)
        if diffs:
            log.warning("resuming %s with %d value(s) changed from its stored config:\n  %s",
                        cfg.ckpt_path, len(diffs), "\n  ".join(diffs))  # fmt: skip
    pl.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data, _convert_="all")
    net = instantiate(cfg.model, _convert_="all")
    loss = instantiate(cfg.loss, _convert_="all")
    optimizer = instantiate(cfg.optimizer, _convert_="all")
    scheduler = instantiate(cfg.scheduler, _convert_="all") if cfg.scheduler else None
    cls = module_class(cfg)
    extra: dict[str, Any] = {}
    if cls is not SemColorModule:  # an adversarial system: its discriminator and D optimizer
        if cfg.trainer.get("gradient_clip_val"):
            raise ValueError(
                f"trainer.gradient_clip_val={cfg.trainer.gradient_clip_val} does not apply to "
                "the adversarial systems (manual optimisation); use "
                f"module.grad_clip={cfg.trainer.gradient_clip_val} trainer.gradient_clip_val=null"
            )
        if not cfg.get("discriminator"):
            raise ValueError(
                f"module._target_={cfg.module.get('_target_')} needs a discriminator config "
                "(e.g. +experiment=scgan or +experiment=spyncogan, which set one)"
            )
        extra["discriminator"] = instantiate(cfg.discriminator, _convert_="all")
        if cfg.get("optimizer_d"):
            extra["optimizer_d"] = instantiate(cfg.optimizer_d, _convert_="all")
    module = cls(
        net=net,
        loss=loss,
        optimizer=optimizer,
        scheduler=scheduler,
        run_config=resolved,
        run_overrides=_hydra_task_overrides(),
        **extra,
        **_module_kwargs(cfg),
    )
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.lit.callbacks import SaveFinalState, SaveOnSigterm
    from semcolor.lit.checkpoint_io import with_atomic_checkpoint_io

    callbacks.append(SaveFinalState())  # last.ckpt is always the final step
    callbacks.append(SaveOnSigterm())  # pre-emption: save last.ckpt, then stop
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c]
    if cfg.ckpt_path is not None:  # a resume: the CSV log keeps the steps before it
        step = checkpoint_global_step(cfg.ckpt_path)
        for lg in loggers:
            if hasattr(lg, "resume_from_step"):
                lg.resume_from_step(step)
    plugins = cfg.trainer.get("plugins")
    plugins = [] if plugins is None else plugins if OmegaConf.is_list(plugins) else [plugins]
    plugins = [instantiate(p) if OmegaConf.is_dict(p) else p for p in plugins]
    trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False,
        sync_batchnorm=resolve_sync_batchnorm(cfg.trainer),
        plugins=with_atomic_checkpoint_io(plugins),  # never a half-written checkpoint
    )  # fmt: skip
    return datamodule, module, trainer


def train(cfg: DictConfig):
    """Build everything and fit; returns the Trainer (its ``callback_metrics`` etc.)."""
    datamodule, module, trainer = build(cfg)
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    return trainer


def _user_error_types() -> tuple[type[BaseException], ...]:
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.data.bench_images import BenchError  # a missing validation folder, say

    return (ValueError, FileNotFoundError, BenchError)


def user_error(e: BaseException) -> BaseException | None:
    """The user-fixable error behind ``e`` (Hydra wraps errors raised while instantiating
    a ``_target_`` in InstantiationException), or None for a genuine crash."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from hydra.errors import InstantiationException

    seen = 0
    while isinstance(e, InstantiationException) and e.__cause__ is not None and seen < 5:
        e, seen = e.__cause__, seen + 1
    return e if isinstance(e, _user_error_types()) else None


#: Log lines of other libraries that semcolor-train drops (logger, message start): Lightning's
#: advert for its cloud logger, and its note at each checkpoint save that weights_only
#: defaulted to False.
FOREIGN_LOG_NOISE: tuple[tuple[str, str], ...] = (
    ("pytorch_lightning.utilities.rank_zero", "💡 Tip:"),
    ("pytorch_lightning.trainer.connectors.checkpoint_connector", "`weights_only` was not set"),
)
#: Modules whose Python warnings semcolor-train shows: semcolor's, also when raised in a
#: constructor that Hydra calls (a warning's module is its caller's, e.g. the deprecated
#: loss.w_soft). Other libraries' (deprecations inside Lightning or torchdata, Lightning's
#: log_every_n_steps advice) are silenced.
OWN_WARNING_MODULES = r"(semcolor|hydra\._internal\.instantiate)"


def _drop_prefix(prefix: str) -> logging.Filter:
    f = logging.Filter()
    f.filter = lambda record: not record.getMessage().startswith(prefix)  # type: ignore[method-assign]
    return f


def quiet_other_libraries() -> None:
    """Keep semcolor's own warnings and log lines; silence other libraries' warnings and
    the log lines of :data:`FOREIGN_LOG_NOISE` (semcolor-train only, not the library)."""
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module=OWN_WARNING_MODULES)
    for name, prefix in FOREIGN_LOG_NOISE:
        logging.getLogger(name).addFilter(_drop_prefix(prefix))


def final_line(trainer: Any, cfg: DictConfig) -> str:
    """The last line of a finished run: its folder and its last checkpoint."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.lit.callbacks import _last_checkpoint

    run = Path(cfg.paths.output_dir)
    _, last = _last_checkpoint(trainer)
    if not last.is_file():
        path = getattr(getattr(trainer, "checkpoint_callback", None), "last_model_path", "")
        last = Path(path) if path else last
    ckpt = f"last checkpoint {last}" if last.is_file() else "no checkpoint written"
    return f"semcolor-train: done at step {trainer.global_step}: run folder {run}; {ckpt}"


@hydra.main(config_path="pkg://semcolor.conf", config_name="train", version_base="1.3")
def _main(cfg: DictConfig) -> None:
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    from semcolor.lit.callbacks import PREEMPTED_EXIT_CODE

    try:
        trainer = train(cfg)
        if trainer.is_global_zero:
            print(final_line(trainer, cfg), flush=True)
    except SIGTERMException:  # SaveOnSigterm saved last.ckpt and said so
        sys.exit(PREEMPTED_EXIT_CODE)
    except Exception as e:  # Hydra would print a traceback and exit 1: say it cleanly
        err = user_error(e)
        if err is None:
            raise
        print(f"semcolor-train: error: {err}", file=sys.stderr)
        remove_empty_run_folder()
        sys.exit(2)  # SystemExit passes through Hydra's error handler


def remove_empty_run_folder() -> None:
    """After a launch that stopped on a user error: remove what Hydra made for it (its
    ``.hydra/`` folder and the job log) and the run folder, if nothing else is in it, and
    the date folder above it when that is left empty. A run folder holding anything else (a
    resumed run's checkpoints and logs) is left alone."""

    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    hc = HydraConfig.get()
    run = Path(hc.runtime.output_dir)
    log_file = run / f"{hc.job.name}.log"
    made = {run / hc.output_subdir if hc.output_subdir else None, log_file}
    if not run.is_dir() or any(p not in made for p in run.iterdir()):
        return
    root = logging.getLogger()
    for h in list(root.handlers):  # the job log's handler holds the file open
        if isinstance(h, logging.FileHandler) and Path(h.baseFilename) == log_file.resolve():
            root.removeHandler(h)
            h.close()
    for p in made:
        if p is not None and p.is_dir():
            shutil.rmtree(p)
        elif p is not None and p.exists():
            p.unlink()
    run.rmdir()
    # Hydra's default outputs/<date>/<time>: the date folder and outputs/ once empty
    for parent in (run.parent, run.parent.parent):
        if "outputs" in (parent.name, parent.parent.name) and not any(parent.iterdir()):
            parent.rmdir()


def _explain_unknown_key(argv: list[str]) -> str | None:
    """If an override names a key the config lacks, say which keys exist there.

    Hydra's own message names the key but not the alternatives; composing once more here
    (a fraction of a second) lets us list them.
    """
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException

    overrides = [a for a in argv if "=" in a and not a.startswith(("-", "+", "~", "hydra."))]
    try:
        with initialize_config_module("semcolor.conf", version_base="1.3"):
            compose("train", overrides=[a for a in argv if "=" in a and not a.startswith("-")])
        return None
    except HydraException as e:
        m = re.search(r"Could not override '([^']+)'", str(e))
        if not m:
            return None
        key = m.group(1)
    parent = key.rpartition(".")[0]
    try:
        with initialize_config_module("semcolor.conf", version_base="1.3"):
            cfg = compose("train", overrides=[o for o in overrides if o.split("=")[0] != key])
    except HydraException:
        return None
    while parent and not isinstance(OmegaConf.select(cfg, parent), DictConfig):
        key, parent = parent, parent.rpartition(".")[0]  # the first missing level
    node = OmegaConf.select(cfg, parent) if parent else cfg
    valid = sorted(node.keys()) if isinstance(node, DictConfig) else []
    return (
        f"unknown config key '{key}'; valid keys under '{parent or '<root>'}': "
        f"{', '.join(map(str, valid))}. To add a new key on purpose, write +{key}=..."
    )


def main() -> None:
    quiet_other_libraries()
    try:
        sys.argv[1:] = resume_argv(sys.argv[1:])
    except ValueError as e:
        print(f"semcolor-train: error: {e}", file=sys.stderr)
        sys.exit(2)
    problem = _explain_unknown_key(sys.argv[1:])
    if problem:
        print(f"semcolor-train: error: {problem}", file=sys.stderr)
        sys.exit(2)
    try:
        _main()
    except (ValueError, FileNotFoundError) as e:  # clear one-line errors, no traceback wall
        print(f"semcolor-train: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
