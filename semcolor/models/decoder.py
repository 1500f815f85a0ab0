"""The shared U-Net decoder: upsample, concatenate the encoder skip, two 3x3 conv+BN+ReLU.

Written here rather than reusing ``segmentation_models_pytorch``'s ``UnetDecoder`` because the
heads need the intermediate decoder maps (the distribution head reads the stride-4 map when
``dist_stride=4``), which smp's decoder does not return, and its constructor changed between
smp releases.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNReLU(nn.Sequential):
    """Conv2d (no bias, 'same' padding) -> BatchNorm2d -> ReLU; shape (B,cin,H,W)->(B,cout,H,W)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class DecoderBlock(nn.Module):
    """Nearest 2x upsampling to the skip's size, concatenation, two ConvBNReLU.

    ``forward(x, skip)``: x (B,in_channels,h,w), skip (B,skip_channels,~2h,~2w) (may have 0
    channels: only its size is used) -> (B,out_channels,*skip.shape[-2:]).
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = ConvBNReLU(in_channels + skip_channels, out_channels)
        self.conv2 = ConvBNReLU(out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
        if skip.shape[1] > 0:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class UNetDecoder(nn.Module):
    """U-Net decoder over encoder features at strides 1, 2, ..., 2**D.

    Args:
        encoder_channels: channels of the D+1 encoder maps, stride 1 first (a 0 means an
            empty placeholder map: no skip at that level).
        decoder_channels: D output widths, coarsest block (stride 2**(D-1)) first.
        min_stride: finest stride to compute (a power of two < 2**D). Blocks finer than it are
            not built, e.g. when only the distribution head at stride 4 needs the decoder.

    ``forward(features, stop_stride=None)``: the encoder's list ``[f_0, ..., f_D]`` -> list
    of decoder maps, coarsest first; map ``i`` has stride ``strides[i]`` and
    ``out_channels[i]`` channels. ``stop_stride`` (one of ``strides``) stops after the block
    of that stride: the finer blocks do not run and their maps are left out of the list.
    """

    def __init__(
        self,
        encoder_channels: Sequence[int],
        decoder_channels: Sequence[int],
        min_stride: int = 1,
    ):
        super().__init__()
        enc = [int(c) for c in encoder_channels]
        dec = [int(c) for c in decoder_channels]
        depth = len(enc) - 1
        if depth < 1 or len(dec) != depth:
            raise ValueError(
                f"decoder_channels must have one width per decoder stage ({depth} for an "
                f"encoder with {len(enc)} feature maps, strides "
                f"{[2**i for i in range(depth - 1, -1, -1)]}), got {len(dec)}: {dec}"
            )
        if min(dec) < 1:
            raise ValueError(f"decoder_channels must be positive, got {dec}")
        valid = [2**i for i in range(depth)]
        if min_stride not in valid:
            raise ValueError(f"min_stride must be one of {valid}, got {min_stride}")
        min_level = valid.index(min_stride)
        self.strides: list[int] = []
        self.out_channels: list[int] = []
        blocks = []
        cin = enc[depth]
        for j, level in enumerate(range(depth - 1, min_level - 1, -1)):
            blocks.append(DecoderBlock(cin, enc[level], dec[j]))
            cin = dec[j]
            self.strides.append(2**level)
            self.out_channels.append(dec[j])
        self.blocks = nn.ModuleList(blocks)
        self._depth = depth

    def forward(
        self, features: Sequence[torch.Tensor], stop_stride: int | None = None
    ) -> list[torch.Tensor]:
        """Decode the encoder maps.

        Args:
            features: the D+1 encoder maps ``[f_0, ..., f_D]``, f_i (B,C_i,~H/2^i,~W/2^i).
            stop_stride: the finest stride to compute, one of :attr:`strides`; None = all
                built blocks (down to ``min_stride``).

        Returns:
            The decoder maps, coarsest first: map i (B,out_channels[i],h_i,w_i) at stride
            ``strides[i]``, h_i, w_i the skip's size; only down to ``stop_stride``.

        Raises:
            ValueError: not D+1 maps, or a ``stop_stride`` the decoder does not compute.
        """
        if len(features) != self._depth + 1:
            raise ValueError(f"expected {self._depth + 1} encoder maps, got {len(features)}")
        if stop_stride is not None and stop_stride not in self.strides:
            raise ValueError(f"stop_stride must be one of {self.strides}, got {stop_stride!r}")
        x = features[-1]
        out = []
        for block, stride in zip(self.blocks, self.strides, strict=True):
            x = block(x, features[stride.bit_length() - 1])
            out.append(x)
            if stride == stop_stride:
                break
        return out
