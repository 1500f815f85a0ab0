"""The networks semcolor is compared with, under SemColorNet's contract.

Both take ``normalize_l(L)`` (B,1,H,W) (any H, W >= 1: padded to a multiple of 8 and cropped
back, as SemColorNet does) and return a :class:`ColorizerOutput`, so the trainer, the loss,
the bench, the API and ONNX export serve them unchanged.

- :class:`ECCV16Net`: Zhang, Isola & Efros, *Colorful Image Colorization* (ECCV 2016), Fig. 2
  and their released model: eight conv blocks of 3x3 convs + ReLU, BatchNorm closing blocks
  1-7, dilation 2 in blocks 5 and 6, block 8 a 4x4 transposed conv (x2) + two convs, then a
  1x1 conv to 313 ab-bin logits at 1/4 resolution (the ``dist`` head only).
- :class:`IizukaNet`: Iizuka, Simo-Serra & Ishikawa, *Let there be Color!* (SIGGRAPH 2016),
  Table 1: a low-level network (6 convs, stride 8) shared by a mid-level network (2 convs)
  and a global network (4 convs + 3 fully connected layers on a 224x224 rescaled copy of the
  input), a fusion layer that concatenates the 256-d global vector to every mid-level
  position, and a colorization network (convs and two x2 nearest upsamplings, sigmoid ab at
  1/2 resolution, upsampled to the input). A classification branch (2 fully connected
  layers) on the global network's 512-d features gives ``scene_logits`` (the ``scene``
  head, trained by the scene loss where labels exist). Its ab output is the ``reg`` head:
  sigmoid s in [0, 1] -> ab = (2 s - 1) * AB_SCALE (the paper normalises ab to [0, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from semcolor import constants as C
from semcolor.models.semcolornet import ColorizerOutput

#: Total stride of both baselines' encoders: inputs are padded to a multiple of it.
BASELINE_STRIDE = 8
#: Side of the global network's input (Iizuka et al., section 3.3: the image is rescaled to
#: 224 x 224 for the global features, whatever its size).
IIZUKA_GLOBAL_SIDE = 224


def _pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


def _convs(cin: int, cout: int, n: int, stride_last: int = 1, dilation: int = 1) -> list:
    layers: list[nn.Module] = []
    for i in range(n):
        stride = stride_last if i == n - 1 else 1
        layers += [
            nn.Conv2d(cin if i == 0 else cout, cout, 3, stride, dilation, dilation),
            nn.ReLU(inplace=True),
        ]
    return layers


class ECCV16Net(nn.Module):
    """Zhang et al.'s colorization network (module docstring): ``ab_logits`` only.

    Args:
        heads: must be ``["dist"]`` (accepted so that ``model.heads`` composes uniformly).
    """

    dist_stride = 4

    def __init__(self, heads: Sequence[str] = ("dist",)):
        super().__init__()
        if list(heads) != ["dist"]:
            raise ValueError(
                f"ECCV16Net has the 'dist' head only, got heads={list(heads)}; train it with "
                "+experiment=soft (model.heads=[dist])"
            )
        self.heads: tuple[str, ...] = ("dist",)
        self.init_kwargs: dict = {"heads": ["dist"]}
        self.body = nn.Sequential(
            *_convs(1, 64, 2, stride_last=2), nn.BatchNorm2d(64),
            *_convs(64, 128, 2, stride_last=2), nn.BatchNorm2d(128),
            *_convs(128, 256, 3, stride_last=2), nn.BatchNorm2d(256),
            *_convs(256, 512, 3), nn.BatchNorm2d(512),
            *_convs(512, 512, 3, dilation=2), nn.BatchNorm2d(512),
            *_convs(512, 512, 3, dilation=2), nn.BatchNorm2d(512),
            *_convs(512, 512, 3), nn.BatchNorm2d(512),
            nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1), nn.ReLU(inplace=True),
            *_convs(256, 256, 2),
        )  # fmt: skip
        self.dist_head = nn.Conv2d(256, C.NUM_AB_BINS, 1)

    def dist_output_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size of ``ab_logits`` for an (height, width) input: ceil(size / 4)."""
        return math.ceil(height / 4), math.ceil(width / 4)

    def forward(self, L: torch.Tensor) -> ColorizerOutput:
        """L: (B,1,H,W) ``normalize_l`` values -> ``ab_logits`` (B,313,ceil(H/4),ceil(W/4))."""
        h, w = L.shape[-2:]
        logits = self.dist_head(self.body(_pad_to(L, BASELINE_STRIDE)))
        oh, ow = self.dist_output_size(h, w)
        return ColorizerOutput(ab_logits=logits[..., :oh, :ow])


