"""Sharded streaming data: semcolor-shard, ShardDataset, data=shards (LitData)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("litdata")

from semcolor.cli import shard as shard_cli  # noqa: E402
from semcolor.data.base import SAMPLE_KEYS, SampleOptions  # noqa: E402
from semcolor.data.datasets import ImageFolder  # noqa: E402
from semcolor.data.shards import META_NAME, ShardDataset, write_shards  # noqa: E402
from tests.data.data_helpers import make_data_root, save_image  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EVAL = ["data.crop_size=16", "data.resize=null", "data.options.train=false"]


def _same(a: dict, b: dict) -> list[str]:
    """Keys whose tensors differ (the sample contract, index aside)."""
    return [k for k in SAMPLE_KEYS if k != "index" and not torch.equal(a[k], b[k])]


def _chunk_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("chunk-*.bin"))}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return make_data_root(tmp_path_factory.mktemp("data"))


_SLOW = pytest.mark.slow


@pytest.mark.parametrize(
    "config",
    ["camvid", *(pytest.param(c, marks=_SLOW) for c in
                 ("cocostuff", "imagenet", "places365", "tinyimagenet", "div2k"))],
)  # fmt: skip
def test_every_config_round_trips_the_sample_contract(tmp_path, data_root, config):
    """Each data config's training set, converted and read back under the same (eval)
    geometry, gives the very same samples: image, labels, masks, scene vectors."""
    src = shard_cli.build_source(config, data_root=str(data_root), overrides=EVAL)
    out = tmp_path / "shards"
    assert shard_cli.main([config, "--data-root", str(data_root), "--out", str(out),
                           "--chunk-size", "2", "--set", *EVAL]) == 0  # fmt: skip
    meta = json.loads((out / META_NAME).read_text())
    assert meta["samples"] == len(src) and meta["num_seg_classes"] == src.num_seg_classes
    ds = ShardDataset(str(out), options=src.options, shuffle=False)
    assert len(ds) == len(src)
    seen = []
    for s in ds:
        i = int(s["index"])
        seen.append(i)
        assert _same(s, src[i]) == [], f"{config} sample {i}"
    assert sorted(seen) == list(range(len(src)))
    if config in ("cocostuff", "camvid"):
        assert all(bool(ds[i]["has_seg"]) for i in range(len(ds)))
    if config in ("places365", "tinyimagenet"):
        assert any(bool(ds[i]["has_scene"]) for i in range(len(ds)))


def test_a_weighted_mix_is_refused_as_a_source_with_the_reason(tmp_path, data_root, capsys):
    """Shards stream every stored sample once per epoch: data=mixed stored as shards would be
    drawn by its members' sizes (85% Tiny ImageNet for the default mix), not by its weights.
    semcolor-shard refuses it (exit 2, the reason, nothing written), and so does the library."""
    from semcolor.data.mixed import MixedDataset

    out = tmp_path / "mix"
    assert shard_cli.main(["mixed", "--data-root", str(data_root), "--out", str(out),
                           "--set", *EVAL]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "data=mixed is no shard source" in err and "weights" in err and "data=mixed" in err
    assert not out.exists()
    assert "mixed" not in shard_cli._sources()
    photos = ImageFolder(str(_photos(tmp_path / "photos", 2)), split=None)
    with pytest.raises(ValueError, match="not by its weights"):
        write_shards(MixedDataset([photos, photos], weights=[0.9, 0.1]), tmp_path / "lib")
    assert not (tmp_path / "lib").exists()


def test_soft_scene_labels_and_saliency_survive(tmp_path):
    from semcolor.data.saliency import label_saliency
    from semcolor.data.scene_labels import save_scene_labels

    root = tmp_path / "photos"
    for i in range(4):
        save_image(root / f"d{i % 2}" / f"x{i}.png", h=20, w=26, seed=i)
    label_saliency(root, tmp_path / "maps", progress=False)
    names = ["d0/x0.png", "d1/x1.png", "d0/x2.png"]  # x3 has no scene label
    idx = np.array([[1, 2, 3, 4, 5]] * 3)
    prob = np.array([[0.5, 0.2, 0.1, 0.1, 0.1]] * 3, np.float32)
    save_scene_labels(tmp_path / "labels.npz", names, idx, prob)
    opts = SampleOptions(crop_size=16, train=False, num_scene_classes=10,
                         scene_labels=str(tmp_path / "labels.npz"),
                         saliency_dir=str(tmp_path / "maps"))  # fmt: skip
    src = ImageFolder(str(root), options=opts)
    write_shards(src, tmp_path / "s", chunk_size=3)
    ds = ShardDataset(str(tmp_path / "s"), options=opts.replace(scene_labels=None,
                      saliency_dir=None), shuffle=False)  # fmt: skip
    for s in ds:
        ref = src[int(s["index"])]
        assert _same(s, ref) == []
        assert bool(s["has_saliency"])
    assert sum(bool(s["has_scene"]) for s in ds) == 3
    with pytest.raises(ValueError, match="baked into shards"):
        ShardDataset(str(tmp_path / "s"), options=opts)
    with pytest.raises(ValueError, match="smaller than the shards' 10"):
        ShardDataset(str(tmp_path / "s"), options=SampleOptions(num_scene_classes=5))
    padded = ShardDataset(str(tmp_path / "s"), options=SampleOptions(
        crop_size=16, train=False, num_scene_classes=12), shuffle=False)  # fmt: skip
    assert padded[0]["scene"].shape == (12,)


def _photos(root: Path, n: int, bad: tuple[int, ...] = ()) -> Path:
    for i in range(n):
        if i in bad:
            (root / f"p{i:02d}.jpg").parent.mkdir(parents=True, exist_ok=True)
            (root / f"p{i:02d}.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
        else:
            save_image(root / f"p{i:02d}.jpg", h=12, w=14, seed=i)
    return root


def test_conversion_lists_bad_files_and_never_overwrites(tmp_path, capsys):
    """(Determinism, byte-identical chunks across runs, is checked by the killed-conversion
    test against its uninterrupted reference.)"""
    root = _photos(tmp_path / "photos", 9, bad=(4,))
    a = tmp_path / "a"
    assert shard_cli.main([str(root), "--out", str(a), "--chunk-size", "3"]) == 1
    err = capsys.readouterr().err
    assert "skipped 1 unreadable" in err and "p04.jpg" in err
    assert len(_chunk_bytes(a)) == 3
    meta = json.loads((a / META_NAME).read_text())
    assert meta["samples"] == 8 and [p.endswith("p04.jpg") for p, _ in meta["skipped"]] == [True]
    # a finished folder is never overwritten by accident
    assert shard_cli.main([str(root), "--out", str(a)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert shard_cli.main([str(root), "--out", str(root / "inside")]) == 2
    assert shard_cli.main(["nosuchconfig", "--out", str(tmp_path / "c")]) == 2
    assert "configs:" in capsys.readouterr().err


class SlowFolder(ImageFolder):
    """A source that takes a while per image, so a conversion can be killed in its middle
    (imported by LitData's worker processes from this module)."""

    def load_arrays(self, index):
        import time

        time.sleep(0.25)
        return super().load_arrays(index)


_CONVERT = r"""
import sys
from semcolor.data.base import SampleOptions
from semcolor.data.shards import write_shards
from tests.data.test_shards import SlowFolder
if __name__ == "__main__":  # LitData's workers are spawned
    opts = SampleOptions(train=False, num_scene_classes=0, num_seg_classes=0)
    write_shards(SlowFolder(sys.argv[1], split=None, options=opts), sys.argv[2], chunk_size=3)
"""


@pytest.mark.slow
def test_a_killed_conversion_resumes_to_the_same_shards(tmp_path):
    """SIGKILL a real conversion after its first chunk is written; rerunning it finishes
    with chunk files byte-identical to an uninterrupted conversion (so conversions are
    also deterministic: two runs, the same bytes)."""
    import signal
    import time

    root = _photos(tmp_path / "photos", 12)
    opts = SampleOptions(train=False, num_scene_classes=0, num_seg_classes=0)
    write_shards(ImageFolder(str(root), split=None, options=opts), tmp_path / "ref",
                 chunk_size=3)  # fmt: skip
    script = tmp_path / "convert.py"
    script.write_text(_CONVERT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cut = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, str(script), str(root), str(cut)], env=env,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 180
    while not list(cut.glob("chunk-*.bin")):
        assert proc.poll() is None, "the conversion ended before it could be killed"
        assert time.monotonic() < deadline, "no chunk written in 180 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the conversion and its workers
    proc.wait()
    assert not (cut / META_NAME).exists()  # unfinished: not marked done
    assert len(list(cut.glob("chunk-*.bin"))) < 4
    done = subprocess.run([sys.executable, str(script), str(root), str(cut)], env=env,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0
    assert _chunk_bytes(cut) == _chunk_bytes(tmp_path / "ref")
    ds = ShardDataset(str(cut), options=SampleOptions(crop_size=8, train=False), shuffle=False)
    assert sorted(int(s["index"]) for s in ds) == list(range(12))


def _corrupt_member(folder: Path, image: Path) -> None:
    """Overwrite the middle of ``image``'s bytes inside its chunk file (same length)."""
    data = image.read_bytes()
    needle = data[-80:-16]  # entropy-coded data: unique to this image (headers are not)
    for chunk in folder.glob("chunk-*.bin"):
        blob = chunk.read_bytes()
        at = blob.find(needle)
        if at >= 0:
            chunk.write_bytes(blob[:at] + bytes(len(needle)) + blob[at + len(needle):])
            return
    raise AssertionError("member not found in any chunk")


def test_a_corrupt_shard_member_becomes_an_inert_sample(tmp_path):
    root = _photos(tmp_path / "photos", 6)
    write_shards(ImageFolder(str(root), split=None), tmp_path / "s", chunk_size=2)
    _corrupt_member(tmp_path / "s", root / "p03.jpg")
    log = tmp_path / "skipped.tsv"
    ds = ShardDataset(str(tmp_path / "s"), options=SampleOptions(crop_size=8, skip_log=str(log)),
                      shuffle=False)  # fmt: skip
    samples = list(ds)
    assert len(samples) == 6  # the count DDP planned with is kept
    inert = [s for s in samples if int(s["index"]) == -1]
    assert len(inert) == 1 and not bool(inert[0]["colorful"])
    assert not bool(inert[0]["has_scene"]) and not bool(inert[0]["has_seg"])
    assert "p03.jpg" in log.read_text()


def test_training_from_shards_survives_a_corrupt_member(tmp_path):
    from semcolor.cli.train import train
    from tests.lit.helpers import compose_train

    root = _photos(tmp_path / "photos", 10)
    write_shards(ImageFolder(str(root), split=None), tmp_path / "s", chunk_size=4)
    _corrupt_member(tmp_path / "s", root / "p05.jpg")
    cfg = compose_train([
        "+experiment=regsoft", "data=shards", f"data.root={tmp_path / 's'}",
        "data.crop_size=16", "data.batch_size=4", "data.num_workers=0", "data.prior_images=8",
        f"paths.output_dir={tmp_path / 'run'}", f"paths.cache_dir={tmp_path / 'cache'}",
        "trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "logger=csv",
        "model.decoder_channels=[32,16,16,8,8]", "trainer.max_steps=4",
        "trainer.limit_val_batches=0",
    ])  # fmt: skip
    trainer = train(cfg)
    assert trainer.global_step == 4
    assert "p05.jpg" in (tmp_path / "run" / "skipped_files.tsv").read_text()


_DDP_WORKER = r"""
import json, os, sys, torch.distributed as dist
from litdata import StreamingDataLoader
from semcolor.data.base import SampleOptions
from semcolor.data.shards import ShardDataset
root, out, drop_last, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
dist.init_process_group("gloo")
ds = ShardDataset(root, options=SampleOptions(crop_size=8), seed=3,
                  drop_last={"none": None, "true": True, "false": False}[drop_last])
dl = StreamingDataLoader(ds, batch_size=2, num_workers=workers)
epochs = [[int(i) for b in dl for i in b["index"]] for _ in range(2)]
json.dump(epochs, open(os.path.join(out, f"rank{dist.get_rank()}.json"), "w"))
dist.destroy_process_group()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp(tmp_path, shards: Path, drop_last: str, workers: int) -> list[list[list[int]]]:
    out = tmp_path / f"ddp_{drop_last}_{workers}"
    out.mkdir()
    script = tmp_path / "worker.py"
    script.write_text(_DDP_WORKER)
    port = _free_port()
    procs = []
    for rank in (0, 1):
        env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1",
               "PYTHONPATH": str(REPO)}  # fmt: skip
        procs.append(subprocess.Popen([sys.executable, str(script), str(shards), str(out),
                                       drop_last, str(workers)], env=env))  # fmt: skip
    for p in procs:
        assert p.wait(timeout=240) == 0
    return [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.parametrize(
    "n,drop_last,workers",
    [(16, "none", 0), pytest.param(18, "false", 1, marks=_SLOW)],
)
def test_ddp_ranks_read_distinct_shards_and_every_sample_once(tmp_path, n, drop_last, workers):
    """Two gloo processes: per epoch, the ranks' samples are disjoint, come from disjoint
    chunks, and together are the whole dataset. 16 samples in chunks of 4 under LitData's
    default drop_last (on under DDP: nothing to drop here); 18 with drop_last off (uneven
    chunks, every sample still seen once), with a loader worker per rank."""
    root = _photos(tmp_path / "photos", n)
    write_shards(ImageFolder(str(root), split=None), tmp_path / "s", chunk_size=4)
    r0, r1 = _ddp(tmp_path, tmp_path / "s", drop_last, workers)
    for epoch in range(2):
        a, b = r0[epoch], r1[epoch]
        assert not set(a) & set(b) and len(a) == len(set(a)) and len(b) == len(set(b))
        assert sorted(a + b) == list(range(n)), (drop_last, epoch)
        assert not {i // 4 for i in a} & {i // 4 for i in b}  # distinct chunks
    assert r0[0] != r0[1] or r1[0] != r1[1]  # reshuffled between epochs
