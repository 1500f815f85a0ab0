"""Mixing several datasets with sampling weights (``data=mixed``)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import torch
from torch.utils.data import Dataset, WeightedRandomSampler


class MixedDataset(Dataset):
    """Concatenation of datasets drawn with per-dataset weights.

    Indices run over the concatenation (dataset 0 first); ``sample["index"]`` is rewritten to
    the concatenated index, so ``mixed.paths[sample["index"]]`` names the file. All datasets
    must produce the same sample shapes: equal ``crop_size``, ``num_scene_classes`` and
    ``num_seg_classes`` (pass e.g. ``num_scene_classes=200, num_seg_classes=11`` to every
    member of a Tiny ImageNet + CamVid + folder mix; members without such labels give
    zeros / ``IGNORE_INDEX`` with ``has_scene`` / ``has_seg`` False).

    Args:
        datasets: the member datasets (semcolor datasets, or any dataset with the sample
            contract and ``crop_size`` / ``num_scene_classes`` / ``num_seg_classes``
            attributes).
        weights: relative probability of drawing from each dataset (>= 0, not all 0;
            normalised). Default: proportional to dataset sizes.
        num_samples: samples per epoch drawn by :meth:`sampler`; default the total length.
        seed: seed of the sampler's generator when :meth:`sampler` gets none.
    """

    def __init__(
        self,
        datasets: Sequence[Dataset],
        weights: Sequence[float] | None = None,
        num_samples: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("MixedDataset needs at least one dataset")
        sizes = [len(d) for d in self.datasets]
        if any(n == 0 for n in sizes):
            raise ValueError(f"MixedDataset: empty member dataset (sizes {sizes})")
        w = [float(x) for x in weights] if weights is not None else [float(n) for n in sizes]
        if len(w) != len(self.datasets):
            raise ValueError(f"{len(w)} weights for {len(self.datasets)} datasets")
        if any(not math.isfinite(x) or x < 0 for x in w) or sum(w) <= 0:
            raise ValueError(f"weights must be finite, >= 0 and not all 0, got {w}")
        self.weights = [x / sum(w) for x in w]
        for attr in ("crop_size", "num_scene_classes", "num_seg_classes"):
            values = [getattr(d, attr, None) for d in self.datasets]
            if len(set(values)) > 1:
                desc = ", ".join(f"{type(d).__name__}={v}" for d, v in zip(self.datasets, values,
                                                                            strict=True))
                raise ValueError(
                    f"MixedDataset: all datasets must agree on {attr} ({desc}); pass the same "
                    f"{attr} to every member"
                )
        self.crop_size = getattr(self.datasets[0], "crop_size", None)
        self.num_scene_classes = getattr(self.datasets[0], "num_scene_classes", None)
        self.num_seg_classes = getattr(self.datasets[0], "num_seg_classes", None)
        self.sizes = sizes
        self.offsets = [0]
        for n in sizes:
            self.offsets.append(self.offsets[-1] + n)
        if num_samples is not None and int(num_samples) < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        self.num_samples = int(num_samples) if num_samples is not None else self.offsets[-1]
        self.seed = seed
        self._paths: list[str] | None = None

    def __len__(self) -> int:
        return self.offsets[-1]

    def locate(self, index: int) -> tuple[int, int]:
        """(dataset number, index inside it) of a concatenated index."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for MixedDataset of size {n}")
        index %= n
        k = bisect.bisect_right(self.offsets, index) - 1
        return k, index - self.offsets[k]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        k, local = self.locate(int(index))
        sample = dict(self.datasets[k][local])
        sample["index"] = torch.tensor(
            self.offsets[k] + int(sample.get("index", local)), dtype=torch.int64
        )
        return sample

    def sample_weights(self) -> torch.Tensor:
        """Per-index draw weights (float64, sums to 1): dataset weight / dataset size."""
        return torch.cat([
            torch.full((n,), w / n, dtype=torch.float64)
            for w, n in zip(self.weights, self.sizes, strict=True)
        ])

    def sampler(self, generator: torch.Generator | None = None) -> WeightedRandomSampler:
        """A weighted sampler (with replacement) drawing ``num_samples`` indices per epoch,
        each dataset with its weight.

        With ``generator``: a plain ``WeightedRandomSampler`` on it (one stream of draws, as
        :meth:`semcolor.data.datamodule.SemColorDataModule.prior_sample` wants). Without: a
        :class:`MixedSampler` whose draws are a function of (``seed``, epoch) only, so that a
        resumed run can replay an epoch's order exactly (``seed`` None: one drawn from
        torch's global RNG now, i.e. fixed by ``seed_everything``)."""
        if generator is not None:
            return WeightedRandomSampler(
                self.sample_weights(), self.num_samples, replacement=True, generator=generator
            )
        seed = self.seed if self.seed is not None else int(torch.randint(2**62, ()).item())
        return MixedSampler(self.sample_weights(), self.num_samples, seed=int(seed))

    @property
    def paths(self) -> list[str]:
        if self._paths is None:
            self._paths = [p for d in self.datasets for p in getattr(d, "paths", [])]
            if len(self._paths) != len(self):
                raise AttributeError("a member dataset has no complete 'paths' list")
        return self._paths

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Skips recorded by the members in this process."""
        return [s for d in self.datasets for s in getattr(d, "skipped", [])]

    def __repr__(self) -> str:
        parts = ", ".join(f"{d!r}: w={w:.3g}"
                          for d, w in zip(self.datasets, self.weights, strict=True))
        return f"MixedDataset([{parts}], num_samples={self.num_samples})"


class MixedSampler(WeightedRandomSampler):
    """``WeightedRandomSampler`` whose epoch ``e`` draws from a generator seeded with
    ``seed + e``: the order of an epoch is reproducible, which exact mid-epoch resume needs
    (``torchdata``'s ``StatefulDataLoader`` re-creates the epoch's order and skips the
    indices already served; a sampler whose generator merely advanced would replay epoch 0).

    The epoch is what :meth:`set_epoch` set (Lightning calls it at every epoch start); a
    sampler nobody calls it on counts its own epochs, one per ``iter``.

    Args:
        weights: (N,) per-index draw weights. num_samples: draws per epoch. seed: base seed.
    """

    def __init__(self, weights: torch.Tensor, num_samples: int, seed: int) -> None:
        super().__init__(weights, num_samples, replacement=True)
        self.seed = int(seed)
        self.epoch = 0
        self._explicit = False

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self._explicit = int(epoch), True

    def __iter__(self):
        epoch = self.epoch
        if not self._explicit:
            self.epoch += 1
        self.generator = torch.Generator().manual_seed(self.seed + epoch)
        return super().__iter__()
