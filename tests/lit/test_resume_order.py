"""Mid-epoch resume restores the data order exactly (torchdata's StatefulDataLoader).

An interrupted-and-resumed run must see the same sample ids, in the same order, as an
uninterrupted one: at the loader level (plain shuffle and the mixed dataset's weighted
sampler, in the main process and with worker processes) and through a real Lightning run
resumed from a mid-epoch checkpoint.
"""

from __future__ import annotations

import pytest
import torch

from semcolor.cli.train import train
from semcolor.data.base import SampleOptions
from semcolor.data.datamodule import SemColorDataModule
from semcolor.data.datasets import ImageFolder
from semcolor.data.mixed import MixedDataset, MixedSampler
from tests.data.data_helpers import save_image
from tests.lit.helpers import compose_train, recorded_ids, tiny_overrides

BATCH = 3


def _folder(root, n, seed):
    for i in range(n):
        save_image(root / f"{i:02d}.png", h=10, w=12, seed=seed + i)
    return ImageFolder(str(root), options=SampleOptions(crop_size=8))


def _datamodule(tmp_path, kind: str, workers: int) -> SemColorDataModule:
    if kind == "mixed":
        a = _folder(tmp_path / "a", 7, 0)
        b = _folder(tmp_path / "b", 5, 100)
        train = MixedDataset([a, b], [0.7, 0.3], num_samples=13, seed=5)
    else:
        train = _folder(tmp_path / "f", 13, 0)
    return SemColorDataModule(kind, train, batch_size=BATCH, num_workers=workers)


def _epochs(loader, epochs, start_epoch=0, limit=None):
    """Ids per batch over ``epochs`` epochs, calling set_epoch as Lightning does; stop after
    ``limit`` batches."""
    out = []
    for epoch in range(start_epoch, start_epoch + epochs):
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        for batch in loader:
            out.append(batch["index"].tolist())
            if limit is not None and len(out) == limit:
                return out
    return out


@pytest.mark.parametrize(
    "kind,workers,stop",  # stop inside epoch 0 (2) or epoch 1 (6); 4 batches per epoch
    [("folder", 0, 2), ("folder", 2, 6), ("mixed", 0, 6), ("mixed", 2, 2),
     *(pytest.param(k, w, s, marks=pytest.mark.slow)
       for k, w, s in (("folder", 0, 6), ("folder", 2, 2), ("mixed", 0, 2), ("mixed", 2, 6)))],
)  # fmt: skip
def test_loader_state_resumes_the_exact_order(tmp_path, kind, workers, stop):
    torch.manual_seed(0)
    full = _epochs(_datamodule(tmp_path, kind, workers).train_dataloader(), 3)
    assert len(full) == 12 and len({tuple(b) for b in full}) > 1
    if kind == "mixed":
        assert full[:4] != full[4:8]  # epochs draw differently

    torch.manual_seed(0)
    first = _datamodule(tmp_path, kind, workers).train_dataloader()
    head = _epochs(first, 2, limit=stop)
    state = first.state_dict()
    epoch = stop // 4

    torch.manual_seed(123)  # a fresh process: the global RNG is elsewhere
    second = _datamodule(tmp_path, kind, workers).train_dataloader()
    if hasattr(second.sampler, "set_epoch"):
        second.sampler.set_epoch(epoch)  # Lightning restores the epoch, then sets it
    second.load_state_dict(state)
    rest = [b["index"].tolist() for b in second]  # the rest of the interrupted epoch
    rest += _epochs(second, 2 - epoch, start_epoch=epoch + 1)
    assert head + rest == full


def test_mixed_sampler_order_is_a_function_of_seed_and_epoch():
    w = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
    a, b = MixedSampler(w, 20, seed=3), MixedSampler(w, 20, seed=3)
    a.set_epoch(4)
    list(b)  # b's generator advancing must not matter
    b.set_epoch(4)
    assert list(a) == list(b) == list(a)
    b.set_epoch(5)
    assert list(b) != list(a)
    auto = MixedSampler(w, 20, seed=3)  # nobody sets the epoch: one per pass
    e0, e1 = list(auto), list(auto)
    a.set_epoch(0)
    assert e0 == list(a) and e1 != e0


def _run(tmp_path, out, max_steps, ckpt_path=None):
    cfg = compose_train([
        "+experiment=regsoft", *tiny_overrides(tmp_path / out),
        "data.train.num_samples=16", "data.batch_size=4",  # 4 batches per epoch
        f"trainer.max_steps={max_steps}", "trainer.limit_val_batches=0",
        "callbacks.model_checkpoint.every_n_train_steps=100",
        "+callbacks.ids._target_=tests.lit.helpers.SampleIdRecorder",
        f"+callbacks.ids.path={tmp_path}/{out}.jsonl",
        *([f"ckpt_path={ckpt_path}"] if ckpt_path else []),
    ])  # fmt: skip
    return train(cfg)


def test_training_resumed_mid_epoch_sees_the_uninterrupted_order(tmp_path):
    """A real run stopped at step 6 (inside epoch 1) and resumed from its last.ckpt trains on
    the same batches, id by id, as a run of 8 steps that was never stopped."""
    _run(tmp_path, "full", 8)
    full = recorded_ids(tmp_path / "full.jsonl")
    assert len(full) == 8 and full[:4] != full[4:8]
    _run(tmp_path, "cut", 6)
    ckpt = tmp_path / "cut" / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, weights_only=True)["loops"]["fit_loop"]["state_dict"].get(
        "combined_loader"
    ), "the checkpoint carries no loader state"
    resumed = _run(tmp_path, "cut", 8, ckpt_path=ckpt)
    assert resumed.global_step == 8
    assert recorded_ids(tmp_path / "cut.jsonl") == full
