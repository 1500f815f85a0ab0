"""data=folder: training on your own photos, with a deterministic held-out validation part
(or a separate folder), validated under the bench protocol with no augmentation."""

from __future__ import annotations

import pytest
import torch

from semcolor.cli.train import build, train
from semcolor.data.base import in_holdout
from tests.data.data_helpers import colour_array, save_image
from tests.lit.helpers import compose_train


def _photos(root, n=40):
    for i in range(n):
        save_image(root / f"album{i % 3}" / f"p{i:03d}.jpg", colour_array(36, 48, seed=i))
    return root


def _overrides(tmp_path, *extra):
    return ["+experiment=regsoft", "data=folder", f"paths.output_dir={tmp_path}/run",
            f"paths.cache_dir={tmp_path}/cache", "trainer.accelerator=cpu",
            "trainer.enable_progress_bar=false", "logger=csv", "data.crop_size=32",
            "data.batch_size=4", "data.num_workers=0", "data.prior_images=4",
            "model.decoder_channels=[32,16,16,8,8]", *extra]  # fmt: skip


def test_holdout_is_deterministic_and_about_the_fraction():
    names = [f"dir/img{i}.jpg" for i in range(4000)]
    picked = [n for n in names if in_holdout(n, 0.1)]
    assert 300 < len(picked) < 500
    assert picked == [n for n in names if in_holdout(n, 0.1)]
    assert in_holdout("./dir/img1.jpg", 0.1) == in_holdout("dir/img1.jpg", 0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        in_holdout("a.jpg", 1.0)


def test_held_out_keeps_one_image_out_from_two_up():
    from semcolor.data.base import held_out

    # 24 photos none of whose hashes falls in 5% (0.95^24: 29% of such folders)
    names = [f"photo{i:02d}.jpg" for i in range(24)]
    assert not any(in_holdout(n, 0.05) for n in names)
    held = held_out(names, 0.05)
    assert len(held) == 1 and held == held_out(list(reversed(names)), 0.05)
    assert held_out(names[:1], 0.05) == set()  # one image: nothing to hold out
    assert len(held_out(names[:2], 0.05)) == 1
    many = [f"dir/img{i}.jpg" for i in range(400)]
    assert held_out(many, 0.1) == {n for n in many if in_holdout(n, 0.1)}  # the usual case
    assert len(held_out(names[:3], 0.999)) == 2  # never all: one trains
    assert held_out(names, 0.0) == set()


def test_a_small_folder_trains_with_one_photo_held_out(tmp_path):
    """data=folder with 24 photos at the default 5%: it stopped with 'no image falls in the
    held-out 5%'; now one photo validates and 23 train."""
    root = tmp_path / "photos"
    for i in range(24):  # names that the hash alone never holds out at 5%
        save_image(root / f"photo{i:02d}.jpg", colour_array(36, 48, seed=i))
    dm, _, _ = build(compose_train(_overrides(tmp_path, f"data.root={root}")))
    assert len(dm.val_set.paths) == 1 and len(dm.train_set.paths) == 23
    assert not set(dm.val_set.paths) & set(dm.train_set.paths)
    one = tmp_path / "one"
    save_image(one / "only.jpg", colour_array(36, 48, seed=0))
    with pytest.raises(Exception) as e:  # Hydra wraps it; semcolor-train prints it (exit 2)
        build(compose_train(_overrides(tmp_path, f"data.root={one}")))
    assert "holds 1 image(s): holding one out for validation needs at least 2" in str(e.value)


def test_folder_splits_off_a_validation_part_never_trained_on(tmp_path):
    root = _photos(tmp_path / "photos")
    cfg = compose_train(_overrides(tmp_path, f"data.root={root}", "data.val_fraction=0.2"))
    dm, _, _ = build(cfg)
    train_set, val_set = set(dm.train_set.paths), set(dm.val_set.paths)
    assert train_set and val_set and not train_set & val_set
    assert len(train_set | val_set) == 40
    assert type(dm.val_set).__name__ == "BenchImages"  # bench protocol, no augmentation
    a, b = dm.val_set[0]["gt"], dm.val_set[0]["gt"]
    assert torch.equal(a, b) and a.shape == (256, 256, 3)
    cfg2 = compose_train(_overrides(tmp_path, f"data.root={root}", "data.val_fraction=0.2"))
    assert set(build(cfg2)[0].val_set.paths) == val_set  # the same split every run


def test_folder_with_a_separate_validation_folder(tmp_path):
    root = _photos(tmp_path / "photos", 12)
    val = _photos(tmp_path / "val", 5)
    cfg = compose_train(_overrides(tmp_path, f"data.root={root}", f"data.val_root={val}"))
    dm, _, _ = build(cfg)
    assert len(dm.train_set) == 12 and len(dm.val_set) == 5
    assert all(p.startswith(str(val)) for p in dm.val_set.paths)


def test_training_on_own_photos_runs_and_validates(tmp_path):
    root = _photos(tmp_path / "photos", 24)
    cfg = compose_train(_overrides(tmp_path, f"data.root={root}", "data.val_fraction=0.25",
                                   "+trainer.fast_dev_run=true"))  # fmt: skip
    trainer = train(cfg)
    assert trainer.global_step == 1
    assert torch.isfinite(trainer.callback_metrics["val/dist_psnr"])


def test_no_validation_part_and_no_validation_folder_is_refused(tmp_path):
    root = _photos(tmp_path / "photos", 6)
    cfg = compose_train(_overrides(tmp_path, f"data.root={root}", "data.val_fraction=0"))
    with pytest.raises(ValueError, match="would validate on the training"):
        build(cfg)
