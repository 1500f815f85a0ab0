"""A Places365 scene classifier: SqueezeNet 1.1 with BatchNorm and leaky ReLUs, the
architecture of the Lasagne file ``squeezenet_places365.params`` (its weights are read by
:func:`semcolor.weights.lasagne_squeezenet_state_dict`).

Iandola et al., *SqueezeNet* (2016), v1.1 layout: conv1 64 3x3/2 -> max-pool 3/2 -> fire2,
fire3 (squeeze 16, expand 64 + 64) -> max-pool -> fire4, fire5 (32, 128 + 128) -> max-pool ->
fire6, fire7 (48, 192 + 192) -> fire8, fire9 (64, 256 + 256) -> dropout -> conv10 1x1 to the
classes -> leaky ReLU -> global average pool. This variant puts a BatchNorm (eps 1e-4, as
Lasagne's) after every convolution but conv10, and Lasagne's randomized leaky ReLU, which at
test time is a leaky ReLU of slope (0.3 + 0.8) / 2 = 0.55, in place of every ReLU.

Input contract, like the torchvision classifiers semcolor-label-scenes runs: (B,3,224,224)
float RGB normalised with the ImageNet mean/std. The network converts that back to what its
author fed it: BGR, 0-255, minus a per-channel Places mean colour, divided by 255.
"""

from __future__ import annotations

import torch
from torch import nn

from semcolor.constants import LASAGNE_BN_EPS
from semcolor.constants import SQUEEZENET_FIRES as FIRES

#: Lasagne's RandomizedRectifierLayer default bounds (lower 0.3, upper 0.8): at test time the
#: negative slope is their mean.
RRELU_TEST_SLOPE = (0.3 + 0.8) / 2
#: Per-channel mean colour (B, G, R, 0-255) usually quoted for the Places CNNs, standing in
#: for the Places365 mean image, which is not available.
PLACES_MEAN_BGR = (104.0, 113.0, 117.0)
#: The ImageNet normalisation of the input contract (torchvision's).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, padding=k // 2),
        nn.BatchNorm2d(cout, eps=LASAGNE_BN_EPS),
        nn.LeakyReLU(RRELU_TEST_SLOPE, inplace=True),
    )


class Fire(nn.Module):
    """squeeze 1x1 -> (expand 1x1 | expand 3x3), each conv + BN + leaky ReLU, concatenated."""

    def __init__(self, cin: int, squeeze: int, expand: int):
        super().__init__()
        self.squeeze = _conv_bn(cin, squeeze, 1)
        self.expand1x1 = _conv_bn(squeeze, expand, 1)
        self.expand3x3 = _conv_bn(squeeze, expand, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return torch.cat([self.expand1x1(s), self.expand3x3(s)], 1)


class SqueezeNetPlaces365(nn.Module):
    """(B,3,H,W) ImageNet-normalised RGB -> (B,num_classes) logits (module docstring)."""

    def __init__(self, num_classes: int = 365):
        super().__init__()
        for name, value in (("imagenet_mean", IMAGENET_MEAN), ("imagenet_std", IMAGENET_STD),
                            ("places_mean_bgr", PLACES_MEAN_BGR)):  # fmt: skip
            self.register_buffer(name, torch.tensor(value).view(1, 3, 1, 1), persistent=False)
        self.conv1 = _conv_bn(3, 64, 3, stride=2)
        pool = nn.MaxPool2d(3, 2)  # floor mode, as Lasagne's ignore_border=True
        fires, cin = [], 64
        for squeeze, expand in FIRES:
            fires.append(Fire(cin, squeeze, expand))
            cin = 2 * expand
        self.features = nn.Sequential(
            pool, fires[0], fires[1], nn.MaxPool2d(3, 2), fires[2], fires[3],
            nn.MaxPool2d(3, 2), *fires[4:],
        )  # fmt: skip
        self.dropout = nn.Dropout(0.5)
        self.conv10 = nn.Conv2d(cin, num_classes, 1)
        self.act10 = nn.LeakyReLU(RRELU_TEST_SLOPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = x * self.imagenet_std + self.imagenet_mean  # back to [0, 1]
        bgr = rgb.flip(1) * 255.0
        z = (bgr - self.places_mean_bgr) / 255.0
        z = self.features(self.conv1(z))
        z = self.act10(self.conv10(self.dropout(z)))
        return z.mean(dim=(2, 3))
