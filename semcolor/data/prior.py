"""The class-rebalancing prior of Zhang et al. (2016, section 3.1) estimated from image files
(what ``semcolor-prior`` writes for ``semcolor-train module.prior=FILE``).

Training estimates its own prior from its dataset's samples
(:meth:`semcolor.data.datamodule.SemColorDataModule.rebalance_prior`); this reads plain
files instead, skipping unreadable and colourless ones.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from semcolor import constants as C
from semcolor.color import PriorEstimator, RebalancePrior, rgb_to_lab
from semcolor.data.io import BadImageError, load_rgb


def estimate_prior(
    paths: list[str],
    *,
    max_side: int = 256,
    sigma: float = C.REBALANCE_SIGMA,
    lam: float = C.REBALANCE_LAMBDA,
    progress: bool = True,
) -> tuple[RebalancePrior, list[tuple[str, str]], int]:
    """Prior over the ab of ``paths``: (prior, skipped (path, reason), colourless count).

    Images are downscaled to at most ``max_side`` pixels on their longer side first (the
    histogram of a photo hardly changes, and it is many times faster). Colourless images
    are left out: they would pile up in the neutral bin and never train colour anyway.
    Unreadable files are skipped and returned, never fatal.
    """
    est = PriorEstimator()
    skipped: list[tuple[str, str]] = []
    colourless = 0
    for path in tqdm(paths, desc="prior", unit="img", disable=not progress):
        try:
            rgb = load_rgb(path)
        except BadImageError as e:
            skipped.append((path, e.reason))
            continue
        if max(rgb.shape[:2]) > max_side:
            im = Image.fromarray(rgb)
            im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
            rgb = np.asarray(im)
        t = torch.tensor(rgb).permute(2, 0, 1)[None].float().div_(255.0)
        ab = rgb_to_lab(t)[:, 1:]
        if ab.norm(dim=1).mean() < C.COLOURLESS_CHROMA:
            colourless += 1
            continue
        est.update(ab)
    if est.counts.sum() == 0:
        raise ValueError(
            f"no usable colour image among {len(paths)} files "
            f"({len(skipped)} unreadable, {colourless} colourless)"
        )
    return est.finalize(sigma=sigma, lam=lam), skipped, colourless
