"""The adversarial systems' networks: SpyncoGAN's pyramid generator, a PatchGAN discriminator
and the VGG16 feature extractor of SCGAN's perceptual loss. Plain ``nn.Module``s; the losses
that use them live in :mod:`semcolor.losses.gan`.

SCGAN's generator is a :class:`semcolor.models.SemColorNet` with the ``sal`` head and
``global_fusion=True`` (``model=scgan``); only SpyncoGAN needs a generator of its own, because
it draws RGB images at several resolutions instead of ab.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from semcolor import constants as C
from semcolor.color import rgb_to_lab
from semcolor.models.decoder import UNetDecoder
from semcolor.models.encoders import create_encoder, encoder_output_stride
from semcolor.models.semcolornet import ColorizerOutput, EncoderInput
from semcolor.weights import read_state_dict

#: Pyramid depths SpyncoGAN's ablation compares: L^1 (full resolution only) and L^{1,2,3}.
PYRAMID_LEVELS: tuple[int, ...] = (1, 3)
#: Normalisation layers the discriminator offers.
DISC_NORMS: tuple[str, ...] = ("instance", "batch", "none")


class PyramidColorizer(nn.Module):
    """SpyncoGAN's generator: gray -> sRGB with output spatial pyramids.

    An encoder (any :func:`semcolor.models.encoders.create_encoder` name) and a U-Net decoder
    of constant width; level i (i = 0 finest) is a 1x1 conv + sigmoid on the decoder map at
    stride 2^i, so every level reads features of the same width and each gets its own loss
    (Ratajczak et al.'s output spatial pyramids).

    Args:
        encoder: encoder name (``"resnet18"``, ``"unet_plain"``, ``"tu-..."``); random init.
        width: the decoder's constant width.
        pyramid_levels: 1 (full resolution only, L^1) or 3 (full, 1/2, 1/4: L^{1,2,3}).
        encoder_weights: optional local encoder state_dict (as SemColorNet's).

    ``forward(L)``: ``normalize_l(L)`` (B,1,H,W) float in [-0.5, 0.5], any H, W >= 1 ->
    :class:`ColorizerOutput` with ``rgb_pyramid`` (levels finest first, (B,3,ceil(H/2^i),
    ceil(W/2^i)) sRGB in [0, 1]) and ``ab_reg`` (B,2,H,W) = the ab of the full-resolution
    level (Lab units), which the inference path recombines with the input's own L.
    """

    #: The decoding method this generator offers (read by the inference path).
    heads: tuple[str, ...] = ("reg",)

    def __init__(
        self,
        encoder: str = "resnet18",
        width: int = 64,
        pyramid_levels: int = 3,
        encoder_weights: str | None = None,
    ):
        super().__init__()
        if pyramid_levels not in PYRAMID_LEVELS:
            raise ValueError(
                f"pyramid_levels must be one of {list(PYRAMID_LEVELS)} (L^1 or L^{{1,2,3}}), "
                f"got {pyramid_levels!r}"
            )
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        if encoder_weights is not None and not isinstance(encoder_weights, str | os.PathLike):
            raise ValueError(f"encoder_weights must be a path or None, got {encoder_weights!r}")
        self.init_kwargs: dict = {
            "encoder": encoder, "width": int(width), "pyramid_levels": int(pyramid_levels),
        }  # fmt: skip
        self.encoder_input = EncoderInput(None)
        self.encoder = create_encoder(encoder, in_channels=1, weights=encoder_weights)
        enc_channels = list(self.encoder.out_channels)
        depth = len(enc_channels) - 1
        if depth < pyramid_levels:
            raise ValueError(f"encoder {encoder!r} is too shallow for {pyramid_levels} levels")
        self.input_multiple = encoder_output_stride(self.encoder)
        self.decoder = UNetDecoder(enc_channels, [int(width)] * depth, min_stride=1)
        self.levels = int(pyramid_levels)
        self.rgb_heads = nn.ModuleList(
            nn.Conv2d(int(width), 3, kernel_size=1) for _ in range(self.levels)
        )

    def forward(self, L: torch.Tensor) -> ColorizerOutput:
        if not isinstance(L, torch.Tensor) or L.ndim != 4 or L.shape[1] != 1:
            shape = tuple(L.shape) if isinstance(L, torch.Tensor) else type(L).__name__
            raise ValueError(
                f"PyramidColorizer expects normalize_l(L) of shape (B,1,H,W), got {shape}"
            )

        h, w = L.shape[-2:]
        m = self.input_multiple
        pad_h, pad_w = -h % m, -w % m
        x = F.pad(L, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else L
        maps = dict(zip(self.decoder.strides, self.decoder(self.encoder(self.encoder_input(x))),
                        strict=True))  # fmt: skip
        pyramid = []
        for i, head in enumerate(self.rgb_heads):
            s = 2**i
            hh, ww = -(-h // s), -(-w // s)
            pyramid.append(torch.sigmoid(head(maps[s]))[..., :hh, :ww])
        ab = rgb_to_lab(pyramid[0].float())[:, 1:].to(pyramid[0].dtype)
        return ColorizerOutput(ab_reg=ab, rgb_pyramid=tuple(pyramid))


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator (Isola et al. 2017, pix2pix's 70x70): 4x4 convs with strides
    2, 2, 2, 1 and widths base, 2 base, 4 base, 8 base, then a 4x4 conv to one score per patch.
    Scores are raw (no sigmoid): WGAN-GP critics and LSGAN both use them as they are.

    Args:
        in_channels: channels of the images it judges (3: Lab or RGB).
        base: width of the first layer.
        n_layers: stride-2 layers (3 = the 70x70 receptive field).
        norm: "instance" (default: a per-sample norm keeps the gradient penalty per sample,
            as WGAN-GP requires), "batch" (SCGAN's code) or "none".

    ``forward(x)``: (B,in_channels,H,W) float (H, W >= 32 for n_layers=3) -> (B,1,h,w) scores.
    """

    def __init__(self, in_channels: int = 3, base: int = 64, n_layers: int = 3,
                 norm: str = "instance"):  # fmt: skip
        super().__init__()
        if norm not in DISC_NORMS:
            raise ValueError(f"norm must be one of {list(DISC_NORMS)}, got {norm!r}")
        self.init_kwargs = {"in_channels": in_channels, "base": base, "n_layers": n_layers,
                            "norm": norm}  # fmt: skip

        def normed(c: int) -> list[nn.Module]:
            if norm == "instance":
                return [nn.InstanceNorm2d(c, affine=True)]
            return [nn.BatchNorm2d(c)] if norm == "batch" else []

        layers: list[nn.Module] = [nn.Conv2d(in_channels, base, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = base
        for i in range(1, n_layers + 1):
            c_out = base * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(c, c_out, 4, stride, 1, bias=norm == "none"), *normed(c_out),
                       nn.LeakyReLU(0.2, True)]  # fmt: skip
            c = c_out
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


#: Indices in torchvision's ``vgg16().features`` of the layers whose outputs a perceptual loss
#: can take: conv3_3 (index 14, before its ReLU) is SCGAN's, the last layer of its code's
#: ``vgg16.features[:15]``; the ReLU outputs are Johnson et al. 2016's content layers.
VGG16_LAYERS: dict[str, int] = {
    "relu1_2": 3, "relu2_2": 8, "conv3_3": 14, "relu3_3": 15, "relu4_3": 22,
}  # fmt: skip


class VGG16Features(nn.Module):
    """Frozen VGG16 convolutional features for a perceptual loss, from a LOCAL state_dict
    (torchvision's ``vgg16`` key layout, e.g. the file torchvision itself caches as
    ``vgg16-397923af.pth``), read by :func:`semcolor.weights.read_state_dict`. Nothing is
    downloaded.

    Args:
        weights: path of the state_dict (``features.*`` keys; ``classifier.*`` ignored).
        layers: names from :data:`VGG16_LAYERS` whose activations are returned.

    ``forward(rgb)``: (B,3,H,W) sRGB in [0, 1] -> list of feature maps (ImageNet-normalised
    input), one per layer.

    Raises:
        FileNotFoundError: the file does not exist (the message says where to get it).
        ValueError: its keys do not fit VGG16's features.
    """

    def __init__(self, weights: str | os.PathLike[str], layers: Sequence[str] = ("relu2_2",)):
        super().__init__()

        unknown = [n for n in layers if n not in VGG16_LAYERS]
        if unknown:
            raise ValueError(f"unknown VGG16 layer(s) {unknown}; valid: {list(VGG16_LAYERS)}")
        sd = read_state_dict(weights) if os.path.exists(weights) else None
        if sd is None:
            raise FileNotFoundError(
                f"VGG16 weights {str(weights)!r} not found: put torchvision's VGG16 ImageNet "
                "state_dict there (vgg16-397923af.pth from download.pytorch.org/models/, or "
                "torch.save(torchvision.models.vgg16(weights='IMAGENET1K_V1').state_dict(), "
                "PATH) on a machine with internet), or leave loss.vgg_weights=null to train "
                "without the perceptual loss"
            )
        last = max(VGG16_LAYERS[n] for n in layers)
        # The layout on the meta device, the file's weights assigned: initialising all of
        # VGG16 (138 M parameters) only to overwrite it took ~3 s.
        with torch.device("meta"):
            features = torchvision.models.vgg16(weights=None).features[: last + 1]
        feat_sd = {k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")}
        feat_sd = {k: v.float() for k, v in feat_sd.items() if int(k.split(".")[0]) <= last}
        try:
            features.load_state_dict(feat_sd, assign=True)
        except RuntimeError as e:
            raise ValueError(f"{weights}: not torchvision VGG16 weights ({e})") from None
        for layer in features:
            if isinstance(layer, nn.ReLU):  # in place, it would overwrite a tapped conv output
                layer.inplace = False
        self.features = features.eval().requires_grad_(False)
        self.taps = sorted(VGG16_LAYERS[n] for n in layers)
        mean, std = torch.tensor(C.IMAGENET_MEAN), torch.tensor(C.IMAGENET_STD)
        self.register_buffer("mean", mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", std.view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VGG16Features:
        return super().train(False)  # always frozen, eval-mode

    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = (rgb - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out
