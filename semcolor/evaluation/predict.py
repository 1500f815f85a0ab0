"""Running a model over bench images: ground truths in, predicted sRGB images out, through the
one inference path (:func:`semcolor.inference.predict_ab`), with the network's time.

Used by the bench (:mod:`semcolor.evaluation.evaluate`) and by training validation
(:mod:`semcolor.lit.module`), so both report the same numbers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from semcolor import constants as C
from semcolor.color import lab_to_rgb, rgb_to_lab
from semcolor.data.bench_images import DEFAULT_SIZE
from semcolor.hardware import synchronize
from semcolor.inference.predict import canonical_method, decode_outputs, predict_ab
from semcolor.metrics import grayscale_baseline

#: Baselines that need no model.
BASELINES: tuple[str, ...] = ("gray",)


def lab_of(gts: Sequence[np.ndarray]) -> torch.Tensor:
    """(B,3,H,W) float64 Lab of equally sized uint8 (H,W,3) images."""
    x = torch.from_numpy(np.stack(gts)).permute(0, 3, 1, 2).to(torch.float64).div_(255.0)
    return rgb_to_lab(x)


def recombine(L: torch.Tensor, ab: torch.Tensor) -> list[np.ndarray]:
    """Exact L (B,1,H,W) + predicted ab (B,2,H,W) -> uint8 (H,W,3) images (float64 Lab ->
    sRGB clipped to [0, 1], x255, rounded to nearest)."""
    lab = torch.cat([L.to(torch.float64).cpu(), ab.to(torch.float64).cpu()], dim=1)
    rgb = lab_to_rgb(lab).mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)
    return [np.ascontiguousarray(x) for x in rgb.permute(0, 2, 3, 1).numpy()]


def predict_images(
    gts: Sequence[np.ndarray],
    net: torch.nn.Module | None,
    methods: Sequence[str] = (),
    *,
    size: int = DEFAULT_SIZE,
    temperature: float = C.ANNEALED_MEAN_T,
    baselines: Sequence[str] = BASELINES,
    outputs: Any = None,
    precision: str = "fp32",
) -> dict[str, Any]:
    """The bench's predictions for equally sized ground truths (step 4 of the protocol in
    :mod:`semcolor.evaluation.evaluate`).

    Also what training validation calls, so that its numbers are the bench's.

    Args:
        gts: uint8 (H,W,3) ground truths, all of one shape.
        net: a SemColorNet in eval mode (on any device), or None (baselines only).
        methods: model methods ("dist", "reg").
        size: network input side.
        baselines: any of :data:`BASELINES`.
        outputs: the network's outputs for these ground truths' L at ``size`` (what
            :func:`semcolor.inference.network_outputs` gives), when the caller has them
            already: training validation computes its loss on the same pass. They are
            decoded as :func:`semcolor.inference.predict_ab` decodes its own.
        precision: the network's precision ("fp32", "bf16", "auto";
            :data:`semcolor.inference.PRECISION_CHOICES`).

    Returns:
        {method or baseline: [uint8 (H,W,3) per image]} plus ``"_model_s"``: seconds spent
        in the model call (with the host transfers) when ``net`` is given.
    """
    preds: dict[str, Any] = {}
    if "gray" in baselines:
        preds["gray"] = [grayscale_baseline(g) for g in gts]
    if net is not None and methods:
        device = next(net.parameters()).device
        L = lab_of(gts)[:, :1]
        synchronize(device)
        t0 = time.perf_counter()
        if outputs is None:
            out = predict_ab(
                net, L.to(device=device, dtype=torch.float32), size=int(size),
                methods=tuple(methods), temperature=temperature, precision=precision,
            )  # fmt: skip
        else:
            out = decode_outputs(outputs, tuple(canonical_method(m) for m in methods),
                                 temperature, tuple(L.shape[-2:]))  # fmt: skip
        out = {m: ab.cpu() for m, ab in out.items()}
        synchronize(device)
        preds["_model_s"] = time.perf_counter() - t0
        for m in methods:
            preds[m] = recombine(L, out[m])
    return preds


