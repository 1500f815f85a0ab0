"""Every ``semcolor-train`` command printed in the README and docs composes, passes the
head/data check, builds its network and builds its datamodule on generated data trees, so a
documented command cannot silently break; the README's "dataset -> heads" table is true."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from semcolor.cli.train import check_heads_fit_data, resolve_scene_classes
from tests.data.data_helpers import make_data_root
from tests.lit.helpers import compose_train

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _shell_blocks(text: str) -> list[str]:
    """The contents of the ```bash / ```sh / plain ``` fenced blocks of a Markdown text."""
    blocks, current, lang = [], None, None
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                lang, current = line[3:].strip(), []
            else:
                if lang in ("", "bash", "sh"):
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def documented_train_commands() -> list[tuple[str, list[str]]]:
    """(where, overrides) of every semcolor-train invocation in the docs' code blocks."""
    found = []
    for doc in DOCS:
        for block in _shell_blocks(doc.read_text(encoding="utf-8")):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                line = line.split(" #")[0].strip()
                if "semcolor-train" not in line and "semcolor.cli.train" not in line:
                    continue
                line = re.sub(r"\$\{?(\w+)\}?", r"VAR_\1", line)
                words = shlex.split(line)
                ends = ("semcolor-train", "semcolor.cli.train")
                start = next((i for i, w in enumerate(words) if w.endswith(ends)), None)
                if start is None:  # mentioned, not run (e.g. inside a python -c string)
                    continue
                args = [w for w in words[start + 1 :] if "=" in w and not w.startswith("-")]
                if any(a.startswith("+experiment=VAR_") for a in args):
                    continue  # a job-array template (the experiment is a shell variable)
                found.append((f"{doc.name}: {line[:80]}", args))
    return found


COMMANDS = documented_train_commands()


def test_the_docs_do_document_training_commands():
    assert len(COMMANDS) >= 6  # README training, thesis recipe, SLURM, torchrun, default model


@pytest.mark.parametrize("where,args", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_documented_command_composes_and_builds_its_network(tmp_path, where, args):
    from hydra.utils import instantiate

    from semcolor.data.scene_labels import save_scene_labels
    from semcolor.lit.module import checkpoint_meta, init_weights_from

    overrides, init_from = [], None
    for a in args:
        key = a.split("=")[0].lstrip("+")
        if key.startswith("hydra.") or key == "ckpt_path":
            continue  # Hydra's own run settings; a resume needs a real checkpoint
        if key == "module.init_from":
            init_from = a.split("=", 1)[1]
            continue
        if key == "data.scene_labels":
            labels = tmp_path / "labels.npz"
            save_scene_labels(labels, ["a.jpg"], np.array([[3]]), np.ones((1, 1), np.float32), 365)
            a = f"data.scene_labels={labels}"
        overrides.append(a)
    cfg = compose_train([*overrides, f"paths.output_dir={tmp_path}"])
    resolve_scene_classes(cfg)
    check_heads_fit_data(cfg)
    net = instantiate(cfg.model, _convert_="all")
    assert set(net.heads) == set(cfg.model.get("heads") or net.heads)
    if init_from == "default":  # the documented network must fit the shipped model
        init_weights_from(net, "default")
    elif init_from is not None:  # a run of the same command: its own checkpoint fits
        import torch

        ckpt = tmp_path / "last.ckpt"
        state = {"net." + k: v for k, v in net.state_dict().items()}
        torch.save({"semcolor": checkpoint_meta(net, None, {}), "state_dict": state}, ckpt)
        assert init_weights_from(net, str(ckpt))["fresh"] == []


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return make_data_root(tmp_path_factory.mktemp("data"))


def _photo_shards(data_root: Path) -> str:
    """``semcolor-shard`` output of the generated photo folder, made once per module (each
    conversion starts LitData worker processes: seconds)."""
    out = data_root / "photo_shards"
    if not (out / "semcolor_shards.json").is_file():
        from semcolor.data.datasets import ImageFolder
        from semcolor.data.shards import write_shards

        write_shards(ImageFolder(str(data_root / "photos"), split=None), out, chunk_size=16)
    return str(out)


def _labels_for(dataset, path: Path, num_classes: int = 365) -> Path:
    """A labels file (as semcolor-label-scenes writes) covering every image of ``dataset``."""
    from semcolor.data.scene_labels import save_scene_labels

    names = [dataset.relpath(i) for i in range(len(dataset))]
    idx = np.tile(np.arange(5), (len(names), 1))
    prob = np.full((len(names), 5), 0.2, np.float32)
    save_scene_labels(path, names, idx, prob, num_classes)
    return path


#: Small loader settings appended to every command (the data stays what the command says).
SMALL = ["data.batch_size=2", "data.num_workers=0", "data.crop_size=16", "data.prior_images=4"]


def _datamodule(cfg):
    from hydra.utils import instantiate

    dm = instantiate(cfg.data, _convert_="all")
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("where,args", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_documented_command_builds_its_datamodule_on_generated_trees(
    tmp_path, data_root, where, args
):
    from hydra.utils import instantiate

    overrides, labels = [], None
    for a in args:
        key, _, value = a.partition("=")
        if key.startswith("hydra.") or key == "ckpt_path":
            continue
        if key == "paths.data_root":
            a = f"paths.data_root={data_root}"
        elif key == "data.root" and "data=shards" in args:  # shards of the photos
            a = f"data.root={_photo_shards(data_root)}"
        elif key == "data.root":
            a = f"data.root={data_root / 'photos'}"
        elif key == "data.val_root":
            a = f"data.val_root={data_root / 'photos_val'}"
        elif key in ("data.gray_root", "data.colour_root"):
            a = f"{key}={data_root / 'photos'}"
        elif key == "data.saliency_dir":  # maps as semcolor-label-saliency writes them
            from semcolor.data.saliency import label_saliency

            maps = tmp_path / "maps"
            label_saliency(data_root / "photos", maps, progress=False)
            a = f"data.saliency_dir={maps}"
        elif key == "data.scene_labels":
            labels = tmp_path / "labels.npz"
            continue  # written below, once the training images are known
        elif key in ("trainer", "trainer.devices", "trainer.strategy", "trainer.num_nodes"):
            continue  # GPU/cluster settings: this test builds the data, not the trainer
        overrides.append(a)
    if not any(o.startswith("paths.data_root=") for o in overrides):
        overrides.append(f"paths.data_root={data_root}")
    overrides += [*SMALL, f"paths.output_dir={tmp_path}"]
    if labels is not None:
        plain = _datamodule(compose_train(overrides + ["model.heads=[reg,dist]"]))
        _labels_for(plain.train_set, labels)
        overrides.append(f"data.scene_labels={labels}")
    cfg = compose_train(overrides)
    resolve_scene_classes(cfg)
    check_heads_fit_data(cfg)
    dm = _datamodule(cfg)
    batch = next(iter(dm.train_dataloader()))
    crop = int(cfg.data.train.get("size") or cfg.data.crop_size)  # synthetic: its own size
    assert batch["L"].shape[1:] == (1, crop, crop)
    if dm.val_set is None:  # only unpaired data and shards may go without a val_root
        assert cfg.data.name in ("unpaired", "shards") and not cfg.data.val_root
    else:
        assert len(dm.val_dataloader()) > 0
    if "data.saliency_dir" in {a.split("=")[0] for a in args}:
        assert bool(batch["has_saliency"].all())
    net = instantiate(cfg.model, _convert_="all")
    if "scene" in net.heads:
        assert batch["scene"].shape[1] == net.init_kwargs["num_scene_classes"]
    if labels is not None:  # the scene head trains on the file's labels
        assert bool(batch["has_scene"].all())


def readme_head_table() -> dict[str, tuple[str, str]]:
    """data name -> (scene column, seg column) of the README's "which heads" table."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and "✓" in cells[1]:
            for name in re.findall(r"`(\w+)`", cells[0]):
                rows[name] = (cells[2], cells[3])
    return rows


TABLE = readme_head_table()


def test_the_head_table_lists_every_data_config():
    configs = {p.stem for p in (REPO / "conf" / "data").glob("[!_]*.yaml")}
    assert set(TABLE) == configs


def _any(dataset, key: str) -> bool:
    return any(bool(dataset[i].get(key, False)) for i in range(len(dataset)))


@pytest.mark.parametrize("name", sorted(TABLE))
def test_the_head_table_is_true(tmp_path, data_root, name):
    scene_col, seg_col = TABLE[name]
    extra = {"folder": [f"data.root={data_root / 'photos'}"],
             "unpaired": [f"data.gray_root={data_root / 'photos'}"]}.get(name, [])
    if name == "shards":  # shards of a photo folder: no labels, as its source had none
        extra = [f"data.root={_photo_shards(data_root)}"]
    base = [f"data={name}", f"paths.data_root={data_root}", "model.heads=[reg,dist]", *SMALL,
            f"paths.output_dir={tmp_path}", *extra]  # fmt: skip
    dm = _datamodule(compose_train(base))
    assert _any(dm.train_set, "has_scene") == scene_col.startswith("✓"), scene_col
    assert _any(dm.train_set, "has_seg") == seg_col.startswith("✓"), seg_col
    if "scene_labels" in scene_col:
        labels = _labels_for(dm.train_set, tmp_path / "labels.npz")
        cfg = compose_train([*base, f"data.scene_labels={labels}", "model.heads=[reg,dist,scene]"])
        resolve_scene_classes(cfg)
        check_heads_fit_data(cfg)
        assert _any(_datamodule(cfg).train_set, "has_scene")
