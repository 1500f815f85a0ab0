"""The task heads (the paper's four, and SCGAN's saliency head) and the global fusion layer.
Each head is a small module mapping one feature map to raw outputs; none knows anything
about losses, targets or decoding.
"""

from __future__ import annotations

import torch
from torch import nn

from semcolor import constants as C


class RegressionHead(nn.Module):
    """ab regression: 3x3 conv -> 2 channels -> tanh -> x ``AB_SCALE``.

    ``forward(x)``: (B,in_channels,H,W) float -> (B,2,H,W) ab in Lab units, in
    [-AB_SCALE, AB_SCALE] = [-110, 110] (channel 0 = a, 1 = b).
    """

    def __init__(self, in_channels: int, scale: float = C.AB_SCALE):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 2, kernel_size=3, padding=1)
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x)) * self.scale

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class DistributionHead(nn.Module):
    """Distribution over the quantised ab bins: 1x1 conv -> ``num_bins`` logits per pixel.

    ``forward(x)``: (B,in_channels,h,w) float -> (B,num_bins,h,w) unnormalised logits over
    :data:`semcolor.color.AB_BINS` (softmax over dim 1 gives the distribution).
    """

    def __init__(self, in_channels: int, num_bins: int = C.NUM_AB_BINS):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, num_bins, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def dist_logit_bias(net: nn.Module) -> tuple[str, nn.Parameter]:
    """The bias of a network's distribution head (``net.dist_head``: a
    :class:`DistributionHead` or a plain 1x1 ``nn.Conv2d``, as ECCV16Net), with its name in
    ``net.state_dict()``: (313,) float, one value added to each bin's logit everywhere.

    Raises:
        ValueError: the network has no distribution head with a bias.
    """
    head = getattr(net, "dist_head", None)
    conv = head.conv if isinstance(head, DistributionHead) else head
    if not isinstance(conv, nn.Conv2d) or conv.bias is None:
        raise ValueError(f"{type(net).__name__} has no distribution head with a bias "
                         "(net.dist_head); only models with the 'dist' head have one")  # fmt: skip
    name = next(n for n, p in net.named_parameters() if p is conv.bias)
    return name, conv.bias


class SceneHead(nn.Module):
    """Scene classification: global average pool -> FC hidden -> ReLU -> dropout -> FC.

    ``forward(x)``: (B,in_channels,h,w) float (the encoder bottleneck) -> (B,num_classes)
    logits.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int = C.NUM_PLACES365_CLASSES,
        hidden: int = C.SCENE_HIDDEN,
        dropout: float = 0.0,
    ):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(in_channels, hidden)
        self.act = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x).flatten(1)
        return self.fc2(self.dropout(self.act(self.fc1(x))))


class SegmentationHead(nn.Module):
    """Semantic segmentation: 1x1 conv -> ``num_classes`` logits per pixel.

    ``forward(x)``: (B,in_channels,H,W) float -> (B,num_classes,H,W) logits.
    """

    def __init__(self, in_channels: int, num_classes: int = C.NUM_COCOSTUFF_CLASSES):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SaliencyHead(nn.Module):
    """Saliency (attention) map: 1x1 conv -> 1 logit per pixel (SCGAN, Zhao et al. 2020: the
    generator's second output; the sigmoid gives the map in [0, 1]).

    ``forward(x)``: (B,in_channels,H,W) float -> (B,1,H,W) logits.
    """

    def __init__(self, in_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class GlobalFusion(nn.Module):
    """Fuses a global feature of the bottleneck into every bottleneck position: global average
    pool -> FC -> ReLU, broadcast, concatenated with the map, 1x1 conv -> BN -> ReLU back to
    the map's width (Iizuka et al. 2016's fusion layer; SCGAN fuses a classification
    network's global feature the same way, here it is taken from the shared encoder).

    ``forward(x)``: (B,C,h,w) float -> (B,C,h,w) float.
    """

    def __init__(self, channels: int, hidden: int = C.GLOBAL_FUSION_WIDTH):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True))
        self.fuse = nn.Sequential(
            nn.Conv2d(channels + hidden, channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.fc(self.pool(x).flatten(1))[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return self.fuse(torch.cat([x, g], dim=1))
