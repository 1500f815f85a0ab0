"""Issue 9: the prior's cache key, its random sample, its targets, and validation that
computes the bench's numbers with the bench's code."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from semcolor.color.targets import distribution_targets
from semcolor.data.base import SampleOptions
from semcolor.lit.module import VAL_METRIC_KEYS, SemColorModule, prior_cache_key
from semcolor.losses import MultiTaskLoss
from tests.data.data_helpers import colour_array, save_image
from tests.lit.helpers import compose_train, tiny_overrides

DATA = {
    "name": "mixed",
    "crop_size": 128,
    "resize": 256,
    "prior_images": 2000,
    "prior_seed": 0,
    "batch_size": 16,
    "num_workers": 1,
    "skip_log": "/run/a/skipped.tsv",
    "train": {"datasets": [{"root": "/data/imagenette",
                            "options": {"crop_size": 128, "skip_log": "/run/a/skipped.tsv"}}],
              "weights": [1.0]},
    "val": {"root": "/data/imagen1k", "split": "val"},
    "val_options": {"crop_size": 128, "skip_log": "/run/a/skipped.tsv"},
}  # fmt: skip


def _key(data=DATA, **loss_kw):
    return prior_cache_key(data, MultiTaskLoss(**loss_kw), dist_stride=4)


def _changed(path: str, value) -> dict:
    d = copy.deepcopy(DATA)
    node = d
    *parents, last = path.split(".")
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    node[last] = value
    return d


@pytest.mark.parametrize(
    "path,value",
    [("train.datasets.0.root", "/elsewhere"), ("crop_size", 64),
     ("train.datasets.0.options.crop_size", 64), ("resize", 224),
     ("prior_images", 500), ("prior_seed", 1), ("train.weights", [0.5])],
)  # fmt: skip
def test_prior_key_changes_with_what_determines_the_prior(path, value):
    assert _key(_changed(path, value)) != _key()


@pytest.mark.parametrize(
    "path,value",
    [("skip_log", "/run/b/skipped.tsv"), ("train.datasets.0.options.skip_log", "/x"),
     ("val_options.crop_size", 32), ("batch_size", 4), ("num_workers", 0), ("val.root", "/other")],
)  # fmt: skip
def test_prior_key_ignores_logging_loading_and_validation(path, value):
    assert _key(_changed(path, value)) == _key()


def test_prior_key_depends_on_the_targets_the_loss_builds():
    assert _key(dist_targets="subsample") != _key(dist_targets="cell")
    assert prior_cache_key(DATA, MultiTaskLoss(), 2) != _key()


def test_prior_sample_is_random_over_the_whole_set(tmp_path):
    """The first N in sorted order of a class-folder dataset is one class; the sample must
    not be (it failed this before issue 9)."""
    from semcolor.data.datamodule import SemColorDataModule
    from semcolor.data.datasets import ImageFolder

    for c in range(4):
        for i in range(10):
            save_image(tmp_path / f"class{c}" / f"{i}.png", h=8, w=8, seed=10 * c + i)
    ds = ImageFolder(
        str(tmp_path), options=SampleOptions(crop_size=8, num_scene_classes=0, num_seg_classes=0)
    )
    dm = SemColorDataModule("folder", ds, prior_images=10, batch_size=4)
    sample = dm.prior_sample()
    assert len(sample) == len(set(sample)) == 10
    classes = {ds.paths[i].split("/")[-2] for i in sample}
    assert len(classes) >= 2
    assert dm.prior_sample() == sample  # seeded: the same sample every time
    dm2 = SemColorDataModule("folder", ds, prior_images=10, batch_size=4, prior_seed=1)
    assert dm2.prior_sample() != sample


def test_prior_is_counted_on_the_loss_targets(tmp_path):
    """rebalance_prior(histogram=...) counts exactly the target mass the loss builds."""
    from semcolor.data.datamodule import SemColorDataModule
    from semcolor.data.synthetic import SyntheticDataset

    ds = SyntheticDataset(num_samples=8, size=16, num_scene_classes=2, num_seg_classes=2)
    dm = SemColorDataModule(
        "s", ds, num_scene_classes=2, num_seg_classes=2, prior_images=8, batch_size=4, num_workers=0
    )
    loss = MultiTaskLoss(dist_targets="cell")
    calls = []

    def hist(ab, mask):
        calls.append(ab.shape)
        return loss.target_histogram(ab, (4, 4), mask)

    prior = dm.rebalance_prior(histogram=hist)
    ref = torch.zeros(313, dtype=torch.float64)
    for i in dm.prior_sample():
        s = ds[i]
        if s["colorful"]:
            ref += distribution_targets(s["ab"][None], (4, 4), "cell").histogram()
    assert calls and prior.counts.sum() == pytest.approx(float(ref.sum()))
    np.testing.assert_allclose(prior.counts, ref.numpy(), rtol=1e-6, atol=1e-6)


# --- validation = the bench ---------------------------------------------------------------
def test_validation_reports_the_bench_numbers(tmp_path):
    """Training validation over BenchImages gives the same per-image means as
    semcolor.evaluation.evaluate_images on the same files; colourless images are excluded."""
    import pytorch_lightning as pl

    from semcolor.data.bench_images import BenchImages
    from semcolor.evaluation import evaluate_images
    from semcolor.inference import LoadedModel
    from semcolor.models import SemColorNet

    folder = tmp_path / "val"
    for i in range(5):
        save_image(folder / f"c{i}.png", colour_array(40, 56, seed=i))
    gray = np.repeat(colour_array(40, 56, seed=9)[..., :1], 3, axis=2)
    save_image(folder / "gray.png", gray)

    torch.manual_seed(0)
    net = SemColorNet("resnet18", dist_stride=4, heads=["reg", "dist"],
                      decoder_channels=[32, 16, 16, 8, 8]).eval()  # fmt: skip
    module = SemColorModule(net, MultiTaskLoss(rebalance=False), torch.optim.SGD,
                            num_log_images=0)  # fmt: skip
    ds = BenchImages(str(tmp_path), dataset="folder", split="val", size=64)
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_checkpointing=False)  # fmt: skip
    got = trainer.validate(module, loader, verbose=False)[0]

    # the Trainer above runs in fp32; the bench's default (auto) may pick bf16 on this CPU
    ref = evaluate_images(ds.paths, LoadedModel(net), size=64, progress=False, precision="fp32")
    assert got["val/excluded_colourless"] == 1 == len(ref.excluded_gray)
    assert {"cast_a", "cast_b"} <= set(VAL_METRIC_KEYS)  # the colour cast is logged too
    for m in ("gray", "dist", "reg"):
        for key in VAL_METRIC_KEYS:
            assert got[f"val/{m}_{key}"] == pytest.approx(ref.summary[m][key], rel=1e-5,
                                                         abs=1e-5), (m, key)  # fmt: skip


def test_validation_on_sample_contract_batches_runs(tmp_path):
    """Configs whose val set is a sample-contract dataset (synthetic) still validate."""
    from semcolor.cli.train import train

    cfg = compose_train(["+experiment=regsoft", "+trainer.fast_dev_run=true",
                         *tiny_overrides(tmp_path)])  # fmt: skip
    trainer = train(cfg)
    assert "val/dist_psnr" in trainer.callback_metrics
    assert "val/gray_psnr" in trainer.callback_metrics


def test_default_model_recipe_trains_at_the_evaluation_scale(tmp_path):
    """Every member of the default model's mix resizes the shorter side to 256 (the bench
    size) before its 128 crop; validation is imagen1k/val under the bench protocol."""
    cfg = compose_train(["+experiment=default_model", f"paths.output_dir={tmp_path}"])
    members = cfg.data.train.datasets
    assert len(members) == 7 and cfg.data.name == "photos"
    opts = [m.options.base if "base" in m.options else m.options for m in members]
    assert all(o.resize == 256 and o.crop_size == 128 for o in opts)
    # scene pseudo-labels are keyed per photo set; CamVid and Tiny ImageNet have none
    labelled = [str(m.options.get("scene_labels")) for m in members]
    assert [x.endswith(".npz") for x in labelled] == [True] * 5 + [False] * 2
    assert cfg.data.val._target_.endswith("BenchImages") and cfg.data.val.size == 256
    assert cfg.data.val.split == "val" and cfg.data.val.root.endswith("imagen1k")
    assert cfg.model.encoder_weights == "imagenet" and cfg.loss.dist_targets == "cell"
    assert cfg.module.encoder_lr_mult == 0.1
    # the report splits are never trained on
    roots = [f"{m.root}/{m.split}" for m in members]
    assert not any(r.endswith(("/test", "kodak24/None")) for r in roots)


#: The semantic-guidance study's row that the default recipe takes (docs/ablation.md, best on
#: imagen1k/val; issue 22).
DEFAULT_RECIPE_ROW = "regsoft"


def test_default_model_recipe_is_the_study_row_it_names(tmp_path):
    """The default model's heads, loss weights, network, data mix and optimisation are those of
    the study's chosen row (studies/semantic_guidance.yaml: +experiment=ROW, the study's
    training overrides and the row's own), the budget (and its schedule) the only change."""
    study = OmegaConf.load(Path(__file__).parents[2] / "studies" / "semantic_guidance.yaml")
    row = compose_train([f"+experiment={DEFAULT_RECIPE_ROW}", *study.train,
                         *study.experiment_train[DEFAULT_RECIPE_ROW],
                         f"paths.output_dir={tmp_path}"])  # fmt: skip
    recipe = compose_train(["+experiment=default_model", f"paths.output_dir={tmp_path}"])
    assert list(recipe.model.heads) == list(row.model.heads) == ["reg", "dist"]
    for group in ("model", "loss", "optimizer"):
        assert OmegaConf.to_container(recipe[group]) == OmegaConf.to_container(row[group]), group
    for key in ("crop_size", "resize", "batch_size", "aux_colour", "prior_images"):
        assert recipe.data[key] == row.data[key], key
    assert list(recipe.data.train.weights) == list(row.data.train.weights)
    assert recipe.module.encoder_lr_mult == row.module.encoder_lr_mult
    assert recipe.scheduler._target_ == row.scheduler._target_
    assert recipe.trainer.max_steps * recipe.data.batch_size >= 256_000  # issue 22: >= 4x