def _cbr(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    """3x3 conv + BatchNorm + ReLU (Iizuka et al. use BatchNorm after every layer)."""
    return [nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class IizukaNet(nn.Module):
    """Iizuka et al.'s joint colorization and classification network (module docstring).

    Args:
        heads: ``["reg"]`` or ``["reg", "scene"]`` (the classification branch).
        num_scene_classes: classes of the classification branch (> 0 with the scene head).
    """

    def __init__(self, heads: Sequence[str] = ("reg", "scene"), num_scene_classes: int = 0):
        super().__init__()
        heads = list(heads)
        if heads not in (["reg"], ["reg", "scene"]):
            raise ValueError(
                f"IizukaNet has the 'reg' head and optionally 'scene', got heads={heads}"
            )
        if "scene" in heads and not int(num_scene_classes) > 0:
            raise ValueError(
                "num_scene_classes must be a positive int while the 'scene' head is enabled, "
                f"got {num_scene_classes!r}; to switch it off use model.heads=[reg]"
            )
        self.heads: tuple[str, ...] = tuple(heads)
        self.init_kwargs: dict = {"heads": heads, "num_scene_classes": int(num_scene_classes)}
        self.low = nn.Sequential(
            *_cbr(1, 64, 2), *_cbr(64, 128), *_cbr(128, 128, 2), *_cbr(128, 256),
            *_cbr(256, 256, 2), *_cbr(256, 512),
        )  # fmt: skip
        self.mid = nn.Sequential(*_cbr(512, 512), *_cbr(512, 256))
        self.global_conv = nn.Sequential(
            *_cbr(512, 512, 2), *_cbr(512, 512), *_cbr(512, 512, 2), *_cbr(512, 512)
        )
        side = IIZUKA_GLOBAL_SIDE // 32  # 7: after the low (8) and global (4) strides
        self.global_fc1 = nn.Sequential(nn.Linear(512 * side * side, 1024), nn.ReLU(True))
        self.global_fc2 = nn.Sequential(nn.Linear(1024, 512), nn.ReLU(True))
        self.global_fc3 = nn.Sequential(nn.Linear(512, 256), nn.ReLU(True))
        self.fusion = nn.Sequential(nn.Conv2d(512, 256, 1), nn.ReLU(inplace=True))
        self.color = nn.Sequential(
            *_cbr(256, 128), nn.Upsample(scale_factor=2, mode="nearest"),
            *_cbr(128, 64), *_cbr(64, 64), nn.Upsample(scale_factor=2, mode="nearest"),
            *_cbr(64, 32),
        )  # fmt: skip
        self.reg_head = nn.Conv2d(32, 2, 3, 1, 1)
        self.scene_head = (
            nn.Sequential(nn.Linear(512, 256), nn.ReLU(True), nn.Linear(256, num_scene_classes))
            if "scene" in heads
            else None
        )

    def forward(self, L: torch.Tensor) -> ColorizerOutput:
        """L: (B,1,H,W) ``normalize_l`` values -> ``ab_reg`` (B,2,H,W) in [-110, 110] and,
        with the scene head, ``scene_logits`` (B,num_scene_classes)."""
        h, w = L.shape[-2:]
        x = _pad_to(L, BASELINE_STRIDE)
        mid = self.mid(self.low(x))
        side = (IIZUKA_GLOBAL_SIDE, IIZUKA_GLOBAL_SIDE)
        g_in = x if tuple(x.shape[-2:]) == side else F.interpolate(
            x, size=side, mode="bilinear", align_corners=False
        )
        g = self.global_conv(self.low(g_in)).flatten(1)
        g512 = self.global_fc2(self.global_fc1(g))
        g256 = self.global_fc3(g512)
        fused = torch.cat([mid, g256[:, :, None, None].expand(-1, -1, *mid.shape[-2:])], 1)
        s = torch.sigmoid(self.reg_head(self.color(self.fusion(fused))))
        ab = (2.0 * s - 1.0) * C.AB_SCALE
        ab = F.interpolate(ab, size=x.shape[-2:], mode="bilinear", align_corners=False)
        scene = self.scene_head(g512) if self.scene_head is not None else None
        return ColorizerOutput(ab_reg=ab[..., :h, :w], scene_logits=scene)
