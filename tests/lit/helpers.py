"""Helpers for the training tests: compose configs the way ``semcolor-train`` does."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_module
from omegaconf import DictConfig, open_dict

EXPERIMENTS = ("soft", "reg", "regsoft", "classregsoft", "segclassregsoft")


def tiny_overrides(tmp_path: Path) -> list[str]:
    """A small, fast CPU setup: resnet18 with narrow decoder, 32x32 synthetic images."""
    return [
        f"paths.output_dir={tmp_path}",
        f"paths.cache_dir={tmp_path}/cache",
        "trainer.accelerator=cpu",
        "trainer.precision=32-true",  # the same numbers on every CPU (auto is tested apart)
        "trainer.enable_progress_bar=false",
        "trainer.log_every_n_steps=1",
        "model.decoder_channels=[32,16,16,8,8]",
        "data.train.size=32",
        "data.val.size=32",
        "data.train.num_samples=16",
        "data.val.num_samples=4",
        "data.batch_size=4",
        "data.prior_images=8",
        "logger=csv",
    ]


#: The same small setup as command-line overrides of a semcolor-train subprocess
#: (synthetic data, narrow decoder, no validation).
TINY_CLI = [
    "trainer.accelerator=cpu", "trainer.precision=32-true", "trainer.enable_progress_bar=false",
    "logger=csv",
    "model.decoder_channels=[32,16,16,8,8]", "data.train.size=32", "data.val.size=32",
    "data.train.num_samples=8", "data.val.num_samples=2", "data.batch_size=4",
    "data.prior_images=8", "trainer.limit_val_batches=0",
]  # fmt: skip


def compose_train(overrides: list[str]) -> DictConfig:
    with initialize_config_module("semcolor.conf", version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    return cfg


def set_key(cfg: DictConfig, key: str, value) -> None:
    with open_dict(cfg):
        node = cfg
        *parents, last = key.split(".")
        for p in parents:
            node = node[p]
        node[last] = value


class RankMarker:
    """Lightning callback for tests: each rank writes how many batches it trained on."""

    def __new__(cls, out_dir: str):
        import pytorch_lightning as pl

        class _Marker(pl.Callback):
            def __init__(self):
                self.batches = 0

            def on_train_batch_end(self, trainer, *args, **kwargs):
                self.batches += 1

            def on_train_end(self, trainer, pl_module):
                import json

                Path(out_dir).mkdir(parents=True, exist_ok=True)
                (Path(out_dir) / f"rank{trainer.global_rank}.json").write_text(
                    json.dumps(
                        {
                            "batches": self.batches,
                            "global_step": trainer.global_step,
                            "world_size": trainer.world_size,
                        }
                    )
                )

        return _Marker()


class SampleIdRecorder:
    """Lightning callback for tests: appends ``[global_step, sample ids]`` of every training
    batch to ``path`` (JSON lines), so runs can be compared id by id."""

    def __new__(cls, path: str):
        import json

        import pytorch_lightning as pl

        class _Recorder(pl.Callback):
            def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
                with open(path, "a", encoding="utf-8") as f:
                    f.write(json.dumps([trainer.global_step, batch["index"].tolist()]) + "\n")

        return _Recorder()


def recorded_ids(path) -> list[list[int]]:
    """The id lists :class:`SampleIdRecorder` wrote, in step order (a step recorded twice,
    e.g. replayed after a resume, keeps its last record)."""
    import json

    by_step: dict[int, list[int]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        step, ids = json.loads(line)
        by_step[step] = ids
    return [by_step[s] for s in sorted(by_step)]
