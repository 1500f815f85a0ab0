"""Unpaired data for SpyncoGAN: a gray domain and a colour domain that are never paired.

The generator's input comes only from the gray domain: a gray-domain sample keeps its L and
drops its ab, so no colour of the image the generator sees is in the batch at all. The
discriminator's real images come from the colour domain, drawn at random, independently of
the gray sample, and only among its colourful images: a colourless photo (a gray scan, 5.5%
of imagen1k/train) is no real colour image.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch.utils.data import Dataset

from semcolor.color import lab_to_rgb
from semcolor.data.base import SampleOptions
from semcolor.data.bench_images import BenchImages
from semcolor.data.datasets import ImageFolder

log = logging.getLogger("semcolor.data")

#: Keys of an unpaired sample.
UNPAIRED_KEYS: tuple[str, ...] = ("L", "colorful", "index", "real_rgb", "real_index")
#: Fraction of a shared folder that goes to the colour domain when both domains are one
#: folder (chosen by path hash, :func:`semcolor.data.base.in_holdout`).
HALF: float = 0.5
#: Draws of the colour domain per item before giving up on finding a colourful image there
#: (with 5.5% colourless images, 64 colourless draws in a row have probability ~1e-80).
COLOUR_DRAWS: int = 64


class UnpairedDataset(Dataset):
    """Pairs each gray-domain sample with a random colour-domain image.

    Args:
        gray: a dataset of the sample contract; only its ``L`` (and ``colorful``, ``index``)
            are kept.
        colour: a dataset of the sample contract; its images become ``real_rgb``.

    Each item:

    * ``"L"``: float32 (1,H,W), Lab L in [0, 100] of the gray-domain image;
    * ``"colorful"``: bool () of the gray-domain image (its own colour is never returned);
    * ``"index"``: int64 () gray-domain index;
    * ``"real_rgb"``: float32 (3,H,W) sRGB in [0, 1] of a colour-domain image drawn at random
      among its colourful ones (``colorful`` True; torch's RNG, which DataLoader seeds per
      worker; colourless draws are redrawn, so the draw is uniform over colourful images);
    * ``"real_index"``: int64 () its colour-domain index.

    Attributes ``num_scene_classes`` and ``num_seg_classes`` are 0 (no labels).

    Raises (from ``__getitem__``):
        ValueError: :data:`COLOUR_DRAWS` draws in a row found only colourless images in the
            colour domain.
    """

    num_scene_classes = 0
    num_seg_classes = 0

    def __init__(self, gray: Dataset, colour: Dataset):
        if len(gray) == 0 or len(colour) == 0:
            raise ValueError(
                f"both domains need images: gray has {len(gray)}, colour has {len(colour)}"
            )
        self.gray, self.colour = gray, colour

    @property
    def paths(self) -> list[str]:
        """Gray-domain image paths (what ``index`` refers to)."""
        return list(getattr(self.gray, "paths", []))

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return [*getattr(self.gray, "skipped", []), *getattr(self.colour, "skipped", [])]

    def __len__(self) -> int:
        return len(self.gray)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        g = self.gray[index]
        for _ in range(COLOUR_DRAWS):
            c = self.colour[int(torch.randint(len(self.colour), ()))]
            if bool(c["colorful"]):
                break
        else:
            raise ValueError(
                f"the colour domain gave {COLOUR_DRAWS} colourless images in a row (mean "
                "chroma below constants.COLOURLESS_CHROMA): the discriminator needs colour "
                "photos; check the colour domain's folder (data.colour_root, or "
                f"data.gray_root when one folder is split): {self.colour!r}"
            )
        real = lab_to_rgb(torch.cat([c["L"], c["ab"]], 0)[None])[0]
        return {
            "L": g["L"],
            "colorful": g["colorful"],
            "index": g["index"],
            "real_rgb": real.float().contiguous(),
            "real_index": c["index"],
        }

    def __repr__(self) -> str:
        return f"UnpairedDataset(gray={self.gray!r}, colour={self.colour!r})"


def unpaired_folders(
    gray_root: str,
    colour_root: str | None = None,
    options: SampleOptions | None = None,
) -> UnpairedDataset:
    """Two photo folders as the gray and the colour domain (:class:`UnpairedDataset`).

    ``colour_root`` None or the same folder as ``gray_root``: one folder split in two
    disjoint halves by path hash (:func:`semcolor.data.base.in_holdout`, fraction 1/2): the
    colour domain is the held-out half, the gray domain the rest; no image is in both.
    ``options`` (:class:`semcolor.data.SampleOptions`) gives crop, augmentation and skipping;
    both domains are always drawn with random (training) geometry and without labels.
    """
    same = colour_root is None or Path(colour_root).resolve() == Path(gray_root).resolve()
    opts = (SampleOptions() if options is None else options).replace(
        train=True, num_scene_classes=0, num_seg_classes=0, scene_labels=None,
        saliency_dir=None,
    )  # fmt: skip
    kw = {"split": None, "options": opts}
    if same:
        gray = ImageFolder(gray_root, holdout_fraction=HALF, holdout="exclude", **kw)
        colour = ImageFolder(gray_root, holdout_fraction=HALF, holdout="only", **kw)
        log.info("unpaired: %s split by path hash: %d gray-domain, %d colour-domain images",
                 gray_root, len(gray), len(colour))  # fmt: skip
    else:
        gray = ImageFolder(gray_root, **kw)
        colour = ImageFolder(colour_root, **kw)
    return UnpairedDataset(gray, colour)


def optional_bench_images(root: str | None, size: int = 256, limit: int | None = None):
    """Validation for unpaired training: :class:`BenchImages` of a paired photo folder
    (scoring only; never trained on), or None without one."""
    if not root:
        return None

    return BenchImages(root=root, dataset="folder", split=None, size=size, limit=limit)
