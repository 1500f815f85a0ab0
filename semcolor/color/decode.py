"""Point estimates of ab from (B,313,H,W) bin logits (Zhang et al. ECCV 2016, section 3.2)."""

from __future__ import annotations

import math

import torch

from semcolor import constants as C
from semcolor.color._checks import check_logits
from semcolor.color.bins import ab_bins_tensor


def _expect(probs: torch.Tensor) -> torch.Tensor:
    bins = ab_bins_tensor(probs.device, probs.dtype)  # (313, 2)
    return torch.einsum("bqhw,qc->bchw", probs, bins)


def annealed_exponent(logits: torch.Tensor, temperature: float, dim: int = 1) -> torch.Tensor:
    """The annealed mean's exponent, (z - max z) / T along ``dim``, floored at C.EXP_ARG_MIN.

    Its exp is each bin's unnormalised weight in (0, 1], with no float32 denormal (slow on
    x86 CPUs; C.EXP_ARG_MIN says why and that the result does not move). The one place both
    forms of the annealed mean (this module's and ``annealed_mean_per_image``) take it from.

    Args:
        logits: float logits over the bins along ``dim``, any shape.
        temperature: T > 0 (not checked here; the callers check it).

    Returns:
        A new tensor of the logits' shape, dtype and device, values in [C.EXP_ARG_MIN, 0].
    """
    z = (logits - logits.amax(dim=dim, keepdim=True)) / temperature
    return z.clamp_(min=C.EXP_ARG_MIN)


def annealed_mean(logits: torch.Tensor, temperature: float = C.ANNEALED_MEAN_T) -> torch.Tensor:
    """Annealed mean of the predicted ab distribution.

    f_T(z) = exp(log z / T) / sum exp(log z / T) re-weights z = softmax(logits); since
    log z = logits - const, f_T(z) = softmax(logits / T). T -> 0 tends to the mode,
    T = 1 is the mean; 0.38 is Zhang et al.'s trade-off between vivid and spatially coherent.

    Args:
        logits: (B,313,H,W) float logits over ``AB_BINS``.
        temperature: T > 0.

    Returns:
        (B,2,H,W) ab in Lab units, same dtype and device.
    """
    check_logits(logits, C.NUM_AB_BINS)
    if not temperature > 0:
        raise ValueError(
            f"temperature must be > 0, got {temperature}; use mode() for the T -> 0 limit"
        )
    return _expect(torch.softmax(annealed_exponent(logits, temperature), dim=1))


def mean(logits: torch.Tensor) -> torch.Tensor:
    """Mean of the distribution: (B,313,H,W) logits -> (B,2,H,W) ab (annealed mean, T=1)."""
    check_logits(logits, C.NUM_AB_BINS)
    return _expect(torch.softmax(logits, dim=1))


def mode(logits: torch.Tensor) -> torch.Tensor:
    """Centre of the most likely bin: (B,313,H,W) logits -> (B,2,H,W) ab in Lab units."""
    check_logits(logits, C.NUM_AB_BINS)
    bins = ab_bins_tensor(logits.device, logits.dtype)
    return bins[logits.argmax(dim=1)].permute(0, 3, 1, 2).contiguous()


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Uncertainty of the predicted ab distribution: its Shannon entropy divided by the
    largest possible, log 313, so 0 = one bin certain and 1 = all 313 bins equally likely.

    Computed on softmax(logits) itself (T = 1: the model's distribution, not the annealed
    one used for the colour).

    Args:
        logits: (B,313,H,W) float logits over ``AB_BINS``.

    Returns:
        (B,1,H,W) float in [0, 1], same dtype and device.
    """
    check_logits(logits, C.NUM_AB_BINS)
    logp = torch.log_softmax(logits.float(), dim=1)
    h = -(logp.exp() * logp).sum(1, keepdim=True) / math.log(C.NUM_AB_BINS)
    return h.clamp(0.0, 1.0).to(logits.dtype)
